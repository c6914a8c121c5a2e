"""Who is acting in the current request or event handler (pure, no I/O).

The gRPC interceptor and the tracked consumer set it; the event store's mapper
records it beside every event so the log says who did what.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Actor:
    subject: str
    agency_id: str = ""
    roles: tuple[str, ...] = ()

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

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
