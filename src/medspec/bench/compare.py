"""Comparisons that refuse to mislead: runs scored alike are grouped, and differences come with paired intervals.

Two runs of one task are comparable only when everything their figures depend on besides the model is the same:
the scoring mode, circular evaluation, shots, prompts, and the decoding or window settings
(:meth:`~medspec.bench.benchmark.BenchmarkConfig.task_settings`). :func:`comparable_groups` splits a task's runs
into such groups, and :func:`setting_differences` says in words why two runs are not comparable.

Within a group, :func:`paired_deltas` gives each run's difference from the first on the headline figure, over the
items both runs answered, with the paired bootstrap interval (:func:`~medspec.bench.bootstrap.paired_difference`).
That interval, not two overlapping per-model intervals, is what supports "B is better than A": the items' shared
difficulty cancels in the per-item differences.

Example:
    >>> from medspec.bench.bootstrap import Estimate
    >>> from medspec.bench.results import BenchmarkResult, TaskResult
    >>> def run(model, mode):
    ...     task = TaskResult("mc", "choice", "Acc", {"Acc": Estimate(50.0, 40.0, 60.0, 4)}, settings={"mode": mode})
    ...     return BenchmarkResult(model, {"mc": task})
    >>> [[r.model for r in group] for group in comparable_groups([run("a", "cloze"), run("b", "letter")], "mc")]
    [['a'], ['b']]
    >>> setting_differences({"mode": "cloze"}, {"mode": "letter"})
    ['mode cloze vs letter']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medspec.bench.bootstrap import Estimate, paired_difference
from medspec.bench.perplexity import character_weights
from medspec.bench.results import BenchmarkResult

__all__ = ["PairedDelta", "comparable_groups", "paired_deltas", "setting_differences"]


@dataclass(frozen=True)
class PairedDelta:
    """One run's difference from the baseline run on a task's headline figure.

    Attributes:
        model: The run compared.
        baseline: The run it is compared with.
        figure: The headline figure.
        delta: ``model - baseline`` over the shared items, with its paired bootstrap interval.
        lower_is_better: Whether a negative delta is the improvement (bits per character).
    """

    model: str
    baseline: str
    figure: str
    delta: Estimate
    lower_is_better: bool = False

    @property
    def verdict(self) -> str:
        """``better``, ``worse`` or ``no clear difference`` (the interval includes 0)."""
        if not self.delta.low > 0 and not self.delta.high < 0:
            return "no clear difference"
        improved = (self.delta.high < 0) if self.lower_is_better else (self.delta.low > 0)
        return "better" if improved else "worse"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "baseline": self.baseline,
            "figure": self.figure,
            "delta": self.delta.to_dict(),
            "verdict": self.verdict,
        }


def _key(settings: Mapping[str, Any]) -> str:
    return json.dumps(dict(settings), sort_keys=True, default=str)


def comparable_groups(results: Sequence[BenchmarkResult], task: str) -> list[list[BenchmarkResult]]:
    """The runs that hold ``task``, grouped by the settings their figures depend on, in first-seen order."""
    groups: dict[str, list[BenchmarkResult]] = {}
    for result in results:
        if task in result.tasks:
            groups.setdefault(_key(result.tasks[task].settings), []).append(result)
    return list(groups.values())


def setting_differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What differs between two runs' settings, in words (``"mode cloze vs letter"``)."""
    return [f"{key} {a.get(key, '—')} vs {b.get(key, '—')}" for key in sorted({*a, *b}) if a.get(key) != b.get(key)]


def paired_deltas(
    results: Sequence[BenchmarkResult], task: str, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> list[PairedDelta]:
    """Each later run's headline difference from the first, over the items both answered (one comparable group).

    Runs whose scored items were not kept (a result not loaded from a run folder) are left out.

    Raises:
        ValueError: When the runs are not comparable on ``task``.
    """
    having = [r for r in results if task in r.tasks and task in r.items]
    if len(comparable_groups(having, task)) > 1:
        raise ValueError(f"runs of {task} were scored with different settings; compare each group apart")
    if len(having) < 2:
        return []
    baseline, headline = having[0], having[0].tasks[task].headline
    base_rows = {row["id"]: row for row in baseline.items[task]}
    found = []
    for other in having[1:]:
        rows = [(base_rows[row["id"]], row) for row in other.items[task] if row["id"] in base_rows]
        if not rows:
            continue
        delta = paired_difference(
            [a["scores"][headline] for a, _ in rows],
            [b["scores"][headline] for _, b in rows],
            groups=[a["group"] or a["id"] for a, _ in rows],
            weights=character_weights([a for a, _ in rows]),
            resamples=resamples,
            confidence=confidence,
            seed=seed,
        )
        lower = baseline.tasks[task].lower_is_better
        found.append(PairedDelta(other.model, baseline.model, headline, delta, lower))
    return found
