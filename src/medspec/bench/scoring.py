"""Scoring a task's predictions: per-item scores, figures with bootstrap intervals, and per-topic breakdowns.

Open questions and case questions get the generation metrics, in the order the papers' tables use: ROUGE-1/2/L,
BLEU-1..4, GLEU and Distinct-1/2 (``R-1`` .. ``D-2``; headline ``R-L``). Choice questions get accuracy in their
scoring mode (:mod:`medspec.bench.choice.scoring`), overall and for single- and multiple-answer questions. Perplexity
tasks get bits per character (:mod:`medspec.bench.perplexity`; headline ``BPC``, lower is better). Every figure is a
mean of per-item scores with a bootstrap interval (x100 for percentages; weighted by length for bits per character);
the questions of one clinical case, and the rotations of one choice question, are resampled together.

A failed generation is scored as an empty answer (0 on every metric, unparseable) and counted under ``errors``, so a
flaky backend cannot raise a score by dropping hard items.

Example:
    >>> from medspec.bench.tasks import TaskItem
    >>> item = TaskItem(id="q1", task="t", kind="qa", messages=[], reference="丙泊酚", question="诱导药？")
    >>> result, rows = score_task("t", [item], {"q1": Prediction(id="q1", text="丙泊酚")}, options=ScoringOptions())
    >>> result.figures["R-L"].value, rows[0]["scores"]["R-L"]
    (100.0, 100.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medspec.bench.bootstrap import Estimate
from medspec.bench.choice.scoring import score_choice_task
from medspec.bench.perplexity import character_weights, perplexity_rows
from medspec.bench.results import Prediction, TaskResult
from medspec.bench.tasks import ChoiceMode, TaskItem

__all__ = ["GENERATION_FIGURES", "ScoringOptions", "score_task"]

# Display name -> metric key, in the papers' column order.
GENERATION_FIGURES: dict[str, str] = {
    "R-1": "rouge-1",
    "R-2": "rouge-2",
    "R-L": "rouge-l",
    "B-1": "bleu-1",
    "B-2": "bleu-2",
    "B-3": "bleu-3",
    "B-4": "bleu-4",
    "GLEU": "gleu",
    "D-1": "distinct-1",
    "D-2": "distinct-2",
}


@dataclass(frozen=True)
class ScoringOptions:
    """How figures are computed.

    Attributes:
        resamples: Bootstrap resamples per figure.
        confidence: Coverage of the intervals.
        seed: Bootstrap seed.
        num_proc: Processes for jieba segmentation of large tasks; ``None`` for one per CPU.
    """

    resamples: int = 1000
    confidence: float = 0.95
    seed: int = 0
    num_proc: int | None = None


def _estimate(values: Sequence[float], groups: Sequence[str], options: ScoringOptions) -> Estimate:
    return Estimate.from_scores(
        values, groups=groups, resamples=options.resamples, confidence=options.confidence, seed=options.seed
    )


def _generation_scores(answers: list[str], references: list[str], num_proc: int | None) -> list[dict[str, float]]:
    """Per-item scores of every generation figure, keyed by display name."""
    # evaluate (and datasets under it) takes seconds to import; only scoring needs it, not `import medspec.bench`
    from medspec.bench.metrics import ChineseBLEU, ChineseGLEU, ChineseROUGE, Distinct

    columns: dict[str, list[float]] = {}
    for metric in (ChineseROUGE(), ChineseBLEU(), ChineseGLEU()):
        columns |= metric.compute(predictions=answers, references=references, per_sample=True, num_proc=num_proc)
    columns |= Distinct().compute(predictions=answers, per_sample=True, num_proc=num_proc)
    return [{name: columns[key][i] for name, key in GENERATION_FIGURES.items()} for i in range(len(answers))]


def _counts(items: Sequence[TaskItem], predictions: Sequence[Prediction]) -> dict[str, int]:
    return {
        "items": len(items),
        "errors": sum(p.error is not None for p in predictions),
        "empty": sum(not p.text.strip() for p in predictions),
        "truncated": sum(p.finish_reason == "length" for p in predictions),
    }


def _figures(rows: list[dict[str, Any]], options: ScoringOptions, *, headline: str) -> dict[str, Estimate]:
    """Every per-item score as a figure, in the rows' order; the headline for single- and multiple-answer apart."""
    names = list(dict.fromkeys(name for row in rows for name in row["scores"]))
    weights = character_weights(rows)
    groups = [row["group"] or row["id"] for row in rows]
    figures = {
        name: Estimate.from_scores(
            [row["scores"][name] for row in rows],
            groups=groups,
            weights=weights,
            resamples=options.resamples,
            confidence=options.confidence,
            seed=options.seed,
        )
        for name in names
    }
    if rows and "multiple" in rows[0]:
        for label, multiple in (("single", False), ("multiple", True)):
            chosen = [row for row in rows if row["multiple"] == multiple]
            figures[f"{headline} ({label})"] = _estimate(
                [row["scores"][headline] for row in chosen], [row["group"] or row["id"] for row in chosen], options
            )
    return figures


