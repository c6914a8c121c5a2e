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

# Dossier states (the subset of the life cycle implemented so far).
SUBMITTED = "submitted"
RECEIVED = "received"

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


# --- the calendar (pure functions) -------------------------------------------------------


def local_date(moment: datetime) -> date:
    """The calendar date in Vietnam (Asia/Ho_Chi_Minh) at an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(LOCAL_TIME).date()


def is_working_day(day: date) -> bool:
    """Monday to Friday. Public holidays and make-up Saturdays come with the statutory calendar."""
    return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The date ``days`` working days after ``start``; ``start`` itself is never counted.

    Friday + 1 is the next Monday; a Saturday or Sunday + 1 is also that Monday.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    day = start
    remaining = days
    while remaining:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def appointed_return_time(received_at: datetime, processing_days: int) -> datetime:
    """When the result is due: ``processing_days`` working days after the local reception date,
    at the reception's local time of day (returned in UTC)."""
    local = received_at.astimezone(LOCAL_TIME)
    due = add_working_days(local.date(), processing_days)
    return datetime.combine(due, local.timetz()).astimezone(timezone.utc)


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
        version_number: int = 1, effective_from: datetime | None = None,
    ) -> None:
        self.versions: list[dict[str, Any]] = []
        self._add_version(code, name, agency_id, processing_days, procedure_version, version_number, effective_from, 0)

    def update(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int = 0, effective_from: datetime | None = None, superseded: int = 0,
    ) -> bool:
        """Applies a newer published version; an event already applied changes nothing."""
        if procedure_version <= self.procedure_version:
            return False
        self._updated(
            code=code, name=name, agency_id=agency_id, processing_days=processing_days, procedure_version=procedure_version,
            version_number=version_number, effective_from=effective_from, superseded=superseded,
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
    ) -> None:
        self._add_version(code, name, agency_id, processing_days, procedure_version, version_number, effective_from, superseded)

    @event("Withdrawn")
    def _withdrawn(self, version_number: int, effective_until: datetime, procedure_version: int) -> None:
        self._end(version_number, effective_until)
        self.procedure_version = procedure_version

    def _add_version(
        self, code: str, name: str, agency_id: str, processing_days: int, procedure_version: int,
        version_number: int, effective_from: datetime | None, superseded: int,
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


class Dossier(Aggregate):
    """One application by one applicant for one procedure, bound to the procedure version
    in force when it was submitted."""

    @staticmethod
    def create_id(dossier_id: UUID, **_: object) -> UUID:
        return dossier_id

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
        pinned = procedure.in_force_at(submitted_at) if procedure is not None else None
        if procedure is None or pinned is None:
            raise UnknownProcedure(procedure_id)
        if (sequence.agency_id, sequence.calendar_day) != (agency_id, local_date(submitted_at)):
            raise ValueError("the sequence is not the agency's sequence of the submission day")
        code = sequence.issue(dossier_id)
        return cls(
            dossier_id=dossier_id,
            code=code,
            procedure_id=procedure.id,
            procedure_version=pinned["number"],
            procedure_code=procedure.code,
            procedure_name=pinned["name"],
            processing_days=pinned["processing_days"],
            agency_id=agency_id,
            applicant=_trimmed(applicant).as_dict(),
            channel=channel,
            result_delivery=result_delivery,
            documents=[_trimmed_document(d).as_dict() for d in documents],
            submitted_at=submitted_at,
            request_id=request_id,
        )

    @event("Submitted")
    def __init__(
        self,
        dossier_id: UUID,
        code: str,
        procedure_id: UUID,
        procedure_version: int,
        procedure_code: str,
        procedure_name: str,
        processing_days: int,
        agency_id: str,
        applicant: dict[str, str],
        channel: str,
        result_delivery: str,
        documents: list[dict[str, Any]],
        submitted_at: datetime,
        request_id: str,
    ) -> None:
        self.code = code
        self.procedure_id = procedure_id
        self.procedure_version = procedure_version
        self.procedure_code = procedure_code
        self.procedure_name = procedure_name
        self.processing_days = processing_days
        self.agency_id = agency_id
        self.applicant_data = dict(applicant)
        self.channel = channel
        self.result_delivery = result_delivery
        self.documents_data = [dict(d) for d in documents]
        self.submitted_at = submitted_at
        self.request_id = request_id
        self.state = SUBMITTED
        self.received_at: datetime | None = None
        self.received_by = ""
        self.receive_note = ""
        self.appointed_return_at: datetime | None = None

    @property
    def applicant(self) -> Applicant:
        return Applicant(**self.applicant_data)

    @property
    def documents(self) -> list[Document]:
        return [Document(**d) for d in self.documents_data]

    def receive(self, received_at: datetime, officer: str, note: str = "") -> None:
        """The desk accepts the dossier; the statutory clock starts and the return date is set.

        The event carries what the receipt and appointment slip says, so that it can be
        published on its own.
        """
        self.check_state(SUBMITTED, "receive")
        if len(note) > MAX_NOTE_LENGTH:
            raise InvalidArgument.field("note", f"must be at most {MAX_NOTE_LENGTH} characters")
        self._received(
            code=self.code,
            procedure_id=self.procedure_id,
            procedure_version=self.procedure_version,
            agency_id=self.agency_id,
            applicant_account_id=self.applicant_data.get("account_id", ""),
            received_at=received_at,
            received_by=officer,
            note=note,
            processing_days=self.processing_days,
            appointed_return_at=appointed_return_time(received_at, self.processing_days),
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
    ) -> None:
        self.state = RECEIVED
        self.received_at = received_at
        self.received_by = received_by
        self.receive_note = note
        self.appointed_return_at = appointed_return_at

    def check_state(self, required: str, action: str) -> None:
        if self.state != required:
            raise DossierStateConflict(f"dossier {self.code}", self.state, action)


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


def _trimmed(applicant: Applicant) -> Applicant:
    return Applicant(**{k: v.strip() for k, v in applicant.as_dict().items()})


def _trimmed_document(document: Document) -> Document:
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
