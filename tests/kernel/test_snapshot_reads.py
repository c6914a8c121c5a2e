"""Loads against the session's real PostgreSQL: an aggregate of a type the application never
snapshots is read from its events alone, without a query of the snapshot store; one of a
snapshotted type still starts from its latest snapshot."""

from __future__ import annotations

from eventsourcing.domain import Aggregate, event

from motcua.kernel.eventstore import ServiceApplication

from .conftest import Note, kernel_settings


class Counter(Aggregate):
    class Started(Aggregate.Created):
        pass

    @event(Started)
    def __init__(self) -> None:
        self.count = 0

    @event("Counted")
    def count_one(self) -> None:
        self.count += 1


class SnapshottingApp(ServiceApplication):
    name = "snapshotting"
    snapshotting_intervals = {Counter: 3}


def test_unsnapshotted_types_skip_the_snapshot_store_and_snapshotted_ones_use_it(stack, service_name):
    app = SnapshottingApp(kernel_settings(stack, service_name))
    try:
        note = Note(text="Hồ sơ đã được tiếp nhận")
        counter = Counter()
        for _ in range(4):
            counter.count_one()
        app.save(note, counter)
        asked: list[object] = []
        snapshots_get = app.snapshots.get

        def counting_get(*args, **kwargs):
            asked.append(kwargs.get("originator_id", args[0] if args else None))
            return snapshots_get(*args, **kwargs)

        app.snapshots.get = counting_get
        assert app.load(Note, note.id).text == "Hồ sơ đã được tiếp nhận"
        assert app.find(Note, note.id) is not None
        assert asked == []
        assert app.load(Counter, counter.id).count == 4
        assert asked == [counter.id]
        assert app.find(Aggregate, note.id) is not None  # a base type may be a snapshotted one
        assert asked == [counter.id, note.id]
    finally:
        app.close()
