"""The gateway's own channel failing with no call status (grpc.aio's UsageError of a closed
channel, its InternalError), and a call the backend cancelled, are a retryable 503 naming the
backend with its Retry-After, not a 500 or a 499 (pure logic: the backend call replaced by one
that raises)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest

from motcua.gateway.descriptors import load_api
from motcua.gateway.transcode import Transcoder, build_routes


class ClosedChannelBackends:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def unary(self, *args: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            raise self.error
        return call


def transcoder_of(rpc: str) -> Transcoder:
    routes = build_routes(load_api(), rpc_timeout=5.0, max_message_bytes=4 << 20)
    return next(r.transcoder for r in routes if r.transcoder.method.full_path == rpc)


@pytest.mark.parametrize("error", [grpc.aio.UsageError("Channel is closed."),
                                   grpc.aio.InternalError("execute_batch failed")])
def test_a_channel_failure_without_a_status_is_a_503_naming_the_backend(error: Exception) -> None:
    transcoder = transcoder_of("/motcua.procedures.v1.ProcedureService/ListProcedures")
    backends: Any = ClosedChannelBackends(error)  # only its unary() is used
    response = asyncio.run(transcoder._unary(backends, transcoder.request_class(), (), "procedures"))
    assert response.status_code == 503
    error_json = json.loads(bytes(response.body))["error"]
    assert (error_json["code"], error_json["status"]) == (503, "UNAVAILABLE")
    assert error_json["message"] == "the procedures service is unavailable; try again later"
    assert response.headers["retry-after"] == "1"  # when to try again, as every backend 503 says


def test_a_call_the_backend_cancelled_is_a_503_with_retry_after_not_a_499() -> None:
    # What the gateway's channel raises when the backend's graceful stop cancels the call it serves.
    cancelled = grpc.aio.AioRpcError(grpc.StatusCode.CANCELLED, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                     details="CANCELLED")
    transcoder = transcoder_of("/motcua.procedures.v1.ProcedureService/ListProcedures")
    backends: Any = ClosedChannelBackends(cancelled)
    response = asyncio.run(transcoder._unary(backends, transcoder.request_class(), (), "procedures"))
    assert response.status_code == 503
    error_json = json.loads(bytes(response.body))["error"]
    assert (error_json["code"], error_json["status"]) == (503, "UNAVAILABLE")
    assert error_json["message"] == "the procedures service is unavailable; try again later"
    assert response.headers["retry-after"] == "1"
