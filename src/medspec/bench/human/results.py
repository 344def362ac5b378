"""What human raters said: per-model means and variance per criterion, inter-rater and judge-human agreement.

For each model and criterion, the mean of all its ratings (every rater, every answer) with a bootstrap interval that
resamples answers (the ratings of one answer move together), and the variance of those ratings (the spread the
papers plot as error bars). Inter-rater agreement is Krippendorff's alpha per criterion over all answers, with a
bootstrap interval over answers. Given a
:class:`~medspec.bench.judge.report.JudgeReport` of the same answers, the judge's scores are compared with the human
mean of each answer.

Example:
    >>> from medspec.rubric import Criterion
    >>> kit = RatingKit([Criterion(name="usefulness", description="有用性")], ["a", "b"],
    ...                 {"C1": {"task": "qa", "item": "q1", "model": "m"},
    ...                  "C2": {"task": "qa", "item": "q2", "model": "m"}})
    >>> ratings = [Rating("a", "C1", {"usefulness": 4}), Rating("b", "C1", {"usefulness": 5}),
    ...            Rating("a", "C2", {"usefulness": 2}), Rating("b", "C2", {"usefulness": 2})]
    >>> HumanResults(kit, ratings).summary()["m"]["usefulness"].mean.value
    3.25
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medspec.bench.agreement import Agreement, Level, alpha_estimate, judge_human_agreement
from medspec.bench.bootstrap import Estimate
from medspec.bench.human.kit import Rating, RatingKit
from medspec.bench.judge.report import JudgeReport
from medspec.durable import atomic_write_text

__all__ = ["CriterionSummary", "HumanResults"]


@dataclass(frozen=True)
class CriterionSummary:
    """One model's ratings on one criterion.

    Attributes:
        mean: Mean rating with its bootstrap interval; ``n`` counts ratings.
        variance: Sample variance of the ratings (NaN for fewer than two).
    """

    mean: Estimate
    variance: float

    @property
    def std(self) -> float:
        """Standard deviation of the ratings."""
        return float(np.sqrt(self.variance))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        variance = None if np.isnan(self.variance) else self.variance
        return {"mean": self.mean.to_dict(), "variance": variance, "std": None if variance is None else self.std}


@dataclass
class HumanResults:
    """Ratings read from the sheets, with the kit that explains them.

    Args:
        kit: The evaluation's key.
        ratings: From :func:`~medspec.bench.human.kit.read_sheets`.
    """

    kit: RatingKit
    ratings: list[Rating]

    def models(self) -> list[str]:
        """The rated models, in the order of the kit."""
        return list(dict.fromkeys(answer["model"] for answer in self.kit.answers.values()))

    def summary(self, *, resamples: int = 1000, seed: int = 0) -> dict[str, dict[str, CriterionSummary]]:
        """Per model and criterion: mean with interval, and variance."""
        found: dict[str, dict[str, CriterionSummary]] = {}
        for model in self.models():
            found[model] = {}
            for criterion in self.kit.criteria:
                pairs = [
                    (r.code, r.scores[criterion.name])
                    for r in self.ratings
                    if self.kit.answers[r.code]["model"] == model and criterion.name in r.scores
                ]
                values = np.array([score for _, score in pairs], dtype=float)
                mean = Estimate.from_scores(values, groups=[code for code, _ in pairs], resamples=resamples, seed=seed)
                variance = float(values.var(ddof=1)) if values.size > 1 else float("nan")
                found[model][criterion.name] = CriterionSummary(mean, variance)
        return found

    def inter_rater_alpha(
        self, *, level: Level = "interval", resamples: int = 1000, seed: int = 0
    ) -> dict[str, Estimate]:
        """Krippendorff's alpha per criterion (raters by answers) with a bootstrap interval over answers."""
        codes = list(self.kit.answers)
        column = {code: i for i, code in enumerate(codes)}
        alphas = {}
        for criterion in self.kit.criteria:
            table: list[list[float | None]] = [[None] * len(codes) for _ in self.kit.raters]
            for rating in self.ratings:
                if criterion.name in rating.scores:
                    table[self.kit.raters.index(rating.rater)][column[rating.code]] = rating.scores[criterion.name]
            alphas[criterion.name] = alpha_estimate(table, level=level, resamples=resamples, seed=seed)
        return alphas

    def answer_means(self) -> dict[tuple[str, str, str], dict[str, float]]:
        """``(task, item, model)`` to the mean rating per criterion of that answer."""
        collected: dict[tuple[str, str, str], dict[str, list[int]]] = {}
        for rating in self.ratings:
            answer = self.kit.answers[rating.code]
            scores = collected.setdefault((answer["task"], answer["item"], answer["model"]), {})
            for name, value in rating.scores.items():
                scores.setdefault(name, []).append(value)
        return {key: {n: float(np.mean(v)) for n, v in scores.items()} for key, scores in collected.items()}

    def judge_agreement(self, judge: JudgeReport) -> dict[str, Agreement]:
        """Agreement of the judge's pointwise scores with the human mean, per criterion both rated."""
        scores = {(j.task, j.item, j.model): j.scores for j in judge.pointwise if j.scores is not None}
        shared = [c.name for c in self.kit.criteria if c.name in {k.name for k in judge.criteria}]
        return judge_human_agreement(scores, self.answer_means(), shared)

    def to_dict(self, *, judge: JudgeReport | None = None) -> dict[str, Any]:
        """JSON-ready summary: per-model figures, alphas, the raters' counts and, given a judge, agreement."""
        alphas = self.inter_rater_alpha()
        data: dict[str, Any] = {
            "criteria": [vars(c) for c in self.kit.criteria],
            "raters": {r: sum(x.rater == r for x in self.ratings) for r in self.kit.raters},
            "answers": len(self.kit.answers),
            "summary": {model: {name: s.to_dict() for name, s in per.items()} for model, per in self.summary().items()},
            "krippendorff_alpha": {k: v.to_dict() for k, v in alphas.items()},
        }
        if judge is not None:
            data["judge_agreement"] = {k: a.to_dict() for k, a in self.judge_agreement(judge).items()}
        return data

    def save(self, path: str | Path, *, judge: JudgeReport | None = None) -> Path:
        """Write :meth:`to_dict` as JSON."""
        atomic_write_text(path, json.dumps(self.to_dict(judge=judge), ensure_ascii=False, indent=2))
        return Path(path)
