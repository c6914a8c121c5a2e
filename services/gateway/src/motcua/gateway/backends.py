"""One long-lived grpc.aio channel per backend service, and their health.

Channels are opened when the app starts (inside its event loop, as grpc.aio requires) and closed
when it stops; requests share them. The REST transcoding calls the backends over these same
channels, with generic calls (method path + serializers), so no service needs a hand-written stub.

The channels are the kernel's traced `grpc_client.aio_channel` (the backend's spans join the
caller's trace; health checks are not traced), with the reconnect options below and the one
message-size limit (MOTCUA_MAX_MESSAGE_BYTES) the services keep too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from motcua.kernel.config import DEFAULT_MAX_MESSAGE_BYTES
from motcua.kernel.grpc_client import aio_channel

log = logging.getLogger(__name__)

SERVING = "SERVING"
UNREACHABLE = "UNREACHABLE"

# Reconnect soon after a backend comes back: the default backoff grows to two minutes, during
# which every call to that backend fails at once and /healthz would keep saying UNREACHABLE.
# (Not grpc.min_reconnect_backoff_ms: it is the connect timeout, 20 s by default, and a small
# one would give up on a backend slow to finish the HTTP/2 handshake.)
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
]


class Backends:
    def __init__(self, addresses: Mapping[str, str], health_timeout: float = 1.0,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.addresses = dict(addresses)
        self.health_timeout = health_timeout
        self.max_message_bytes = max_message_bytes
        self.channels: dict[str, grpc.aio.Channel] = {}
        self._health: dict[str, health_pb2_grpc.HealthStub] = {}
        self._calls: dict[tuple[str, str, bool], object] = {}  # (backend, method path, streaming) -> callable
        self._last: dict[str, str] = {}  # last state seen, to log changes rather than every probe

    async def open(self) -> None:
        for name, addr in self.addresses.items():
            channel = aio_channel(addr, CHANNEL_OPTIONS, max_message_bytes=self.max_message_bytes)
            self.channels[name] = channel
            self._health[name] = health_pb2_grpc.HealthStub(channel)
        log.info("backends", extra={"backends": self.addresses})

    async def close(self, grace: float | None = None) -> None:
        channels, self.channels, self._health, self._calls = self.channels, {}, {}, {}
        await asyncio.gather(*(channel.close(grace) for channel in channels.values()))

    def unary(self, backend: str, method: str, request_type: Any,
              response_type: Any) -> grpc.aio.UnaryUnaryMultiCallable:
        """A generic unary-unary call of `method` (/package.Service/Method) on the backend's
        channel.

        Raises KeyError when no such backend is configured."""
        return self._callable(backend, method, request_type, response_type, streaming=False)

    def server_stream(self, backend: str, method: str, request_type: Any,
                      response_type: Any) -> grpc.aio.UnaryStreamMultiCallable:
        """The same for a server-streaming method."""
        return self._callable(backend, method, request_type, response_type, streaming=True)

    def _callable(self, backend: str, method: str, request_type: Any, response_type: Any, streaming: bool) -> Any:
        key = (backend, method, streaming)
        call = self._calls.get(key)
        if call is None:
            channel = self.channels[backend]
            make = channel.unary_stream if streaming else channel.unary_unary
            call = make(method, request_serializer=request_type.SerializeToString,
                        response_deserializer=response_type.FromString)
            self._calls[key] = call
        return call

    async def check(self, name: str) -> str:
        """The backend's overall health: a HealthCheckResponse status name, or why it gave none."""
        try:
            response = await self._health[name].Check(
                health_pb2.HealthCheckRequest(service=""), timeout=self.health_timeout
            )
            state = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        except grpc.aio.AioRpcError as e:
            code = e.code()
            connected = self.channels[name].get_state() == grpc.ChannelConnectivity.READY
            if code == grpc.StatusCode.UNAVAILABLE or (code == grpc.StatusCode.DEADLINE_EXCEEDED and not connected):
                state = UNREACHABLE
            else:  # e.g. DEADLINE_EXCEEDED from a connected but stuck server, UNIMPLEMENTED
                state = code.name
        if self._last.get(name) != state:
            self._last[name] = state
            level = logging.INFO if state == SERVING else logging.WARNING
            log.log(level, "backend health", extra={"backend": name, "address": self.addresses[name], "state": state})
        return state

    async def check_all(self) -> dict[str, str]:
        """Every backend's state, checked concurrently: the slowest one bounds the wait."""
        names = list(self.addresses)
        states = await asyncio.gather(*(self.check(name) for name in names))
        return dict(zip(names, states, strict=True))
