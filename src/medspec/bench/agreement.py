"""Agreement between raters: Krippendorff's alpha, and how well an LLM judge agrees with human raters.

:func:`krippendorff_alpha` follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": values are
paired within each unit, the pairs fill a coincidence matrix, and alpha is one minus the observed over the expected
disagreement under the level's distance (nominal, ordinal, interval or ratio). Missing ratings are allowed; units
rated once are left out, as they hold no pair. Alpha is 1 for perfect agreement, 0 for agreement at chance level,
and NaN when every value is the same (there is no variation to agree on). :func:`alpha_estimate` adds a bootstrap
interval over units, as Krippendorff recommends.

:func:`judge_human_agreement` compares the judge's score of each answer with the human raters' mean: Spearman and
Pearson correlations, alpha with the judge and the human mean as two raters, and the mean absolute difference, each
with a bootstrap interval over answers.

Example:
    >>> round(krippendorff_alpha([[1, 2, 3], [1, 2, 2]], level="interval"), 4)
    0.7059
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from medspec.bench.bootstrap import Estimate, percentile_interval
from medspec.correlation import pearson, spearman

__all__ = ["Agreement", "Level", "alpha_estimate", "judge_human_agreement", "krippendorff_alpha"]

Level = Literal["nominal", "ordinal", "interval", "ratio"]
NAN = float("nan")


def _distances(values: np.ndarray, totals: np.ndarray, level: Level) -> np.ndarray:
    """Squared distance between every two values (V, V) under the level of measurement."""
    c, k = values[:, None], values[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.nan_to_num(((c - k) / (c + k)) ** 2)
    if level == "ordinal":
        cumulative = np.concatenate([[0.0], np.cumsum(totals)])  # (V + 1,)
        index = np.arange(len(values))
        low, high = np.minimum.outer(index, index), np.maximum.outer(index, index)  # (V, V)
        # the sum of n_g for g from c to k, less half of n_c and of n_k
        between = cumulative[high + 1] - cumulative[low] - (totals[low] + totals[high]) / 2
        return between**2
    raise ValueError(f"unknown level {level!r}; expected nominal, ordinal, interval or ratio")


def _unit_coincidences(ratings: Sequence[Sequence[float | None]]) -> tuple[np.ndarray, np.ndarray]:
    """The values seen, and each pairable unit's contribution to the coincidence matrix (U, V, V)."""
    if len({len(row) for row in ratings}) > 1:
        raise ValueError("every rater's row must have one entry per unit (None where missing)")
    matrix = np.array([[np.nan if v is None else float(v) for v in row] for row in ratings], dtype=float)  # (R, U)
    if matrix.size == 0:
        return np.zeros(0), np.zeros((0, 0, 0))
    pairable = matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]  # units rated at least twice
    values = np.unique(pairable[~np.isnan(pairable)])
    units = np.zeros((pairable.shape[1], values.size, values.size))
    for index, unit in enumerate(pairable.T):
        present = np.searchsorted(values, unit[~np.isnan(unit)])
        counts = np.bincount(present, minlength=values.size).astype(float)
        units[index] = (np.outer(counts, counts) - np.diag(counts)) / (present.size - 1)
    return values, units


def _alpha(coincidences: np.ndarray, values: np.ndarray, level: Level) -> float:
    totals = coincidences.sum(axis=1)  # n_c
    n = totals.sum()
    if n < 2:
        return NAN
    delta = _distances(values, totals, level)
    expected = (np.outer(totals, totals) * delta).sum() / (n * (n - 1))
    if expected == 0:
        return NAN
    return float(1 - (coincidences * delta).sum() / n / expected)


def krippendorff_alpha(ratings: Sequence[Sequence[float | None]], *, level: Level = "interval") -> float:
    """Krippendorff's alpha of a reliability data matrix.

    Args:
        ratings: One row per rater, one column per unit (an answer); None or NaN where a rater gave no value.
        level: The values' level of measurement; ``interval`` suits Likert scores, ``ordinal`` makes no claim that
            the steps are equal.

    Returns:
        Alpha, or NaN when fewer than two pairable values exist or every value is the same.

    Raises:
        ValueError: For rows of unequal length or an unknown level.
    """
    values, units = _unit_coincidences(ratings)
    if values.size == 0:
        _distances(values, values, level)  # still reject an unknown level
        return NAN
    return _alpha(units.sum(axis=0), values, level)


