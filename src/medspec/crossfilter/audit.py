"""The judge audit: do the judges agree, and does a judge favour its own model's items?

On a sample of items from every generator, every judge scores every item, its own model's included. From those
scores (each judge's aggregate per item):

* **mean scores** per judge and generator;
* **self-preference**, for each judge that is also a generator. The raw figure is how much more the judge scores
  its own model's items than the other judges score them; but a judge that is lenient with everyone shows the same
  gap. So scores are also fitted with a two-way fixed-effects model, ``score = quality(item) + leniency(judge) +
  bias(judge) * [item is the judge's own]``, by least squares; ``bias`` is the self-preference net of leniency and
  item quality. With only two judges, who each generate, only the sum of their two biases can be told apart from
  leniency: that sum is reported as ``joint_self_preference`` and the per-judge values are left empty;
* **agreement** for each pair of judges on the items both scored: Spearman's rank correlation of the aggregates, and
  Cohen's kappa of their keep/drop decisions at the run's threshold.

Example:
    >>> round(spearman([1, 2, 3, 4], [10, 20, 40, 30]), 3)
    0.8
    >>> cohen_kappa([True, True, False, False], [True, False, False, False])
    0.5
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

import numpy as np

from medspec.correlation import spearman

__all__ = ["audit_summary", "cohen_kappa"]


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two binary decisions; None when chance agreement is already perfect."""
    if len(a) != len(b):
        raise ValueError(f"a has {len(a)} decisions but b has {len(b)}")
    if not a:
        return None
    x, y = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    observed = float(np.mean(x == y))
    chance = float(x.mean() * y.mean() + (1 - x.mean()) * (1 - y.mean()))
    return None if chance >= 1 else (observed - chance) / (1 - chance)


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if len(values) else None


def _raw_gaps(
    judge: str, generator: str, scores: Mapping[str, Mapping[str, float]], item_generator: Mapping[str, str]
) -> dict[str, Any]:
    """How much more ``judge`` scores items than the other judges do, on its own model's items and on the rest."""
    others = [j for j in scores if j != judge]
    own_gap: list[float] = []
    other_gap: list[float] = []
    for item, value in scores[judge].items():
        rivals = [scores[o][item] for o in others if item in scores[o]]
        if rivals:
            (own_gap if item_generator[item] == generator else other_gap).append(value - float(np.mean(rivals)))
    return {
        "own_items": len(own_gap),
        "own_minus_others_on_own": _mean(own_gap),
        "other_items": len(other_gap),
        "own_minus_others_on_other": _mean(other_gap),
    }


def _fixed_effects(
    scores: Mapping[str, Mapping[str, float]], item_generator: Mapping[str, str], judge_generator: Mapping[str, str]
) -> tuple[dict[str, float | None], float | None]:
    """Least-squares self-preference per judge, and their sum; None where the data cannot separate them."""
    judges = sorted(scores)
    biased = [j for j in judges if j in judge_generator]
    items = sorted({i for per in scores.values() for i in per})
    column = {i: k for k, i in enumerate(items)}
    lenient = {j: len(items) + k for k, j in enumerate(judges[1:])}  # the first judge is the reference
    bias = {j: len(items) + len(lenient) + k for k, j in enumerate(biased)}
    rows, targets = [], []
    for judge in judges:
        for item, value in scores[judge].items():
            row = np.zeros(len(items) + len(lenient) + len(bias))  # (P,) one indicator per parameter
            row[column[item]] = 1
            if judge in lenient:
                row[lenient[judge]] = 1
            if judge in bias and item_generator[item] == judge_generator[judge]:
                row[bias[judge]] = 1
            rows.append(row)
            targets.append(value)
    if not bias or not rows:
        return {}, None
    design = np.vstack(rows)  # (observations, P)
    coefficients = np.linalg.lstsq(design, np.asarray(targets), rcond=None)[0]
    rank = np.linalg.matrix_rank(design)

    def estimable(weights: np.ndarray) -> bool:  # a combination is identified iff it lies in the row space
        return np.linalg.matrix_rank(np.vstack([design, weights])) == rank

    per_judge: dict[str, float | None] = {}
    total = np.zeros(design.shape[1])
    for judge, k in bias.items():
        unit = np.zeros(design.shape[1])
        unit[k] = 1
        total += unit
        per_judge[judge] = round(float(coefficients[k]), 4) + 0.0 if estimable(unit) else None  # no "-0.0"
    joint = round(float(total @ coefficients), 4) if estimable(total) else None
    return per_judge, joint


def audit_summary(
    scores: Mapping[str, Mapping[str, float]],
    item_generator: Mapping[str, str],
    judge_generator: Mapping[str, str],
    *,
    threshold: float,
) -> dict[str, Any]:
    """Summarise an audit.

    Args:
        scores: Each judge's aggregate per item: ``{judge: {item id: score}}``.
        item_generator: The generator of each item.
        judge_generator: For each judge that is also a generator, that generator's name.
        threshold: The absolute threshold, for the keep/drop decisions kappa compares.

    Returns:
        ``items``, ``mean_scores[judge][generator]``, ``self_preference[judge]`` (raw gaps and the fitted bias),
        ``joint_self_preference`` and ``agreement`` (one entry per pair of judges), JSON-ready.
    """
    judges = sorted(scores)
    means: dict[str, dict[str, float | None]] = {}
    for judge in judges:
        by_generator: dict[str, list[float]] = defaultdict(list)
        for item, value in scores[judge].items():
            by_generator[item_generator[item]].append(value)
        means[judge] = {g: _mean(v) for g, v in sorted(by_generator.items())}
    agreement = []
    for a, b in combinations(judges, 2):
        common = sorted(set(scores[a]) & set(scores[b]))
        x, y = [scores[a][i] for i in common], [scores[b][i] for i in common]
        rho, kappa = spearman(x, y), cohen_kappa([v >= threshold for v in x], [v >= threshold for v in y])
        agreement.append(
            {
                "judges": [a, b],
                "items": len(common),
                "spearman": None if np.isnan(rho) else round(rho, 4),
                "kappa": None if kappa is None else round(kappa, 4),
                "same_decision": _mean(
                    [float((u >= threshold) == (v >= threshold)) for u, v in zip(x, y, strict=True)]
                ),
            }
        )
    fitted, joint = _fixed_effects(scores, item_generator, judge_generator)
    return {
        "items": len({i for per in scores.values() for i in per}),
        "threshold": round(threshold, 4),
        "mean_scores": means,
        "self_preference": {
            j: _raw_gaps(j, judge_generator[j], scores, item_generator) | {"self_preference": fitted.get(j)}
            for j in judges
            if j in judge_generator
        },
        "joint_self_preference": joint,
        "agreement": agreement,
    }
