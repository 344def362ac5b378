"""Running judges: each (item, judge) pair judged once, every judge in its own thread, progress logged per chunk.

A judgement already in the log is not asked again, except one whose request failed in transport (the server was
down), which a resumed run retries. Judgements found elsewhere (``known``: the cross scores, when the audit needs
the same pairs) are copied into the log instead of being requested.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from medspec.crossfilter.scoring import Judgement, Scorer
from medspec.data.schema import Instruction
from medspec.durable import AppendLog
from medspec.llm.base import ChatBackend

__all__ = ["judge_pairs"]


def judge_pairs(
    pairs: Sequence[tuple[Instruction, str]],
    *,
    backend: Callable[[str], ChatBackend],
    scorer: Scorer,
    log: AppendLog,
    known: Mapping[tuple[str, str], Judgement],
    chunk_size: int,
    desc: str,
) -> list[Judgement]:
    """Judge every (record, judge name) pair not yet in ``log`` or ``known``.

    Args:
        pairs: What to judge.
        backend: The backend of a judge, by name (called once per judge with work, before the threads start).
        scorer: How to score.
        log: The judgement log: read to skip what is done, appended after each chunk.
        known: Judgements to reuse.
        chunk_size: Items a judge scores between two writes of the log.
        desc: Label of the progress bar.

    Returns:
        The judgement of each pair, in order.
    """
    done: dict[tuple[str, str], Judgement] = {}
    for judgement in map(Judgement.from_dict, log.entries()):
        if not judgement.failed_in_transport:  # a transport failure is retried on resume
            done[(judgement.item, judgement.judge)] = judgement
    reused = [known[(r.id, j)] for r, j in pairs if (r.id, j) in known and (r.id, j) not in done]
    log.extend(j.to_dict() for j in reused)  # the log holds every judgement of these pairs, reused or new
    done.update({(j.item, j.judge): j for j in reused})
    todo: dict[str, list[Instruction]] = defaultdict(list)
    for record, judge in pairs:
        if (record.id, judge) not in done:
            todo[judge].append(record)
    backends = {judge: backend(judge) for judge in todo}  # built here, not concurrently in the threads
    log_lock, stop = threading.Lock(), threading.Event()
    remaining = sum(map(len, todo.values()))
    bar = tqdm(total=len(pairs), initial=len(pairs) - remaining, desc=desc, unit="score", disable=None)

    def work(judge: str) -> None:
        for start in range(0, len(todo[judge]), chunk_size):
            if stop.is_set():
                return
            judgements = scorer.score(backends[judge], judge, todo[judge][start : start + chunk_size])
            with log_lock:
                log.extend(j.to_dict() for j in judgements)
                done.update({(j.item, j.judge): j for j in judgements})
                bar.update(len(judgements))

    try:
        _run_threads(work, list(todo), stop)
    finally:
        bar.close()
    return [done[(record.id, judge)] for record, judge in pairs]


def _run_threads(work: Callable[[str], None], names: list[str], stop: threading.Event) -> None:
    """Run ``work(name)`` for every name in parallel; on the first failure, ask the others to stop and re-raise."""
    if not names:
        return
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = [pool.submit(work, name) for name in names]
        failure: BaseException | None = None
        for future in futures:
            try:
                future.result()
            except BaseException as exc:  # re-raised below, once every thread has stopped
                stop.set()
                failure = failure or exc
    if failure is not None:
        raise failure
