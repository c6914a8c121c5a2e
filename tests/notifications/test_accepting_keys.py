"""The keys a batch of notices is sealed under, against the session's real PostgreSQL with the
application in this process: the stored keys of all its recipients read in one query, the new
ones made without a read each (a notice to an address is a subject new with it), each stored
with the notices that need it."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from motcua.notifications.domain import EMAIL, Notification, Rendered

from .conftest import local_application


@pytest.fixture(scope="module")
def center(stack, database):
    center = local_application(stack, database, sealing=True)
    yield center
    center.close()


def notice(recipient: uuid.UUID | None, address: str) -> Notification:
    rendered = Rendered(template_id=uuid.uuid4(), template_key="thong_bao", template_version=1, channel=EMAIL,
                        subject="Hồ sơ đã có kết quả", body="Kính gửi Ông/Bà Đỗ Thị Hằng,\nMời đến nhận kết quả.")
    return Notification.from_template(f"call:{uuid.uuid4()}", rendered, recipient, address=address)


def stored_keys(stack, center, subjects: list[str]) -> dict[str, int]:
    with psycopg.connect(stack.postgres.dsn(center.database), autocommit=True) as conn:
        rows = conn.execute("SELECT subject_id, count(*) FROM notifications_subject_keys "
                            "WHERE subject_id = ANY(%s) GROUP BY subject_id", (subjects,)).fetchall()
    return dict(rows)


def test_a_batch_reads_its_recipients_keys_in_one_query_and_stores_the_new_ones_with_it(stack, center,
                                                                                         monkeypatch):
    store = center.subject_keys
    known = [uuid.uuid4() for _ in range(5)]
    center.save(*(notice(account, f"da.biet.{n}@example.vn") for n, account in enumerate(known)))
    for account in known:  # as another replica, or this one a while later, would find them
        store.cache.drop(f"account:{account}")
    new = [uuid.uuid4() for _ in range(5)]
    batch = [*(notice(account, f"ban.dau.{n}@example.vn") for n, account in enumerate([*known, *new])),
             *(notice(None, f"nguoi.nhan.{n}@example.vn") for n in range(5))]

    one_by_one: list[str] = []
    read_alone = store.key_for_reading

    def read(subject_id: str) -> bytes | None:
        if store.cache.get(subject_id) is None and not (store._unsaved and subject_id in store._unsaved):
            one_by_one.append(subject_id)  # a round trip to the keys table for this subject alone
        return read_alone(subject_id)

    together: list[set[str]] = []
    read_together = store.read_together

    def read_at_once(subject_ids, new_subject_ids=()):
        together.append(set(subject_ids))
        return read_together(subject_ids, new_subject_ids)

    monkeypatch.setattr(store, "key_for_reading", read)
    monkeypatch.setattr(store, "read_together", read_at_once)
    center.save(*batch)
    monkeypatch.undo()

    assert one_by_one == []
    assert together == [{f"account:{a}" for a in [*known, *new]}]  # the address notices' are new with them
    subjects = [*(f"account:{a}" for a in [*known, *new]), *(f"notification:{n.id}" for n in batch[10:])]
    assert stored_keys(stack, center, subjects) == dict.fromkeys(subjects, 1)
    for subject in subjects:
        store.cache.drop(subject)  # read back under the stored keys
    assert [center.find(Notification, n.id).address for n in batch] == [n.address for n in batch]
    assert center.find(Notification, batch[0].id).body == "Kính gửi Ông/Bà Đỗ Thị Hằng,\nMời đến nhận kết quả."
