"""From judges' raw scores to kept and dropped items: aggregation and thresholds.

An item's score per aspect is the mean over the judges that scored it; its aggregate combines the aspects by
``mean``, ``min`` (every aspect must be good) or ``weighted`` (the rubric's weights). The threshold is
``absolute`` (keep aggregates at or above the value) or ``quantile`` (drop the lowest ``value`` share of the scored
items; ties at the cut are kept). Items no judge could score are set apart as *unscored*, never given a score.

Raw scores are never changed here, so :func:`apply_filter` can be run again with another threshold or aggregate
(``medspec crossfilter refilter``) without a single new request.

Example:
    >>> from medspec.rubric import default_rubric
    >>> scores = {"coherence": 8, "professionalism": 4, "usefulness": 6, "harmlessness": 9, "friendliness": 8}
    >>> aggregate(scores, default_rubric(), "mean"), aggregate(scores, default_rubric(), "min")
    (7.0, 4.0)
    >>> resolve_threshold([3.0, 5.0, 7.0, 9.0], ThresholdConfig(kind="quantile", value=0.5))
    6.0
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from medspec.crossfilter.scoring import Judgement
from medspec.data.schema import Instruction, Provenance
from medspec.errors import ConfigError
from medspec.rubric import Rubric

__all__ = [
    "Aggregate",
    "FilterResult",
    "ThresholdConfig",
    "aggregate",
    "apply_filter",
    "combine_judges",
    "resolve_threshold",
]

Aggregate = Literal["mean", "min", "weighted"]


@dataclass
class ThresholdConfig:
    """Where the line between kept and dropped lies.

    Attributes:
        kind: ``absolute``: keep items whose aggregate is at least ``value``. ``quantile``: drop the lowest
            ``value`` share of scored items (0.1 drops about a tenth).
        value: The score (on the rubric's scale) or the share, in [0, 1).
    """

    kind: Literal["absolute", "quantile"] = "absolute"
    value: float = 6.0

    def __post_init__(self) -> None:
        if self.kind == "quantile" and not 0 <= self.value < 1:
            raise ConfigError("value", f"a quantile threshold is a share in [0, 1), got {self.value}")

    def describe(self) -> str:
        """``"absolute 6.0"`` or ``"quantile 0.1"``."""
        return f"{self.kind} {self.value:g}"


def aggregate(scores: Mapping[str, float], rubric: Rubric, method: Aggregate) -> float:
    """Combine per-aspect scores into one number on the rubric's scale."""
    values = [float(scores[name]) for name in rubric.names]
    if method == "min":
        return min(values)
    if method == "weighted":
        weights = [a.weight for a in rubric.criteria]
        return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)
    return sum(values) / len(values)


def combine_judges(judgements: Sequence[Judgement], rubric: Rubric) -> dict[str, float] | None:
    """Per-aspect mean over the judgements that scored the item; None when none did."""
    scored = [j.scores for j in judgements if j.scores is not None]
    if not scored:
        return None
    return {name: round(sum(s[name] for s in scored) / len(scored), 4) for name in rubric.names}


def resolve_threshold(aggregates: Sequence[float], threshold: ThresholdConfig) -> float:
    """The absolute score a threshold means for these aggregates (the quantile itself for ``quantile``)."""
    if threshold.kind == "absolute":
        return threshold.value
    if not aggregates:
        return float("-inf")
    return float(np.quantile(np.asarray(aggregates, dtype=float), threshold.value))


@dataclass
class FilterResult:
    """Items split by the judges' scores.

    Attributes:
        kept: Items at or above the threshold, with generator, judges and per-aspect scores in provenance.
        dropped: Items below it, with the same provenance and the reason in ``meta["crossfilter"]``.
        unscored: Items no judge could score, with the reasons in ``meta["crossfilter"]``.
        threshold: The absolute threshold applied.
        aggregates: Each scored item's aggregate, by id.
        per_judge: Each judge's own aggregate of each item it scored: ``{judge: {item id: aggregate}}``.
    """

    kept: list[Instruction]
    dropped: list[Instruction]
    unscored: list[Instruction]
    threshold: float
    aggregates: dict[str, float] = field(default_factory=dict)
    per_judge: dict[str, dict[str, float]] = field(default_factory=dict)


def _annotated(
    record: Instruction, judges: Sequence[Judgement], scores: dict[str, float] | None, **info: Any
) -> Instruction:
    provenance = Provenance(
        source=record.provenance.source,
        generator=record.provenance.generator,
        judge=", ".join(j.judge for j in judges) or None,
        scores=scores or {},
    )
    verdicts = {j.judge: j.scores if j.scores is not None else {"unscored": j.reason} for j in judges}
    meta = record.meta | {"crossfilter": {**info, "judges": verdicts}}
    return dataclasses.replace(record, provenance=provenance, meta=meta)


def apply_filter(
    records: Sequence[Instruction],
    judgements: Sequence[Judgement],
    rubric: Rubric,
    *,
    method: Aggregate,
    threshold: ThresholdConfig,
) -> FilterResult:
    """Split scored records into kept, dropped and unscored, recording scores and reasons on each."""
    by_item: dict[str, list[Judgement]] = defaultdict(list)
    per_judge: dict[str, dict[str, float]] = defaultdict(dict)
    for judgement in judgements:
        by_item[judgement.item].append(judgement)
        if judgement.scores is not None:
            per_judge[judgement.judge][judgement.item] = round(aggregate(judgement.scores, rubric, method), 4)
    combined = {r.id: combine_judges(by_item[r.id], rubric) for r in records}
    aggregates = {i: round(aggregate(s, rubric, method), 4) for i, s in combined.items() if s is not None}
    cut = resolve_threshold(list(aggregates.values()), threshold)
    result = FilterResult(kept=[], dropped=[], unscored=[], threshold=cut, aggregates=aggregates)
    result.per_judge = dict(per_judge)
    for record in records:
        judges, scores = by_item[record.id], combined[record.id]
        if scores is None:
            reasons = "; ".join(f"{j.judge}: {j.reason}" for j in judges) or "no judge was assigned"
            result.unscored.append(_annotated(record, judges, None, status="unscored", reason=reasons))
            continue
        value = aggregates[record.id]
        info = {"aggregate": value, "method": method, "threshold": round(cut, 4)}
        if value >= cut:
            result.kept.append(_annotated(record, judges, scores, status="kept", **info))
        else:
            reason = f"{method} score {value:.2f} < threshold {cut:.2f}"
            result.dropped.append(
                _annotated(record, judges, scores, status="dropped", step="score", reason=reason, **info)
            )
    return result
