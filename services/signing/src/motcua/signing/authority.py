"""Who may sign with which key, for what (pure, no I/O).

A key belongs to an agency (its seal) or to one person, and allows some purposes. A
caller signs only with a key of their own agency or their own key, and only for a
purpose the key allows: a desk officer of a commune never gets a document sealed by the
province. The caller's agency is the token's, through the kernel's helpers
(``motcua.kernel.access``), so a change in how agencies appear in tokens flows through.
No role acts "anywhere" here: an administrator seals with their own agency's keys too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from motcua.kernel.access import in_agency, is_self
from motcua.kernel.context import Actor
from motcua.kernel.errors import PermissionDenied

from .domain import KeyOwnership, NoSigningKey, UnknownSigningKey

ACTION = "sign with this key"

# Issues a key of an agency that has none for a purpose (the development PKI only); None: none is
# made.
KeyIssuer = Callable[[str, str], tuple[str, KeyOwnership] | None]


def may_use(actor: Actor, ownership: KeyOwnership) -> bool:
    if ownership.holder_account_id:
        return is_self(actor, ownership.holder_account_id)
    return in_agency(actor, ownership.agency_id)


def check_key(actor: Actor, key_id: str, ownership: KeyOwnership, purpose: str, agency_id: str = "") -> None:
    """PERMISSION_DENIED unless the caller may sign with the key for ``purpose`` (on behalf
    of ``agency_id``, when given)."""
    if not may_use(actor, ownership):
        whose = "the caller's agency" if ownership.agency_id else "the caller"
        raise PermissionDenied(ACTION, f"the key {key_id} belongs to {ownership.owner}, not to {whose}",
                               error_reason="KEY_NOT_OWNED", key_id=key_id)
    if agency_id and ownership.agency_id != agency_id:
        raise PermissionDenied(ACTION, f"the key {key_id} is not a key of agency {agency_id}",
                               error_reason="KEY_NOT_OWNED", key_id=key_id)
    if not ownership.allows(purpose):
        raise PermissionDenied(
            ACTION,
            f"the key {key_id} may sign for {', '.join(p.upper() for p in ownership.purposes)}, not {purpose.upper()}",
            error_reason="PURPOSE_NOT_ALLOWED",
            key_id=key_id,
            purpose=purpose.upper(),
        )


def choose_key(actor: Actor, keys: Mapping[str, KeyOwnership], purpose: str, key_id: str = "", agency_id: str = "",
               preferred: str = "", issue: KeyIssuer | None = None) -> tuple[str, KeyOwnership]:
    """The key to sign with: the one named (checked), else the caller's own key for the
    purpose, else the agency's (``agency_id``, which must be the caller's; by default the
    caller's). Among several, ``preferred`` first, then by key id."""
    if key_id:
        ownership = keys.get(key_id)
        if ownership is None:
            raise UnknownSigningKey(key_id)
        check_key(actor, key_id, ownership, purpose, agency_id)
        return key_id, ownership
    agency = agency_id or actor.agency_id
    if agency_id and not in_agency(actor, agency_id):
        raise PermissionDenied(ACTION, f"only callers of agency {agency_id} may sign on its behalf",
                               error_reason="AGENCY_SCOPE", agencies=agency_id)
    own = (
        []
        if agency_id
        else [k for k, o in keys.items() if o.holder_account_id and may_use(actor, o) and o.allows(purpose)]
    )
    candidates = own or [k for k, o in keys.items() if agency and o.agency_id == agency and o.allows(purpose)]
    if not candidates and agency and issue is not None:
        issued = issue(agency, purpose)
        if issued is not None and issued[1].allows(purpose):
            return issued
    if not candidates:
        if not agency:
            raise PermissionDenied(ACTION, "the caller belongs to no agency and holds no key for the purpose",
                                   error_reason="KEY_NOT_OWNED")
        raise NoSigningKey(f"agency {agency}" if agency_id else f"neither the caller nor agency {agency}", purpose)
    chosen = preferred if preferred in candidates else sorted(candidates)[0]
    return chosen, keys[chosen]
