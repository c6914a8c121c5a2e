"""Starting calls at the same moment, to provoke races on purpose."""

from __future__ import annotations

import threading
from collections.abc import Callable


def run_concurrently(count: int, call: Callable[[int], object]) -> list[object]:
    """Runs ``call(i)`` for i in 0..count-1, each on its own thread, all released together.

    Returns, in order, what each call returned or the exception it raised.
    """
    barrier = threading.Barrier(count)
    outcomes: list[object] = [None] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = call(i)
        except Exception as e:
            outcomes[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
