"""The Dossier aggregate: one application, from draft to return and rating. Pure: imports
eventsourcing, the kernel's errors, the statutory clock and this package's pure modules.

Which state allows which action is in ``lifecycle``; what the pinned procedure version
requires is in ``terms``; the deadlines come from ``deadlines``. Every event carries what
read models and other services need (times, actor, agency, unit, step, channel, outcome).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from motcua.clock import WorkingCalendar
from motcua.dossiers.domain import deadlines, lifecycle as lc
from motcua.dossiers.domain.code_sequence import DossierCodeSequence
from motcua.dossiers.domain.dossier.attachments import AttachmentRules
from motcua.dossiers.domain.dossier.closing import ClosingRules
from motcua.dossiers.domain.procedure_replica import ProcedureReplica
from motcua.dossiers.domain.terms import Terms
from motcua.dossiers.domain.values import (
    MAX_NOTE_LENGTH,
    PERSONAL_APPLICANT_FIELDS,
    Applicant,
    Document,
    DossierStateConflict,
    UnknownProcedure,
    check_submission,
    trimmed,
    trimmed_document,
)
from motcua.kernel.errors import DomainError, InvalidArgument
from motcua.kernel.localtime import local_date


class Dossier(AttachmentRules, ClosingRules):
    """One application by one applicant for one procedure, bound to the procedure version
    in force when it was submitted."""

    if TYPE_CHECKING:
        drafted_at: datetime  # set by ``Drafted`` only; declared for the type checker alone, as in the rules

        # The events its ``@event`` methods define, with their fields (the methods' parameters),
        # as the type checker cannot see classes made at run time; a test compares the two.
        class Submitted(Aggregate.Created):
            procedure_id: UUID
            agency_id: str
            applicant: dict[str, str]
            channel: str
            result_delivery: str
            documents: list[dict[str, Any]]
            dossier_id: UUID | None
            code: str
            procedure_version: int
            procedure_code: str
            procedure_name: str
            processing_days: int
            submitted_at: datetime | None
            request_id: str
            terms: dict[str, Any] | None

        class DraftSubmitted(Aggregate.Event):
            code: str
            procedure_version: int
            procedure_code: str
            procedure_name: str
            processing_days: int
            terms: dict[str, Any] | None
            submitted_at: datetime
            agency_id: str
            procedure_id: UUID
            channel: str
            applicant_kind: str
            applicant_account_id: str

        class Received(Aggregate.Event):
            code: str
            procedure_id: UUID
            procedure_version: int
            agency_id: str
            applicant_account_id: str
            received_at: datetime
            received_by: str
            note: str
            processing_days: int
            appointed_return_at: datetime
            channel: str
            due_at: datetime | None
            coming_due_at: datetime | None
            clock_started_at: datetime | None
            step_due_at: list[datetime] | None
            calendars: list[dict[str, Any]] | None
            fee_due_vnd: int

        class ApplicantDetailsCorrected(Aggregate.Event):
            applicant: dict[str, str]
            changed: list[str]
            reason: str
            corrected_by: str
            corrected_at: datetime

    @staticmethod
    def create_id(dossier_id: UUID, **_: object) -> UUID:
        return dossier_id

    # --- draft and submission ---------------------------------------------------------------

    @classmethod
    def draft(cls, *, dossier_id: UUID, procedure_id: UUID, agency_id: str, applicant: Applicant, channel: str,
              result_delivery: str, documents: Iterable[Document], drafted_at: datetime) -> Dossier:
        documents = list(documents)
        check_submission(agency_id, applicant, channel, result_delivery, documents)
        return cls._create(
            cls.Drafted, id=dossier_id, procedure_id=procedure_id, agency_id=agency_id,
            applicant=trimmed(applicant).as_dict(), channel=channel, result_delivery=result_delivery,
            documents=[trimmed_document(d).as_dict() for d in documents], drafted_at=drafted_at,
        )

    class Drafted(Aggregate.Created):
        """Created as a draft: saved by the applicant, no code and no procedure version yet."""

        procedure_id: UUID
        agency_id: str
        applicant: dict[str, str]
        channel: str
        result_delivery: str
        documents: list[dict[str, Any]]
        drafted_at: datetime

        def apply(self, aggregate: Dossier) -> None:
            aggregate.state = lc.DRAFT
            aggregate.drafted_at = self.drafted_at

    @classmethod
    def submit(
        cls,
        *,
        dossier_id: UUID,
        procedure_id: UUID,
        procedure: ProcedureReplica | None,
        sequence: DossierCodeSequence,
        agency_id: str,
        applicant: Applicant,
        channel: str,
        result_delivery: str,
        documents: Iterable[Document],
        submitted_at: datetime,
        request_id: str = "",
    ) -> Dossier:
        """A submitted dossier, numbered from ``sequence`` (the agency's sequence of the day)."""
        documents = list(documents)
        check_submission(agency_id, applicant, channel, result_delivery, documents)
        procedure, pinned = _pinned(procedure_id, procedure, submitted_at)
        code = _number(sequence, agency_id, submitted_at, dossier_id)
        return cls(
            dossier_id=dossier_id,
            code=code,
            procedure_id=procedure.id,
            procedure_version=pinned["number"],
            procedure_code=procedure.code,
            procedure_name=pinned["name"],
            processing_days=pinned["processing_days"],
            agency_id=agency_id,
            applicant=trimmed(applicant).as_dict(),
            channel=channel,
            result_delivery=result_delivery,
            documents=[trimmed_document(d).as_dict() for d in documents],
            submitted_at=submitted_at,
            request_id=request_id,
            terms=pinned.get("terms"),
        )

    @event("Submitted")
    def __init__(
        self,
        procedure_id: UUID,
        agency_id: str,
        applicant: dict[str, str],
        channel: str,
        result_delivery: str,
        documents: list[dict[str, Any]],
        dossier_id: UUID | None = None,
        code: str = "",
        procedure_version: int = 0,
        procedure_code: str = "",
        procedure_name: str = "",
        processing_days: int = 0,
        submitted_at: datetime | None = None,
        request_id: str = "",
        terms: dict[str, Any] | None = None,
    ) -> None:
        # Also initialises a draft (Drafted carries the first six only): then `code` is empty.
        self._start(procedure_id, agency_id, applicant, channel, result_delivery, documents)
        if code:
            self._pin(code, procedure_version, procedure_code, procedure_name, processing_days, terms, submitted_at)
        self.request_id = request_id

    def submit_draft(
        self, procedure: ProcedureReplica | None, sequence: DossierCodeSequence, submitted_at: datetime
    ) -> None:
        self.check_allowed(lc.SUBMIT)
        procedure, pinned = _pinned(self.procedure_id, procedure, submitted_at)
        code = _number(sequence, self.agency_id, submitted_at, self.id)
        self._draft_submitted(
            code=code, procedure_version=pinned["number"], procedure_code=procedure.code, procedure_name=pinned["name"],
            processing_days=pinned["processing_days"], terms=pinned.get("terms"), submitted_at=submitted_at,
            agency_id=self.agency_id, procedure_id=self.procedure_id, channel=self.channel,
            applicant_kind=self.applicant_data["kind"], applicant_account_id=self.applicant_data.get("account_id", ""),
        )

    @event("DraftSubmitted")
    def _draft_submitted(
        self,
        code: str,
        procedure_version: int,
        procedure_code: str,
        procedure_name: str,
        processing_days: int,
        terms: dict[str, Any] | None,
        submitted_at: datetime,
        agency_id: str,
        procedure_id: UUID,
        channel: str,
        applicant_kind: str,
        applicant_account_id: str,
    ) -> None:
        self._pin(code, procedure_version, procedure_code, procedure_name, processing_days, terms, submitted_at)

    # --- reception --------------------------------------------------------------------------

    def receive(
        self, received_at: datetime, officer: str, note: str = "", calendar: WorkingCalendar | None = None
    ) -> None:
        """The desk accepts the dossier: complete against the pinned version's required
        documents; the statutory clock starts and the return date is appointed."""
        self.check_allowed(lc.RECEIVE)
        _check_note(note)
        missing = self.terms.missing_documents(self.documents_data)
        if missing:
            raise IncompleteDossier(self.code, missing)
        counted = deadlines.count(received_at, self.terms, calendar or deadlines.default_calendar(received_at))
        self._received(
            code=self.code,
            procedure_id=self.procedure_id,
            procedure_version=self.procedure_version,
            agency_id=self.agency_id,
            applicant_account_id=self.applicant_account_id,
            received_at=received_at,
            received_by=officer,
            note=note,
            processing_days=self.processing_days,
            appointed_return_at=counted.due_at,
            channel=self.channel,
            **{k: v for k, v in counted.as_event().items() if k != "due_at"},
            due_at=counted.due_at,
            fee_due_vnd=self.amount_due,
        )

    @event("Received")
    def _received(
        self,
        code: str,
        procedure_id: UUID,
        procedure_version: int,
        agency_id: str,
        applicant_account_id: str,
        received_at: datetime,
        received_by: str,
        note: str,
        processing_days: int,
        appointed_return_at: datetime,
        channel: str = "",
        due_at: datetime | None = None,
        coming_due_at: datetime | None = None,
        clock_started_at: datetime | None = None,
        step_due_at: list[datetime] | None = None,
        calendars: list[dict[str, Any]] | None = None,
        fee_due_vnd: int = 0,  # what the applicant owes on reception, for the notice; 0 in older events
    ) -> None:
        self.state = lc.RECEIVED
        self.received_at = received_at
        self.received_by = received_by
        self.receive_note = note
        self.appointed_return_at = appointed_return_at
        self.clock_from = received_at
        self._deadlines(
            due_at or appointed_return_at, coming_due_at, step_due_at or [], calendars or [], clock_started_at
        )
        self.original_due_at = self.due_at
        self.handling_agency_id = agency_id
        self._hand_over("received", received_at, received_by, "", agency_id, self.handling_unit)

    # --- correcting the applicant's personal data (Decree 13/2023/NĐ-CP) ---

    def correct_applicant(self, corrections: dict[str, str], reason: str, by: str, at: datetime,
                          subject_id: str = "") -> list[str]:
        """Corrects the applicant's personal fields (name, identification number, phone, e-mail,
        address) as a new event: the earlier events stay as written; the whole corrected applicant
        is recorded, under the same subject (and so the same key), so an erasure still reaches
        every version (``subject_id`` names it for a dossier filed before subjects were recorded).
        Returns the fields that changed (none: no event)."""
        reason = reason.strip()
        if not reason:
            raise InvalidArgument.field("reason", "must say why the data is corrected")
        if len(reason) > MAX_NOTE_LENGTH:
            raise InvalidArgument.field("reason", f"must be at most {MAX_NOTE_LENGTH} characters")
        unknown = sorted(set(corrections) - set(PERSONAL_APPLICANT_FIELDS))
        if unknown:
            raise InvalidArgument.field(unknown[0], "is not a personal field of the applicant")
        corrected = trimmed(replace(self.applicant, **corrections))
        if not corrected.subject_id:
            corrected = replace(corrected, subject_id=subject_id)
        check_submission(self.agency_id, corrected, self.channel, self.result_delivery, [])
        current = self.applicant_data
        changed = [k for k in PERSONAL_APPLICANT_FIELDS if getattr(corrected, k) != current.get(k, "")]
        if changed:
            self._applicant_details_corrected(applicant=corrected.as_dict(), changed=changed, reason=reason,
                                              corrected_by=by, corrected_at=at)
        return changed

    @event("ApplicantDetailsCorrected")
    def _applicant_details_corrected(self, applicant: dict[str, str], changed: list[str], reason: str,
                                     corrected_by: str, corrected_at: datetime) -> None:
        self.applicant_data = dict(applicant)

    # --- values read by the rules and the application --------------------------------------------

    @property
    def applicant(self) -> Applicant:
        return Applicant(**self.applicant_data)

    @property
    def documents(self) -> list[Document]:
        return [Document(**d) for d in self.documents_data]

    @property
    def applicant_account_id(self) -> str:
        return self.applicant_data.get("account_id", "")

    @property
    def terms(self) -> Terms:
        return Terms.of(self.terms_data, self.processing_days)

    @property
    def current_step(self) -> dict[str, Any] | None:
        steps = self.terms.steps
        if self.step_index < len(steps):
            step = steps[self.step_index]
            return {"index": self.step_index, "name": step.name, "role": step.role, "unit": step.unit}
        return None

    def check_allowed(self, action: str) -> None:
        """Refuses an action its state does not allow (the table in ``lifecycle``)."""
        if not lc.allows(self.state, action):
            raise self.state_conflict(self.state, action)

    def state_conflict(self, state: str, action: str) -> DossierStateConflict:
        """The action is not allowed as the dossier is: ``state`` says how (its state, or e.g.
        "rated")."""
        return DossierStateConflict(f"dossier {self.code or self.id}", state, action)

    # --- state shared by the creation events ----------------------------------------------------

    def _start(self, procedure_id: UUID, agency_id: str, applicant: dict[str, str], channel: str, result_delivery: str,
               documents: list[dict[str, Any]]) -> None:
        self.procedure_id = procedure_id
        self.agency_id = agency_id
        self.handling_agency_id = agency_id
        self.handling_unit = ""
        self.applicant_data = dict(applicant)
        self.channel = channel
        self.result_delivery = result_delivery
        self.documents_data = [dict(d) for d in documents]
        self.state = lc.DRAFT
        self.code = ""
        self.procedure_version = 0
        self.procedure_code = self.procedure_name = ""
        self.processing_days = 0
        self.terms_data: dict[str, Any] | None = None
        self.submitted_at: datetime | None = None
        self.request_id = ""
        self.received_at: datetime | None = None
        self.received_by = self.receive_note = ""
        self.appointed_return_at: datetime | None = None
        self.original_due_at: datetime | None = None
        self.due_at: datetime | None = None
        self.coming_due_at: datetime | None = None
        self.clock_from: datetime | None = None
        self.clock_started_at: datetime | None = None
        self.step_due_at: list[datetime] = []
        self.calendars: list[dict[str, Any]] = []
        self.pauses: list[dict[str, Any]] = []
        self.state_before_supplement = ""
        self.supplement_requests: list[dict[str, Any]] = []
        self.assignee = ""
        self.step_index = 0
        self.handovers: list[dict[str, Any]] = []
        self.apologies: list[dict[str, Any]] = []
        self.payments: list[dict[str, Any]] = []
        self.result: dict[str, Any] = {}
        self.finished_at: datetime | None = None
        self.returned_at: datetime | None = None
        self.outcome = ""
        self.closing_reason = ""
        self.rating: dict[str, Any] = {}
        self.flagged: list[str] = []
        self.attachments: list[dict[str, Any]] = []

    def _pin(self, code: str, procedure_version: int, procedure_code: str, procedure_name: str, processing_days: int,
             terms: dict[str, Any] | None, submitted_at: datetime | None) -> None:
        self.code = code
        self.procedure_version = procedure_version
        self.procedure_code = procedure_code
        self.procedure_name = procedure_name
        self.processing_days = processing_days
        self.terms_data = terms
        self.submitted_at = submitted_at
        self.state = lc.SUBMITTED

    def _deadlines(self, due_at: datetime, coming_due_at: datetime | None, step_due_at: list[datetime],
                   calendars: list[dict[str, Any]], clock_started_at: datetime | None = None) -> None:
        self.due_at = due_at
        self.coming_due_at = coming_due_at
        self.step_due_at = list(step_due_at)
        self.calendars = [dict(c) for c in calendars]
        self.clock_started_at = clock_started_at

    def _hand_over(
        self, kind: str, at: datetime, by: str, to_user: str, to_agency: str, to_unit: str, note: str = ""
    ) -> None:
        """One line of the process control slip."""
        self.handovers.append(
            {
                "kind": kind,
                "at": at,
                "by": by,
                "from_agency_id": self.handling_agency_id,
                "from_unit": self.handling_unit,
                "to_agency_id": to_agency,
                "to_unit": to_unit,
                "to_user": to_user,
                "step_index": self.step_index,
                "note": note,
            }
        )
        self.handling_agency_id = to_agency
        self.handling_unit = to_unit


def _pinned(
    procedure_id: UUID, procedure: ProcedureReplica | None, at: datetime
) -> tuple[ProcedureReplica, dict[str, Any]]:
    """The procedure, known, and its version in force at ``at``."""
    pinned = procedure.in_force_at(at) if procedure is not None else None
    if procedure is None or pinned is None:
        raise UnknownProcedure(procedure_id)
    return procedure, pinned


def _number(sequence: DossierCodeSequence, agency_id: str, at: datetime, dossier_id: UUID) -> str:
    if (sequence.agency_id, sequence.calendar_day) != (agency_id, local_date(at)):
        raise ValueError("the sequence is not the agency's sequence of the submission day")
    return sequence.issue(dossier_id)


def _check_note(note: str, field: str = "note") -> None:
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidArgument.field(field, f"must be at most {MAX_NOTE_LENGTH} characters")


class IncompleteDossier(DomainError):
    """The dossier lacks required documents of its procedure version (FAILED_PRECONDITION):
    the desk asks for a supplement naming them instead."""

    def __init__(self, code: str, missing: list[str]) -> None:
        self.missing = missing
        super().__init__(f"dossier {code} is incomplete: missing {'; '.join(missing)}")
