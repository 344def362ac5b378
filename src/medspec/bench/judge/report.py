"""Judging saved benchmark runs with an LLM judge, and summarising what it said.

:func:`judge_results` takes the open and case questions that every compared run answered, asks the
:class:`~medspec.bench.judge.core.Judge` for pointwise scores of every model's answers and for pairwise verdicts between
models, and returns a :class:`JudgeReport`: mean score per model and criterion, the share of readable replies, and
win/tie/lose rates per pair of models with the share of order-consistent verdicts, each with a bootstrap interval.

By default the first run is compared with each of the others (the papers' figures: "ours versus each baseline");
``pairs="all"`` compares every pair.

Example:
    >>> report = JudgeReport(judge="j", criteria=[], pointwise=[], pairwise=[])
    >>> report.pairwise_summary()
    {}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

from medspec.bench.bootstrap import Estimate
from medspec.bench.judge.core import AnswerToJudge, Judge, PairwiseJudgement, PointwiseJudgement
from medspec.bench.results import BenchmarkResult
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError
from medspec.rubric import Criterion

__all__ = ["JudgeReport", "judge_results"]

OUTCOMES = ("win", "tie", "lose")


@dataclass
class JudgeReport:
    """Everything a judge said about a set of runs.

    Attributes:
        judge: The judge backend's name.
        criteria: The rubric.
        pointwise: Scores of every judged answer.
        pairwise: Verdicts on every compared pair of answers.
    """

    judge: str
    criteria: list[Criterion]
    pointwise: list[PointwiseJudgement]
    pairwise: list[PairwiseJudgement]

    def pointwise_summary(self, *, resamples: int = 1000, seed: int = 0) -> dict[str, dict[str, Estimate]]:
        """Per model: the mean score of each criterion (on its scale) and ``parsed``, the readable share x100."""
        summary: dict[str, dict[str, Estimate]] = {}
        for model in dict.fromkeys(j.model for j in self.pointwise):
            mine = [j for j in self.pointwise if j.model == model]
            scored = [j.scores for j in mine if j.scores is not None]
            summary[model] = {
                c.name: Estimate.from_scores([s[c.name] for s in scored], resamples=resamples, seed=seed)
                for c in self.criteria
            }
            parsed = [j.scores is not None for j in mine]
            summary[model]["parsed"] = Estimate.from_scores(parsed, scale=100, resamples=resamples, seed=seed)
        return summary

    def pairwise_summary(self, *, resamples: int = 1000, seed: int = 0) -> dict[str, dict[str, Estimate]]:
        """Per ``"A vs B"``: win, tie and lose rates for A and the order-consistent share, x100, over readable pairs."""
        summary: dict[str, dict[str, Estimate]] = {}
        for a, b in dict.fromkeys((j.model_a, j.model_b) for j in self.pairwise):
            judged = [j for j in self.pairwise if (j.model_a, j.model_b) == (a, b) and j.outcome is not None]
            summary[f"{a} vs {b}"] = {
                name: Estimate.from_scores(
                    [j.outcome == name if name in OUTCOMES else j.consistent for j in judged],
                    scale=100,
                    resamples=resamples,
                    seed=seed,
                )
                for name in (*OUTCOMES, "consistency")
            }
        return summary

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the summaries, then every judgement."""
        return {
            "judge": self.judge,
            "criteria": [vars(c) for c in self.criteria],
            "pointwise_summary": {
                m: {k: e.to_dict() for k, e in s.items()} for m, s in self.pointwise_summary().items()
            },
            "pairwise_summary": {p: {k: e.to_dict() for k, e in s.items()} for p, s in self.pairwise_summary().items()},
            "pointwise": [vars(j) for j in self.pointwise],
            "pairwise": [vars(j) for j in self.pairwise],
        }

    def save(self, path: str | Path) -> Path:
        """Write the report as JSON."""
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> JudgeReport:
        """Read a report written by :meth:`save`."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        pairwise = [
            PairwiseJudgement(**{**j, "verdicts": tuple(j["verdicts"]), "replies": tuple(j["replies"])})
            for j in data["pairwise"]
        ]
        return cls(
            judge=data["judge"],
            criteria=[Criterion(**c) for c in data["criteria"]],
            pointwise=[PointwiseJudgement(**j) for j in data["pointwise"]],
            pairwise=pairwise,
        )


def _answers(result: BenchmarkResult, task: str, limit: int | None) -> dict[str, AnswerToJudge]:
    rows = result.scored_items(task)[:limit]
    return {
        row["id"]: AnswerToJudge(task, row["id"], result.model, row["question"], row["reference"], row["prediction"])
        for row in rows
    }


def judge_results(
    judge: Judge,
    results: Sequence[BenchmarkResult],
    *,
    tasks: Sequence[str] | None = None,
    pairs: Literal["first", "all"] = "first",
    limit: int | None = None,
) -> JudgeReport:
    """Judge the open and case questions of several runs.

    Args:
        judge: The judge.
        results: The runs, each with its scored items; model names must differ.
        tasks: The tasks to judge; every open (``qa``) and ``case`` task the runs share by default.
        pairs: ``first`` compares the first run with each other run; ``all`` compares every pair.
        limit: Judge only the first ``limit`` items of each task.

    Raises:
        ConfigError: For repeated model names, an unknown ``pairs``, or a named task that is not a shared open or
            case task.
    """
    if pairs not in ("first", "all"):
        raise ConfigError("pairs", f"expected first or all, got {pairs!r}")
    models = [r.model for r in results]
    if len(set(models)) != len(models):
        raise ConfigError("models", f"model names must differ to be compared, got {models}; rename a run")
    shared = [
        name
        for name, task in results[0].tasks.items()
        if task.kind in ("qa", "case") and all(name in r.tasks for r in results)
    ]
    chosen = list(tasks) if tasks is not None else shared
    unknown = [t for t in chosen if t not in shared]
    if unknown:
        raise ConfigError("tasks", f"{unknown[0]!r} is not an open or case task of every run; shared: {shared}")
    pointwise: list[PointwiseJudgement] = []
    pairwise: list[PairwiseJudgement] = []
    compared = (
        list(combinations(range(len(results)), 2)) if pairs == "all" else [(0, j) for j in range(1, len(results))]
    )
    for task in chosen:
        answers = [_answers(r, task, limit) for r in results]
        items = [item for item in answers[0] if all(item in a for a in answers)]
        pointwise += judge.pointwise([a[item] for a in answers for item in items])
        pairwise += judge.pairwise([(answers[i][item], answers[j][item]) for i, j in compared for item in items])
    return JudgeReport(judge.backend.name, list(judge.config.criteria), pointwise, pairwise)
