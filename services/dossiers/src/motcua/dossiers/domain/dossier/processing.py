"""The dossier's processing rules, from reception to the result: supplements (the clock
stops, then resumes or restarts), refusal, assignment, steps, transfers, the apology,
and the deadline watch. Pure; ``Dossier`` (module ``dossier``) inherits them.

Every rule checks the state first (``check_allowed``: FAILED_PRECONDITION naming the
state); who may act is the application's concern.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from motcua.clock import WorkingCalendar
from motcua.dossiers.domain import deadlines, lifecycle as lc
from motcua.dossiers.domain.terms import RESTART, Terms
from motcua.dossiers.domain.values import MAX_NAME_LENGTH, MAX_NOTE_LENGTH, DossierStateConflict
from motcua.kernel.agency_ids import check_agency_id
from motcua.kernel.errors import InvalidArgument

MAX_ITEMS = 100


class ProcessingRules(Aggregate):
    if TYPE_CHECKING:
        # The dossier's state the rules read and write, set by ``Dossier._start``, and the
        # dossier's helpers they call. Declared for the type checker only: annotations at run
        # time would make eventsourcing turn the class into a dataclass.
        state: str
        code: str
        procedure_id: UUID
        procedure_version: int
        agency_id: str
        handling_agency_id: str
        handling_unit: str
        applicant_data: dict[str, str]
        channel: str
        result_delivery: str
        documents_data: list[dict[str, Any]]
        received_at: datetime | None
        appointed_return_at: datetime | None
        original_due_at: datetime | None
        due_at: datetime | None
        coming_due_at: datetime | None
        clock_from: datetime | None
        step_due_at: list[datetime]
        pauses: list[dict[str, Any]]
        state_before_supplement: str
        supplement_requests: list[dict[str, Any]]
        assignee: str
        step_index: int
        apologies: list[dict[str, Any]]
        payments: list[dict[str, Any]]
        result: dict[str, Any]
        finished_at: datetime | None
        returned_at: datetime | None
        outcome: str
        closing_reason: str
        flagged: list[str]

        @property
        def terms(self) -> Terms: ...

        @property
        def current_step(self) -> dict[str, Any] | None: ...

        def check_allowed(self, action: str) -> None: ...

        def state_conflict(self, state: str, action: str) -> DossierStateConflict: ...

        def _deadlines(self, due_at: datetime, coming_due_at: datetime | None, step_due_at: list[datetime],
                       calendars: list[dict[str, Any]], clock_started_at: datetime | None = None) -> None: ...

        def _hand_over(self, kind: str, at: datetime, by: str, to_user: str, to_agency: str, to_unit: str,
                       note: str = "") -> None: ...

        # The events its ``@event`` methods define, with their fields (the methods' parameters),
        # as the type checker cannot see classes made at run time; a test compares the two.
        class SupplementRequested(Aggregate.Event):
            requested_at: datetime
            requested_by: str
            items: list[dict[str, str]]
            note: str
            during: str
            facts: dict[str, Any]

        class Supplemented(Aggregate.Event):
            supplemented_at: datetime
            supplemented_by: str
            documents: list[dict[str, Any]]
            note: str
            resumed_state: str
            rule: str
            due_at: datetime | None
            coming_due_at: datetime | None
            clock_started_at: datetime | None
            step_due_at: list[datetime] | None
            calendars: list[dict[str, Any]] | None
            facts: dict[str, Any] | None

        class Refused(Aggregate.Event):
            refused_at: datetime
            refused_by: str
            reason: str
            facts: dict[str, Any]

        class Assigned(Aggregate.Event):
            assigned_at: datetime
            assigned_by: str
            assignee: str
            unit: str
            claimed: bool
            step: dict[str, Any] | None
            facts: dict[str, Any]

        class StepCompleted(Aggregate.Event):
            completed_at: datetime
            completed_by: str
            step: dict[str, Any]
            note: str
            step_due_at: datetime | None
            late: bool
            next_step: dict[str, Any]
            next_assignee: str
            facts: dict[str, Any]

        class Transferred(Aggregate.Event):
            transferred_at: datetime
            transferred_by: str
            from_agency_id: str
            from_unit: str
            to_agency_id: str
            to_unit: str
            reason: str
            facts: dict[str, Any]

        class ApologyIssued(Aggregate.Event):
            issued_at: datetime
            issued_by: str
            reason: str
            new_appointment_at: datetime
            previous_appointment_at: datetime
            facts: dict[str, Any]

        class CameDue(Aggregate.Event):
            due_at: datetime
            noticed_at: datetime
            facts: dict[str, Any]

        class BecameOverdue(Aggregate.Event):
            due_at: datetime
            noticed_at: datetime
            facts: dict[str, Any]

    # --- supplements: the clock stops and resumes (or restarts) ---------------------------------

    def request_supplement(self, at: datetime, officer: str, items: list[dict[str, str]], note: str = "") -> None:
        """Asks the applicant, once, for every faulty item; a running clock stops."""
        self.check_allowed(lc.REQUEST_SUPPLEMENT)
        _check_items(items)
        _check_text(note, "note")
        self._supplement_requested(
            requested_at=at,
            requested_by=officer,
            items=[{k: v.strip() for k, v in i.items()} for i in items],
            note=note,
            during="reception" if self.state == lc.SUBMITTED else "processing",
            facts=self._facts(),
        )

    @event("SupplementRequested")
    def _supplement_requested(self, requested_at: datetime, requested_by: str, items: list[dict[str, str]], note: str,
                              during: str, facts: dict[str, Any]) -> None:
        self.state_before_supplement = self.state
        if self.state in lc.CLOCK_RUNNING:
            self.pauses.append({"start": requested_at, "end": None, "reason": "supplement"})
        self.supplement_requests.append(
            {"at": requested_at, "by": requested_by, "items": items, "note": note, "during": during}
        )
        self.state = lc.AWAITING_SUPPLEMENT

    def supplement(self, at: datetime, by: str, documents: list[dict[str, Any]], note: str = "",
                   calendar: WorkingCalendar | None = None) -> None:
        """The applicant hands in what was asked. At reception the dossier goes back to the desk;
        in processing the clock resumes, or restarts when the procedure says so."""
        self.check_allowed(lc.SUPPLEMENT)
        _check_text(note, "note")
        merged = _merge_documents(self.documents_data, documents)
        resumed = self.state_before_supplement
        counted: dict[str, Any] = {}
        rule = ""
        if resumed in lc.CLOCK_RUNNING:
            rule = self.terms.supplement_rule
            assert self.clock_from is not None  # a running clock was started at reception
            clock_from = at if rule == RESTART else self.clock_from
            pauses = [] if rule == RESTART else [*self.pauses[:-1], {**self.pauses[-1], "end": at}]
            counted = deadlines.count(
                clock_from, self.terms, calendar or deadlines.default_calendar(clock_from), deadlines.pauses_of(pauses)
            ).as_event()
        self._supplemented(supplemented_at=at, supplemented_by=by, documents=merged, note=note, resumed_state=resumed,
                           rule=rule, **counted, facts=self._facts())

    @event("Supplemented")
    def _supplemented(
        self,
        supplemented_at: datetime,
        supplemented_by: str,
        documents: list[dict[str, Any]],
        note: str,
        resumed_state: str,
        rule: str,
        due_at: datetime | None = None,
        coming_due_at: datetime | None = None,
        clock_started_at: datetime | None = None,
        step_due_at: list[datetime] | None = None,
        calendars: list[dict[str, Any]] | None = None,
        facts: dict[str, Any] | None = None,
    ) -> None:
        self.documents_data = [dict(d) for d in documents]
        self.state = resumed_state
        if resumed_state in lc.CLOCK_RUNNING:
            if rule == RESTART:
                self.clock_from = supplemented_at
                self.pauses = []
            else:
                self.pauses[-1] = {**self.pauses[-1], "end": supplemented_at}
            # A clock that resumes was counted again: the event carries the new due date.
            assert due_at is not None
            self._deadlines(due_at, coming_due_at, step_due_at or [], calendars or [], clock_started_at)
            self.original_due_at = due_at
            self.appointed_return_at = max(due_at, self.appointed_return_at or due_at) if self.apologies else due_at

    # --- refusal ------------------------------------------------------------------------------

    def refuse(self, at: datetime, officer: str, reason: str) -> None:
        self.check_allowed(lc.REFUSE)
        if not reason.strip():
            raise InvalidArgument.field("reason", "a refusal must say why")
        _check_text(reason, "reason")
        self._refused(refused_at=at, refused_by=officer, reason=reason.strip(), facts=self._facts())

    @event("Refused")
    def _refused(self, refused_at: datetime, refused_by: str, reason: str, facts: dict[str, Any]) -> None:
        self._close_pause(refused_at)
        self.state = lc.REFUSED
        self.closing_reason = reason
        self.finished_at = refused_at

    # --- assignment, steps and transfers --------------------------------------------------------

    def assign(self, at: datetime, by: str, assignee: str, unit: str = "") -> None:
        """Hands the dossier to an officer (``by`` == ``assignee``: the officer claims it)."""
        self.check_allowed(lc.ASSIGN)
        if not assignee.strip():
            raise InvalidArgument.field("assignee", "must name the officer")
        _check_text(unit, "unit", MAX_NAME_LENGTH)
        step = self.current_step
        self._assigned(
            assigned_at=at,
            assigned_by=by,
            assignee=assignee,
            unit=unit.strip() or (step or {}).get("unit", ""),
            claimed=by == assignee,
            step=step,
            facts=self._facts(),
        )

    @event("Assigned")
    def _assigned(self, assigned_at: datetime, assigned_by: str, assignee: str, unit: str, claimed: bool,
                  step: dict[str, Any] | None, facts: dict[str, Any]) -> None:
        self.state = lc.IN_PROCESS
        self.assignee = assignee
        self._hand_over(
            "claimed" if claimed else "assigned", assigned_at, assigned_by, assignee, self.handling_agency_id, unit
        )

    def complete_step(self, at: datetime, by: str, note: str = "", next_assignee: str = "") -> None:
        """The current step is done; the dossier moves to the next step of the pinned version."""
        self.check_allowed(lc.COMPLETE_STEP)
        _check_text(note, "note")
        steps = self.terms.steps
        if self.step_index >= len(steps) - 1:
            raise self.state_conflict("at its last step", lc.COMPLETE_STEP)
        due = self.step_due_at[self.step_index] if self.step_index < len(self.step_due_at) else None
        following = steps[self.step_index + 1]
        current = self.current_step
        assert current is not None  # a step follows this one: this one is within the steps
        self._step_completed(
            completed_at=at,
            completed_by=by,
            step=current,
            note=note,
            step_due_at=due,
            late=bool(due and at > due),
            next_step={
                "index": self.step_index + 1,
                "name": following.name,
                "role": following.role,
                "unit": following.unit,
            },
            next_assignee=next_assignee,
            facts=self._facts(),
        )

    @event("StepCompleted")
    def _step_completed(self, completed_at: datetime, completed_by: str, step: dict[str, Any], note: str,
                        step_due_at: datetime | None, late: bool, next_step: dict[str, Any], next_assignee: str,
                        facts: dict[str, Any]) -> None:
        self.step_index = next_step["index"]
        self.assignee = next_assignee
        self._hand_over(
            "step",
            completed_at,
            completed_by,
            next_assignee,
            self.handling_agency_id,
            next_step["unit"] or self.handling_unit,
            note,
        )

    def transfer(self, at: datetime, by: str, to_agency_id: str, to_unit: str, reason: str) -> None:
        """Hands the dossier to another unit or agency (liên thông); the clock keeps running."""
        self.check_allowed(lc.TRANSFER)
        check_agency_id(to_agency_id, "to_agency_id")
        _check_text(to_unit, "to_unit", MAX_NAME_LENGTH)
        _check_text(reason, "reason")
        if (to_agency_id, to_unit.strip()) == (self.handling_agency_id, self.handling_unit):
            raise InvalidArgument.field("to_unit", "the dossier is already there")
        self._transferred(
            transferred_at=at,
            transferred_by=by,
            from_agency_id=self.handling_agency_id,
            from_unit=self.handling_unit,
            to_agency_id=to_agency_id,
            to_unit=to_unit.strip(),
            reason=reason,
            facts=self._facts(),
        )

    @event("Transferred")
    def _transferred(self, transferred_at: datetime, transferred_by: str, from_agency_id: str, from_unit: str,
                     to_agency_id: str, to_unit: str, reason: str, facts: dict[str, Any]) -> None:
        self.assignee = ""
        self._hand_over("transfer", transferred_at, transferred_by, "", to_agency_id, to_unit, reason)

    # --- lateness: the apology, and the watch -----------------------------------------------

    def apologize(self, at: datetime, officer: str, reason: str, new_appointment: datetime) -> None:
        """The apology slip with a new return date. Statistics keep the original due date."""
        self.check_allowed(lc.APOLOGIZE)
        if not reason.strip():
            raise InvalidArgument.field("reason", "an apology must say why the dossier is late")
        _check_text(reason, "reason")
        appointed = self.appointed_return_at
        assert appointed is not None  # set at reception, and only a received dossier is apologized for
        if new_appointment <= max(appointed, at):
            raise InvalidArgument.field("new_appointment_time", "must be after the current appointment and now")
        self._apology_issued(issued_at=at, issued_by=officer, reason=reason.strip(), new_appointment_at=new_appointment,
                             previous_appointment_at=appointed, facts=self._facts())

    @event("ApologyIssued")
    def _apology_issued(self, issued_at: datetime, issued_by: str, reason: str, new_appointment_at: datetime,
                        previous_appointment_at: datetime, facts: dict[str, Any]) -> None:
        self.apologies.append(
            {"at": issued_at, "by": issued_by, "reason": reason, "new_appointment_at": new_appointment_at}
        )
        self.appointed_return_at = new_appointment_at

    def watch(self, now: datetime) -> list[str]:
        """Flags the dossier coming due, then overdue, each once per due date; what it flagged."""
        flagged: list[str] = []
        if self.state not in lc.CLOCK_RUNNING or self.due_at is None:
            return flagged
        if (
            self.coming_due_at
            and now >= self.coming_due_at
            and f"came_due:{self.due_at.isoformat()}" not in self.flagged
        ):
            self._came_due(due_at=self.due_at, noticed_at=now, facts=self._facts())
            flagged.append("came_due")
        if now > self.due_at and f"overdue:{self.due_at.isoformat()}" not in self.flagged:
            self._became_overdue(due_at=self.due_at, noticed_at=now, facts=self._facts())
            flagged.append("overdue")
        return flagged

    @event("CameDue")
    def _came_due(self, due_at: datetime, noticed_at: datetime, facts: dict[str, Any]) -> None:
        self.flagged.append(f"came_due:{due_at.isoformat()}")

    @event("BecameOverdue")
    def _became_overdue(self, due_at: datetime, noticed_at: datetime, facts: dict[str, Any]) -> None:
        self.flagged.append(f"overdue:{due_at.isoformat()}")

    # --- helpers ---------------------------------------------------------------------------

    def _facts(self) -> dict[str, Any]:
        """What every later event repeats, so that a consumer needs no other event to use it."""
        return {
            "code": self.code,
            "agency_id": self.agency_id,
            "handling_agency_id": self.handling_agency_id,
            "handling_unit": self.handling_unit,
            "procedure_id": self.procedure_id,
            "procedure_version": self.procedure_version,
            "applicant_account_id": self.applicant_data.get("account_id", ""),
            "channel": self.channel,
            "step_index": self.step_index,
        }

    def _close_pause(self, at: datetime) -> None:
        if self.pauses and self.pauses[-1]["end"] is None:
            self.pauses[-1] = {**self.pauses[-1], "end": at}


def _check_text(text: str, field: str, limit: int = MAX_NOTE_LENGTH) -> None:
    if len(text) > limit:
        raise InvalidArgument.field(field, f"must be at most {limit} characters")


def _check_items(items: list[dict[str, str]]) -> None:
    if not items:
        raise InvalidArgument.field("items", "name every faulty item, at least one")
    if len(items) > MAX_ITEMS:
        raise InvalidArgument.field("items", f"at most {MAX_ITEMS} items")
    for i, item in enumerate(items):
        if not item.get("document", "").strip():
            raise InvalidArgument.field(f"items[{i}].document", "must name the document")
        if not item.get("problem", "").strip():
            raise InvalidArgument.field(f"items[{i}].problem", "must say what is wrong or missing")
        _check_text(item["document"], f"items[{i}].document", MAX_NAME_LENGTH * 3)
        _check_text(item["problem"], f"items[{i}].problem")


def _merge_documents(current: list[dict[str, Any]], added: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A supplemented document replaces the one of the same name; new ones are added."""
    for i, d in enumerate(added):
        if not d.get("name", "").strip():
            raise InvalidArgument.field(f"documents[{i}].name", "must not be blank")
    names = {d["name"].strip().casefold() for d in added}
    kept = [dict(d) for d in current if d["name"].strip().casefold() not in names]
    return kept + [
        {"name": d["name"].strip(), "originals": int(d.get("originals", 0)), "copies": int(d.get("copies", 0))}
        for d in added
    ]
