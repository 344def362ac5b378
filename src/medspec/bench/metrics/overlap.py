"""N-gram overlap of an answer with its reference, counted once and shared by BLEU, GLEU and ROUGE-N.

For each order n = 1..4, :func:`overlap_stats` counts the n-grams of both token sequences, the clipped matches (each
answer n-gram counts at most as often as the reference has it, as BLEU, GLEU and ROUGE-N with counts need) and the
distinct n-grams the two share (as ``rouge-chinese``'s default ROUGE-N needs). The result is cached per pair, so the
three metrics computed over the same answers count each pair once.

Example:
    >>> stats = overlap_stats(("麻醉", "诱导", "麻醉"), ("麻醉", "诱导"))
    >>> stats.matches, stats.hyp_total, stats.shared_distinct
    ((2, 1, 0, 0), (3, 2, 1, 0), (2, 1, 0, 0))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["MAX_ORDER", "OverlapStats", "ngram_counts", "overlap_stats"]

MAX_ORDER = 4
_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], OverlapStats] = {}
_CACHE_LIMIT = 2**17


def ngram_counts(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    """Count the n-grams of a token sequence; empty when it is shorter than ``n``.

    Example:
        >>> sorted(ngram_counts(("麻醉", "诱导", "麻醉", "诱导"), 2).items())
        [(('诱导', '麻醉'), 1), (('麻醉', '诱导'), 2)]
    """
    if len(tokens) < n:
        return Counter()
    # n shifted views of the sequence; zip stops at the shortest, which is what makes them n-grams
    return Counter(zip(*(tokens[i:] for i in range(n)), strict=False))


@dataclass(frozen=True)
class OverlapStats:
    """Counts per n-gram order 1..4 (index 0 is unigrams).

    Attributes:
        hyp_len: Tokens in the answer.
        ref_len: Tokens in the reference.
        hyp_total: N-grams in the answer.
        ref_total: N-grams in the reference.
        matches: Clipped matches: sum over answer n-grams of min(count in answer, count in reference).
        hyp_distinct: Distinct n-grams in the answer.
        ref_distinct: Distinct n-grams in the reference.
        shared_distinct: Distinct n-grams in both.
    """

    hyp_len: int
    ref_len: int
    hyp_total: tuple[int, ...]
    ref_total: tuple[int, ...]
    matches: tuple[int, ...]
    hyp_distinct: tuple[int, ...]
    ref_distinct: tuple[int, ...]
    shared_distinct: tuple[int, ...]


def _count(hypothesis: tuple[str, ...], reference: tuple[str, ...]) -> OverlapStats:
    columns: list[list[int]] = [[] for _ in range(6)]
    for n in range(1, MAX_ORDER + 1):
        hyp, ref = ngram_counts(hypothesis, n), ngram_counts(reference, n)
        shared = hyp.keys() & ref.keys()
        matches = sum(min(hyp[gram], ref[gram]) for gram in shared)
        totals = (max(0, len(hypothesis) - n + 1), max(0, len(reference) - n + 1))
        values = (*totals, matches, len(hyp), len(ref), len(shared))
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    return OverlapStats(len(hypothesis), len(reference), *(tuple(c) for c in columns))


def overlap_stats(hypothesis: Sequence[str], reference: Sequence[str]) -> OverlapStats:
    """The overlap counts of a tokenised answer and reference (cached)."""
    key = (tuple(hypothesis), tuple(reference))
    stats = _CACHE.get(key)
    if stats is None:
        stats = _count(*key)
        if len(_CACHE) >= _CACHE_LIMIT:
            del _CACHE[next(iter(_CACHE))]  # the oldest entry
        _CACHE[key] = stats
    return stats
