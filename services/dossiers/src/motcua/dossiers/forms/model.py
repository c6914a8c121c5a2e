"""What the forms say: plain values that the caller fills from a dossier.

Moments are timezone-aware datetimes; the forms print them in Vietnam's local time.
Text may be in any Unicode normalisation form: it is printed composed (NFC).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

# How a finished step or dossier is counted against its deadline (form 06, statistics).
EARLY = "early"
ON_TIME = "on_time"
LATE = "late"
OUTCOMES = (EARLY, ON_TIME, LATE)


@dataclass(frozen=True)
class Agency:
    """The agency that issues a form, as the form's header names it."""

    name: str  # e.g. "Ủy ban nhân dân xã Đông Sơn"
    parent: str = ""  # the governing body above it, e.g. "Ủy ban nhân dân tỉnh Thanh Hóa"
    place: str = ""  # the place on the date line, e.g. "Đông Sơn"
    desk: str = "Bộ phận Một cửa"  # the unit that receives dossiers and returns results


@dataclass(frozen=True)
class Applicant:
    """The citizen or organisation a dossier belongs to."""

    full_name: str
    address: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class DossierFacts:
    """What every form about one dossier repeats: its code (also printed as a QR code),
    who filed it, for which procedure, and at which agency."""

    code: str
    procedure_name: str
    applicant: Applicant
    agency: Agency
    received_at: datetime | None = None
    appointed_at: datetime | None = None

    def __post_init__(self) -> None:
        if not self.code.strip():
            raise ValueError("a dossier form needs the dossier code")
        _check_aware("received_at", self.received_at)
        _check_aware("appointed_at", self.appointed_at)


@dataclass(frozen=True)
class SubmittedDocument:
    """One document handed in, with its number of originals and copies."""

    name: str
    originals: int = 0
    copies: int = 0


@dataclass(frozen=True)
class ReceiptSlip:
    """Form 01: the receipt and appointment slip, issued when the desk accepts a dossier."""

    dossier: DossierFacts
    documents: tuple[SubmittedDocument, ...]
    processing_days: int
    result_delivery: str  # the dossiers domain's word: "desk", "postal" or "online"
    received_by: str  # the officer who received it
    sets: int = 1  # how many sets of the dossier were handed in
    register_entry: str = ""  # where it is written in the tracking book, e.g. "Quyển số 01, số thứ tự 15"

    def __post_init__(self) -> None:
        if self.dossier.received_at is None or self.dossier.appointed_at is None:
            raise ValueError("a receipt slip needs the reception time and the appointed return time")


@dataclass(frozen=True)
class FaultyItem:
    """One thing the applicant must add or correct: the document concerned and what to do."""

    document: str
    request: str


@dataclass(frozen=True)
class SupplementRequest:
    """Form 02: the supplement request, naming every faulty item at once."""

    dossier: DossierFacts
    faulty_items: tuple[FaultyItem, ...]
    issued_at: datetime
    guided_by: str  # the officer who explains what is missing
    reason: str = ""
    contact_phone: str = ""

    def __post_init__(self) -> None:
        if not self.faulty_items:
            raise ValueError("a supplement request names at least one faulty item")
        _check_aware("issued_at", self.issued_at)


@dataclass(frozen=True)
class Refusal:
    """Form 03: the refusal to receive or to process a dossier, with its reasons."""

    dossier: DossierFacts
    reasons: tuple[str, ...]
    issued_at: datetime
    refused_by: str

    def __post_init__(self) -> None:
        if not any(reason.strip() for reason in self.reasons):
            raise ValueError("a refusal states at least one reason")
        _check_aware("issued_at", self.issued_at)


@dataclass(frozen=True)
class Apology:
    """Form 04: the apology for a late result, with the reason and the new appointed date."""

    dossier: DossierFacts
    reason: str
    new_appointed_at: datetime
    issued_at: datetime
    signer_title: str  # e.g. "CHỦ TỊCH" or "THỦ TRƯỞNG CƠ QUAN"
    signer_name: str
    on_behalf_of: str = ""  # e.g. "TM. ỦY BAN NHÂN DÂN" above the signer's title

    def __post_init__(self) -> None:
        if self.dossier.received_at is None or self.dossier.appointed_at is None:
            raise ValueError("an apology needs the reception time and the original appointed time")
        if not self.reason.strip():
            raise ValueError("an apology states the reason of the delay")
        _check_aware("new_appointed_at", self.new_appointed_at)
        _check_aware("issued_at", self.issued_at)


@dataclass(frozen=True)
class HandOver:
    """One hand-over of the dossier between units: who gave it, who took it, when, and how
    the giving unit's step ended against its share of the time."""

    from_unit: str
    from_person: str
    to_unit: str
    to_person: str
    at: datetime
    outcome: str = ""  # EARLY, ON_TIME, LATE, or "" while not judged
    note: str = ""

    def __post_init__(self) -> None:
        _check_aware("at", self.at)
        if self.outcome and self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}")


@dataclass(frozen=True)
class ControlSlip:
    """Form 06: the process control slip that follows the dossier through every hand-over."""

    dossier: DossierFacts
    lead_unit: str
    hand_overs: tuple[HandOver, ...]
    partner_units: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrackingEntry:
    """One dossier's line in the tracking book."""

    code: str
    procedure_name: str
    applicant_name: str
    applicant_contact: str  # address and phone
    lead_agency: str
    received_at: datetime
    appointed_at: datetime
    sets: int = 1
    transferred_to: str = ""
    returned_at: datetime | None = None
    result_received_by: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("received_at", "appointed_at", "returned_at"):
            _check_aware(name, getattr(self, name))


@dataclass(frozen=True)
class TrackingBook:
    """Form 07: the tracking book of an agency's dossiers over a period."""

    agency: Agency
    entries: tuple[TrackingEntry, ...]
    period_start: date
    period_end: date
    volume: str = ""  # the book's number ("Quyển số")
    issued_at: datetime | None = None  # also the PDF's creation date

    def __post_init__(self) -> None:
        if self.period_end < self.period_start:
            raise ValueError("the period ends before it starts")
        _check_aware("issued_at", self.issued_at)


def _check_aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
