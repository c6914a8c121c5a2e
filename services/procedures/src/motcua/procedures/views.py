"""What the procedures service's applications return: read-side records of a procedure's
version and of a calendar, and their pages (no rules here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from .calendar_domain import Calendar
from .content import ProcedureContent
from .domain import Procedure


@dataclass(frozen=True)
class ProcedureView:
    """One version of a procedure, as the API shows it."""

    procedure_id: UUID
    code: str
    version_number: int
    content: ProcedureContent
    state: str
    effective_from: datetime | None
    effective_until: datetime | None
    version: int  # the aggregate's, for optimistic concurrency

    @classmethod
    def of(cls, procedure: Procedure, version: dict[str, Any] | None = None) -> ProcedureView:
        """The given version of ``procedure`` (by default its latest)."""
        version = version or procedure.latest
        return cls(
            procedure_id=procedure.id,
            code=procedure.code,
            version_number=version["number"],
            content=ProcedureContent.from_dict(version["content"]),
            state=version["state"],
            effective_from=version["effective_from"],
            effective_until=version["effective_until"],
            version=procedure.version,
        )

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ProcedureView:
        return cls(
            procedure_id=row["procedure_id"],
            code=row["code"],
            version_number=row["version_number"],
            content=ProcedureContent.from_dict(row["content"]),
            state=row["state"],
            effective_from=row["effective_from"],
            effective_until=row["effective_until"],
            version=row["version"],
        )


@dataclass(frozen=True)
class Page:
    procedures: list[ProcedureView]
    next_page_token: str


@dataclass(frozen=True)
class CalendarView:
    calendar_id: UUID
    agency_id: str
    year: int
    timezone: str
    weekend: tuple[str, ...]
    working_hours: tuple[dict[str, str], ...]
    reception_cutoff: str
    holidays: tuple[dict[str, str], ...]
    makeup_working_days: tuple[dict[str, str], ...]
    calendar_version: int
    state: str
    published_version: int
    version: int

    @classmethod
    def of(cls, calendar: Calendar, calendar_version: int = 0) -> CalendarView:
        content, state = calendar.content_of(calendar_version)
        return cls.from_content(
            calendar.id, calendar.agency_id, calendar.year, content,
            calendar_version=calendar_version or calendar.calendar_version, state=state,
            published_version=calendar.published_version, version=calendar.version,
        )

    @classmethod
    def from_content(
        cls, calendar_id: UUID, agency_id: str, year: int, content: dict[str, Any], **fields: Any
    ) -> CalendarView:
        return cls(
            calendar_id=calendar_id, agency_id=agency_id, year=year, timezone=content["timezone"],
            weekend=tuple(content["weekend"]), working_hours=tuple(content["working_hours"]),
            reception_cutoff=content["reception_cutoff"], holidays=tuple(content["holidays"]),
            makeup_working_days=tuple(content["makeup_working_days"]), **fields,
        )


@dataclass(frozen=True)
class CalendarPage:
    calendars: list[CalendarView]
    next_page_token: str
