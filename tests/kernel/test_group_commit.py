"""Group commit: concurrent saves share transactions, and a conflict fails only its own write."""

from __future__ import annotations

import threading

import pytest
from eventsourcing.domain import event

from motcua.kernel.errors import VersionConflict
from tests.support.concurrency import run_concurrently

from .conftest import Note


class Counter(Note):
    @event("Incremented")
    def increment(self) -> None:
        self.text += "+"


def test_concurrent_saves_are_batched_and_all_recorded(notes):
    def save_many(i: int) -> list:
        saved = []
        for j in range(25):
            note = Note(text=f"Ghi chú {i}-{j}")
            notes.save(note)
            saved.append(note.id)
        return saved

    outcomes = run_concurrently(16, save_many)
    ids = [note_id for saved in outcomes for note_id in saved]
    assert len(ids) == 400
    assert all(notes.repository.get(i).text.startswith("Ghi chú") for i in ids)
    assert notes.group_commit.writes == 400
    assert notes.group_commit.batches < notes.group_commit.writes  # some transactions were shared
    notification_ids = [n.id for n in notes.recorder.select_notifications(start=None, limit=1000)]
    assert notification_ids == sorted(notification_ids) and len(set(notification_ids)) == 400


def test_a_conflict_in_a_shared_batch_fails_only_the_conflicting_writes(notes):
    contested = Counter(text="")
    notes.save(contested)

    def write(i: int):
        if i % 2:  # odd threads all edit the same aggregate from the same version
            counter = notes.repository.get(contested.id)
            barrier_ready.wait()
            counter.increment()
            notes.save(counter)
        else:
            barrier_ready.wait()
            notes.save(Note(text=f"độc lập {i}"))
        return "ok"

    barrier_ready = threading.Barrier(12)
    outcomes = run_concurrently(12, write)
    conflicts = [o for o in outcomes if isinstance(o, VersionConflict)]
    assert [o for o in outcomes if not isinstance(o, (str, VersionConflict))] == []
    assert len(conflicts) == 5  # six edited the counter from version 1: one won
    assert notes.repository.get(contested.id).version == 2
    assert outcomes.count("ok") == 7


def test_saves_after_close_are_refused_not_lost(stack, service_name):
    from .conftest import NotesApp, kernel_settings

    app = NotesApp(kernel_settings(stack, service_name + "c"))
    app.close()
    with pytest.raises(RuntimeError, match="closed"):
        app.save(Note(text="muộn"))
