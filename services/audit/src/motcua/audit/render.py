"""What the auditor reads: tables for people, JSON (UTF-8, not escaped) for tools."""

from __future__ import annotations

import base64
import dataclasses
import json
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from .reader import Recorded, iso_utc


def when(moment: datetime | None) -> str | None:
    return None if moment is None else iso_utc(moment)


def _plain(value: Any) -> Any:
    """json.dumps' fallback for what domain events and aggregates hold."""
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "__dict__"):
        return public_attributes(value)
    return str(value)


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=_plain)


def public_attributes(obj: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(obj).items() if not k.startswith("_")}


def aggregate_state(aggregate: Any) -> dict[str, Any]:
    return {
        "id": aggregate.id,
        "type": type(aggregate).__qualname__,
        "version": aggregate.version,
        "created_on": aggregate.created_on,
        "modified_on": aggregate.modified_on,
        "attributes": public_attributes(aggregate),
    }


def event_record(event: Recorded, *, log: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {}
    if log:
        record["position"] = event.position
        record["aggregate_id"] = event.aggregate_id
    record |= {
        "version": event.version,
        "when": when(event.when),
        "actor": event.actor,
        "agency_id": event.agency_id,
        "type": event.type,
        "data": event.data,
        "traceparent": event.traceparent,
    }
    if event.problem:
        record["problem"] = event.problem
    return record


def who(event: Recorded) -> str:
    actor = event.actor or "-"
    return f"{actor} ({event.agency_id})" if event.agency_id else actor


def data_text(event: Recorded) -> str:
    text = ", ".join(
        f"{k}={json.dumps(v, ensure_ascii=False, default=_plain)}" for k, v in event.data.items()
    )
    return f"{text}  [{event.problem}]" if event.problem else text


def history_table(events: Sequence[Recorded]) -> str:
    rows = [[str(e.version), when(e.when) or "-", who(e), e.type, data_text(e)] for e in events]
    return table(["VERSION", "WHEN", "WHO", "WHAT", "DATA"], rows)


def log_table(events: Sequence[Recorded]) -> str:
    rows = [
        [str(e.position), str(e.aggregate_id), str(e.version), e.type, who(e), when(e.when) or "-"]
        for e in events
    ]
    return table(["POSITION", "AGGREGATE", "VERSION", "WHAT", "WHO", "WHEN"], rows)


def _width(text: str) -> int:
    # Combining marks (a decomposed Vietnamese "ế" is three code points) take no column.
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell + " " * (widths[i] - _width(cell)) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
