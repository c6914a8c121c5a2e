"""What the auditor reads: tables for people, JSON (UTF-8, not escaped) for tools."""

from __future__ import annotations

import base64
import csv
import dataclasses
import html
import io
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


# --- events of the auditor API (plain dicts: api_client.plain_event) ---------------------------

FORMATS = ("table", "json", "csv", "ndjson")
EVENT_COLUMNS = ["service", "position", "aggregate_id", "version", "event_type", "record_time", "actor",
                 "agency_id", "traceparent", "data"]


def events_output(events: Sequence[dict[str, Any]], output_format: str) -> str:
    """The events in one of ``FORMATS`` (csv: the data as one JSON cell; ndjson: one a line)."""
    if output_format == "json":
        return to_json(list(events))
    if output_format == "ndjson":
        return "\n".join(json.dumps(e, ensure_ascii=False, default=_plain) for e in events)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, EVENT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for e in events:
            writer.writerow({**e, "data": json.dumps(e["data"], ensure_ascii=False, default=_plain)})
        return buffer.getvalue().rstrip("\n")
    rows = [[e["service"], str(e["position"]), e["aggregate_id"], str(e["version"]), e["event_type"],
             e["record_time"] or "-", (f"{e['actor']} ({e['agency_id']})" if e["agency_id"] else e["actor"]) or "-",
             ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in e["data"].items())] for e in events]
    return table(["SERVICE", "POSITION", "AGGREGATE", "VERSION", "WHAT", "WHEN", "WHO", "DATA"], rows)


_PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: .4em .6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.data { font-family: monospace; white-space: pre-wrap; font-size: .85em; }
.service { font-weight: bold; } .trace { font-family: monospace; color: #666; font-size: .8em; }
"""


def timeline_html(title: str, events: Sequence[dict[str, Any]], generated_at: str) -> str:
    """A static page of events across services in time order: inline style, no script, no
    external asset, so an auditor can keep and open it anywhere."""
    rows = "\n".join(
        "<tr>"
        f"<td>{html.escape(e['record_time'] or '-')}</td>"
        f"<td class=\"service\">{html.escape(e['service'])}</td>"
        f"<td>{html.escape(e['event_type'])}<br><span class=\"trace\">{html.escape(e['aggregate_id'])} "
        f"v{e['version']} @{e['position']}</span></td>"
        f"<td>{html.escape(e['actor'] or '-')}<br>{html.escape(e['agency_id'])}</td>"
        f"<td class=\"data\">{html.escape(json.dumps(e['data'], ensure_ascii=False, indent=1, default=_plain))}</td>"
        f"<td class=\"trace\">{html.escape(e['traceparent'])}</td>"
        "</tr>"
        for e in events
    )
    return (
        "<!DOCTYPE html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_PAGE_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1><p>{len(events)} events, generated {html.escape(generated_at)}</p>\n"
        "<table><thead><tr><th>When (UTC)</th><th>Service</th><th>What</th><th>Who</th><th>Data</th>"
        "<th>Trace</th></tr></thead><tbody>\n"
        f"{rows}\n</tbody></table></body></html>\n"
    )
