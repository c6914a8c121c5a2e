"""Channels to other services, traced: the callee's spans join the caller's trace.

Health checks are not traced: a probe every few seconds would fill the traces with them.
Every channel sends and receives messages up to MOTCUA_MAX_MESSAGE_BYTES (config.py), the limit
the servers keep too, rather than gRPC's 4 MiB default.
"""

from __future__ import annotations

from collections.abc import Sequence

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, client_interceptor, filters
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

from .config import max_message_bytes

ChannelOptions = Sequence[tuple[str, int | str]]

_NOT_HEALTH_CHECKS = filters.negate(filters.health_check())


def message_size_options(limit: int) -> list[tuple[str, int]]:
    """gRPC options keeping messages (both ways) to `limit` bytes, for channels and servers
    alike."""
    return [("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit)]


def _with_limit(options: ChannelOptions, limit: int | None) -> list[tuple[str, int | str]]:
    """The caller's options after the message-size ones (the default limit:
    MOTCUA_MAX_MESSAGE_BYTES)."""
    return [*message_size_options(max_message_bytes() if limit is None else limit), *options]


def channel(target: str, options: ChannelOptions = (), max_message_bytes: int | None = None,
            credentials: grpc.ChannelCredentials | None = None) -> grpc.Channel:
    """A long-lived channel (create once, share across threads); TLS with ``credentials``."""
    limited = _with_limit(options, max_message_bytes)
    raw = grpc.secure_channel(target, credentials, options=limited) if credentials is not None \
        else grpc.insecure_channel(target, options=limited)
    traced: grpc.Channel = intercept_channel(raw, client_interceptor(filter_=_NOT_HEALTH_CHECKS))
    return traced


def aio_channel(target: str, options: ChannelOptions = (), max_message_bytes: int | None = None) -> grpc.aio.Channel:
    """The asyncio equivalent, for the gateway and other asyncio callers."""
    return grpc.aio.insecure_channel(target, options=_with_limit(options, max_message_bytes),
                                     interceptors=aio_client_interceptors(filter_=_NOT_HEALTH_CHECKS))
