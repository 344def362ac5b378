"""Self-Instruct's novelty filter: a new instruction is kept only if its ROUGE-L with every instruction already in
the pool stays below a threshold (0.7 in the Self-Instruct paper).

ROUGE-L is computed on characters of the normalised text (:func:`medspec.data.dedup.normalize_text`), which suits
Chinese, where words are not delimited: ``F = 2 * LCS / (len(a) + len(b))``. Comparing a new instruction with a pool
of hundreds of thousands one by one would be slow, so :class:`NoveltyIndex` first bounds the LCS of every pool item
at once from shared character counts (an LCS can use no more of a character than both texts hold) and computes
the exact LCS only for the few items whose bound can reach the threshold. The result is the same as checking all.

Example:
    >>> index = NoveltyIndex(["成人全麻诱导时丙泊酚的常用剂量是多少？"])
    >>> index.is_novel("成人全麻诱导时丙泊酚的常用剂量是多少")
    False
    >>> index.is_novel("腰麻后头痛应如何处理？")
    True
    >>> round(rouge_l("丙泊酚的诱导剂量", "丙泊酚的维持剂量"), 3)
    0.75
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from medspec.data.dedup import normalize_text
from medspec.lcs import lcs_length

__all__ = ["NoveltyIndex", "rouge_l"]


def rouge_l(a: str, b: str) -> float:
    """ROUGE-L F-measure of two texts, on characters after normalisation."""
    a, b = normalize_text(a), normalize_text(b)
    return 2 * lcs_length(a, b) / (len(a) + len(b)) if a and b else 0.0


class NoveltyIndex:
    """The instructions in a pool, and the ROUGE-L test a new one must pass.

    Args:
        texts: Instructions already in the pool (the seed tasks).
        threshold: A text is novel when its ROUGE-L with every pool item is below this.
    """

    def __init__(self, texts: Iterable[str] = (), *, threshold: float = 0.7) -> None:
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._texts: list[str] = []
        self._lengths: list[int] = []
        self._postings: dict[str, tuple[list[int], list[int]]] = {}  # char -> (item indices, counts)
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for text in texts:
            self.add(text)

    def __len__(self) -> int:
        return len(self._texts)

    def add(self, text: str) -> None:
        """Put an instruction in the pool."""
        normalized = normalize_text(text)
        index = len(self._texts)
        self._texts.append(normalized)
        self._lengths.append(len(normalized))
        for ch, count in Counter(normalized).items():
            items, counts = self._postings.setdefault(ch, ([], []))
            items.append(index)
            counts.append(count)

    def _posting(self, ch: str) -> tuple[np.ndarray, np.ndarray]:
        items, counts = self._postings[ch]
        cached = self._arrays.get(ch)
        if cached is None or len(cached[0]) != len(items):
            cached = (np.asarray(items, dtype=np.int64), np.asarray(counts, dtype=np.int64))
            self._arrays[ch] = cached
        return cached

    def most_similar(self, text: str) -> tuple[int, float]:
        """The pool item most similar to ``text`` among those that can reach the threshold, and its ROUGE-L.

        Returns ``(-1, 0.0)`` when no item can reach the threshold.
        """
        query = normalize_text(text)
        if not query or not self._texts:
            return -1, 0.0
        shared = np.zeros(len(self._texts), dtype=np.int64)  # (N,) upper bound on each item's LCS with the query
        for ch, count in Counter(query).items():
            if ch in self._postings:
                items, counts = self._posting(ch)
                shared[items] += np.minimum(counts, count)
        # ROUGE-L >= t needs LCS >= t * (len(query) + len(item)) / 2.
        needed = self.threshold * (len(query) + np.asarray(self._lengths)) / 2
        best, best_score = -1, 0.0
        for index in np.flatnonzero(shared >= needed - 1e-9):
            other = self._texts[index]
            score = 2 * lcs_length(query, other) / (len(query) + len(other))
            if score > best_score:
                best, best_score = int(index), score
        return best, best_score

    def is_novel(self, text: str) -> bool:
        """True when ``text`` has content and its ROUGE-L with every pool item is below the threshold."""
        if not normalize_text(text):
            return False
        return self.most_similar(text)[1] < self.threshold