def score_task(
    name: str,
    items: Sequence[TaskItem],
    predictions: Mapping[str, Prediction],
    *,
    options: ScoringOptions,
    choice_mode: ChoiceMode = "generate",
    circular: bool = False,
    settings: Mapping[str, Any] | None = None,
    contaminated: Sequence[str] = (),
) -> tuple[TaskResult, list[dict[str, Any]]]:
    """Score one task.

    Args:
        name: The task's name.
        items: Its items (all of one kind; every rotation of a choice question under circular evaluation).
        predictions: Item id to prediction; every item needs one.
        options: Bootstrap and segmentation settings.
        choice_mode: How choice answers were taken: ``letter``, ``cloze`` or ``generate``.
        circular: Whether choice items hold every rotation of their question.
        settings: What the run's figures depend on, kept in the result for comparisons.
        contaminated: Ids of items that overlap training data (recorded in the result).

    Returns:
        The task's result, and one scored row per question (``id``, ``question``, ``reference``, ``prediction``,
        ``tags``, ``group``, ``scores``; for choice questions the ``answer`` read; for perplexity items ``chars``
        and ``bits``).

    Raises:
        ValueError: When an item has no prediction.
    """
    missing = [item.id for item in items if item.id not in predictions]
    if missing:
        raise ValueError(f"task {name}: {len(missing)} items have no prediction, e.g. {missing[0]!r}")
    kind = items[0].kind if items else "qa"
    ordered = [predictions[item.id] for item in items]
    counts = _counts(items, ordered)
    letters: dict[str, dict[str, int]] = {}
    if kind == "choice":
        scored = score_choice_task(items, predictions, mode=choice_mode, circular=circular)
        rows, headline, letters = scored.rows, scored.headline, scored.letters
        counts["questions"] = len(rows)
        if choice_mode == "generate":
            counts["unparseable"] = scored.unparseable
    elif kind == "perplexity":
        rows, headline = perplexity_rows(items, predictions), "BPC"
    else:
        answers = [p.text if p.error is None else "" for p in ordered]
        per_item = _generation_scores(answers, [item.reference for item in items], options.num_proc)
        rows = [
            {
                "id": item.id,
                "question": item.question,
                "reference": item.reference,
                "prediction": prediction.text,
                "tags": list(item.tags),
                "group": item.group,
                "scores": scores,
            }
            for item, prediction, scores in zip(items, ordered, per_item, strict=True)
        ]
        headline = "R-L"
    figures = _figures(rows, options, headline=headline)
    by_tag = {}
    for tag in sorted({t for row in rows for t in row["tags"]}):
        tagged = [row for row in rows if tag in row["tags"]]
        by_tag[tag] = Estimate.from_scores(
            [row["scores"][headline] for row in tagged],
            groups=[row["group"] or row["id"] for row in tagged],
            weights=character_weights(tagged),
            resamples=options.resamples,
            confidence=options.confidence,
            seed=options.seed,
        )
    result = TaskResult(
        name,
        kind,
        headline,
        figures,
        by_tag,
        counts,
        sorted(contaminated),
        settings=dict(settings or {}),
        letters=letters,
    )
    return result, rows
