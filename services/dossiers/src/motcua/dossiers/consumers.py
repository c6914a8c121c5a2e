"""Policies: how the dossiers service reacts to other services' integration events."""

from __future__ import annotations

from datetime import UTC
from uuid import UUID

from google.type import dayofweek_pb2

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.dossiers.application.dossiers_application import DossiersApplication
from motcua.dossiers.application.views import PublishedVersion
from motcua.dossiers.domain.terms import RESTART, RESUME, WORKING_DAYS, WORKING_HOURS
from motcua.kernel.config import events_topic
from motcua.kernel.consumer import Subscription, TrackedConsumer
from motcua.procedures.v1 import events_pb2 as procedures_events, procedure_pb2


def calendar_content(calendar) -> dict:
    """A published calendar's content in the clock's plain form."""
    return {
        "timezone": calendar.timezone,
        "weekend": [dayofweek_pb2.DayOfWeek.Name(day).lower() for day in calendar.weekend],
        "working_hours": [{"start": p.start, "end": p.end} for p in calendar.working_hours],
        "reception_cutoff": calendar.reception_cutoff,
        "holidays": [{"date": d.date, "name": d.name} for d in calendar.holidays],
        "makeup_working_days": [{"date": d.date, "name": d.name} for d in calendar.makeup_working_days],
    }


_UNITS = {procedure_pb2.PROCESSING_TIME_UNIT_WORKING_HOURS: WORKING_HOURS}
_RULES = {procedure_pb2.SUPPLEMENT_RULE_RESTART: RESTART}


def terms_of(event: procedures_events.ProcedurePublished) -> dict | None:
    """The terms a dossier pins, from the published version (None from events that lack it)."""
    if not event.HasField("procedure"):
        return None
    p = event.procedure
    time = p.processing_time
    return {
        "processing_time": {"value": time.value or event.processing_days, "unit": _UNITS.get(time.unit, WORKING_DAYS)},
        "required_documents": [
            {"name": d.name, "originals": d.originals, "copies": d.copies} for d in p.required_documents
        ],
        "steps": [{"name": s.name, "role": s.role, "unit": s.unit, "share": s.share} for s in p.steps],
        "fees": [{"name": f.name, "amount_vnd": f.amount_vnd} for f in p.fees],
        "supplement_rule": _RULES.get(p.supplement_rule, RESUME),
    }


def procedure_catalog_consumer(app: DossiersApplication) -> TrackedConsumer:
    """Keeps the copies of published procedures and working-day calendars."""

    def on_procedure_published(event: procedures_events.ProcedurePublished, envelope: EventEnvelope) -> list:
        published = PublishedVersion(
            procedure_id=UUID(event.procedure_id),
            code=event.code,
            name=event.name,
            agency_id=event.agency_id,
            processing_days=event.processing_days,
            procedure_version=event.version,
            # Events from before versions existed carry neither: the first version, in force from
            # the start.
            version_number=event.version_number or 1,
            effective_from=event.effective_from.ToDatetime(tzinfo=UTC) if event.HasField("effective_from") else None,
            superseded=event.superseded_version_number,
            terms=terms_of(event),
        )
        return [app.replicate_procedure(published)]

    def on_procedure_withdrawn(event: procedures_events.ProcedureWithdrawn, envelope: EventEnvelope) -> list:
        return app.withdraw_procedure_version(
            UUID(event.procedure_id), event.version_number, event.effective_until.ToDatetime(tzinfo=UTC), event.version
        )

    def on_calendar_published(event: procedures_events.CalendarPublished, envelope: EventEnvelope) -> list:
        calendar = event.calendar
        replica = app.calendars.replicate_calendar(
            calendar_id=UUID(calendar.calendar_id),
            agency_id=calendar.agency_id,
            year=calendar.year,
            calendar_version=calendar.calendar_version,
            content=calendar_content(calendar),
        )
        return [replica]

    return TrackedConsumer(
        app,
        name="procedure-catalog",
        topics=[events_topic("procedures")],
        subscriptions=[
            Subscription(procedures_events.ProcedurePublished, on_procedure_published),
            Subscription(procedures_events.ProcedureWithdrawn, on_procedure_withdrawn),
            Subscription(procedures_events.CalendarPublished, on_calendar_published),
        ],
    )
