"""The templates the consumer renders occasions from, against the session's real PostgreSQL with
the application in this process: read from the store once for many events, a revision seen at
once, and a default template written within a consumed batch never taken for a stored one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from motcua.notifications.application import DossierReceipt, NotificationsApplication
from motcua.notifications.domain import DOSSIER_RECEIVED, IN_APP, Notification, Template, template_id
from tests.support.reads import counted_reads


def application(stack) -> NotificationsApplication:
    database = f"motcua_notifications_o{uuid.uuid4().hex[:8]}"
    stack.postgres.create_database(database)
    return NotificationsApplication(stack.settings("notifications", POSTGRES_DBNAME=database))


@pytest.fixture(scope="module")
def center(stack):
    center = application(stack)
    center.prepare()  # the default templates written
    yield center
    center.close()


def receipt(code: str) -> DossierReceipt:
    return DossierReceipt(event_id=str(uuid.uuid4()), dossier_id=uuid.uuid4(), code=code, agency_id="000.00.12.H56",
                          applicant_account_id=uuid.uuid4(), receive_time=datetime(2026, 3, 2, 2, 0, tzinfo=UTC),
                          appointed_return_time=datetime(2026, 3, 9, 9, 0, tzinfo=UTC))


def notices(aggregates: list) -> list[Notification]:
    return [a for a in aggregates if isinstance(a, Notification)]


def test_many_events_read_their_template_from_the_store_once_and_a_revision_at_once(center, monkeypatch):
    reads = counted_reads(center, Template, monkeypatch)
    for n in range(5):
        (notice,) = notices(center.notify_dossier_received(receipt(f"000.00.12.H56-260302-000{n}")))
        assert f"000.00.12.H56-260302-000{n}" in notice.body
    assert len(reads) <= 1

    in_app = template_id(DOSSIER_RECEIVED.key, IN_APP)
    current = center.get_template(in_app)
    center.revise_template(in_app, current.subject, "Đã tiếp nhận hồ sơ {{dossier_code}}; hẹn trả ngày "
                                                    "{{appointed_date}}.")
    (notice,) = notices(center.notify_dossier_received(receipt("000.00.12.H56-260302-0099")))
    assert notice.body == "Đã tiếp nhận hồ sơ 000.00.12.H56-260302-0099; hẹn trả ngày 09/03/2026."
    assert notice.template_version == current.version + 1


def test_a_default_template_written_in_a_batch_that_failed_is_written_by_the_next_one(stack):
    center = application(stack)  # no default templates stored yet
    try:
        with center.batch_of_changes() as changed:
            first = center.notify_dossier_received(receipt("000.00.12.H56-260302-0001"))
            for aggregate in first:
                changed[aggregate.id] = aggregate
            second = center.notify_dossier_received(receipt("000.00.12.H56-260302-0002"))
        written = [a for a in first if isinstance(a, Template)]
        assert len(written) == 1 and not [a for a in second if isinstance(a, Template)]  # the batch's own
        # The batch was never saved: the next event writes the template itself, and it is saved.
        after = center.notify_dossier_received(receipt("000.00.12.H56-260302-0003"))
        assert [a.id for a in after if isinstance(a, Template)] == [written[0].id]
        center.save(*after)
        assert center.find(Template, written[0].id) is not None
    finally:
        center.close()
