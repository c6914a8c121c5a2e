"""Bearer tokens for tests: real ones, issued by the session's identity service.

The `stack` fixture points this module at the identity service; stubs built through
tests/support/clients.py then carry the default token unless given another.
"""

from __future__ import annotations

import collections
from functools import cache
from typing import Any

import grpc
from google.protobuf.duration_pb2 import Duration

from motcua.identity.v1 import identity_service_pb2 as identity_pb, identity_service_pb2_grpc
from motcua.identity.v1.role_pb2 import Role

AGENCY = "000.00.12.H56"
# Every role: the calls tests make are not about authorization (that has tests of its own).
ALL_ROLES = tuple(r for r in Role.values() if r != Role.ROLE_UNSPECIFIED)

_identity: dict[str, str] = {}


def use_identity(addr: str) -> None:
    _identity["addr"] = addr
    default_caller.cache_clear()


@cache
def _identity_stub(addr: str) -> identity_service_pb2_grpc.IdentityServiceStub:
    return identity_service_pb2_grpc.IdentityServiceStub(grpc.insecure_channel(addr))


def identity_stub() -> identity_service_pb2_grpc.IdentityServiceStub:
    assert "addr" in _identity, "no identity service: use the `stack` fixture"
    return _identity_stub(_identity["addr"])


def issue(roles: tuple[Role.ValueType, ...] = ALL_ROLES, agency_id: str = AGENCY, account_id: str = "",
          ttl_seconds: int = 0, display_name: str = "") -> identity_pb.IssueDevelopmentTokenResponse:
    request = identity_pb.IssueDevelopmentTokenRequest(
        roles=roles, agency_id=agency_id, account_id=account_id, display_name=display_name)
    if ttl_seconds:
        request.ttl.CopyFrom(Duration(seconds=ttl_seconds))
    return identity_stub().IssueDevelopmentToken(request)


@cache
def default_caller() -> identity_pb.IssueDevelopmentTokenResponse:
    """The session's default caller: every role, in AGENCY."""
    return issue(ttl_seconds=6 * 3600)


def default_token() -> str:
    return default_caller().access_token


def bearer(token: str | None = None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying the token (default: the session's)."""
    return (("authorization", f"Bearer {token or default_token()}"),)


class _CallDetails(collections.namedtuple(
        "_CallDetails", ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")),
        grpc.ClientCallDetails):
    pass


class _WithToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds the bearer token to every call that does not carry an Authorization of its own."""

    def __init__(self, token: str | None) -> None:
        self.token = token

    def _details(self, details: grpc.ClientCallDetails) -> _CallDetails:
        metadata = list(details.metadata or ())
        if not any(key == "authorization" for key, _ in metadata):
            metadata += bearer(self.token)
        return _CallDetails(details.method, details.timeout, metadata, details.credentials,
                            details.wait_for_ready, details.compression)

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)


def authorized_channel(addr: str, token: str | None = None) -> grpc.Channel:
    """A channel whose calls carry `token` (default: the session's default token)."""
    return grpc.intercept_channel(grpc.insecure_channel(addr), _WithToken(token))
