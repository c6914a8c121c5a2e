"""The life-cycle commands of the dossiers application: authorize, load, call, save.

Each command checks who calls (``authorization``, from the bearer token's actor), then
lets the aggregate check the state and its rules. With ``expected_version`` a concurrent
change fails the call (ABORTED, with the current version); without it the command is
applied to the latest version and checked again after a conflict.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from motcua.clock import Explanation, WorkingCalendar
from motcua.dossiers.application import authorization as auth
from motcua.dossiers.application.retries import retried_on_version_conflict
from motcua.dossiers.domain import deadlines
from motcua.dossiers.domain.dossier.aggregate import Dossier
from motcua.dossiers.domain.dossier.closing import (
    OfficerSignatureRequired,
    officer_signs_results,
    result_signature_reason,
)
from motcua.dossiers.domain.lifecycle import MARK_RESULT_READY
from motcua.kernel.context import Actor, current_actor

Command = Callable[[Dossier, Actor, datetime], Any]
# (caller, dossier, action, within: the agency tree's subtree test)
Check = Callable[..., None]

MAX_ATTEMPTS = 3


if TYPE_CHECKING:
    from motcua.dossiers.application.host import DossiersHost as MixinBase
else:
    MixinBase = object


class LifecycleCommands(MixinBase):
    """Mixed into ``DossiersApplication`` (which provides load, save, clock and the views)."""

    def _act(self, dossier_id: UUID, expected_version: int, check: Check, action: str, command: Command):
        actor = current_actor()

        def attempt():
            dossier = self.load(Dossier, dossier_id, expected_version)
            check(actor, dossier, action, within=self.within)
            command(dossier, actor, self.clock())
            self.save(dossier)
            return self.view(dossier)

        return retried_on_version_conflict(attempt, MAX_ATTEMPTS, expected_version)

    def request_supplement(self, dossier_id: UUID, expected_version: int, items: list[dict[str, str]], note: str = ""):
        def check(actor: Actor, dossier: Dossier, action: str, within) -> None:
            (auth.desk if dossier.state == "submitted" else auth.officer)(actor, dossier, action, within=within)

        return self._act(dossier_id, expected_version, check, "request a supplement",
                         lambda d, a, now: d.request_supplement(now, a.subject, items, note))

    def supplement_dossier(
        self, dossier_id: UUID, expected_version: int, documents: list[dict[str, Any]], note: str = ""
    ):
        return self._act(
            dossier_id,
            expected_version,
            auth.applicant_or_desk,
            "supplement the dossier",
            lambda d, a, now: d.supplement(now, a.subject, documents, note, self.calendar_for(d.agency_id, now)),
        )

    def refuse_dossier(self, dossier_id: UUID, expected_version: int, reason: str):
        def check(actor: Actor, dossier: Dossier, action: str, within) -> None:
            if dossier.state == "submitted":
                auth.desk(actor, dossier, action, within)
            else:
                auth.officer(actor, dossier, action, auth.MANAGERS, within)

        return self._act(
            dossier_id,
            expected_version,
            check,
            "refuse the dossier",
            lambda d, a, now: d.refuse(now, a.subject, reason),
        )

    def assign_dossier(self, dossier_id: UUID, expected_version: int, assignee: str, unit: str = ""):
        return self._act(
            dossier_id,
            expected_version,
            lambda a, d, x, within: auth.officer(a, d, x, (*auth.MANAGERS, auth.DESK_OFFICER), within),
            "assign the dossier",
            lambda d, a, now: d.assign(now, a.subject, assignee, unit),
        )

    def claim_dossier(self, dossier_id: UUID, expected_version: int, unit: str = ""):
        return self._act(dossier_id, expected_version, auth.step_holder, "claim the dossier",
                         lambda d, a, now: d.assign(now, a.subject, a.subject, unit))

    def complete_step(self, dossier_id: UUID, expected_version: int, note: str = "", next_assignee: str = ""):
        return self._act(dossier_id, expected_version, auth.step_holder, "complete the step",
                         lambda d, a, now: d.complete_step(now, a.subject, note, next_assignee))

    def transfer_dossier(
        self, dossier_id: UUID, expected_version: int, to_agency_id: str, to_unit: str, reason: str = ""
    ):
        return self._act(dossier_id, expected_version, auth.officer, "transfer the dossier",
                         lambda d, a, now: d.transfer(now, a.subject, to_agency_id, to_unit, reason))

    def issue_apology(self, dossier_id: UUID, expected_version: int, reason: str, new_appointment: datetime):
        return self._act(
            dossier_id,
            expected_version,
            lambda a, d, x, within: auth.officer(a, d, x, auth.MANAGERS, within),
            "issue an apology",
            lambda d, a, now: d.apologize(now, a.subject, reason, new_appointment),
        )

    def mark_result_ready(self, dossier_id: UUID, expected_version: int, sign: Callable[[Dossier], dict[str, Any]]):
        """Checks who calls and the state first, then has the result signed (``sign``), then
        records it on the version it checked: a signature is never made for a dossier that
        could not take it, and a concurrent change fails the call (ABORTED)."""
        actor = current_actor()
        dossier = self.load(Dossier, dossier_id, expected_version)
        auth.step_holder(actor, dossier, "mark the result ready", self.within)
        dossier.check_allowed(MARK_RESULT_READY)
        result = sign(dossier)
        now = self.clock()
        # The working days taken count from reception (the domain counts none without it).
        calendar = self.calendar_for(dossier.agency_id, dossier.received_at) if dossier.received_at else None
        dossier.mark_result_ready(now, actor.subject, result, calendar)
        self.save(dossier)
        return self.view(dossier)

    def sign_result(
        self, dossier_id: UUID, expected_version: int, document: bytes, result_name: str, authorization: str,
        signature_request_id: str = "",
    ):
        """Marks the result ready, sealed by the signing service with the key of the agency
        handling the dossier (whatever key a caller might name), on the caller's authority
        (``authorization``: their bearer token, which the signing service checks again).

        ``signature_request_id``: the signing service's request by which the competent officer
        signed ``document`` on their device; the seal goes on after their signature. The
        procedures of ``officer_signed_procedures`` need one: until the officer has confirmed,
        the result is not ready (the dossier stays where it is, and a refused or expired
        request is replaced by a new one)."""

        def sign(dossier: Dossier) -> dict[str, Any]:
            if not signature_request_id and officer_signs_results(self.officer_signed_procedures,
                                                                  dossier.procedure_code):
                raise OfficerSignatureRequired(dossier.procedure_code)
            signed = self.signer.sign(
                document,
                result_signature_reason(dossier.code, result_name),
                dossier.handling_agency_id,
                dossier.handling_agency_id,
                str(dossier.id),
                dossier.code,
                authorization,
                signature_request_id=signature_request_id,
            )
            officer = {"officer_signature_request_id": signature_request_id} if signature_request_id else {}
            return {**signed, **officer, "name": result_name}

        return self.mark_result_ready(dossier_id, expected_version, sign)

    def record_payment(self, dossier_id: UUID, idempotency_key: str, amount_vnd: int, method: str, reference: str,
                       paid_at: datetime | None = None):
        # The desk of the dossier's agency records what it collected. Applicants never record
        # their own payments: paying online will be confirmed by the payment gateway instead.
        return self._act(
            dossier_id,
            0,
            auth.desk,
            "record a payment",
            lambda d, a, now: d.record_payment(now, a.subject, idempotency_key, amount_vnd, method, reference, paid_at),
        )

    def return_result(self, dossier_id: UUID, expected_version: int, method: str = ""):
        return self._act(
            dossier_id,
            expected_version,
            auth.desk,
            "return the result",
            lambda d, a, now: d.return_result(now, a.subject, method),
        )

    def withdraw_dossier(self, dossier_id: UUID, expected_version: int, reason: str = ""):
        return self._act(dossier_id, expected_version, auth.applicant_or_desk, "withdraw the dossier",
                         lambda d, a, now: d.withdraw(now, a.subject, reason))

    def rate_dossier(self, dossier_id: UUID, score: int, comment: str = ""):
        return self._act(
            dossier_id,
            0,
            auth.applicant_only,
            "rate the dossier",
            lambda d, a, now: d.rate(now, a.subject, score, comment),
        )

    # --- the clock ----------------------------------------------------------------------------

    def watch_deadline(self, dossier_id: UUID, now: datetime) -> list[str]:
        """Flags one dossier coming due or overdue (at most once each per due date)."""
        try:
            dossier = self.load(Dossier, dossier_id)
        except Exception:  # noqa: BLE001 - a row of another aggregate type, or gone: nothing to watch
            return []
        flagged = dossier.watch(now)
        if flagged:
            self.save(dossier)  # a concurrent flag by another replica raises VersionConflict: it already did
        return flagged

    def explain_due_date(self, dossier_id: UUID) -> tuple[datetime, Explanation]:
        """Counts again, on the calendar versions the due date was counted on."""
        dossier = self.load(Dossier, dossier_id)
        auth.reader(current_actor(), dossier, "explain the due date", self.within)
        if dossier.clock_from is None:
            raise dossier.state_conflict(dossier.state, "explain the due date of")
        calendar = self.calendar_for(dossier.agency_id, dossier.clock_from, versions=dossier.calendars)
        pauses = deadlines.pauses_of(dossier.pauses)
        return dossier.clock_from, deadlines.explain(dossier.clock_from, dossier.terms, calendar, pauses)

    def calendar_for(
        self, agency_id: str, at: datetime, versions: list[dict[str, Any]] | None = None
    ) -> WorkingCalendar:
        """The calendars for the years a deadline from ``at`` can reach
        (``CalendarCopies.working_calendar``)."""
        start = at.astimezone(deadlines.default_year(2000).zone).year
        return self.calendars.working_calendar(
            agency_id, range(start, start + deadlines.YEARS_AHEAD + 1), versions or ()
        )
