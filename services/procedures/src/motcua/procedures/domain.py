"""The procedure catalog's aggregates. Pure: imports only eventsourcing and the kernel's errors."""

from __future__ import annotations

import re
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.kernel.errors import AlreadyExists, InvalidArgument, InvalidTransition

DRAFT = "draft"
PUBLISHED = "published"
SUPERSEDED = "superseded"
WITHDRAWN = "withdrawn"

PROCEDURE_CODE = re.compile(r"^[0-9]+\.[0-9]{6}(\.[0-9A-Z]+)*$")
AGENCY_EID = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")
MAX_PROCESSING_DAYS = 365
MAX_NAME_LENGTH = 500


class Procedure(Aggregate):
    """One administrative procedure of the catalog (its versioning comes with the full catalog)."""

    @event("Created")
    def __init__(self, code: str, name: str, agency_id: str, processing_days: int) -> None:
        self.code = code
        self.name = name
        self.agency_id = agency_id
        self.processing_days = processing_days
        self.state = DRAFT

    @classmethod
    def draft(cls, code: str, name: str, agency_id: str, processing_days: int) -> Procedure:
        check_code(code)
        check_name(name)
        check_agency(agency_id)
        check_processing_days(processing_days)
        return cls(code=code, name=name.strip(), agency_id=agency_id, processing_days=processing_days)

    def rename(self, name: str) -> None:
        self.check_draft("rename")
        check_name(name)
        self._renamed(name=name.strip())

    def publish(self) -> None:
        self.check_draft("publish")
        # The event carries what was published: a published version never changes.
        self._published(code=self.code, name=self.name, agency_id=self.agency_id, processing_days=self.processing_days)

    @event("Renamed")
    def _renamed(self, name: str) -> None:
        self.name = name

    @event("Published")
    def _published(self, code: str, name: str, agency_id: str, processing_days: int) -> None:
        self.state = PUBLISHED

    def check_draft(self, action: str) -> None:
        if self.state != DRAFT:
            raise ProcedureNotDraft(f"procedure {self.code}", self.state, action)


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


def check_code(code: str) -> None:
    if not PROCEDURE_CODE.match(code):
        raise InvalidArgument.field("code", "must be a national procedure code such as 1.001193.000.00.00.H56")


def check_name(name: str) -> None:
    if not name.strip():
        raise InvalidArgument.field("name", "must not be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument.field("name", f"must be at most {MAX_NAME_LENGTH} characters")


def check_agency(agency_id: str) -> None:
    if not AGENCY_EID.match(agency_id):
        raise InvalidArgument.field("agency_id", "must be an agency electronic identifier such as 000.00.12.H56")


def check_processing_days(days: int) -> None:
    if not 1 <= days <= MAX_PROCESSING_DAYS:
        raise InvalidArgument.field("processing_days", f"must be between 1 and {MAX_PROCESSING_DAYS}")


class ProcedureNotDraft(InvalidTransition):
    """Only a draft procedure can be edited or published."""


class DuplicateProcedureCode(AlreadyExists):
    """Another procedure already has this code."""
