"""How a dossier ends: the signed result, fees paid, the return (counted early, on time or
late against the statutory due date), withdrawal and the applicant's rating. Pure;
``Dossier`` inherits them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate, event

from motcua.clock import WorkingCalendar, elapsed
from motcua.dossiers.domain import deadlines, lifecycle as lc
from motcua.dossiers.domain.dossier.processing import ProcessingRules
from motcua.dossiers.domain.values import DELIVERY_METHODS, MAX_NOTE_LENGTH
from motcua.kernel.errors import DomainError, InvalidArgument
from motcua.kernel.localtime import local_date

PAYMENT_METHODS = ("cash", "bank_transfer", "card", "online_portal")
MAX_REFERENCE_LENGTH = 200


class ClosingRules(ProcessingRules):
    if TYPE_CHECKING:
        # The events its ``@event`` methods define, with their fields (the methods' parameters),
        # as the type checker cannot see classes made at run time; a test compares the two.
        class ResultReady(Aggregate.Event):
            ready_at: datetime
            ready_by: str
            result: dict[str, Any]
            due_at: datetime | None
            outcome: str
            facts: dict[str, Any]
            working_days: int | None

        class PaymentRecorded(Aggregate.Event):
            idempotency_key: str
            amount_vnd: int
            method: str
            reference: str
            paid_at: datetime
            recorded_at: datetime
            recorded_by: str
            facts: dict[str, Any]

        class Returned(Aggregate.Event):
            returned_at: datetime
            returned_by: str
            method: str
            outcome: str
            due_at: datetime | None
            appointed_return_at: datetime | None
            finished_at: datetime | None
            amount_due: int
            facts: dict[str, Any]

        class Withdrawn(Aggregate.Event):
            withdrawn_at: datetime
            withdrawn_by: str
            reason: str
            previous_state: str
            facts: dict[str, Any]

        class Rated(Aggregate.Event):
            rated_at: datetime
            rated_by: str
            score: int
            comment: str
            facts: dict[str, Any]

    def mark_result_ready(
        self, at: datetime, officer: str, result: dict[str, Any], calendar: WorkingCalendar | None = None
    ) -> None:
        """The result is decided and signed (``result`` describes the signed document). With
        the agency's calendar, the working days it took are recorded (for statistics)."""
        self.check_allowed(lc.MARK_RESULT_READY)
        if self.terms.steps and self.step_index < len(self.terms.steps) - 1:
            raise self.state_conflict(f"at step {self.step_index + 1} of {len(self.terms.steps)}", lc.MARK_RESULT_READY)
        due = self.original_due_at or self.due_at
        working_days = None
        if calendar is not None and self.received_at is not None:
            working_days = elapsed(self.received_at, at, calendar, deadlines.pauses_of(self.pauses)).working_days
        self._result_ready(ready_at=at, ready_by=officer, result=dict(result), due_at=due,
                           outcome=lc.outcome(at, due, local_date) if due else "", facts=self._facts(),
                           working_days=working_days)

    @event("ResultReady")
    def _result_ready(self, ready_at: datetime, ready_by: str, result: dict[str, Any], due_at: datetime | None,
                      outcome: str, facts: dict[str, Any], working_days: int | None = None) -> None:
        self.state = lc.RESULT_READY
        self.result = result
        self.finished_at = ready_at
        self.outcome = outcome

    # --- fees ------------------------------------------------------------------------------

    @property
    def amount_paid(self) -> int:
        return sum(p["amount_vnd"] for p in self.payments)

    @property
    def amount_due(self) -> int:
        return max(0, self.terms.fee_total - self.amount_paid)

    def record_payment(self, at: datetime, by: str, idempotency_key: str, amount_vnd: int, method: str, reference: str,
                       paid_at: datetime | None = None) -> bool:
        """Records a payment once per idempotency key; False when the key was recorded already
        (with the same amount; a different one under the same key is an error)."""
        for payment in self.payments:
            if payment["idempotency_key"] == idempotency_key:
                if (payment["amount_vnd"], payment["method"], payment["reference"]) != (amount_vnd, method, reference):
                    raise InvalidArgument.field("idempotency_key", "was used for a different payment")
                return False
        self.check_allowed(lc.PAY)
        if self.received_at is None:  # awaiting a supplement asked for at reception: not accepted yet
            raise self.state_conflict(f"{self.state} (not received yet)", lc.PAY)
        if amount_vnd <= 0:
            raise InvalidArgument.field("amount_vnd", "must be positive")
        if amount_vnd > self.amount_due:
            raise InvalidArgument.field("amount_vnd", f"exceeds the {self.amount_due} VND still due")
        if method not in PAYMENT_METHODS:
            raise InvalidArgument.field("method", f"must be one of {', '.join(PAYMENT_METHODS)}")
        if not reference.strip() or len(reference) > MAX_REFERENCE_LENGTH:
            raise InvalidArgument.field("reference", f"must be given, at most {MAX_REFERENCE_LENGTH} characters")
        self._payment_recorded(idempotency_key=idempotency_key, amount_vnd=amount_vnd, method=method,
                               reference=reference.strip(), paid_at=paid_at or at, recorded_at=at, recorded_by=by,
                               facts=self._facts())
        return True

    @event("PaymentRecorded")
    def _payment_recorded(self, idempotency_key: str, amount_vnd: int, method: str, reference: str, paid_at: datetime,
                          recorded_at: datetime, recorded_by: str, facts: dict[str, Any]) -> None:
        self.payments.append(
            {
                "idempotency_key": idempotency_key,
                "amount_vnd": amount_vnd,
                "method": method,
                "reference": reference,
                "paid_at": paid_at,
                "recorded_at": recorded_at,
                "recorded_by": recorded_by,
            }
        )

    # --- return, withdrawal, rating -------------------------------------------------------------

    def return_result(self, at: datetime, officer: str, method: str = "") -> None:
        """Hands the result over by the applicant's chosen method (or another one named)."""
        self.check_allowed(lc.RETURN)
        method = method or self.result_delivery
        if method not in DELIVERY_METHODS:
            raise InvalidArgument.field("method", f"must be one of {', '.join(DELIVERY_METHODS)}")
        if self.amount_due and not self.terms.return_before_payment:
            raise FeesUnpaid(self.code, self.amount_due)
        self._returned(returned_at=at, returned_by=officer, method=method, outcome=self.outcome,
                       due_at=self.original_due_at, appointed_return_at=self.appointed_return_at,
                       finished_at=self.finished_at, amount_due=self.amount_due, facts=self._facts())

    @event("Returned")
    def _returned(self, returned_at: datetime, returned_by: str, method: str, outcome: str, due_at: datetime | None,
                  appointed_return_at: datetime | None, finished_at: datetime | None, amount_due: int,
                  facts: dict[str, Any]) -> None:
        self.state = lc.RETURNED
        self.returned_at = returned_at

    def withdraw(self, at: datetime, by: str, reason: str = "") -> None:
        self.check_allowed(lc.WITHDRAW)
        if len(reason) > MAX_NOTE_LENGTH:
            raise InvalidArgument.field("reason", f"must be at most {MAX_NOTE_LENGTH} characters")
        self._withdrawn(
            withdrawn_at=at, withdrawn_by=by, reason=reason.strip(), previous_state=self.state, facts=self._facts()
        )

    @event("Withdrawn")
    def _withdrawn(
        self, withdrawn_at: datetime, withdrawn_by: str, reason: str, previous_state: str, facts: dict[str, Any]
    ) -> None:
        self._close_pause(withdrawn_at)
        self.state = lc.WITHDRAWN
        self.closing_reason = reason
        self.finished_at = withdrawn_at

    def rate(self, at: datetime, by: str, score: int, comment: str = "") -> None:
        self.check_allowed(lc.RATE)
        if self.rating:
            raise self.state_conflict("rated", lc.RATE)
        if not 1 <= score <= 5:
            raise InvalidArgument.field("score", "must be 1 to 5")
        if len(comment) > MAX_NOTE_LENGTH:
            raise InvalidArgument.field("comment", f"must be at most {MAX_NOTE_LENGTH} characters")
        self._rated(rated_at=at, rated_by=by, score=score, comment=comment.strip(), facts=self._facts())

    @event("Rated")
    def _rated(self, rated_at: datetime, rated_by: str, score: int, comment: str, facts: dict[str, Any]) -> None:
        self.rating = {"score": score, "comment": comment, "at": rated_at}


