"""Who may do what: the roles of an RPC's policy, and the agency and ownership checks that
need the resource (pure, no I/O).

Two layers, one vocabulary:

- every RPC declares its ``Policy`` in the protos (``motcua.common.v1.access``); the gRPC
  server reads them at start (``grpc_server.serve``) and checks the caller's roles before
  the request is even validated (``RoleRequired``: PERMISSION_DENIED, reason ROLE_REQUIRED);
- what depends on the resource (the dossier's agency, the account's owner) is checked by the
  services with the helpers below, once they have loaded it.

Agency scope: roles are granted within an agency's subtree, and tokens carry each grant with
its agency (``Actor.grants``). ``holds``/``require_grant`` answer "does the caller hold role R
for agency X": a grant of R at X or at an agency above X. "Above" is the agency tree's
(``within(agency, ancestor)``): identity's own, or the replica other services keep from
identity's events (``motcua.kernel.agencies.AgencyTree.is_within``). A grant of one role never
lends its agency to another role: desk officer at A and administrator at B administers only B.

``in_agency``/``require_agency`` compare the home agency (``Actor.agency_id``) only; they remain
for checks about who one *is* (a signing key's agency), not what one may administer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from uuid import UUID

from .context import Actor
from .errors import PermissionDenied

# The vocabulary lives in ``roles``; these names stay importable from here for the callers
# that import them with the checks.
from .roles import (
    ADMINISTRATOR as ADMINISTRATOR,
    APPLICANT as APPLICANT,
    AUDITOR as AUDITOR,
    CREDENTIAL_OFFICER as CREDENTIAL_OFFICER,
    DEPARTMENT_HEAD as DEPARTMENT_HEAD,
    DESK_OFFICER as DESK_OFFICER,
    LEADER as LEADER,
    OFFICERS as OFFICERS,
    ROLES as ROLES,
    SPECIALIST as SPECIALIST,
)


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


Within = Callable[[str, str], bool]  # (agency, ancestor) -> agency is ancestor or below it


def holds(actor: Actor, roles: Iterable[str], agency: str, within: Within | None = None) -> bool:
    """Whether the caller holds one of ``roles`` for ``agency``: granted at it, or (with
    ``within``) at an agency above it."""
    if not agency:
        return False
    wanted = set(roles)
    return any(
        grant.role in wanted and (grant.agency_id == agency or (within is not None and within(agency, grant.agency_id)))
        for grant in actor.grants or ()
    )


def require_grant(
    actor: Actor, action: str, roles: Iterable[str], *agencies: str, within: Within | None = None
) -> None:
    """RoleRequired without any of ``roles``; PERMISSION_DENIED (reason AGENCY_SCOPE) unless one
    of them is held for one of ``agencies`` (see ``holds``)."""
    roles = tuple(roles)
    require_role(actor, action, *roles)
    if any(holds(actor, roles, agency, within) for agency in agencies):
        return
    named = " / ".join(sorted({a for a in agencies if a})) or "no agency"
    raise PermissionDenied(action, f"needs {' or '.join(roles)} granted for {named} or an agency above it",
                           error_reason="AGENCY_SCOPE", agencies=",".join(sorted({a for a in agencies if a})))


def is_self(actor: Actor, account_id: UUID | str | None) -> bool:
    """Whether the caller is the account (the token's subject is the account id)."""
    return bool(account_id) and actor.subject == str(account_id)


def require_self_or(actor: Actor, action: str, account_id: UUID | str | None, *roles: str) -> None:
    """PERMISSION_DENIED (reason NOT_OWNER) unless the caller is the account or holds one of
    ``roles``."""
    if is_self(actor, account_id) or (roles and actor.has_role(*roles)):
        return
    others = f" (or {', '.join(roles)})" if roles else ""
    raise PermissionDenied(action, f"only the account's owner{others} may", error_reason="NOT_OWNER")
