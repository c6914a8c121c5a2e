"""Who may do what: the roles of an RPC's policy, and the agency and ownership checks that
need the resource (pure, no I/O).

Two layers, one vocabulary:

- every RPC declares its ``Policy`` in the protos (``motcua.common.v1.access``); the gRPC
  server reads them at start (``grpc_server.serve``) and checks the caller's roles before
  the request is even validated (``RoleRequired``: PERMISSION_DENIED, reason ROLE_REQUIRED);
- what depends on the resource (the dossier's agency, the account's owner) is checked by the
  services with the helpers below, once they have loaded it.

Agency scope: the token's ``agency_id`` must be the resource's agency. Identity, which keeps
the agency tree, passes ``within`` to accept agencies below the caller's too; the other
services keep no copy of the tree, so an officer of a parent agency is not "within" a child
agency there (the roles given in ``anywhere``, e.g. administrators for dossiers, act in every
agency instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable
from uuid import UUID

from .context import Actor
from .errors import PermissionDenied

APPLICANT = "applicant"
DESK_OFFICER = "desk_officer"
SPECIALIST = "specialist"
DEPARTMENT_HEAD = "department_head"
LEADER = "leader"
ADMINISTRATOR = "administrator"
AUDITOR = "auditor"
# The roles of protos/motcua/identity/v1/role.proto, as the token's `roles` claim names them.
ROLES = (APPLICANT, DESK_OFFICER, SPECIALIST, DEPARTMENT_HEAD, LEADER, ADMINISTRATOR, AUDITOR)
OFFICERS = (DESK_OFFICER, SPECIALIST, DEPARTMENT_HEAD, LEADER)


class RoleRequired(PermissionDenied):
    """The caller has none of the roles that may do this."""

    def __init__(self, action: str, roles: Iterable[str]) -> None:
        self.roles = tuple(roles)
        super().__init__(action, f"needs one of the roles {', '.join(self.roles)}",
                         error_reason="ROLE_REQUIRED", roles=",".join(self.roles))


@dataclass(frozen=True)
class Policy:
    """Who may call one RPC: anyone (``public``), any authenticated caller (``authenticated``),
    or callers holding one of ``roles``."""

    roles: tuple[str, ...] = ()
    public: bool = False
    authenticated: bool = False

    def __post_init__(self) -> None:
        kinds = bool(self.roles) + self.public + self.authenticated
        if kinds != 1:
            raise ValueError("an access policy is exactly one of: roles, public, authenticated")
        unknown = sorted(set(self.roles) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown roles {unknown} (known: {', '.join(ROLES)})")

    def needs_token(self) -> bool:
        return not self.public

    def check(self, actor: Actor, action: str) -> None:
        """RoleRequired unless the (authenticated) caller may call."""
        if self.roles and not actor.has_role(*self.roles):
            raise RoleRequired(action, self.roles)


def require_role(actor: Actor, action: str, *roles: str) -> None:
    if not actor.has_role(*roles):
        raise RoleRequired(action, roles)


def in_agency(actor: Actor, *agencies: str, within: Callable[[str, str], bool] | None = None) -> bool:
    """Whether the caller's agency is one of ``agencies`` (or, with ``within(resource agency,
    caller's agency)``, above one of them)."""
    if not actor.agency_id:
        return False
    if actor.agency_id in agencies:
        return True
    return within is not None and any(a and within(a, actor.agency_id) for a in agencies)


def require_agency(actor: Actor, action: str, *agencies: str, within: Callable[[str, str], bool] | None = None,
                   anywhere: tuple[str, ...] = ()) -> None:
    """PERMISSION_DENIED (reason AGENCY_SCOPE) unless the resource is of the caller's agency
    (see ``in_agency``) or the caller holds one of the roles that act ``anywhere``."""
    if (anywhere and actor.has_role(*anywhere)) or in_agency(actor, *agencies, within=within):
        return
    named = " / ".join(sorted({a for a in agencies if a})) or "no agency"
    where = f"{named} or an agency above it" if within else named
    raise PermissionDenied(action, f"only callers of {where} may",
                           error_reason="AGENCY_SCOPE", agencies=",".join(sorted(set(agencies))))


def is_self(actor: Actor, account_id: UUID | str | None) -> bool:
    """Whether the caller is the account (the token's subject is the account id)."""
    return bool(account_id) and actor.subject == str(account_id)


def require_self_or(actor: Actor, action: str, account_id: UUID | str | None, *roles: str) -> None:
    """PERMISSION_DENIED (reason NOT_OWNER) unless the caller is the account or holds one of ``roles``."""
    if is_self(actor, account_id) or (roles and actor.has_role(*roles)):
        return
    others = f" (or {', '.join(roles)})" if roles else ""
    raise PermissionDenied(action, f"only the account's owner{others} may", error_reason="NOT_OWNER")
