"""Rank and linear correlation, shared by the benchmark's judge-human agreement and CrossFilter's judge audit.

Both return NaN where the correlation is undefined (too few pairs, or a constant side); callers that write JSON turn
NaN into ``null``.

Example:
    >>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 3)
    0.8
    >>> average_ranks([10, 20, 20, 30]).tolist()
    [1.0, 2.5, 2.5, 4.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["average_ranks", "pearson", "spearman"]

NAN = float("nan")


def average_ranks(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank (what Spearman's rho correlates)."""
    _, inverse, counts = np.unique(np.asarray(values, dtype=float), return_inverse=True, return_counts=True)
    last = np.cumsum(counts)  # rank of the last copy of each distinct value
    return ((last - counts + 1 + last) / 2)[inverse]


def _pairs(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"x has {a.size} values but y has {b.size}")
    return a, b


def pearson(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Pearson's correlation; NaN for fewer than two pairs or a constant side.

    Raises:
        ValueError: When ``x`` and ``y`` differ in length.
    """
    a, b = _pairs(x, y)
    if a.size < 2 or a.std() == 0 or b.std() == 0:
        return NAN
    return float(np.corrcoef(a, b)[0, 1])


def spearman(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    """Spearman's rank correlation (Pearson's on average ranks); NaN for fewer than three pairs or a constant side.

    Raises:
        ValueError: When ``x`` and ``y`` differ in length.
    """
    a, b = _pairs(x, y)
    return NAN if a.size < 3 else pearson(average_ranks(a), average_ranks(b))
