"""Channels to other services, traced: the callee's spans join the caller's trace.

Health checks are not traced: a probe every few seconds would fill the traces with them.
"""

from __future__ import annotations

from typing import Sequence

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, client_interceptor, filters
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

ChannelOptions = Sequence[tuple[str, int | str]]

_NOT_HEALTH_CHECKS = filters.negate(filters.health_check())


def channel(target: str, options: ChannelOptions = ()) -> grpc.Channel:
    """A long-lived channel (create once, share across threads)."""
    return intercept_channel(grpc.insecure_channel(target, options=options), client_interceptor(filter_=_NOT_HEALTH_CHECKS))


def aio_channel(target: str, options: ChannelOptions = ()) -> grpc.aio.Channel:
    """The asyncio equivalent, for the gateway and other asyncio callers."""
    return grpc.aio.insecure_channel(target, options=options, interceptors=aio_client_interceptors(filter_=_NOT_HEALTH_CHECKS))
