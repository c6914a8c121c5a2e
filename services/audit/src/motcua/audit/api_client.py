"""The auditor API through the gateway's REST (GET /v1/audit/{service}/events, .../chain,
.../aggregates/{id}/state), for the CLI's API mode: no database credentials, only a bearer
token of an auditor or administrator.

The standard library's HTTP client only: the tool stays installable on an auditor's machine
with nothing but the motcua-audit package.
"""

from __future__ import annotations

import json
import ssl
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
    """One gateway (``url``: e.g. http://localhost:8080), the caller's bearer token, and for
    HTTPS with a private CA the context that trusts it."""

    def __init__(self, url: str, token: str, context: ssl.SSLContext | None = None) -> None:
        if not token:
            raise AuditError("the API needs an auditor's or administrator's bearer token: --token TOKEN, "
                             "--token-file FILE, MOTCUA_TOKEN or MOTCUA_TOKEN_FILE (or --db to read a "
                             "database directly)")
        self.url = url.rstrip("/")
        self.token = token
        self.context = context

    def _get(self, path: str, query: Mapping[str, str]) -> dict[str, Any]:
        address = f"{self.url}{path}"
        if query:
            address += "?" + urllib.parse.urlencode(query)
        request = urllib.request.Request(address, headers={"Authorization": f"Bearer {self.token}",
                                                           "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT, context=self.context) as response:
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

    def state(self, service: str, aggregate: str, version: int = 0, read_time: str = "") -> dict[str, Any]:
        """The aggregate (a UUID or a dossier's code) as of a version or an RFC 3339 time, in the
        shape the database mode prints (id, type, version, created_on, modified_on, attributes)."""
        query = {k: v for k, v in (("version", str(version) if version else ""), ("read_time", read_time)) if v}
        found = self._get(f"/v1/audit/{urllib.parse.quote(service)}/aggregates/"
                          f"{urllib.parse.quote(aggregate, safe='')}/state", query)
        return {
            "id": found.get("aggregate_id", ""),
            "type": found.get("aggregate_type", ""),
            "version": int(found.get("version", 0)),
            "created_on": _utc_text(found.get("create_time") or ""),
            "modified_on": _utc_text(found.get("update_time") or ""),
            "attributes": found.get("state") or {},
        }

    def chain(self, service: str) -> dict[str, Any]:
        return self._get(f"/v1/audit/{urllib.parse.quote(service)}/chain", {})


def _utc_text(moment: str) -> str | None:
    return iso_utc(datetime.fromisoformat(moment)) if moment else None


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
