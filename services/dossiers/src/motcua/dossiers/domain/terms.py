"""The terms of a procedure version a dossier is bound to: processing time, required
documents, steps, fees and the supplement rule. Pure (standard library and the kernel's errors).

A dossier copies the terms of the version in force when it is submitted into its own
events, so that everything it is checked against later (completeness, steps, fees, the
clock) stays what it was, whatever the catalog publishes afterwards.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"
RESUME = "resume"  # after a supplement the clock goes on from where it stopped
RESTART = "restart"  # after a supplement the clock counts the whole time again


@dataclass(frozen=True)
class Step:
    name: str
    role: str
    unit: str
    share: float


@dataclass(frozen=True)
class Terms:
    processing_value: int
    processing_unit: str
    required_documents: tuple[Mapping[str, Any], ...] = ()
    steps: tuple[Step, ...] = ()
    fees: tuple[Mapping[str, Any], ...] = ()
    supplement_rule: str = RESUME
    # Whether the result may be handed over before every fee is paid (the catalog says so).
    return_before_payment: bool = False

    @classmethod
    def of(cls, data: Mapping[str, Any] | None, processing_days: int) -> Terms:
        """From the plain form kept in events; dossiers from before terms existed get their
        processing days and nothing else."""
        data = data or {}
        time = data.get("processing_time") or {"value": processing_days, "unit": WORKING_DAYS}
        return cls(
            processing_value=int(time["value"]),
            processing_unit=time["unit"],
            required_documents=tuple(data.get("required_documents", ())),
            steps=tuple(
                Step(s["name"], s.get("role", ""), s.get("unit", ""), float(s.get("share", 0)))
                for s in data.get("steps", ())
            ),
            fees=tuple(data.get("fees", ())),
            supplement_rule=data.get("supplement_rule") or RESUME,
            return_before_payment=bool(data.get("return_before_payment", False)),
        )

    @property
    def fee_total(self) -> int:
        return sum(int(f.get("amount_vnd", 0)) for f in self.fees)

    def missing_documents(self, documents: Iterable[Mapping[str, Any]]) -> list[str]:
        """The required documents not handed in (by name), or with too few originals or copies."""
        handed: dict[str, tuple[int, int]] = {}
        for d in documents:
            originals, copies = handed.get(_key(d["name"]), (0, 0))
            handed[_key(d["name"])] = (originals + int(d.get("originals", 0)), copies + int(d.get("copies", 0)))
        missing = []
        for required in self.required_documents:
            originals, copies = handed.get(_key(required["name"]), (0, 0))
            if originals < int(required.get("originals", 0)) or copies < int(required.get("copies", 0)):
                missing.append(required["name"])
        return missing


def _key(name: str) -> str:
    """Names compared as people write them: Unicode NFC, case and spacing ignored."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())
