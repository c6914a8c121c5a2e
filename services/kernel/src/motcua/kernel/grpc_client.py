"""Channels to other services, traced: the callee's spans join the caller's trace."""

from __future__ import annotations

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors, client_interceptor
from opentelemetry.instrumentation.grpc.grpcext import intercept_channel


def channel(target: str) -> grpc.Channel:
    """A long-lived channel (create once, share across threads)."""
    return intercept_channel(grpc.insecure_channel(target), client_interceptor())


def aio_channel(target: str) -> grpc.aio.Channel:
    """The asyncio equivalent, for the gateway and other asyncio callers."""
    return grpc.aio.insecure_channel(target, interceptors=aio_client_interceptors())
