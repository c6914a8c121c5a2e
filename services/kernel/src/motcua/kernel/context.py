"""Who is acting in the current request or event handler (pure, no I/O).

The gRPC interceptor and the tracked consumer set it; the event store's mapper
records it beside every event so the log says who did what.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field

from .roles import is_granted_at_agency


@dataclass(frozen=True)
class Grant:
    """A role held within an agency's subtree (the agency and every agency below it)."""

    role: str
    agency_id: str


@dataclass(frozen=True)
class Actor:
    """The caller: ``roles`` is the union of what they may call (the RPC policies), ``grants``
    says where each role holds (every agency-scoped check), ``agency_id`` is their home agency
    (officers' own agency: the one recorded beside events, a signing key's owner)."""

    subject: str
    agency_id: str = ""
    roles: tuple[str, ...] = ()
    # None: every role at the home agency — what tokens meant before grants were carried
    # (and what an in-process caller built from roles and an agency means).
    grants: tuple[Grant, ...] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.grants is None:
            derived = tuple(Grant(r, self.agency_id) for r in self.roles if self.agency_id and is_granted_at_agency(r))
            object.__setattr__(self, "grants", derived)

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    def agencies_for(self, *roles: str) -> tuple[str, ...]:
        """The agencies at whose subtrees the caller holds one of ``roles`` (each once)."""
        return tuple(dict.fromkeys(g.agency_id for g in self.grants or () if g.role in roles))

    @classmethod
    def system(cls, service: str) -> Actor:
        return cls(subject=f"system:{service}")


ANONYMOUS = Actor(subject="anonymous")

_current_actor: ContextVar[Actor] = ContextVar("motcua_actor", default=ANONYMOUS)


def current_actor() -> Actor:
    return _current_actor.get()


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)