def result_signature_reason(dossier_code: str, result_name: str = "") -> str:
    """What the seal on a dossier's result says it is for (the PDF signature's reason)."""
    return f"Kết quả giải quyết hồ sơ {dossier_code}" + (f": {result_name}" if result_name else "")


class FeesUnpaid(DomainError):
    """The result cannot be returned before the fees are paid (FAILED_PRECONDITION)."""

    def __init__(self, code: str, amount_due: int) -> None:
        self.amount_due = amount_due
        super().__init__(
            f"dossier {code} has {amount_due} VND of fees unpaid; its procedure does not allow returning the result "
            "before payment"
        )


class OfficerSignatureRequired(DomainError):
    """The procedure's results carry the competent officer's own signature before the agency
    seal, and none was given (FAILED_PRECONDITION): the officer is asked first (a signature
    request of the signing service) and confirms on their device."""

    def __init__(self, procedure_code: str) -> None:
        self.procedure_code = procedure_code
        super().__init__(f"the results of procedure {procedure_code} are signed by the competent officer before "
                         "the agency seal: give the signature_request_id they confirmed")


def officer_signs_results(officer_signed_procedures: frozenset[str], procedure_code: str) -> bool:
    """Whether ``procedure_code``'s results need the officer's signature (``*``: every
    procedure's)."""
    return "*" in officer_signed_procedures or procedure_code in officer_signed_procedures
