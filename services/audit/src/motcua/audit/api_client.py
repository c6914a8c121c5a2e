"""The auditor API through the gateway's REST (GET /v1/audit/{service}/events), for the CLI's API
mode: no database credentials, only a bearer token of an auditor or administrator.

The standard library's HTTP client only: the tool stays installable on an auditor's machine
with nothing but the motcua-audit package.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from .reader import AuditError, Unreachable, iso_utc

TIMEOUT = 30  # seconds per request
PAGE_SIZE = 1000  # the API's largest page


class AuditApi:
    """One gateway (``url``: e.g. http://localhost:8080) and the caller's bearer token."""

    def __init__(self, url: str, token: str) -> None:
        if not token:
            raise AuditError("the API needs a bearer token: --token TOKEN or MOTCUA_TOKEN")
        self.url = url.rstrip("/")
        self.token = token

    def _get(self, path: str, query: Mapping[str, str]) -> dict[str, Any]:
        address = f"{self.url}{path}"
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(address, headers={"Authorization": f"Bearer {self.token}",
                                                           "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            try:
                message = json.loads(e.read().decode("utf-8"))["error"]["message"]
            except Exception:
                message = e.reason
            raise AuditError(f"{path}: HTTP {e.code}: {message}") from None
        except (urllib.error.URLError, OSError) as e:
            raise Unreachable(f"cannot reach the API at {self.url}: {getattr(e, 'reason', e)}") from None

    def events(self, service: str, limit: int | None = None, **filters: str) -> Iterator[dict[str, Any]]:
        """The service's events matching the filters (ListEventsRequest's field names), in log
        order, page after page (at most ``limit``)."""
        query = {k: v for k, v in filters.items() if v}
        token, given = "", 0
        while True:
            page = self._get(f"/v1/audit/{urllib.parse.quote(service)}/events",
                             {**query, "page_size": str(PAGE_SIZE), **({"page_token": token} if token else {})})
            for event in page.get("events", []):
                if limit is not None and given >= limit:
                    return
                given += 1
                yield plain_event(event)
            token = page.get("next_page_token", "")
            if not token:
                return

    def chain(self, service: str) -> dict[str, Any]:
        return self._get(f"/v1/audit/{urllib.parse.quote(service)}/chain", {})


def plain_event(event: dict[str, Any]) -> dict[str, Any]:
    """An event as the API's JSON gives it, with numbers as numbers and the record time in one
    format (UTC, microseconds), so that times sort as text too."""
    moment = event.get("record_time") or ""
    if moment:
        moment = iso_utc(datetime.fromisoformat(moment))  # RFC 3339 with 0, 3, 6 or 9 decimals
    return {
        "service": event.get("service", ""),
        "position": int(event.get("position", 0)),
        "aggregate_id": event.get("aggregate_id", ""),
        "version": int(event.get("version", 0)),
        "event_type": event.get("event_type", ""),
        "record_time": moment,
        "actor": event.get("actor", ""),
        "agency_id": event.get("agency_id", ""),
        "traceparent": event.get("traceparent", ""),
        "data": event.get("data") or {},
    }


def trace_id_of(traceparent: str) -> str:
    parts = traceparent.split("-")
    return parts[1] if len(parts) == 4 else ""
