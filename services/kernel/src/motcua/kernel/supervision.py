"""Keeps a background worker (relay, consumer) running through failures, and tells how it is
doing."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class WorkerHealth:
    """Whether a background worker is doing its job, for the service's gRPC health.

    A worker reports ``working()`` whenever it completes a unit of work (a poll, a batch,
    a sweep) and ``failing(error)`` when one fails; the runtime reads ``failing_for()``
    and reports the service NOT_SERVING once a worker has failed for too long.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = threading.Lock()
        self._failing_since: float | None = None
        self.last_error = ""

    def working(self) -> None:
        with self._lock:
            self._failing_since = None
            self.last_error = ""

    def failing(self, error: BaseException | str) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            self.last_error = error if isinstance(error, str) else f"{type(error).__name__}: {error}"

    def failing_for(self) -> float:
        """Seconds since the worker last succeeded, when it has been failing since; else 0."""
        with self._lock:
            return 0.0 if self._failing_since is None else time.monotonic() - self._failing_since


def keep_running(
    stop: threading.Event,
    work: Callable[[threading.Event], None],
    what: str,
    health: WorkerHealth | None = None,
    **context: object,
) -> None:
    """Runs ``work`` until ``stop`` is set, restarting it with a growing pause after each
    failure."""
    backoff = 0.5
    while not stop.is_set():
        try:
            work(stop)
            backoff = 0.5
        except Exception as e:
            if health is not None:
                health.failing(e)
            log.exception(f"{what} failed; retrying", extra={**context, "retry_in_s": backoff})
            stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)
