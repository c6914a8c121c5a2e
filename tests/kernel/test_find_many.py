"""Reading many aggregates at once against the session's real PostgreSQL (a worker taking up a
batch): the same aggregates as reading each alone, sealed personal fields unsealed (masked
once a subject's key is destroyed), in a few statements however many people the batch is about."""

from __future__ import annotations

import os
import uuid
from types import SimpleNamespace

from motcua.kernel.subject_keys import MASKED, KeyEncryptionKeys, SubjectKeyStore

from .test_subject_key_store import Person, people
from .test_subject_key_writes import CountingDatastore


def test_many_aggregates_read_at_once_are_those_read_alone_in_a_few_statements(stack, service_name):
    keks = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
    app, store = people(stack, service_name, keks)
    try:
        persons = [Person(details={"subject_id": f"account:{n}", "name": f"Trần Văn Bình {n}"}) for n in range(12)]
        app.save(*persons)
        store.destroy("account:3", "dpo-1", "Đơn yêu cầu xóa số 12/2026")
        ids = [p.id for p in persons] + [uuid.uuid4()]  # one that does not exist

        # A replica that has cached no key: the events in one statement, the keys in one more (and
        # one for the erased person's, whose absence is not remembered: a new key may come).
        store_of_app = app.recorder.datastore
        counting = CountingDatastore(SimpleNamespace(schema=store_of_app.schema,
                                                     get_connection=store_of_app.get_connection))
        app.mapper.personal.keys = SubjectKeyStore(counting, service_name, keks, create_tables=False)
        store_of_app.get_connection = counting.get_connection
        counting.statements = 0
        found = app.find_many(Person, ids)
        assert counting.statements == 3

        assert set(found) == {p.id for p in persons}
        for person in persons:
            alone = app.repository.get(person.id)
            assert (found[person.id].version, found[person.id].details) == (alone.version, alone.details)
        assert found[persons[5].id].details["name"] == "Trần Văn Bình 5"
        assert found[persons[3].id].details["name"] == MASKED
    finally:
        app.close()
