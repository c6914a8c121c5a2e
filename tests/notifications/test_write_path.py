"""The accepting path's writes against the session's real PostgreSQL, with the application in
this process: a new recipient's data key is stored in the transaction of the notification that
needs it (one commit), and a notification is counted in the metric once its transaction has
committed, never for a rolled-back batch applied again."""

from __future__ import annotations

import uuid
from collections import Counter

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from motcua.kernel.errors import VersionConflict
from motcua.kernel.subject_keys import SubjectKeyStore
from motcua.notifications import readmodel
from motcua.notifications.domain import EMAIL, Notification, Rendered

from .conftest import local_application

REFUSED_SUBJECT = "Không ghi được"
# The inbox row's subject is sealed: the refused row is known by its template's key, in the clear.
REFUSED_KEY = "khong_ghi_duoc"


@pytest.fixture(scope="module")
def center(stack, database):
    """The application in this process, on a database of its own, sealing personal data."""
    center = local_application(stack, database, sealing=True)
    with psycopg.connect(stack.postgres.dsn(database), autocommit=True) as conn:
        # A row the inbox refuses after the notification's events are in: its transaction rolls
        # back late, after the projection has run.
        conn.execute(f"""
            CREATE FUNCTION refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.template_key = '{REFUSED_KEY}' THEN
                    RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END $$""")
        conn.execute("CREATE TRIGGER refuse_row BEFORE INSERT ON notifications_inbox "
                     "FOR EACH ROW EXECUTE FUNCTION refuse_row()")
    yield center
    center.close()


def email(subject: str, address: str = "") -> Notification:
    key = REFUSED_KEY if subject == REFUSED_SUBJECT else "thong_bao"
    rendered = Rendered(template_id=uuid.uuid4(), template_key=key, template_version=1, channel=EMAIL,
                        subject=subject, body="Kính gửi Ông/Bà Trần Thị Hương,\nHồ sơ đã có kết quả.")
    return Notification.from_template(f"call:{uuid.uuid4()}", rendered, None,
                                      address=address or f"nguoi.nhan.{uuid.uuid4().hex[:8]}@example.vn")


class CountingMetric:
    def __init__(self) -> None:
        self.counts: Counter[tuple] = Counter()

    def add(self, amount: int, labels: dict) -> None:
        self.counts[tuple(sorted(labels.items()))] += amount


def test_a_batch_that_rolls_back_after_its_rows_were_written_counts_nothing(center, monkeypatch):
    metric = CountingMetric()
    monkeypatch.setattr(readmodel, "NOTIFICATIONS", metric)
    upstream = f"motcua.dossiers.events.v1:{uuid.uuid4().hex[:6]}"
    accepted, refused = email("Hồ sơ đã có kết quả"), email(REFUSED_SUBJECT)
    with pytest.raises(IntegrityError):
        center.record_processed(Tracking(upstream, 1), accepted, refused)
    assert sum(metric.counts.values()) == 0

    # Applied again one message at a time, as the consumer does: each committed one counts once.
    assert center.find(Notification, accepted.id) is None  # nothing of the batch was stored
    accepted = email("Hồ sơ đã có kết quả")
    center.record_processed(Tracking(upstream, 1), accepted)
    assert metric.counts == {(("channel", EMAIL), ("state", "queued")): 1}


def key_rows(stack, center, subject: str) -> int:
    with psycopg.connect(stack.postgres.dsn(center.database), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM notifications_subject_keys WHERE subject_id = %s",
                           (subject,)).fetchone()
        assert row is not None  # count(*) answers one row
        return row[0]


def test_a_new_recipients_key_is_stored_with_the_notification_and_not_without_it(stack, center):
    accepted = email("Hồ sơ đã có kết quả", "tran.thi.huong@example.vn")
    center.save(accepted)
    subject = f"notification:{accepted.id}"
    assert key_rows(stack, center, subject) == 1
    center.subject_keys.cache.drop(subject)  # read back as another replica would: the stored key
    assert center.find(Notification, accepted.id).address == "tran.thi.huong@example.vn"

    refused = email(REFUSED_SUBJECT)
    with pytest.raises(VersionConflict):
        center.save(refused)
    # The key of a notification that was not written was not written either.
    assert key_rows(stack, center, f"notification:{refused.id}") == 0


def test_a_key_another_replica_stored_first_is_the_one_the_notification_is_sealed_under(stack, center, monkeypatch):
    dossier_id = uuid.uuid4()
    subject = f"dossier-applicant:{dossier_id}"
    store = center.subject_keys
    other_replica = SubjectKeyStore(store.datastore, "notifications", store.keks, create_tables=False)
    reading = store.key_for_reading
    raced: list[bytes] = []

    def read_then_lose_the_race(subject_id: str) -> bytes | None:
        found = reading(subject_id)
        if subject_id == subject and not raced:
            # The other replica stores the subject's first key after this one found none.
            raced.append(other_replica.key_for_writing(subject_id))
        return found

    monkeypatch.setattr(store, "key_for_reading", read_then_lose_the_race)
    rendered = Rendered(template_id=uuid.uuid4(), template_key="thong_bao", template_version=1, channel=EMAIL,
                        subject="Hồ sơ cần bổ sung", body="Kính gửi Ông/Bà Nguyễn Văn Đức")
    notification = Notification.from_template(f"call:{uuid.uuid4()}", rendered, None, address="duc@example.vn",
                                              dossier_id=dossier_id)
    center.save(notification)
    monkeypatch.undo()

    assert raced and key_rows(stack, center, subject) == 1
    store.cache.drop(subject)
    assert store.key_for_reading(subject) == raced[0]
    assert center.find(Notification, notification.id).address == "duc@example.vn"


def test_the_inbox_row_is_projected_from_the_notification_written_without_unsealing_it_again(center, monkeypatch):
    personal = center.mapper.personal
    unsealed: list[str] = []
    unseal = personal.unseal_state

    def counted(topic, *args):
        unsealed.append(topic)
        return unseal(topic, *args)

    monkeypatch.setattr(personal, "unseal_state", counted)
    notification = email("Hồ sơ đã có kết quả", "le.van.an@example.vn")
    center.save(notification)
    assert unsealed == []  # the row came from the event in hand
    monkeypatch.undo()

    row = center.recorder.by_state(None, "queued", 500)
    assert any(view.notification_id == notification.id and view.subject == "Hồ sơ đã có kết quả" for view in row)
