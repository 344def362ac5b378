"""Scoring a task's predictions: per-item scores, figures with bootstrap intervals, and per-topic breakdowns.

Open questions and case questions get the generation metrics, in the order the papers' tables use: ROUGE-1/2/L,
BLEU-1..4, GLEU and Distinct-1/2 (``R-1`` .. ``D-2``; headline ``R-L``). Choice questions get accuracy with the
extraction rate beside it, overall and for single- and multiple-answer questions (headline ``Acc``). Every figure is
a mean of per-item scores x100 with a bootstrap interval; the questions of one clinical case are resampled together.

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
from medspec.bench.results import Prediction, TaskResult
from medspec.bench.tasks import TaskItem

__all__ = ["CHOICE_FIGURES", "GENERATION_FIGURES", "ScoringOptions", "score_task"]

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
# Display name -> (per-item field, which questions).
CHOICE_FIGURES: dict[str, tuple[str, str]] = {
    "Acc": ("correct", "all"),
    "Extracted": ("extracted", "all"),
    "Acc (single)": ("correct", "single"),
    "Extracted (single)": ("extracted", "single"),
    "Acc (multiple)": ("correct", "multiple"),
    "Extracted (multiple)": ("extracted", "multiple"),
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


def _choice_scores(items: Sequence[TaskItem], answers: list[str]) -> list[dict[str, Any]]:
    from medspec.bench.metrics import ChoiceAccuracy

    rows = ChoiceAccuracy().compute(
        predictions=answers,
        references=[item.reference for item in items],
        options=[item.options for item in items],
        per_sample=True,
    )["rows"]
    return [{**row, "correct": 100.0 * row["correct"], "extracted": 100.0 * row["extracted"]} for row in rows]


def _counts(items: Sequence[TaskItem], predictions: Sequence[Prediction]) -> dict[str, int]:
    return {
        "items": len(items),
        "errors": sum(p.error is not None for p in predictions),
        "empty": sum(not p.text.strip() for p in predictions),
        "truncated": sum(p.finish_reason == "length" for p in predictions),
    }


def score_task(
    name: str,
    items: Sequence[TaskItem],
    predictions: Mapping[str, Prediction],
    *,
    options: ScoringOptions,
    contaminated: Sequence[str] = (),
) -> tuple[TaskResult, list[dict[str, Any]]]:
    """Score one task.

    Args:
        name: The task's name.
        items: Its items (all of one kind).
        predictions: Item id to prediction; every item needs one.
        options: Bootstrap and segmentation settings.
        contaminated: Ids of items that overlap training data (recorded in the result).

    Returns:
        The task's result, and one scored row per item (``id``, ``question``, ``reference``, ``prediction``,
        ``tags``, ``group``, ``scores`` and, for choice items, the extracted ``answer``).

    Raises:
        ValueError: When an item has no prediction.
    """
    missing = [item.id for item in items if item.id not in predictions]
    if missing:
        raise ValueError(f"task {name}: {len(missing)} items have no prediction, e.g. {missing[0]!r}")
    kind = items[0].kind if items else "qa"
    ordered = [predictions[item.id] for item in items]
    answers = [p.text if p.error is None else "" for p in ordered]
    groups = [item.group or item.id for item in items]
    counts = _counts(items, ordered)
    rows: list[dict[str, Any]] = []
    figures: dict[str, Estimate] = {}
    if kind == "choice":
        outcomes = _choice_scores(items, answers)
        counts["unparseable"] = sum(not o["extracted"] for o in outcomes)
        for figure, (field_name, subset) in CHOICE_FIGURES.items():
            chosen = [i for i, o in enumerate(outcomes) if subset == "all" or o["multiple"] == (subset == "multiple")]
            figures[figure] = _estimate([outcomes[i][field_name] for i in chosen], [groups[i] for i in chosen], options)
        per_item = [{"Acc": o["correct"], "Extracted": o["extracted"]} for o in outcomes]
        extra = [{"answer": o["answer"], "multiple": o["multiple"]} for o in outcomes]
        headline = "Acc"
    else:
        per_item = _generation_scores(answers, [item.reference for item in items], options.num_proc)
        for figure in GENERATION_FIGURES:
            figures[figure] = _estimate([scores[figure] for scores in per_item], groups, options)
        extra = [{} for _ in items]
        headline = "R-L"
    for item, prediction, scores, more in zip(items, ordered, per_item, extra, strict=True):
        rows.append(
            {
                "id": item.id,
                "question": item.question,
                "reference": item.reference,
                "prediction": prediction.text,
                "tags": list(item.tags),
                "group": item.group,
                "scores": scores,
                **more,
            }
        )
    by_tag = {
        tag: _estimate(
            [r["scores"][headline] for r in rows if tag in r["tags"]],
            [r["group"] or r["id"] for r in rows if tag in r["tags"]],
            options,
        )
        for tag in sorted({t for item in items for t in item.tags})
    }
    result = TaskResult(name, kind, headline, figures, by_tag, counts, sorted(contaminated))
    return result, rows
