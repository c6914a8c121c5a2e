"""Failpoints: named places where a test can make the process die abruptly.

Armed through ``MOTCUA_FAILPOINTS`` (comma-separated names) when the process
starts; unarmed, a failpoint is one set lookup. Used by the fault tests to prove
that a crash at the worst moment loses nothing and duplicates nothing.
"""

from __future__ import annotations

import logging
import os
import signal

_ARMED = frozenset(p.strip() for p in os.environ.get("MOTCUA_FAILPOINTS", "").split(",") if p.strip())

log = logging.getLogger(__name__)


def failpoint(name: str) -> None:
    if name in _ARMED:
        log.warning("failpoint reached, killing the process", extra={"failpoint": name})
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
