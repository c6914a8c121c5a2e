"""The dossiers service's values, guards and errors. Pure: imports only the kernel's errors and
agency ids.

Events hold plain values only (str, int, UUID, aware datetimes, dicts and lists of
those): the log is read back by eventsourcing's default transcodings alone, by this
service and by ``motcua-audit``. Dates are ISO strings in events and ``date`` objects
in the API of the aggregates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any
from uuid import UUID

from motcua.kernel.agency_ids import check_agency_id
from motcua.kernel.errors import DomainError, InvalidArgument, InvalidTransition

# The applicant's fields that are personal data: sealed under the subject's key in the log,
# shown as ``MASKED`` once the subject is erased. Kind, account id and subject id stay clear.
PERSONAL_APPLICANT_FIELDS = ("full_name", "identity_number", "phone", "email", "address")

# Applicant kinds, submission channels and result delivery methods.
CITIZEN = "citizen"
BUSINESS = "business"
APPLICANT_KINDS = (CITIZEN, BUSINESS)
ONLINE = "online"
DESK = "desk"
POSTAL = "postal"
CHANNELS = (ONLINE, DESK, POSTAL)
DELIVERY_METHODS = (ONLINE, DESK, POSTAL)

MAX_SEQUENCE = 9999  # the code's sequence has four digits
MAX_NAME_LENGTH = 200
MAX_DOCUMENTS = 100
MAX_NOTE_LENGTH = 2000


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
    # Whose key seals the personal fields in the log: ``account:<id>``, or ``person:<keyed
    # hash of the id number>`` without an account (set by the application; empty in events
    # written before personal data was sealed).
    subject_id: str = ""

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


# --- guards --------------------------------------------------------------------------------


def check_submission(
    agency_id: str, applicant: Applicant, channel: str, result_delivery: str, documents: list[Document]
) -> None:
    check_agency_id(agency_id)
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
    """The procedure is not a procedure this service knows with a version in force
    (FAILED_PRECONDITION)."""

    def __init__(self, procedure_id: UUID) -> None:
        self.procedure_id = procedure_id
        super().__init__(
            f"procedure {procedure_id} is not a published procedure known to the dossiers service, or none of its "
            "versions is in force"
        )


class DossierCodesExhausted(DomainError):
    """The agency used all 9999 dossier codes of the day."""

    def __init__(self, agency_id: str, day: date) -> None:
        super().__init__(f"agency {agency_id} has issued all {MAX_SEQUENCE} dossier codes of {day.isoformat()}")


class DossierStateConflict(InvalidTransition):
    """The command is not allowed in the dossier's current state."""
