"""Work on the items of a sequential source ahead of their use, in order, on other threads.

:func:`prefetched` reads the source (a file cut into blocks) on the consumer's thread and hands each item to a pool
of workers (pyarrow parsing and converting a block), keeping up to ``depth`` items in their hands; the consumer
gets the results in source order. The workers release the GIL for their heavy parts, so a consumer writing one
block's output runs beside the work on the next ones. An exception in a worker reaches the consumer at its item; a
consumer that stops early leaves the source unread.

Example:
    >>> list(prefetched(iter(range(5)), lambda n: n * n, depth=2))
    [0, 1, 4, 9, 16]
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["prefetched"]

T = TypeVar("T")
R = TypeVar("R")


def prefetched(source: Iterator[T], work: Callable[[T], R], *, depth: int = 3, workers: int = 2) -> Iterator[R]:
    """``work(item)`` for each item of ``source``, in order, computed ahead of the consumer.

    Args:
        source: The items; read on the consumer's thread, in order, as results are taken.
        work: What to do with each item; run on ``workers`` threads.
        depth: How many items may be in the workers' hands.
        workers: How many threads run ``work``.
    """
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in source:
                pending.append(pool.submit(work, item))
                if len(pending) >= depth:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
