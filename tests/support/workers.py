"""Background workers (relay, chain sealer) run in a thread of the test, stopped by an event."""

from __future__ import annotations

import threading

from motcua.kernel.leadership import SingleLeaderWorker


def start(worker: SingleLeaderWorker) -> tuple[threading.Thread, threading.Event]:
    """The worker running in a daemon thread, and the event that stops it."""
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    return thread, stop
