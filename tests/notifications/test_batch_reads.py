"""What a consumed batch reads, against the session's real PostgreSQL with the application in this
process: the dossiers' copies and the accounts' contact points its events name read in one query
(``ServiceApplication.preload``), those that do not exist known absent, a change made earlier in
the batch seen by the events after it, and nothing but the batch's changes saved."""

from __future__ import annotations

import uuid

import pytest

from motcua.kernel.context import Actor, acting_as
from motcua.notifications.domain import ContactPoints, DossierReplica

from .conftest import local_application


@pytest.fixture(scope="module")
def center(stack, database):
    center = local_application(stack, database)
    yield center
    center.close()


def test_a_batch_reads_the_aggregates_its_events_name_in_one_query(center, monkeypatch):
    account, dossier, unknown = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    center.save(*center.replicate_dossier(dossier, "000.00.12.H56-260302-0007", "000.00.12.H56", "", account))
    with acting_as(Actor(subject=str(account))):
        center.set_contact_points(account, "le.thi.thu@example.vn", "0912345678", "", [])

    one_by_one: list[uuid.UUID] = []
    select_events = center.recorder.select_events

    def counted(originator_id, **kwargs):
        one_by_one.append(originator_id)
        return select_events(originator_id, **kwargs)

    monkeypatch.setattr(center.recorder, "select_events", counted)
    with center.batch_of_changes() as changed:
        center.preload([dossier, account, unknown, dossier])
        replica = center.find(DossierReplica, dossier)
        assert replica is not None and replica.code == "000.00.12.H56-260302-0007"
        contacts = center.find(ContactPoints, account)
        assert contacts is not None and contacts.address_for("email") == "le.thi.thu@example.vn"
        assert center.find(DossierReplica, unknown) is None
        # A change made for an earlier event of the batch is what the later ones see.
        changed_replica = center.replicate_dossier(dossier, "000.00.12.H56-260302-0007", "000.00.12.H56",
                                                   "000.00.13.H56", account)
        for aggregate in changed_replica:
            changed[aggregate.id] = aggregate
        assert center.find(DossierReplica, dossier).handling_agency_id == "000.00.13.H56"
        assert one_by_one == []
        saved = list(changed.values())
    monkeypatch.undo()
    assert [a.id for a in saved] == [dossier]  # only the batch's changes are saved
    center.save(*saved)
    assert center.find(DossierReplica, dossier).handling_agency_id == "000.00.13.H56"
    # Outside a batch, reads go to the store as before.
    assert center.find(DossierReplica, unknown) is None
