"""The dossiers service's aggregates. Pure: imports only eventsourcing and the kernel's errors.

Events hold plain values only (str, int, UUID, aware datetimes, dicts and lists of
those): the log is read back by eventsourcing's default transcodings alone, by this
service and by ``motcua-audit``. Dates are ISO strings in events and ``date`` objects
in the API of the aggregates.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from typing import Any, Iterable
from uuid import NAMESPACE_URL, UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventsourcing.domain import Aggregate, event

from motcua.kernel.errors import DomainError, InvalidArgument, InvalidTransition

from .lifecycle import (  # noqa: E402 - the states, re-exported for the package's users
    AWAITING_SUPPLEMENT, DRAFT, IN_PROCESS, RECEIVED, REFUSED, RESULT_READY, RETURNED, SUBMITTED, WITHDRAWN,
)

# Applicant kinds, submission channels and result delivery methods.
CITIZEN = "citizen"
BUSINESS = "business"
APPLICANT_KINDS = (CITIZEN, BUSINESS)
ONLINE = "online"
DESK = "desk"
POSTAL = "postal"
CHANNELS = (ONLINE, DESK, POSTAL)
DELIVERY_METHODS = (ONLINE, DESK, POSTAL)

AGENCY_EID = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")
MAX_SEQUENCE = 9999  # the code's sequence has four digits
MAX_NAME_LENGTH = 200
MAX_DOCUMENTS = 100
MAX_NOTE_LENGTH = 2000


def _vietnam() -> tzinfo:
    try:
        return ZoneInfo("Asia/Ho_Chi_Minh")
    except ZoneInfoNotFoundError:  # no tz database on the host: Vietnam keeps UTC+7 all year (no DST since 1975)
        return timezone(timedelta(hours=7), "ICT")


LOCAL_TIME = _vietnam()


def local_date(moment: datetime) -> date:
    """The calendar date in Vietnam (Asia/Ho_Chi_Minh) at an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(LOCAL_TIME).date()


def dossier_code(agency_id: str, day: date, number: int) -> str:
    """``<agency eid>-<YYMMDD>-<NNNN>``, e.g. ``000.00.12.H56-260105-0001``."""
    return f"{agency_id}-{day:%y%m%d}-{number:04d}"


# --- values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Applicant:
    """The citizen or business filing a dossier (personal data: stays in this service)."""

    kind: str
    full_name: str
    identity_number: str
    account_id: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class Document:
    """One required document handed in: its name, and how many originals and copies."""

    name: str
    originals: int = 0
    copies: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- aggregates ---------------------------------------------------------------------------


class ProcedureReplica(Aggregate):
    """This service's copy of a procedure's published versions, kept from the catalog's events.

    Its id is the procedure's id. It keeps every published version with the period it was
    in force, so a dossier is checked against, and pinned to, the version in force when it
    is submitted, without asking the procedures service. The top-level fields are the
    latest published version's. Events written before versions existed lack
    ``version_number`` and ``effective_from``: such a first version counts as in force
    from the start.
    """

    @staticmethod
    def create_id(procedure_id: UUID, **_: object) -> UUID:
        return procedure_id

    @event("Replicated")
    def __init__(
        self, procedure_id: UUID, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 1, effective_from: datetime | None = None, terms: dict[str, Any] | None = None,
    ) -> None:
        self.versions: list[dict[str, Any]] = []
        self._add_version(code, name, agency_id, processing_days, procedure_version, version_number, effective_from, 0, terms)

    def update(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 0, effective_from: datetime | None = None, superseded: int = 0,
        terms: dict[str, Any] | None = None,
    ) -> bool:
        """Applies a newer published version; an event already applied changes nothing."""
        if procedure_version <= self.procedure_version:
            return False
        self._updated(
            code=code, name=name, agency_id=agency_id, processing_days=processing_days, procedure_version=procedure_version,
            version_number=version_number, effective_from=effective_from, superseded=superseded, terms=terms,
        )
        return True

    def withdraw(self, version_number: int, effective_until: datetime, procedure_version: int) -> bool:
        """The version stopped being in force; an event already applied changes nothing."""
        if procedure_version <= self.procedure_version:
            return False
        self._withdrawn(version_number=version_number, effective_until=effective_until, procedure_version=procedure_version)
        return True

    def in_force_at(self, moment: datetime) -> dict[str, Any] | None:
        """The version in force at ``moment``, if any."""
        for version in self.versions:
            start, end = version["effective_from"], version["effective_until"]
            if (start is None or start <= moment) and (end is None or moment < end):
                return version
        return None

    @event("Updated")
    def _updated(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 0, effective_from: datetime | None = None, superseded: int = 0,
        terms: dict[str, Any] | None = None,
    ) -> None:
        self._add_version(code, name, agency_id, processing_days, procedure_version, version_number, effective_from, superseded, terms)

    @event("Withdrawn")
    def _withdrawn(self, version_number: int, effective_until: datetime, procedure_version: int) -> None:
        self._end(version_number, effective_until)
        self.procedure_version = procedure_version

    def _add_version(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int, effective_from: datetime | None, superseded: int, terms: dict[str, Any] | None = None,
    ) -> None:
        if superseded and effective_from is not None:
            self._end(superseded, effective_from)
        self.code = code
        self.name = name
        self.agency_id = agency_id
        self.processing_days = processing_days
        self.procedure_version = procedure_version
        self.version_number = version_number or len(self.versions) + 1
        self.versions.append({
            "number": self.version_number, "name": name, "agency_id": agency_id, "processing_days": processing_days,
            "effective_from": effective_from, "effective_until": None,
            # The terms a dossier pins (terms.Terms): absent from versions replicated before they were kept.
            "terms": terms,
        })

    def _end(self, version_number: int, moment: datetime) -> None:
        for version in self.versions:
            if version["number"] == version_number:
                version["effective_until"] = moment


