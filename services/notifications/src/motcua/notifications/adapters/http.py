"""What the HTTP providers share: one client, and HTTP failures sorted into transient and
permanent."""

from __future__ import annotations

from typing import Any

import httpx2

from .base import PermanentFailure, TransientFailure


def post_json(client: httpx2.Client, provider: str, url: str, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The provider's JSON answer to a POST; TransientFailure for throttling (429), server
    errors (5xx), timeouts and connection failures; PermanentFailure for other 4xx."""
    try:
        response = client.post(url, json=body, headers=headers or {})
    except httpx2.TimeoutException:
        raise TransientFailure(f"{provider}: no answer in time") from None
    except httpx2.TransportError as e:
        raise TransientFailure(f"{provider}: {type(e).__name__}") from None
    if response.status_code == 429:
        raise TransientFailure(f"{provider}: throttled (HTTP 429)", retry_after=_retry_after(response))
    if response.status_code >= 500:
        raise TransientFailure(f"{provider}: HTTP {response.status_code}", retry_after=_retry_after(response))
    if response.status_code >= 400:
        raise PermanentFailure(f"{provider}: HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        raise TransientFailure(f"{provider}: an answer that is not JSON (HTTP {response.status_code})") from None
    if not isinstance(answer, dict):
        raise TransientFailure(f"{provider}: an answer that is not a JSON object")
    return answer


def _retry_after(response: httpx2.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
