"""The procedure catalog's aggregates. Pure: imports only eventsourcing and the kernel's errors.

A procedure keeps one id and one code across its versions. Each version is a draft, then
published (in force), then superseded by the next published version or withdrawn. A
published version never changes: a change is made by drafting the next version. The
aggregate holds every version with the period it was in force, so "which version was in
force at time T" is answered from its events alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.kernel.errors import AlreadyExists, FieldViolation, InvalidArgument, InvalidTransition

from .content import ProcedureContent

DRAFT = "draft"
PUBLISHED = "published"
SUPERSEDED = "superseded"
WITHDRAWN = "withdrawn"

PROCEDURE_CODE = re.compile(r"^[0-9]+\.[0-9]{6}(\.[0-9A-Z]+)*$")
MAX_CODE_LENGTH = 64


class Procedure(Aggregate):
    """One administrative procedure of the catalog, with all its versions."""

    # The @event decorator defines these event classes at run time, from the methods below;
    # declared here for the type checker alone (annotations at run time would make
    # eventsourcing turn the aggregate into a dataclass).
    if TYPE_CHECKING:
        class Renamed(Aggregate.Event):
            name: str

        class Revised(Aggregate.Event):
            content: dict[str, Any]

        class VersionDrafted(Aggregate.Event):
            number: int
            content: dict[str, Any]

    class Created(Aggregate.Created):
        class_version = 2
        code: str
        content: dict[str, Any]

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["content"] = ProcedureContent.legacy(
                state.pop("name"), state.pop("agency_id"), state.pop("processing_days")
            )

    class Published(Aggregate.Event):
        """A draft came into force; the version in force before (``superseded``, 0: none) ends now.

        Carries the whole version: a published version never changes, and the outbox relay
        builds the integration event from this event alone.
        """

        class_version = 2
        code: str
        number: int
        content: dict[str, Any]
        superseded: int

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["content"] = ProcedureContent.legacy(
                state.pop("name"), state.pop("agency_id"), state.pop("processing_days")
            )
            state["number"] = 1
            state["superseded"] = 0

        def apply(self, aggregate: Procedure) -> None:
            aggregate._take_effect(self.number, self.superseded, self.timestamp)

    class Withdrawn(Aggregate.Event):
        """The version in force (``number``) stops being offered."""

        code: str
        number: int

        def apply(self, aggregate: Procedure) -> None:
            aggregate._end(self.number, WITHDRAWN, self.timestamp)

    @event(Created)
    def __init__(self, code: str, content: dict[str, Any]) -> None:
        self.code = code
        self.versions: list[dict[str, Any]] = [_new_version(1, content)]

    @classmethod
    def draft(cls, code: str, content: ProcedureContent) -> Procedure:
        content = content.trimmed()
        violations = [*code_violations(code), *content.violations()]
        if violations:
            raise InvalidArgument(*violations)
        return cls(code=code, content=content.as_dict())

    # --- what it is -----------------------------------------------------------------------

    @property
    def latest(self) -> dict[str, Any]:
        return self.versions[-1]

    @property
    def state(self) -> str:
        return self.latest["state"]

    @property
    def content(self) -> ProcedureContent:
        """The content of the latest version."""
        return ProcedureContent.from_dict(self.latest["content"])

    def version_numbered(self, number: int) -> dict[str, Any] | None:
        return self.versions[number - 1] if 1 <= number <= len(self.versions) else None

    def in_force_at(self, moment: datetime) -> dict[str, Any] | None:
        """The version in force at ``moment`` (an aware datetime), if any."""
        for version in self.versions:
            start, end = version["effective_from"], version["effective_until"]
            if start is not None and start <= moment and (end is None or moment < end):
                return version
        return None

    def in_force(self) -> dict[str, Any] | None:
        return next((v for v in self.versions if v["state"] == PUBLISHED), None)

    # --- commands -------------------------------------------------------------------------

    def rename(self, name: str) -> None:
        self.check_draft("rename")
        content = ProcedureContent.from_dict({**self.latest["content"], "name": name}).checked()
        self._renamed(name=content.name)

    def revise(self, content: ProcedureContent) -> bool:
        """Replaces the draft's content; False when nothing changed (no event)."""
        self.check_draft("update")
        revised = content.checked().as_dict()
        if revised == self.latest["content"]:
            return False
        self._revised(content=revised)
        return True

    def draft_next_version(self) -> None:
        """Opens the next version as a draft, from the latest version's content."""
        if self.state == DRAFT:
            raise DraftAlreadyOpen(self._subject(), DRAFT, "draft another version of")
        self._version_drafted(number=len(self.versions) + 1, content=dict(self.latest["content"]))

    def publish(self) -> None:
        self.check_draft("publish")
        in_force = self.in_force()
        self.trigger_event(
            self.Published,
            code=self.code,
            number=self.latest["number"],
            content=dict(self.latest["content"]),
            superseded=in_force["number"] if in_force else 0,
        )

    def withdraw(self) -> None:
        in_force = self.in_force()
        if in_force is None:
            raise NothingInForce(f"procedure {self.code}", self.state, "withdraw")
        self.trigger_event(self.Withdrawn, code=self.code, number=in_force["number"])

    def check_draft(self, action: str) -> None:
        if self.state != DRAFT:
            raise ProcedureNotDraft(self._subject(), self.state, action)

    # --- events ---------------------------------------------------------------------------

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.latest["content"] = {**self.latest["content"], "name": name}

    @event("Revised")
    def _revised(self, content: dict[str, Any]) -> None:
        self.latest["content"] = dict(content)

    @event("VersionDrafted")
    def _version_drafted(self, number: int, content: dict[str, Any]) -> None:
        self.versions.append(_new_version(number, content))

    def _take_effect(self, number: int, superseded: int, moment: datetime) -> None:
        if superseded:
            self._end(superseded, SUPERSEDED, moment)
        version = self.versions[number - 1]
        version["state"] = PUBLISHED
        version["effective_from"] = moment

    def _end(self, number: int, state: str, moment: datetime) -> None:
        version = self.versions[number - 1]
        version["state"] = state
        version["effective_until"] = moment

    def _subject(self) -> str:
        return f"procedure {self.code} version {self.latest['number']}"


def _new_version(number: int, content: dict[str, Any]) -> dict[str, Any]:
    return {"number": number, "state": DRAFT, "content": dict(content), "effective_from": None, "effective_until": None}


class ProcedureCode(Aggregate):
    """Index from a procedure code to its procedure: makes codes unique.

    Saved in the same transaction as the procedure; a second procedure with
    the same code collides on this aggregate's first version.
    """

    @staticmethod
    def create_id(code: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/motcua/procedure-codes/{code}")

    @event("Registered")
    def __init__(self, code: str, procedure_id: UUID) -> None:
        self.code = code
        self.procedure_id = procedure_id


def code_violations(code: str) -> list[FieldViolation]:
    if len(code) > MAX_CODE_LENGTH or not PROCEDURE_CODE.match(code):
        return [FieldViolation("code", "must be a national procedure code such as 1.001193.000.00.00.H56")]
    return []


class ProcedureNotDraft(InvalidTransition):
    """Only a draft version can be edited or published."""


class DraftAlreadyOpen(InvalidTransition):
    """A procedure has at most one draft version at a time."""


class NothingInForce(InvalidTransition):
    """Only a procedure with a version in force can be withdrawn."""


class DuplicateProcedureCode(AlreadyExists):
    """Another procedure already has this code."""