class DossierCodeSequence(Aggregate):
    """The dossier numbers one agency issued on one (local) day: 1, 2, 3… without gaps.

    Saved in the same transaction as the dossier that takes a number, so a number is
    issued only if its dossier is saved; two dossiers taking the same number collide on
    this aggregate's version and one of them retries.
    """

    @staticmethod
    def create_id(agency_id: str, day: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/motcua/dossier-code-sequences/{agency_id}/{day}")

    @classmethod
    def id_for(cls, agency_id: str, day: date) -> UUID:
        return cls.create_id(agency_id, day.isoformat())

    @classmethod
    def open(cls, agency_id: str, day: date) -> DossierCodeSequence:
        check_agency(agency_id)
        return cls(agency_id=agency_id, day=day.isoformat())

    @event("Opened")
    def __init__(self, agency_id: str, day: str) -> None:
        self.agency_id = agency_id
        self.day = day
        self.last_number = 0

    @property
    def calendar_day(self) -> date:
        return date.fromisoformat(self.day)

    def issue(self, dossier_id: UUID) -> str:
        """The next dossier code of the day, for ``dossier_id``."""
        if self.last_number >= MAX_SEQUENCE:
            raise DossierCodesExhausted(self.agency_id, self.calendar_day)
        self._issued(number=self.last_number + 1, dossier_id=dossier_id)
        return dossier_code(self.agency_id, self.calendar_day, self.last_number)

    @event("Issued")
    def _issued(self, number: int, dossier_id: UUID) -> None:
        self.last_number = number


# --- guards --------------------------------------------------------------------------------


def check_agency(agency_id: str, field: str = "agency_id") -> None:
    if not AGENCY_EID.match(agency_id):
        raise InvalidArgument.field(field, "must be an agency electronic identifier such as 000.00.12.H56")


def check_submission(agency_id: str, applicant: Applicant, channel: str, result_delivery: str, documents: list[Document]) -> None:
    check_agency(agency_id)
    if applicant.kind not in APPLICANT_KINDS:
        raise InvalidArgument.field("applicant.kind", f"must be one of {', '.join(APPLICANT_KINDS)}")
    if not applicant.full_name.strip():
        raise InvalidArgument.field("applicant.full_name", "must not be blank")
    if len(applicant.full_name.strip()) > MAX_NAME_LENGTH:
        raise InvalidArgument.field("applicant.full_name", f"must be at most {MAX_NAME_LENGTH} characters")
    if not applicant.identity_number.strip():
        raise InvalidArgument.field("applicant.identity_number", "must not be blank")
    if channel not in CHANNELS:
        raise InvalidArgument.field("channel", f"must be one of {', '.join(CHANNELS)}")
    if result_delivery not in DELIVERY_METHODS:
        raise InvalidArgument.field("result_delivery", f"must be one of {', '.join(DELIVERY_METHODS)}")
    if len(documents) > MAX_DOCUMENTS:
        raise InvalidArgument.field("documents", f"at most {MAX_DOCUMENTS} documents")
    for i, document in enumerate(documents):
        if not document.name.strip():
            raise InvalidArgument.field(f"documents[{i}].name", "must not be blank")
        if document.originals < 0 or document.copies < 0:
            raise InvalidArgument.field(f"documents[{i}]", "counts must not be negative")


def trimmed(applicant: Applicant) -> Applicant:
    return Applicant(**{k: v.strip() for k, v in applicant.as_dict().items()})


def trimmed_document(document: Document) -> Document:
    return Document(name=document.name.strip(), originals=document.originals, copies=document.copies)


# --- errors --------------------------------------------------------------------------------


class UnknownProcedure(DomainError):
    """The procedure is not a procedure this service knows with a version in force (FAILED_PRECONDITION)."""

    def __init__(self, procedure_id: UUID) -> None:
        self.procedure_id = procedure_id
        super().__init__(
            f"procedure {procedure_id} is not a published procedure known to the dossiers service, or none of its versions is in force"
        )


class DossierCodesExhausted(DomainError):
    """The agency used all 9999 dossier codes of the day."""

    def __init__(self, agency_id: str, day: date) -> None:
        super().__init__(f"agency {agency_id} has issued all {MAX_SEQUENCE} dossier codes of {day.isoformat()}")


class DossierStateConflict(InvalidTransition):
    """The command is not allowed in the dossier's current state."""


def __getattr__(name: str) -> Any:
    """``domain.Dossier``: the aggregate lives in its own module (``dossier``), which imports
    this one; events stored under this module's name resolve through here."""
    if name == "Dossier":
        from .dossier import Dossier

        return Dossier
    raise AttributeError(name)
