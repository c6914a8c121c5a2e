"""What a procedure version says: its record in the catalog, as values, and the rules it obeys.

Pure: imports only the kernel's errors. Events and the aggregate hold the record as a
plain dict (``as_dict``/``from_dict``), which eventsourcing's default transcodings store
and the audit tool reads back.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from motcua.kernel.agency_ids import AGENCY_ID_RULE, is_agency_id
from motcua.kernel.errors import FieldViolation, InvalidArgument

PROVINCE = "province"
COMMUNE = "commune"
LEVELS = ("", PROVINCE, COMMUNE)  # "": not stated
FULL = "full"
PARTIAL = "partial"
ONLINE_MODES = ("", FULL, PARTIAL)
WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"
RESUME = "resume"
RESTART = "restart"
SUPPLEMENT_RULES = (RESUME, RESTART)

HOURS_PER_WORKING_DAY = 8
MAX_PROCESSING = {WORKING_DAYS: 365, WORKING_HOURS: 365 * HOURS_PER_WORKING_DAY}
MAX_NAME_LENGTH = 500
# Shares are decimals such as 0.7 + 0.2 + 0.1, which binary floats sum to 0.9999999999999999.
SHARE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ProcessingTime:
    value: int
    unit: str = WORKING_DAYS

    @property
    def days(self) -> int:
        """Whole working days: hours round up to days of 8 working hours."""
        if self.unit == WORKING_HOURS:
            return math.ceil(self.value / HOURS_PER_WORKING_DAY)
        return self.value


@dataclass(frozen=True)
class Fee:
    name: str
    amount_vnd: int


@dataclass(frozen=True)
class RequiredDocument:
    name: str
    originals: int = 0
    copies: int = 0
    eform_ref: str = ""


@dataclass(frozen=True)
class Step:
    name: str
    role: str
    share: float
    unit: str = ""


@dataclass(frozen=True)
class ProcedureContent:
    """Everything a version of a procedure states, except its code (which never changes)."""

    name: str
    agency_id: str
    processing_time: ProcessingTime
    field: str = ""
    level: str = ""
    online_mode: str = ""
    fees: tuple[Fee, ...] = ()
    documents: tuple[RequiredDocument, ...] = ()
    steps: tuple[Step, ...] = ()
    result_type: str = ""
    legal_basis: tuple[str, ...] = ()
    supplement_rule: str = RESUME

    def checked(self) -> ProcedureContent:
        """This content with its text trimmed; InvalidArgument naming every bad field."""
        content = self.trimmed()
        violations = content.violations()
        if violations:
            raise InvalidArgument(*violations)
        return content

    def trimmed(self) -> ProcedureContent:
        return replace(
            self,
            name=self.name.strip(),
            field=self.field.strip(),
            result_type=self.result_type.strip(),
            fees=tuple(replace(f, name=f.name.strip()) for f in self.fees),
            documents=tuple(replace(d, name=d.name.strip(), eform_ref=d.eform_ref.strip()) for d in self.documents),
            steps=tuple(replace(s, name=s.name.strip(), role=s.role.strip(), unit=s.unit.strip()) for s in self.steps),
            legal_basis=tuple(text.strip() for text in self.legal_basis),
            supplement_rule=self.supplement_rule or RESUME,
        )

    def violations(self) -> list[FieldViolation]:
        found: list[FieldViolation] = []

        def bad(path: str, description: str) -> None:
            found.append(FieldViolation(path, description))

        if not self.name:
            bad("name", "must not be blank")
        elif len(self.name) > MAX_NAME_LENGTH:
            bad("name", f"must be at most {MAX_NAME_LENGTH} characters")
        if not is_agency_id(self.agency_id):
            bad("agency_id", AGENCY_ID_RULE)
        if self.level not in LEVELS:
            bad("level", "must be province or commune")
        if self.online_mode not in ONLINE_MODES:
            bad("online_mode", "must be full or partial")
        if self.supplement_rule not in SUPPLEMENT_RULES:
            bad("supplement_rule", "must be resume or restart")
        time = self.processing_time
        if time.unit not in MAX_PROCESSING:
            bad("processing_time.unit", "must be working days or working hours")
        elif not 1 <= time.value <= MAX_PROCESSING[time.unit]:
            bad(
                "processing_time.value",
                f"must be between 1 and {MAX_PROCESSING[time.unit]} {time.unit.replace('_', ' ')}",
            )
        for i, fee in enumerate(self.fees):
            if not fee.name:
                bad(f"fees[{i}].name", "must not be blank")
            if fee.amount_vnd < 0:
                bad(f"fees[{i}].amount_vnd", "must not be negative")
        for i, document in enumerate(self.documents):
            if not document.name:
                bad(f"required_documents[{i}].name", "must not be blank")
            if document.originals < 0 or document.copies < 0:
                bad(f"required_documents[{i}]", "originals and copies must not be negative")
            elif document.originals + document.copies == 0:
                bad(f"required_documents[{i}]", "must ask for at least one original or copy")
        for i, step in enumerate(self.steps):
            if not step.name:
                bad(f"steps[{i}].name", "must not be blank")
            if not step.role:
                bad(f"steps[{i}].role", "must not be blank")
            if not 0 < step.share <= 1:
                bad(f"steps[{i}].share", "must be greater than 0 and at most 1")
        if self.steps and abs(sum(s.share for s in self.steps) - 1) > SHARE_TOLERANCE:
            total = sum(s.share for s in self.steps)
            bad("steps", f"shares must sum to 1, not {total:g}")
        for i, text in enumerate(self.legal_basis):
            if not text:
                bad(f"legal_basis[{i}]", "must not be blank")
        return found

    def as_dict(self) -> dict[str, Any]:
        """Plain values for events and snapshots (lists, not tuples)."""
        plain = asdict(self)
        for key in ("fees", "documents", "steps", "legal_basis"):
            plain[key] = list(plain[key])
        return plain

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcedureContent:
        return cls(
            name=data["name"],
            agency_id=data["agency_id"],
            processing_time=ProcessingTime(**data["processing_time"]),
            field=data.get("field", ""),
            level=data.get("level", ""),
            online_mode=data.get("online_mode", ""),
            fees=tuple(Fee(**f) for f in data.get("fees", ())),
            documents=tuple(RequiredDocument(**d) for d in data.get("documents", ())),
            steps=tuple(Step(**s) for s in data.get("steps", ())),
            result_type=data.get("result_type", ""),
            legal_basis=tuple(data.get("legal_basis", ())),
            supplement_rule=data.get("supplement_rule", RESUME),
        )

    @classmethod
    def legacy(cls, name: str, agency_id: str, processing_days: int) -> dict[str, Any]:
        """The record of an event written before the full record existed (name, agency, days)."""
        return cls(name=name, agency_id=agency_id, processing_time=ProcessingTime(processing_days)).as_dict()

