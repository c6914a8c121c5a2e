"""Writing under a subject's key against the session's real PostgreSQL: a subject's first key
costs one statement (a notice to a new address is a new subject on every call), and replicas
making a subject's first key at once all use the one stored."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager

from motcua.kernel.subject_keys import KeyEncryptionKeys, SubjectKeyStore

from .conftest import kernel_settings
from .test_subject_key_store import PeopleApp, datastore


class CountingDatastore:
    """The application's datastore, counting the statements run on its connections."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.schema = inner.schema
        self.statements = 0

    @contextmanager
    def get_connection(self):
        with self.inner.get_connection() as conn:
            counter = self

            class Counted:
                def execute(self, *args, **kwargs):
                    counter.statements += 1
                    return conn.execute(*args, **kwargs)

                def __getattr__(self, name):
                    return getattr(conn, name)

            yield Counted()


def test_a_new_subjects_key_is_made_in_one_statement_and_read_back_by_another_replica(stack, service_name):
    keks = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
    app = PeopleApp(kernel_settings(stack, service_name))
    try:
        counting = CountingDatastore(datastore(app))
        store = SubjectKeyStore(counting, service_name, keks)
        counting.statements = 0
        made = store.key_for_writing("notification:nguoi-nhan-1")
        assert counting.statements == 1
        assert store.key_for_writing("notification:nguoi-nhan-1") == made  # from the cache
        assert counting.statements == 1

        other_replica = SubjectKeyStore(datastore(app), service_name, keks, create_tables=False)
        assert other_replica.key_for_reading("notification:nguoi-nhan-1") == made
        # A replica that has not cached it: the stored key, in one statement too.
        third = SubjectKeyStore(counting, service_name, keks, create_tables=False)
        counting.statements = 0
        assert third.key_for_writing("notification:nguoi-nhan-1") == made
        assert counting.statements == 1
    finally:
        app.close()


def test_replicas_making_a_subjects_first_key_at_once_use_the_same_one(stack, service_name):
    keks = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
    app = PeopleApp(kernel_settings(stack, service_name))
    try:
        SubjectKeyStore(datastore(app), service_name, keks)  # the tables
        for n in range(5):
            subject = f"account:tran-van-binh-{n}"
            replicas = [SubjectKeyStore(datastore(app), service_name, keks, create_tables=False) for _ in range(4)]
            keys: list[bytes] = []
            start = threading.Barrier(len(replicas))

            def make(replica: SubjectKeyStore, start: threading.Barrier, subject: str, keys: list[bytes]) -> None:
                start.wait()
                keys.append(replica.key_for_writing(subject))

            threads = [threading.Thread(target=make, args=(r, start, subject, keys)) for r in replicas]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            stored = SubjectKeyStore(datastore(app), service_name, keks, create_tables=False).key_for_reading(subject)
            assert len(keys) == len(replicas) and set(keys) == {stored}
    finally:
        app.close()
