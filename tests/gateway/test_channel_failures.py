"""The gateway's own channel failing with no call status (grpc.aio's UsageError of a closed
channel, its InternalError) is a retryable 503 naming the backend, not a 500 (pure logic: the
backend call replaced by one that raises)."""

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
