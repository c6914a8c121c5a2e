"""Each role × each RPC of every motcua service, against the real service processes.

The RPCs and their policies come from the protos' descriptors (``motcua.common.v1.access``),
not from a list kept here: a caller holding only one role (agency 000.00.12.H56) calls every
RPC with an empty request, and gets PERMISSION_DENIED with the reason ROLE_REQUIRED exactly
when that role is not among the RPC's roles. What happens otherwise (INVALID_ARGUMENT for the
empty request, NOT_FOUND, an answer...) is the service's business, not this matrix's.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2

from motcua.identity.v1.role_pb2 import Role
from motcua.kernel.roles import ROLES
from tests.support import auth
from tests.support.clients import details
from tests.support.rpcs import NO_TOKEN, call, methods, owner

AGENCY = "000.00.12.H56"
METHODS = methods()
SERVICES = sorted({owner(m) for m, _ in METHODS})


def _id(method) -> str:
    return f"{method.containing_service.name}.{method.name}"


@pytest.fixture(scope="module")
def addresses(stack, tmp_path_factory) -> Iterator[dict[str, str]]:
    """One process of every service for the module (identity: the session's)."""
    extra = {"signing": {"MOTCUA_SIGNING_DIR": str(tmp_path_factory.mktemp("signing"))}}
    processes = {name: stack.service(name, **extra.get(name, {})).start() for name in SERVICES if name != "identity"}
    yield {"identity": stack.identity.addr, **{name: p.addr for name, p in processes.items()}}
    for process in processes.values():
        assert process.terminate() == 0


@pytest.fixture(scope="module")
def tokens(addresses) -> dict[str, str]:
    """A token holding only that role, per role."""
    return {Role.Name(role).removeprefix("ROLE_").lower(): auth.issue(roles=(role,), agency_id=AGENCY).access_token
            for role in auth.ALL_ROLES}


def role_required(error: grpc.RpcError | None) -> list[str] | None:
    """The roles a ROLE_REQUIRED refusal names; None for any other outcome."""
    if error is None or error.code() != grpc.StatusCode.PERMISSION_DENIED:
        return None
    infos = [i for i in details(error, error_details_pb2.ErrorInfo) if i.reason == "ROLE_REQUIRED"]
    return infos[0].metadata["roles"].split(",") if infos else None


def test_the_matrix_covers_every_role_and_every_service():
    assert sorted(Role.Name(r).removeprefix("ROLE_").lower() for r in auth.ALL_ROLES) == sorted(ROLES)
    assert SERVICES == ["dossiers", "identity", "notifications", "procedures", "signing"]
    assert len(METHODS) >= 70


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,policy", METHODS, ids=[_id(m) for m, _ in METHODS])
def test_a_role_may_call_exactly_the_rpcs_that_declare_it(addresses, tokens, role, method, policy):
    error = call(addresses[owner(method)], method, tokens[role])
    refused_for = role_required(error)
    if policy.public or policy.authenticated or role in policy.roles:
        assert refused_for is None, f"{role} was refused {_id(method)}: {error.details()}"
    else:
        assert refused_for == list(policy.roles), (
            f"{role} called {_id(method)} (only {', '.join(policy.roles)} may): "
            f"{error.code() if error else 'answered'} {error.details() if error else ''}")


@pytest.mark.parametrize("method,policy", METHODS, ids=[_id(m) for m, _ in METHODS])
def test_without_a_token_only_public_rpcs_answer(addresses, method, policy):
    error = call(addresses[owner(method)], method, NO_TOKEN)
    if policy.public:
        assert error is None or error.code() not in (
            grpc.StatusCode.UNAUTHENTICATED,
            grpc.StatusCode.PERMISSION_DENIED,
        ), f"public {_id(method)} refused an anonymous caller: {error.code()} {error.details()}"
    else:
        assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED, \
            f"{_id(method)} without a token: {error.code() if error else 'answered'}"
        (info,) = details(error, error_details_pb2.ErrorInfo)
        assert info.reason == "TOKEN_MISSING"
