"""Chinese word segmentation for the generation metrics, with jieba as the field does.

Every text-overlap metric (BLEU, GLEU, ROUGE, Distinct) segments both texts with jieba's default precise mode
(``jieba.cut(text)``, HMM on, the call the published evaluation scripts make) and drops whitespace tokens.
Punctuation stays a token, as it does in those scripts. Segmentations are cached, so the four metrics computed over
the same answers segment each text once; a large batch can be segmented in several processes.

jieba's global dictionary is used, so words a user adds with ``jieba.add_word`` count; call :func:`clear_cache`
after changing it.

Example:
    >>> segment("丙泊酚用于麻醉诱导")
    ('丙泊酚', '用于', '麻醉', '诱导')
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import jieba

__all__ = ["clear_cache", "segment", "segment_all", "usable_cpus"]

# jieba logs its dictionary loading at DEBUG on a handler of its own; keep the terminal for medspec's messages.
jieba.setLogLevel(logging.WARNING)

_CACHE: dict[str, tuple[str, ...]] = {}
_CACHE_LIMIT = 2**17  # ~130k texts: a whole benchmark's answers and references, a few hundred MiB at most
_PARALLEL_MIN_TEXTS = 2000  # below this, starting worker processes costs more than it saves


def _cut(text: str) -> tuple[str, ...]:
    return tuple(token for token in jieba.cut(text) if not token.isspace())


def _store(text: str, tokens: tuple[str, ...]) -> None:
    if len(_CACHE) >= _CACHE_LIMIT:
        del _CACHE[next(iter(_CACHE))]  # the oldest entry
    _CACHE[text] = tokens


def segment(text: str) -> tuple[str, ...]:
    """jieba tokens of ``text`` without whitespace tokens (cached)."""
    tokens = _CACHE.get(text)
    if tokens is None:
        tokens = _cut(text)
        _store(text, tokens)
    return tokens


def clear_cache() -> None:
    """Forget every cached segmentation (after changing jieba's dictionary)."""
    _CACHE.clear()


def _cut_chunk(texts: list[str]) -> list[tuple[str, ...]]:
    return [_cut(text) for text in texts]


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the platform has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def segment_all(texts: Sequence[str], *, num_proc: int | None = 1) -> list[tuple[str, ...]]:
    """Segment many texts, in ``num_proc`` worker processes when enough of them are not cached yet.

    Args:
        texts: The texts.
        num_proc: Worker processes; 1 segments in this process, ``None`` uses every CPU (:func:`usable_cpus`).
            Workers are forked where the platform allows (they inherit jieba's loaded dictionary) and only run
            jieba.

    Returns:
        One token tuple per text, in order; the results also fill the cache of :func:`segment`.

    Raises:
        ValueError: When ``num_proc`` is below 1.

    Example:
        >>> segment_all(["全身麻醉", "局部麻醉"])
        [('全身', '麻醉'), ('局部', '麻醉')]
    """
    num_proc = usable_cpus() if num_proc is None else num_proc
    if num_proc < 1:
        raise ValueError(f"num_proc must be at least 1, got {num_proc}")
    todo = [text for text in dict.fromkeys(texts) if text not in _CACHE]
    if num_proc > 1 and len(todo) >= _PARALLEL_MIN_TEXTS:
        jieba.initialize()  # load the dictionary once, before forking, so the workers inherit it
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
        chunks = [todo[i::num_proc] for i in range(num_proc)]
        with ProcessPoolExecutor(max_workers=num_proc, mp_context=multiprocessing.get_context(method)) as pool:
            for chunk, tokens in zip(chunks, pool.map(_cut_chunk, chunks), strict=True):
                for text, text_tokens in zip(chunk, tokens, strict=True):
                    _store(text, text_tokens)
    return [segment(text) for text in texts]
