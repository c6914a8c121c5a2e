"""The relay's event ids: version-5 UUIDs of the aggregate and version, the same as
``uuid.uuid5`` makes (consumers deduplicate on them, across releases)."""

from __future__ import annotations

import uuid

from motcua.kernel.relay import EVENT_ID_NAMESPACE, event_id


def test_event_ids_are_the_uuid5_of_the_aggregate_and_version():
    for n in range(500):
        aggregate_id = uuid.uuid4()
        assert event_id(aggregate_id, n) == str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{aggregate_id}:{n}"))
    known = uuid.UUID("00000000-0000-0000-0000-000000000001")
    assert event_id(known, 1) == str(uuid.uuid5(EVENT_ID_NAMESPACE, f"{known}:1"))
    assert uuid.UUID(event_id(known, 1)).version == 5
