"""The kernel's replica of the agency tree, from identity's events (pure: a dictionary stands
in for the service's event store)."""

from __future__ import annotations

from types import SimpleNamespace

from motcua.identity.v1 import events_pb2
from motcua.kernel.agencies import AgencyReplica, AgencyTree, agency_tree_consumer


class Store:
    """What the consumer and the tree need of an application: find, and saving what policies
    return."""

    def __init__(self) -> None:
        self.settings = SimpleNamespace(service="dossiers")
        self.saved: dict = {}

    def find(self, aggregate_type, aggregate_id):
        return self.saved.get(aggregate_id)

    def apply(self, consumer, event) -> None:
        policy = consumer.policies[event.DESCRIPTOR.full_name].policy
        for aggregate in policy(event, None):
            aggregate.collect_events()
            self.saved[aggregate.id] = aggregate


def test_a_child_arriving_before_its_parent_is_within_it_once_the_parent_arrives():
    store = Store()
    consumer = agency_tree_consumer(store)
    tree = AgencyTree(store)
    store.apply(consumer, events_pb2.AgencyCreated(agency_id="000.21.30.H56", parent_agency_id="000.00.00.H56"))
    assert tree.is_within("000.21.30.H56", "000.00.00.H56")
    # The parent is a placeholder: its own parent is unknown, so nothing above it holds yet.
    assert tree.parent_of("000.00.00.H56") is None
    store.apply(consumer, events_pb2.AgencyCreated(agency_id="000.00.00.H56"))
    assert tree.parent_of("000.00.00.H56") == ""
    assert tree.subtree("000.00.00.H56") == ["000.00.00.H56", "000.21.30.H56"]
    assert not tree.is_within("000.00.00.H56", "000.21.30.H56")
    # An agency the replica does not know is within itself only.
    assert tree.is_within("000.99.99.T01", "000.99.99.T01") and not tree.is_within("000.99.99.T01", "000.00.00.H56")
    store.apply(consumer, events_pb2.AgencyClosed(agency_id="000.21.30.H56", close_date="2026-07-01"))
    assert isinstance(store.find(AgencyReplica, AgencyReplica.create_id("000.21.30.H56")), AgencyReplica)
    assert tree.is_within("000.21.30.H56", "000.00.00.H56")  # a closed agency keeps its place (its history)
