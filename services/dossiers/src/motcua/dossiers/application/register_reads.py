"""The dossiers application's reads of the register (lists, work queues, the status
lookup, statistics, the tracking book) and the forms rendered from a dossier's history.
Mixed into ``DossiersApplication``; who may ask is checked here, the SQL is in ``register_queries``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from motcua.dossiers.adapters.register_queries import DossierRegister, Filters
from motcua.dossiers.application import authorization as auth
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.values import DossierStateConflict
from motcua.kernel.context import current_actor
from motcua.kernel.errors import InvalidArgument, NotFound, Throttled
from motcua.kernel.localtime import VIETNAM

DEFAULT_PAGE = 50
MINE, UNIT, AGENCY = "mine", "unit", "agency"
COMING_DUE, OVERDUE = "coming_due", "overdue"
MAX_PERIOD_DAYS = 366 * 5


@dataclass(frozen=True)
class Statistics:
    """One line of the statistics (see DossierStatistics in protos/.../reports.proto)."""

    procedure_id: str = ""
    received: int = 0
    received_online: int = 0
    received_at_desk: int = 0
    received_by_post: int = 0
    in_process: int = 0
    finished_early: int = 0
    finished_on_time: int = 0
    finished_late: int = 0
    supplement_requests: int = 0
    refused: int = 0
    withdrawn: int = 0
    working_days_sum: int = 0
    working_days_count: int = 0
    rating_sum: int = 0
    ratings: int = 0

    COUNTS = ("received", "received_online", "received_at_desk", "received_by_post", "in_process", "finished_early",
              "finished_on_time", "finished_late", "supplement_requests", "refused", "withdrawn", "working_days_sum",
              "working_days_count", "rating_sum", "ratings")

    @classmethod
    def of(cls, row: dict[str, Any]) -> Statistics:
        return cls(procedure_id=str(row["procedure_id"]), **{k: int(row.get(k) or 0) for k in cls.COUNTS})

    def __add__(self, other: Statistics) -> Statistics:
        return replace(self, **{k: getattr(self, k) + getattr(other, k) for k in self.COUNTS})

    @property
    def online_share(self) -> float:
        return self.received_online / self.received if self.received else 0.0

    @property
    def average_processing_working_days(self) -> float:
        return self.working_days_sum / self.working_days_count if self.working_days_count else 0.0

    @property
    def average_rating(self) -> float:
        return self.rating_sum / self.ratings if self.ratings else 0.0


def period(start_date: str, end_date: str) -> tuple[date, date, datetime, datetime]:
    """The days and the moments [start, end) of a period given as local dates, both included."""
    try:
        first = date.fromisoformat(start_date)
    except ValueError:
        raise InvalidArgument.field("start_date", "must be a date YYYY-MM-DD") from None
    try:
        last = date.fromisoformat(end_date)
    except ValueError:
        raise InvalidArgument.field("end_date", "must be a date YYYY-MM-DD") from None
    if last < first:
        raise InvalidArgument.field("end_date", "must not be before start_date")
    if (last - first).days > MAX_PERIOD_DAYS:
        raise InvalidArgument.field("end_date", "the period is at most five years")
    return (
        first,
        last,
        datetime.combine(first, time(), VIETNAM),
        datetime.combine(last + timedelta(days=1), time(), VIETNAM),
    )


if TYPE_CHECKING:
    from motcua.dossiers.application.host import DossiersHost as MixinBase
else:
    MixinBase = object


class RegisterReads(MixinBase):
    """Mixed into ``DossiersApplication`` (recorder, clock, load, throttle)."""

    @property
    def register(self) -> DossierRegister:
        return DossierRegister(self.recorder)

    def list_dossiers(self, filters: Filters, page_size: int, page_token: str) -> tuple[list[dict[str, Any]], str]:
        agencies, account = auth.list_scope(current_actor(), self.agency_tree.subtree)
        narrowed = replace(
            filters, visible_to_agencies=agencies, applicant_account_id=account or filters.applicant_account_id
        )
        return self.register.page(narrowed, page_token, page_size or DEFAULT_PAGE)

    def work_queue(self, scope: str, unit: str, state: str, deadline: str, page_size: int,
                   page_token: str) -> tuple[list[dict[str, Any]], str]:
        actor = current_actor()
        agency = auth.queue_holder(actor)
        if scope == UNIT and not unit.strip():
            raise InvalidArgument.field("unit", "name the unit whose queue to list")
        now = self.clock()
        filters = Filters(
            handling_agency_id=agency, open_only=True, state=state,
            assignee=actor.subject if scope == MINE else "", handling_unit=unit.strip() if scope == UNIT else "",
            coming_due_at=now if deadline == COMING_DUE else None, overdue_at=now if deadline == OVERDUE else None,
        )
        return self.register.page(filters, page_token, page_size or DEFAULT_PAGE, soonest_due=True)

    def look_up_status(self, code: str, phone: str, source: str) -> dict[str, Any]:
        """For anyone: the state and dates of the dossier with this code and applicant's phone."""
        if not self.lookup_throttle.take(source, self.clock()):
            raise LookupsExhausted(self.lookup_throttle.seconds_per_call)
        row = self.register.status(code.strip(), phone)
        if row is None:
            raise NotFound("dossier with this code and phone number", code)
        return row

    def statistics(self, agency_id: str, procedure_id: UUID | None, start_date: str,
                   end_date: str) -> tuple[Statistics, list[Statistics]]:
        auth.agency_reader(current_actor(), agency_id, "read the agency's statistics", self.within)
        _, _, start, end = period(start_date, end_date)
        lines = [Statistics.of(row) for row in self.register.statistics(agency_id, procedure_id, start, end)]
        total = Statistics()
        for line in lines:
            total = total + line
        return total, lines

    # --- forms ------------------------------------------------------------------------------

    def render_form(self, dossier_id: UUID, form: str, seal: bool = False,
                    authorization: str = "") -> tuple[bytes, str]:
        """``seal``: the form sealed with the handling agency's key, on the caller's authority
        (``authorization``, their bearer token, which the signing service checks)."""
        # Here, not at the top: fpdf2 and its fonts (~30 MB) load only in processes that render
        # forms.
        from motcua.dossiers import forms
        from motcua.dossiers.application.form_filling import FORM_NUMBERS, fill

        dossier = self.load(Dossier, dossier_id)
        auth.form_reader(current_actor(), dossier, form, self.within)
        filled = fill(dossier, form, self._events_of(dossier_id))
        if filled is None:
            raise DossierStateConflict(
                f"dossier {dossier.code or dossier.id}", dossier.state, f"render the {form.replace('_', ' ')} of"
            )
        rendered = forms.render(filled)
        if seal:
            rendered = self.signer.seal_form(
                rendered, f"Biểu mẫu số {FORM_NUMBERS[form]} của hồ sơ {dossier.code or dossier.id}",
                dossier.handling_agency_id, authorization, dossier_id=str(dossier.id), dossier_code=dossier.code)
        return rendered, f"{dossier.code or dossier.id}-{FORM_NUMBERS[form]}.pdf"

    def render_tracking_book(self, agency_id: str, start_date: str, end_date: str, seal: bool = False,
                             authorization: str = "") -> tuple[bytes, int]:
        # Here, not at the top: fpdf2 and its fonts load only in processes that render forms.
        from motcua.dossiers import forms
        from motcua.dossiers.application.form_filling import tracking_book

        auth.agency_reader(current_actor(), agency_id, "render the agency's tracking book", self.within)
        first, last, start, end = period(start_date, end_date)
        rows = self.register.received_between(agency_id, start, end)
        rendered = forms.render(tracking_book(agency_id, rows, first, last, self.clock()))
        if seal:
            rendered = self.signer.seal_form(
                rendered, f"Sổ theo dõi hồ sơ từ {start_date} đến {end_date}", agency_id, authorization,
                reference=f"Sổ theo dõi hồ sơ {agency_id} {start_date}/{end_date}")
        return rendered, len(rows)

    def _events_of(self, dossier_id: UUID) -> list[Any]:
        return list(self.repository.event_store.get(dossier_id))


class LookupsExhausted(Throttled):
    """The caller's address used up its lookups for now (RESOURCE_EXHAUSTED), until its bucket
    has one call again."""

    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__("this address", retry_after_seconds, "status lookups")
