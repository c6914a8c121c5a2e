"""The subject key store against the session's real PostgreSQL: personal fields sealed in the
event table, read back through the application, masked once the key is destroyed (with the
event's stored bytes unchanged), and a new key-encryption key put in service by re-wrapping."""

from __future__ import annotations

import os

from eventsourcing.domain import Aggregate, event
from eventsourcing.postgres import PostgresDatastore, PostgresProcessRecorder

from motcua.kernel.eventstore import ServiceApplication
from motcua.kernel.subject_keys import MASKED, KeyEncryptionKeys, PersonalData, PersonalField, SubjectKeyStore

from .conftest import kernel_settings

NAME = "Trần Văn Bình"


class Person(Aggregate):
    class Registered(Aggregate.Created):
        details: dict

    @event(Registered)
    def __init__(self, details: dict) -> None:
        self.details = details


class PeopleApp(ServiceApplication):
    name = "people"


def datastore(app: PeopleApp) -> PostgresDatastore:
    recorder = app.recorder
    assert isinstance(recorder, PostgresProcessRecorder)  # the kernel's PostgreSQL store
    return recorder.datastore


def people(stack, service_name: str, keks: KeyEncryptionKeys) -> tuple[PeopleApp, SubjectKeyStore]:
    app = PeopleApp(kernel_settings(stack, service_name))
    store = SubjectKeyStore(datastore(app), service_name, keks, cache_size=4)
    app.mapper.personal = PersonalData(
        {"tests.kernel.test_subject_key_store:Person.Registered": [PersonalField("details", ("name",))]}, store
    )
    return app, store


def stored_states(app: PeopleApp) -> list[bytes]:
    return [bytes(n.state) for n in app.recorder.select_notifications(start=None, limit=100)]


def test_sealed_in_the_log_readable_until_destroyed_then_masked(stack, service_name):
    keks = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
    app, store = people(stack, service_name, keks)
    try:
        person = Person(details={"subject_id": "account:1", "name": NAME})
        app.save(person)
        before = stored_states(app)
        assert NAME.encode() not in b"".join(before)
        assert app.repository.get(person.id).details["name"] == NAME

        with datastore(app).get_connection() as conn:
            row = conn.execute(f"SELECT kek_id, wrapped_key FROM {service_name}_subject_keys").fetchone()
        assert row["kek_id"] == "k1" and len(bytes(row["wrapped_key"])) == 12 + 32 + 16

        assert store.destroy("account:1", "dpo-1", "Đơn yêu cầu xóa số 12/2026")
        assert app.repository.get(person.id).details == {"subject_id": "account:1", "name": MASKED}
        assert stored_states(app) == before  # the log, hence its hash chain, is untouched
        (erasure,) = store.erasures("account:1")
        assert (erasure.erased_by, erasure.reason) == ("dpo-1", "Đơn yêu cầu xóa số 12/2026")
        with datastore(app).get_connection() as conn:
            assert conn.execute(f"SELECT count(*) AS n FROM {service_name}_subject_keys").fetchone()["n"] == 0
    finally:
        app.close()


def test_a_new_kek_rewraps_the_keys_without_touching_events(stack, service_name):
    old = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
    app, _ = people(stack, service_name, old)
    try:
        for i in range(3):
            app.save(Person(details={"subject_id": f"account:{i}", "name": f"{NAME} {i}"}))
        before = stored_states(app)
    finally:
        app.close()
    rotated = KeyEncryptionKeys("k2", {**old.keys, "k2": os.urandom(32)})
    app, store = people(stack, service_name, rotated)
    try:
        assert store.rewrap(batch_size=2) == 3
        assert stored_states(app) == before
    finally:
        app.close()
    # With the old KEK retired, everything still reads.
    app, store = people(stack, service_name, KeyEncryptionKeys("k2", {"k2": rotated.keys["k2"]}))
    try:
        names = sorted(app.mapper.to_domain_event(n).details["name"]
                       for n in app.recorder.select_notifications(start=None, limit=100))
        assert names == [f"{NAME} {i}" for i in range(3)]
    finally:
        app.close()
