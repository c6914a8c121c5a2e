"""Every translation between the procedures service's protos (procedures and calendars) and its
domain values and views, both ways. No rules here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from google.type import dayofweek_pb2

from motcua.clock import WEEKDAYS
from motcua.kernel.timestamps import timestamp
from motcua.procedures.v1 import calendar_pb2, procedure_pb2 as p

from . import calendar_domain, content as c, domain
from .views import CalendarView, ProcedureView

STATES = {
    domain.DRAFT: p.PROCEDURE_STATE_DRAFT,
    domain.PUBLISHED: p.PROCEDURE_STATE_PUBLISHED,
    domain.SUPERSEDED: p.PROCEDURE_STATE_SUPERSEDED,
    domain.WITHDRAWN: p.PROCEDURE_STATE_WITHDRAWN,
}
LEVELS = {
    "": p.PROCEDURE_LEVEL_UNSPECIFIED,
    c.PROVINCE: p.PROCEDURE_LEVEL_PROVINCE,
    c.COMMUNE: p.PROCEDURE_LEVEL_COMMUNE,
}
ONLINE_MODES = {"": p.ONLINE_MODE_UNSPECIFIED, c.FULL: p.ONLINE_MODE_FULL, c.PARTIAL: p.ONLINE_MODE_PARTIAL}
UNITS = {c.WORKING_DAYS: p.PROCESSING_TIME_UNIT_WORKING_DAYS, c.WORKING_HOURS: p.PROCESSING_TIME_UNIT_WORKING_HOURS}
RULES = {c.RESUME: p.SUPPLEMENT_RULE_RESUME, c.RESTART: p.SUPPLEMENT_RULE_RESTART}


# A value of one of the proto enums (each is its own NewType of int).
EnumValue = TypeVar("EnumValue", bound=int)


def _reverse(mapping: Mapping[str, EnumValue]) -> dict[EnumValue, str]:
    return {number: name for name, number in mapping.items()}


STATE_NAMES = _reverse(STATES)
LEVEL_NAMES = _reverse(LEVELS)
ONLINE_MODE_NAMES = _reverse(ONLINE_MODES)
UNIT_NAMES = _reverse(UNITS)
RULE_NAMES = {p.SUPPLEMENT_RULE_UNSPECIFIED: "", **_reverse(RULES)}


def content_fields(content: c.ProcedureContent) -> dict[str, Any]:
    """The Procedure message's fields that hold ``content``."""
    return {
        "name": content.name,
        "agency_id": content.agency_id,
        "processing_days": content.processing_time.days,
        "field": content.field,
        "level": LEVELS[content.level],
        "online_mode": ONLINE_MODES[content.online_mode],
        "processing_time": p.ProcessingTime(
            value=content.processing_time.value, unit=UNITS[content.processing_time.unit]
        ),
        "fees": [p.Fee(name=f.name, amount_vnd=f.amount_vnd) for f in content.fees],
        "required_documents": [
            p.RequiredDocument(name=d.name, originals=d.originals, copies=d.copies, eform_ref=d.eform_ref)
            for d in content.documents
        ],
        "steps": [p.ProcessingStep(name=s.name, role=s.role, unit=s.unit, share=s.share) for s in content.steps],
        "result_type": content.result_type,
        "legal_basis": list(content.legal_basis),
        "supplement_rule": RULES[content.supplement_rule],
    }


def procedure(
    procedure_id: Any, code: str, number: int, content: c.ProcedureContent, state: str, version: int,
    effective_from: datetime | None = None, effective_until: datetime | None = None,
) -> p.Procedure:
    return p.Procedure(
        procedure_id=str(procedure_id),
        code=code,
        state=STATES[state],
        version=version,
        version_number=number,
        effective_from=timestamp(effective_from),
        effective_until=timestamp(effective_until),
        **content_fields(content),
    )


def procedure_proto(view: ProcedureView) -> p.Procedure:
    return procedure(
        view.procedure_id, view.code, view.version_number, view.content, view.state, view.version,
        view.effective_from, view.effective_until,
    )


def content_from(message: Any) -> c.ProcedureContent:
    """The content a create request or a Procedure message states.

    ``processing_days`` stands for ``processing_time`` in working days when that is unset.
    """
    if message.HasField("processing_time"):
        time = c.ProcessingTime(message.processing_time.value, UNIT_NAMES.get(message.processing_time.unit, ""))
    else:
        time = c.ProcessingTime(message.processing_days)
    return c.ProcedureContent(
        name=message.name,
        agency_id=message.agency_id,
        processing_time=time,
        field=message.field,
        level=LEVEL_NAMES.get(message.level, "?"),
        online_mode=ONLINE_MODE_NAMES.get(message.online_mode, "?"),
        fees=tuple(c.Fee(f.name, f.amount_vnd) for f in message.fees),
        documents=_documents(message.required_documents),
        steps=tuple(c.Step(s.name, s.role, s.share, s.unit) for s in message.steps),
        result_type=message.result_type,
        legal_basis=tuple(message.legal_basis),
        supplement_rule=RULE_NAMES.get(message.supplement_rule, "?"),
    )


def _documents(documents: Sequence[p.RequiredDocument]) -> tuple[c.RequiredDocument, ...]:
    return tuple(c.RequiredDocument(d.name, d.originals, d.copies, d.eform_ref) for d in documents)


# --- calendars -----------------------------------------------------------------------------

CALENDAR_STATES = {
    calendar_domain.DRAFT: calendar_pb2.CALENDAR_STATE_DRAFT,
    calendar_domain.PUBLISHED: calendar_pb2.CALENDAR_STATE_PUBLISHED,
}


def weekday_names(days: Iterable[int]) -> list[str]:
    """google.type.DayOfWeek values (MONDAY = 1) as the clock's names; protovalidate has
    already refused undefined and unspecified values."""
    return [WEEKDAYS[day - 1] for day in days]


def weekday_values(names: Iterable[str]) -> list[int]:
    return [dayofweek_pb2.DayOfWeek.Value(name.upper()) for name in names]


def days_of(items: Iterable[Any]) -> list[dict[str, str]]:
    return [{"date": d.date, "name": d.name} for d in items]


def periods_of(items: Iterable[Any]) -> list[dict[str, str]]:
    return [{"start": period.start, "end": period.end} for period in items]


def calendar_to_proto(view: CalendarView) -> calendar_pb2.Calendar:
    return calendar_pb2.Calendar(
        calendar_id=str(view.calendar_id),
        agency_id=view.agency_id,
        year=view.year,
        timezone=view.timezone,
        weekend=weekday_values(view.weekend),
        working_hours=[calendar_pb2.WorkingPeriod(**period) for period in view.working_hours],
        reception_cutoff=view.reception_cutoff,
        holidays=[calendar_pb2.CalendarDay(**d) for d in view.holidays],
        makeup_working_days=[calendar_pb2.CalendarDay(**d) for d in view.makeup_working_days],
        calendar_version=view.calendar_version,
        state=CALENDAR_STATES[view.state],
        published_version=view.published_version,
        version=view.version,
    )