def alpha_estimate(
    ratings: Sequence[Sequence[float | None]],
    *,
    level: Level = "interval",
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Krippendorff's alpha with a bootstrap interval over units; ``n`` counts the pairable units.

    Example:
        >>> estimate = alpha_estimate([[1, 2, 3, 4, 5, 2], [1, 2, 3, 4, 4, 2]], resamples=200)
        >>> round(estimate.value, 3), estimate.n, estimate.low <= estimate.value <= estimate.high
        (0.95, 6, True)
    """
    values, units = _unit_coincidences(ratings)
    if values.size == 0:
        return Estimate(NAN, NAN, NAN, 0)
    value = _alpha(units.sum(axis=0), values, level)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(units), size=(resamples, len(units)))  # (B, U)
    samples = [_alpha(units[draw].sum(axis=0), values, level) for draw in draws]
    return Estimate(value, *percentile_interval(samples, confidence), len(units))


def _statistic_estimate(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    x: np.ndarray,
    y: np.ndarray,
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> Estimate:
    """A paired statistic with a bootstrap interval over the pairs."""
    if x.size == 0:
        return Estimate(NAN, NAN, NAN, 0)
    draws = np.random.default_rng(seed).integers(0, x.size, size=(resamples, x.size))
    samples = [statistic(x[draw], y[draw]) for draw in draws]
    return Estimate(statistic(x, y), *percentile_interval(samples, confidence), int(x.size))


@dataclass(frozen=True)
class Agreement:
    """How an LLM judge's scores agree with the human raters' mean on one criterion, over the answers both scored.

    Attributes:
        spearman: Spearman rank correlation.
        pearson: Pearson correlation.
        alpha: Krippendorff's alpha (interval) with the judge and the human mean as two raters.
        mean_abs_diff: Mean absolute difference between the judge's score and the human mean.
    """

    spearman: Estimate
    pearson: Estimate
    alpha: Estimate
    mean_abs_diff: Estimate

    @property
    def n(self) -> int:
        """Answers scored by both."""
        return self.mean_abs_diff.n

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"n": self.n, **{k: v.to_dict() for k, v in vars(self).items()}}


def judge_human_agreement(
    judge: Mapping[Any, Mapping[str, float]],
    human: Mapping[Any, Mapping[str, float]],
    criteria: Sequence[str],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Agreement]:
    """Agreement per criterion between the judge's scores and the human mean scores of the same answers.

    Args:
        judge: Answer key (any hashable, e.g. ``(task, item, model)``) to the judge's scores by criterion.
        human: The same keys to the human raters' mean scores by criterion.
        criteria: The criteria to compare.
        resamples: Bootstrap resamples over answers.
        confidence: Coverage of the intervals.
        seed: Bootstrap seed.

    Example:
        >>> judge = {"a": {"usefulness": 5}, "b": {"usefulness": 2}, "c": {"usefulness": 4}}
        >>> human = {"a": {"usefulness": 4.5}, "b": {"usefulness": 1.5}, "c": {"usefulness": 4.0}}
        >>> judge_human_agreement(judge, human, ["usefulness"])["usefulness"].spearman.value
        1.0
    """
    options = {"resamples": resamples, "confidence": confidence, "seed": seed}
    found = {}
    for criterion in criteria:
        keys = [k for k in judge if k in human and criterion in judge[k] and criterion in human[k]]
        x = np.array([judge[k][criterion] for k in keys], dtype=float)
        y = np.array([human[k][criterion] for k in keys], dtype=float)
        found[criterion] = Agreement(
            spearman=_statistic_estimate(spearman, x, y, **options),
            pearson=_statistic_estimate(pearson, x, y, **options),
            alpha=alpha_estimate([x.tolist(), y.tolist()], **options),
            mean_abs_diff=Estimate.from_scores(np.abs(x - y), **options),
        )
    return found
