"""The agency tree: province → departments, the service center, communes; in force between
dates, so that renames and merges keep their history (a dossier stays bound to the agency,
and the name, in force when it was received)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.kernel.agency_ids import check_agency_id
from motcua.kernel.errors import AlreadyExists, FieldViolation, InvalidArgument, InvalidTransition

PROVINCE = "province"
DEPARTMENT = "department"
SERVICE_CENTER = "service_center"
DISTRICT = "district"  # gone since the 2025 reform; kept for history
COMMUNE = "commune"
AGENCY_KINDS = (PROVINCE, DEPARTMENT, SERVICE_CENTER, DISTRICT, COMMUNE)

MAX_NAME_LENGTH = 500


@dataclass(frozen=True)
class AgencyName:
    name: str
    valid_from: date


class Agency(Aggregate):
    """One agency; its id derives from its electronic identifier (eid)."""

    # The @event decorator defines these event classes at run time, from the methods below;
    # declared here for the type checker alone (annotations at run time would make
    # eventsourcing turn the aggregate into a dataclass).
    if TYPE_CHECKING:
        class Created(Aggregate.Created):
            eid: str
            name: str
            kind: str
            parent_eid: str
            valid_from: str

        class Renamed(Aggregate.Event):
            eid: str
            name: str
            effective_date: str

        class Closed(Aggregate.Event):
            eid: str
            close_date: str
            successor_eid: str

    @staticmethod
    def create_id(eid: str, **_: object) -> UUID:
        return agency_id(eid)

    @event("Created")
    def __init__(self, eid: str, name: str, kind: str, parent_eid: str, valid_from: str) -> None:
        self.eid = eid
        self.kind = kind
        self.parent_eid = parent_eid
        self.valid_from = date.fromisoformat(valid_from)
        self.valid_to: date | None = None
        self.successor_eid = ""
        self.names = [AgencyName(name, self.valid_from)]

    @classmethod
    def found(cls, eid: str, name: str, kind: str, parent: Agency | None, valid_from: date) -> Agency:
        """A new agency under ``parent`` (None only for a province), in force from
        ``valid_from``."""
        check_agency_id(eid)
        check_name(name)
        if kind not in AGENCY_KINDS:
            raise InvalidArgument.field("kind", f"must be one of {', '.join(AGENCY_KINDS)}")
        if kind == PROVINCE and parent is not None:
            raise InvalidArgument.field("parent_agency_id", "a province has no parent agency")
        if kind != PROVINCE:
            if parent is None:
                raise InvalidArgument.field("parent_agency_id", f"a {kind} needs a parent agency")
            if not parent.in_force_on(valid_from):
                raise InvalidArgument.field("parent_agency_id", f"{parent.eid} is not in force on {valid_from}")
        return cls(eid=eid, name=name.strip(), kind=kind, parent_eid=parent.eid if parent else "",
                   valid_from=valid_from.isoformat())

    @property
    def name(self) -> str:
        return self.names[-1].name

    def name_on(self, day: date) -> str:
        """The name in force on ``day`` (the first name for a day before the agency existed)."""
        current = self.names[0].name
        for entry in self.names:
            if entry.valid_from <= day:
                current = entry.name
        return current

    def in_force_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day < self.valid_to)

    def rename(self, name: str, effective: date) -> None:
        """A new name from ``effective`` on, after the current name's first day."""
        self.check_open("rename")
        check_name(name)
        if effective <= self.names[-1].valid_from:
            raise InvalidArgument.field(
                "effective_date", f"must be after {self.names[-1].valid_from}, the first day of the current name")
        self._renamed(eid=self.eid, name=name.strip(), effective_date=effective.isoformat())

    # Renamed and Closed carry the eid too: the read model and the integration events key on it.
    @event("Renamed")
    def _renamed(self, eid: str, name: str, effective_date: str) -> None:
        self.names.append(AgencyName(name, date.fromisoformat(effective_date)))

    def close(self, close_date: date, successor: Agency | None) -> None:
        """No longer in force from ``close_date`` on; ``successor`` takes over its work."""
        self.check_open("close")
        if close_date <= self.valid_from:
            raise InvalidArgument.field("close_date", f"must be after {self.valid_from}, the agency's first day")
        if successor is not None:
            if successor.eid == self.eid:
                raise InvalidArgument.field("successor_agency_id", "an agency cannot succeed itself")
            if not successor.in_force_on(close_date):
                raise InvalidArgument.field("successor_agency_id", f"{successor.eid} is not in force on {close_date}")
        self._closed(eid=self.eid, close_date=close_date.isoformat(), successor_eid=successor.eid if successor else "")

    @event("Closed")
    def _closed(self, eid: str, close_date: str, successor_eid: str) -> None:
        self.valid_to = date.fromisoformat(close_date)
        self.successor_eid = successor_eid

    def check_open(self, action: str) -> None:
        if self.valid_to is not None:
            raise AgencyClosedError(f"agency {self.eid}", f"closed from {self.valid_to}", action)


def agency_id(eid: str) -> UUID:
    """The aggregate id of the agency with this electronic identifier."""
    return uuid5(NAMESPACE_URL, f"/motcua/agencies/{eid}")


def check_name(name: str) -> None:
    if not name.strip():
        raise InvalidArgument.field("name", "must not be blank")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidArgument.field("name", f"must be at most {MAX_NAME_LENGTH} characters")


class AgencyClosedError(InvalidTransition):
    """A closed agency keeps its history and changes no more."""


class DuplicateAgency(AlreadyExists):
    """An agency with this electronic identifier exists."""


class UnknownAgency(InvalidArgument):
    """A request names an agency that does not exist (a bad reference in the request)."""

    def __init__(self, field: str, eid: str) -> None:
        super().__init__(FieldViolation(field, f"no agency {eid}"))
