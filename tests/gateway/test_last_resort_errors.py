"""What the gateway app answers when a request ends in no answer of its own (in-process, the ASGI
app called directly): an unexpected exception is the JSON 500 body, a cancelled request (uvicorn's
cut-off at the end of the shutdown grace) the JSON 503 with Retry-After; never the plain-text
"Internal Server Error" of Starlette or uvicorn."""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from motcua.gateway.app import create_app
from motcua.gateway.config import GatewaySettings


async def fails(request: Request) -> Any:
    raise RuntimeError("a defect")


async def cut_off(request: Request) -> Any:
    raise asyncio.CancelledError("Task cancelled, timeout graceful shutdown exceeded")


def gateway_app() -> Starlette:
    app = create_app(GatewaySettings.from_env({"MOTCUA_BACKENDS": "procedures=127.0.0.1:1"}))
    app.router.routes[:0] = [Route("/test/fails", fails), Route("/test/cut-off", cut_off)]
    return app


def call(app: Starlette, path: str) -> tuple[dict[str, Any], list[MutableMapping[str, Any]]]:
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"gateway"), (b"accept-language", b"vi-VN")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080)}
    try:
        asyncio.run(app(scope, receive, send))
    except RuntimeError as e:  # re-raised by Starlette after its answer, for uvicorn to log with the trace
        assert str(e) == "a defect"
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = json.loads(b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body"))
    return {"status": start["status"], "headers": {k.decode(): v.decode() for k, v in start["headers"]},
            "body": body}, sent


def test_an_unexpected_exception_is_the_json_500() -> None:
    answer, _ = call(gateway_app(), "/test/fails")
    assert answer["status"] == 500
    assert answer["headers"]["content-type"] == "application/json"
    assert (answer["body"]["error"]["code"], answer["body"]["error"]["status"]) == (500, "INTERNAL")


@pytest.mark.parametrize("draining, message", [
    (True, "the gateway is shutting down; try again"),
    (False, "the request was cut off before it was answered; try again"),
])
def test_a_cancelled_request_is_a_json_503_with_retry_after(draining: bool, message: str) -> None:
    app = gateway_app()
    if draining:
        app.state.draining.set()
    answer, _ = call(app, "/test/cut-off")
    assert answer["status"] == 503
    assert answer["headers"]["content-type"] == "application/json"
    assert answer["headers"]["retry-after"] == "1"
    error = answer["body"]["error"]
    assert (error["code"], error["status"], error["message"]) == (503, "UNAVAILABLE", message)
    assert any(d["@type"] == "type.googleapis.com/google.rpc.RetryInfo" for d in error["details"])
    localized = next(d for d in error["details"] if d["@type"].endswith("LocalizedMessage"))
    assert localized["locale"] == "vi-VN"
