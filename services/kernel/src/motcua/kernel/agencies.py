"""The agency tree outside identity: a replica kept from identity's integration events, for
the subtree checks of role grants (``motcua.kernel.access.holds``).

Identity owns the tree (province → departments, the service center, communes) and publishes
``AgencyCreated`` (with its parent) and ``AgencyClosed``. A service that checks agency scope
runs ``agency_tree_consumer``: each agency becomes an ``AgencyReplica`` aggregate in the
service's own event store, saved with the consumed position (exactly once, like every
tracked consumer), and ``AgencyTree`` answers "is X within Y" by walking parents up.

Events of different agencies travel on different partitions, so a child may arrive before
its parent: the parent's replica is then opened as a placeholder holding the child, and
completed when its own event arrives.

An agency not (yet) in the replica has no known parent: it is within only itself. A grant at
an ancestor does not reach it until identity's event has been applied, so a missing or late
replica denies (never allows) — the safe side for an authorization check.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from motcua.common.v1.envelope_pb2 import EventEnvelope
from motcua.identity.v1 import events_pb2 as identity_events

from .config import events_topic
from .consumer import Subscription, TrackedConsumer
from .eventstore import ServiceApplication

MAX_TREE_DEPTH = 16  # province > department > unit… never this deep; stops a corrupted cycle


def replica_id(eid: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"/motcua/agency-replicas/{eid}")


class AgencyReplica(Aggregate):
    """One agency as another service knows it: its parent, children and closing."""

    @staticmethod
    def create_id(eid: str, **_: object) -> UUID:
        return replica_id(eid)

    @event("Opened")
    def __init__(self, eid: str, parent_eid: str, known: bool) -> None:
        self.eid = eid
        self.parent_eid = parent_eid
        # False for a placeholder opened by a child that arrived first.
        self.known = known
        self.children: list[str] = []
        self.close_date = ""
        self.successor_eid = ""

    def found(self, parent_eid: str) -> None:
        """The placeholder's own creation event has arrived."""
        if not self.known:
            self._founded(parent_eid=parent_eid)

    @event("Founded")
    def _founded(self, parent_eid: str) -> None:
        self.parent_eid = parent_eid
        self.known = True

    def adopt(self, child_eid: str) -> None:
        if child_eid not in self.children:
            self._child_added(child_eid=child_eid)

    @event("ChildAdded")
    def _child_added(self, child_eid: str) -> None:
        self.children.append(child_eid)

    def close(self, close_date: str, successor_eid: str) -> None:
        if self.close_date != close_date or self.successor_eid != successor_eid:
            self._closed(close_date=close_date, successor_eid=successor_eid)

    @event("Closed")
    def _closed(self, close_date: str, successor_eid: str) -> None:
        self.close_date = close_date
        self.successor_eid = successor_eid


class AgencyTree:
    """Subtree questions over the replica. Parents never change once an agency exists (identity
    has no move), so known parent links are remembered; children are read each time."""

    # A subtree read is remembered this long: a province's few hundred agencies are one read
    # each. Agencies are only ever added (closing keeps them), so a remembered subtree can only
    # miss an agency created meanwhile — which then is not listed yet: the safe side.
    SUBTREE_TTL = 10.0

    def __init__(self, app: ServiceApplication, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        self._clock = clock
        self._parents: dict[str, str] = {}
        self._subtrees: dict[str, tuple[float, list[str]]] = {}

    def parent_of(self, eid: str) -> str | None:
        """The agency's parent ("" for a root); None for an agency the replica does not know."""
        if eid in self._parents:
            return self._parents[eid]
        replica = self._replica(eid)
        if replica is None or not replica.known:
            return None
        self._parents[eid] = replica.parent_eid
        return replica.parent_eid

    def is_within(self, eid: str, ancestor_eid: str) -> bool:
        """Whether agency ``eid`` is ``ancestor_eid`` or below it (unknown agencies: only
        itself)."""
        current: str | None = eid
        for _ in range(MAX_TREE_DEPTH):
            if current == ancestor_eid:
                return True
            if not current:
                return False
            current = self.parent_of(current)
        return False

    def subtree(self, eid: str) -> list[str]:
        """``eid`` and every agency below it known to the replica."""
        remembered = self._subtrees.get(eid)
        if remembered is not None and self._clock() - remembered[0] < self.SUBTREE_TTL:
            return remembered[1]
        found, queue = [eid], deque([eid])
        while queue and len(found) < 100_000:
            replica = self._replica(queue.popleft())
            for child in replica.children if replica is not None else ():
                if child not in found:
                    found.append(child)
                    queue.append(child)
        if len(self._subtrees) > 10_000:
            self._subtrees.clear()
        self._subtrees[eid] = (self._clock(), found)
        return found

    def _replica(self, eid: str) -> AgencyReplica | None:
        return self.app.find(AgencyReplica, replica_id(eid))


def agency_tree_consumer(app: ServiceApplication) -> TrackedConsumer:
    """Keeps ``app``'s replica of the agency tree from identity's events."""

    def replica(
        eid: str, changed: dict[str, AgencyReplica], parent_eid: str = "", known: bool = False
    ) -> AgencyReplica:
        existing = changed.get(eid) or app.find(AgencyReplica, replica_id(eid))
        if existing is None:
            existing = AgencyReplica(eid=eid, parent_eid=parent_eid, known=known)
        changed[eid] = existing
        return existing

    def on_agency_created(event: identity_events.AgencyCreated, envelope: EventEnvelope) -> list[Any]:
        changed: dict[str, AgencyReplica] = {}
        replica(event.agency_id, changed, event.parent_agency_id, known=True).found(event.parent_agency_id)
        if event.parent_agency_id:
            replica(event.parent_agency_id, changed).adopt(event.agency_id)
        return list(changed.values())

    def on_agency_closed(event: identity_events.AgencyClosed, envelope: EventEnvelope) -> list[Any]:
        changed: dict[str, AgencyReplica] = {}
        replica(event.agency_id, changed).close(event.close_date, event.successor_agency_id)
        return list(changed.values())

    return TrackedConsumer(
        app,
        name="agency-tree",
        topics=[events_topic("identity")],
        subscriptions=[
            Subscription(identity_events.AgencyCreated, on_agency_created),
            Subscription(identity_events.AgencyClosed, on_agency_closed),
        ],
    )
