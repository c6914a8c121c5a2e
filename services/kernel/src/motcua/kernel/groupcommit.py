"""Group commit: concurrent requests' events share one PostgreSQL transaction.

Every save takes the event table's lock and pays a commit (eventsourcing's
PostgreSQL recorder serialises inserts so that notification ids commit in
order, which the outbox relay relies on). Under load, request threads queue
their events and one committer thread writes whatever has queued up in a
single transaction. At low load a batch holds one write, so nothing waits.

A version conflict in a shared batch rolls the whole batch back; the
committer then writes each of its writes alone, so only the conflicting
command fails, as it would have without batching.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent

log = logging.getLogger(__name__)


class _Write:
    __slots__ = ("events", "ids", "error", "done")

    def __init__(self, events: Sequence[StoredEvent]) -> None:
        self.events = events
        self.ids: Sequence[int] | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()


class GroupCommitRecorder:
    """Wraps an application recorder; inserts without tracking go through the committer."""

    def __init__(self, recorder: ApplicationRecorder, max_batch: int = 256) -> None:
        self.recorder = recorder
        self.max_batch = max_batch
        self.batches = 0
        self.writes = 0
        self._closed = False
        self._queue: queue.SimpleQueue[_Write | None] = queue.SimpleQueue()
        self._committer = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._committer.start()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if any(value is not None for value in kwargs.values()):
            # e.g. the tracking record of a consumed event: its own transaction
            return self.recorder.insert_events(stored_events, **kwargs)
        if self._closed:
            raise RuntimeError("the event store is closed")
        write = _Write(stored_events)
        self._queue.put(write)
        write.done.wait()
        if write.error is not None:
            raise write.error
        return write.ids

    def close(self) -> None:
        """Commits what was queued before, then stops; later writes are refused."""
        self._closed = True
        self._queue.put(None)
        self._committer.join(timeout=10)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.recorder, name)  # reads are not batched

    def _run(self) -> None:
        while True:
            write = self._queue.get()
            if write is None:
                return
            batch = [write]
            while len(batch) < self.max_batch:
                try:
                    write = self._queue.get_nowait()
                except queue.Empty:
                    break
                if write is None:
                    self._commit(batch)
                    return
                batch.append(write)
            self._commit(batch)

    def _commit(self, batch: list[_Write]) -> None:
        self.batches += 1
        self.writes += len(batch)
        if len(batch) == 1:
            self._commit_alone(batch[0])
            return
        try:
            ids = self.recorder.insert_events([e for w in batch for e in w.events])
        except IntegrityError:
            for write in batch:
                self._commit_alone(write)
            return
        except BaseException as e:
            for write in batch:
                write.error = e
                write.done.set()
            return
        offset = 0
        for write in batch:
            write.ids = ids[offset : offset + len(write.events)] if ids else ids
            offset += len(write.events)
            write.done.set()

    def _commit_alone(self, write: _Write) -> None:
        try:
            write.ids = self.recorder.insert_events(write.events)
        except BaseException as e:
            write.error = e
        finally:
            write.done.set()
