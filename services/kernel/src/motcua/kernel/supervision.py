"""Keeps a background worker (relay, consumer) running through failures."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger(__name__)


def keep_running(stop: threading.Event, work: Callable[[threading.Event], None], what: str, **context: object) -> None:
    """Runs ``work`` until ``stop`` is set, restarting it with a growing pause after each failure."""
    backoff = 0.5
    while not stop.is_set():
        try:
            work(stop)
            backoff = 0.5
        except Exception:
            log.exception(f"{what} failed; retrying", extra={**context, "retry_in_s": backoff})
            stop.wait(backoff)
            backoff = min(backoff * 2, 5.0)
