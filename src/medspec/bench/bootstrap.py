"""Bootstrap confidence intervals: every figure medspec reports carries one.

A figure is the mean of per-item scores (an accuracy is the mean of 0/1 correctness, a BLEU the mean of sentence
BLEUs), so its uncertainty comes from which items the benchmark happens to hold. :func:`bootstrap_ci` resamples the
items with replacement and takes the percentile interval of the resampled means. When items come in groups (the
questions of one clinical case) the groups are resampled whole, so correlated items are not counted as independent
evidence. With ``weights`` the figure is a weighted mean (bits per character: each text's bits per character
weighted by its length is the corpus's total bits over its total characters), and the bootstrap resamples the ratio.
:func:`paired_difference` is the figure a user needs to claim "model B is better than model A": the difference of
the two models on the same items, resampled together, so the item-to-item variation both share cancels.

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

__all__ = ["Estimate", "bootstrap_ci", "paired_difference", "percentile_interval"]

_CHUNK = 2**22  # resampled indices materialised at once: 4M int64 = 32 MiB


def bootstrap_ci(
    scores: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    weights: Sequence[float] | np.ndarray | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``scores``.

    Args:
        scores: One score per item.
        groups: Optional group label per item; groups are resampled whole (a cluster bootstrap) and the statistic
            is the mean over all items of the drawn groups.
        weights: Optional weight per item (characters per text); the statistic is then the weighted mean.
        resamples: Number of bootstrap resamples.
        confidence: Coverage of the interval, in (0, 1).
        seed: Seed of the resampling, so a report is reproducible.

    Returns:
        ``(low, high)``; ``(nan, nan)`` for no scores, ``(x, x)`` for a single item or group.

    Raises:
        ValueError: When ``resamples`` or ``confidence`` is out of range, or ``groups`` or ``weights`` has another
            length.

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
    mass = np.ones_like(values) if weights is None else np.asarray(weights, dtype=float)
    if mass.shape != values.shape:
        raise ValueError(f"{values.size} scores but {mass.size} weights")
    if groups is not None:
        if len(groups) != values.size:
            raise ValueError(f"{values.size} scores but {len(groups)} group labels")
        _, index = np.unique(np.asarray(groups, dtype=object), return_inverse=True)
        sums = np.bincount(index, weights=values * mass)  # (G,)
        counts = np.bincount(index, weights=mass)  # (G,)
    else:
        sums, counts = values * mass, mass
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    per_chunk = max(1, _CHUNK // sums.size)
    for start in range(0, resamples, per_chunk):
        stop = min(resamples, start + per_chunk)
        drawn = rng.integers(0, sums.size, size=(stop - start, sums.size))  # (R, G)
        means[start:stop] = sums[drawn].sum(axis=1) / counts[drawn].sum(axis=1)
    return percentile_interval(means, confidence)


def percentile_interval(samples: Sequence[float] | np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """The central ``confidence`` share of bootstrap samples (NaN samples ignored); NaNs when none is a number.

    Example:
        >>> percentile_interval([1.0, 2.0, float("nan"), 3.0], 0.5)
        (1.5, 2.5)
    """
    finite = np.asarray(samples, dtype=float)
    finite = finite[~np.isnan(finite)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
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
        weights: Sequence[float] | np.ndarray | None = None,
        resamples: int = 1000,
        confidence: float = 0.95,
        seed: int = 0,
    ) -> Estimate:
        """(Weighted) mean of ``scores`` times ``scale`` with its bootstrap interval (see :func:`bootstrap_ci`)."""
        values = np.asarray(scores, dtype=float) * scale
        if values.size == 0:
            return cls(float("nan"), float("nan"), float("nan"), 0)
        low, high = bootstrap_ci(
            values, groups=groups, weights=weights, resamples=resamples, confidence=confidence, seed=seed
        )
        mean = np.average(values, weights=None if weights is None else np.asarray(weights, dtype=float))
        return cls(float(mean), low, high, int(values.size))

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


def paired_difference(
    baseline: Sequence[float] | np.ndarray,
    candidate: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[str] | None = None,
    weights: Sequence[float] | np.ndarray | None = None,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """The difference ``candidate - baseline`` over the same items, with its paired bootstrap interval.

    Both models' scores of one item are resampled together (one draw of items, the per-item differences averaged),
    which is the paired bootstrap of Koehn (2004): an interval that excludes 0 supports "the candidate differs".

    Args:
        baseline: One score per item for the first model.
        candidate: The second model's scores of the same items, in the same order.
        groups: Items resampled together (the questions of one case).
        weights: Weight per item (characters, for bits per character).
        resamples: Bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Resampling seed.

    Raises:
        ValueError: When the two score lists differ in length.

    Example:
        >>> delta = paired_difference([0] * 20, [1] * 12 + [0] * 8)
        >>> delta.value, delta.low > 0
        (0.6, True)
    """
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired scores need the same items: {a.size} and {b.size} scores")
    return Estimate.from_scores(
        b - a, groups=groups, weights=weights, resamples=resamples, confidence=confidence, seed=seed
    )
