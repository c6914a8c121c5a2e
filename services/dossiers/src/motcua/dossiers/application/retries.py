"""Commands applied again when their save lost a race: one loop for every use case."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from typing import TypeVar

from motcua.kernel.errors import VersionConflict

T = TypeVar("T")


def retried_on_version_conflict(attempt_once: Callable[[], T], attempts: int, expected_version: int = 0,
                                spread: bool = False, on_conflict: Callable[[], None] | None = None) -> T:
    """``attempt_once()`` (which reads afresh, decides and saves) again while its save loses a
    race to a concurrent change, at most ``attempts`` times.

    A caller who named the version they decided on (``expected_version``) is told of the
    change instead (ABORTED): their decision was made on what is no longer there. ``spread``
    waits a little, at random, before each retry, so that many losers of one race (taking
    the next dossier number) do not collide again all at once.
    """
    for attempt in itertools.count(1):
        try:
            return attempt_once()
        except VersionConflict:
            if on_conflict is not None:
                on_conflict()
            if expected_version or attempt >= attempts:
                raise
        if spread:
            time.sleep(random.uniform(0, min(0.02, 0.001 * attempt)))
    raise AssertionError("unreachable")
