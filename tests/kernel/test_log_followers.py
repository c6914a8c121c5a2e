"""The workers that follow the event log (relay, chain sealer, audit indexer): one read per wake-up,
not one per commit announced while they were busy."""

from __future__ import annotations

import threading

from motcua.kernel.eventstore import dedicated_connection
from motcua.kernel.leadership import SingleLeaderWorker
from motcua.kernel.supervision import WorkerHealth

from .conftest import Note


class CountingRecorder:
    """The app's real recorder, counting the reads of the log."""

    def __init__(self, recorder) -> None:
        self.recorder = recorder
        self.reads = 0

    def __getattr__(self, name):
        return getattr(self.recorder, name)

    def select_notifications(self, **kwargs):
        self.reads += 1
        return self.recorder.select_notifications(**kwargs)


def test_commits_announced_while_the_follower_was_busy_cost_one_read_together(notes):
    worker = SingleLeaderWorker(notes.settings, "follower", "follower", WorkerHealth("follower"))
    recorder = CountingRecorder(notes.recorder)
    stop = threading.Event()
    with dedicated_connection(notes.settings, "follower") as conn:
        log = worker.follow_log(conn, recorder, 0, 1000, 2.0, stop)
        assert next(log) == []  # listening from here on, the log empty
        for n in range(30):  # 30 transactions, 30 NOTIFYs queued while the follower is busy
            notes.save(Note(text=f"Hồ sơ {n}"))
        assert len(next(log)) == 30
        reads_after_the_batch = recorder.reads
        # Nothing was committed since: a read finds the log drained, then it waits for a NOTIFY (or
        # the idle wait) instead of reading again for each of the 30 already seen. (A NOTIFY the
        # server delivers only after that read may wake it once more.)
        threading.Timer(1.0, stop.set).start()
        wakes = list(log)
    assert wakes in ([[]], [[], []])
    assert recorder.reads - reads_after_the_batch == len(wakes)
