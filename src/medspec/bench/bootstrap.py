"""Bootstrap confidence intervals: every figure medspec reports carries one.

A figure is the mean of per-item scores (an accuracy is the mean of 0/1 correctness, a BLEU the mean of sentence
BLEUs), so its uncertainty comes from which items the benchmark happens to hold. :func:`bootstrap_ci` resamples the
items with replacement and takes the percentile interval of the resampled means. When items come in groups (the
questions of one clinical case) the groups are resampled whole, so correlated items are not counted as independent
evidence.

Example:
    >>> estimate = Estimate.from_scores([1, 0, 1, 1, 0, 1, 1, 1], scale=100)
    >>> estimate.value
    75.0
    >>> estimate.low < 75.0 < estimate.high
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Estimate", "bootstrap_ci"]

_CHUNK = 2**22  # resampled indices materialised at once: 4M int64 = 32 MiB


def bootstrap_ci(
    scores: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``scores``.

    Args:
        scores: One score per item.
        groups: Optional group label per item; groups are resampled whole (a cluster bootstrap) and the statistic
            is the mean over all items of the drawn groups.
        resamples: Number of bootstrap resamples.
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed of the resampling, so a report is reproducible.

    Returns:
        ``(low, high)``; ``(nan, nan)`` for no scores, ``(x, x)`` for a single item or group.

    Raises:
        ValueError: When ``resamples`` or ``confidence`` is out of range, or ``groups`` has another length.

    Example:
        >>> bootstrap_ci([2.0, 2.0, 2.0])
        (2.0, 2.0)
    """
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return float("nan"), float("nan")
    if groups is not None:
        if len(groups) != values.size:
            raise ValueError(f"{values.size} scores but {len(groups)} group labels")
        _, index = np.unique(np.asarray(groups, dtype=object), return_inverse=True)
        sums = np.bincount(index, weights=values)  # (G,)
        counts = np.bincount(index).astype(float)  # (G,)
    else:
        sums, counts = values, np.ones_like(values)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    per_chunk = max(1, _CHUNK // sums.size)
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        drawn = rng.integers(0, sums.size, size=(stop - start, sums.size))  # (R, G)
        means[start:stop] = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Estimate:
    """A figure with its bootstrap confidence interval.

    Attributes:
        value: The mean over items (already scaled, e.g. x100 for percentages).
        low: Lower bound of the interval.
        high: Upper bound of the interval.
        n: Number of items the figure is computed over.
    """

    value: float
    low: float
    high: float
    n: int

    @classmethod
    def from_scores(
        cls,
        scores: Sequence[float] | np.ndarray,
        *,
        scale: float = 1.0,
        groups: Sequence[str] | None = None,
        resamples: int = 1000,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> Estimate:
        """Mean of ``scores`` times ``scale`` with its bootstrap interval (see :func:`bootstrap_ci`)."""
        values = np.asarray(scores, dtype=float) * scale
        if values.size == 0:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        low, high = bootstrap_ci(values, groups=groups, resamples=resamples, confidence=confidence, seed=seed)
        return cls(float(values.mean()), low, high, int(values.size))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; NaN becomes ``None``."""
        return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in vars(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Estimate:
        """Inverse of :meth:`to_dict`."""
        nan = float("nan")
        return cls(
            value=nan if data["value"] is None else float(data["value"]),
            low=nan if data["low"] is None else float(data["low"]),
            high=nan if data["high"] is None else float(data["high"]),
            n=int(data["n"]),
        )

    def format(self, digits: int = 2, *, interval: bool = True) -> str:
        """``"61.65 [58.10, 64.90]"``, or ``"n/a"`` when there were no items.

        Example:
            >>> Estimate(61.654, 58.1, 64.9, 70).format()
            '61.65 [58.10, 64.90]'
        """
        if np.isnan(self.value):
            return "n/a"
        text = f"{self.value:.{digits}f}"
        return f"{text} [{self.low:.{digits}f}, {self.high:.{digits}f}]" if interval else text
