"""Multiple-choice accuracy with the extraction rate beside it.

Each answer is read with :func:`~medspec.bench.choice.extract.extract_choice`; it is correct when the letters it commits
to are exactly the reference letters (no partial credit on multiple-answer questions). An answer that commits to no
letter is unparseable: it counts as wrong and lowers the extraction rate, which is reported beside every accuracy,
overall and for single- and multiple-answer questions apart.

Example:
    >>> accuracy = ChoiceAccuracy()
    >>> options = [{"A": "丹曲林", "B": "新斯的明"}] * 3
    >>> scores = accuracy.compute(predictions=["答案：A", "B", "不确定"], references=["A", "A", "A"], options=options)
    >>> round(scores["accuracy"], 2), round(scores["extraction_rate"], 2)
    (33.33, 66.67)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import evaluate

from medspec.bench.choice.extract import extract_choice
from medspec.bench.metrics._base import PAIR_FEATURES, InMemoryMetric
from medspec.data.schema import parse_answer_letters

__all__ = ["ChoiceAccuracy", "score_choices"]


def score_choices(
    predictions: Sequence[str], references: Sequence[str], options: Sequence[Mapping[str, str]]
) -> list[dict[str, Any]]:
    """Per-answer outcomes: ``answer`` (extracted letters or None), ``correct``, ``extracted``, ``multiple``.

    Raises:
        ValueError: When the lengths differ or a reference is not a set of option letters.
    """
    if not len(predictions) == len(references) == len(options):
        raise ValueError(f"{len(predictions)} predictions, {len(references)} references, {len(options)} option sets")
    rows = []
    for index, (prediction, reference, choices) in enumerate(zip(predictions, references, options, strict=True)):
        gold = parse_answer_letters(reference)
        if gold is None:
            raise ValueError(f"reference {index}: expected option letters like 'B' or 'ACD', got {reference!r}")
        answer = extract_choice(prediction, choices)
        rows.append(
            {
                "answer": "".join(answer) if answer is not None else None,
                "correct": answer == gold,
                "extracted": answer is not None,
                "multiple": len(gold) > 1,
            }
        )
    return rows


def _rate(rows: list[dict[str, Any]], key: str) -> float:
    return 100 * sum(row[key] for row in rows) / len(rows) if rows else math.nan


class ChoiceAccuracy(InMemoryMetric):
    """Accuracy and extraction rate of multiple-choice answers, x100 (an ``evaluate.Metric``).

    ``compute(predictions=[...], references=["B", "AC", ...], options=[{"A": ..., ...}, ...], per_sample=False)``
    returns ``accuracy`` and ``extraction_rate``, and the same for ``_single`` and ``_multiple`` answer questions
    (NaN when there are none). With ``per_sample=True`` it returns the per-answer rows of :func:`score_choices`.
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=__doc__ or "",
            citation="",
            inputs_description=(
                "predictions: answers (strings); references: the correct letters ('B', 'ACD'); "
                "options: one letter-to-text mapping per question."
            ),
            features=PAIR_FEATURES,
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[str],
        options: Sequence[Mapping[str, str]] | None = None,
        per_sample: bool = False,
    ) -> dict[str, Any]:
        if options is None:
            raise ValueError("ChoiceAccuracy needs options=[{letter: text}, ...], one mapping per question")
        rows = score_choices(predictions, references, options)
        if per_sample:
            return {"rows": rows}
        single = [row for row in rows if not row["multiple"]]
        multiple = [row for row in rows if row["multiple"]]
        return {
            "accuracy": _rate(rows, "correct"),
            "extraction_rate": _rate(rows, "extracted"),
            "accuracy_single": _rate(single, "correct"),
            "extraction_rate_single": _rate(single, "extracted"),
            "accuracy_multiple": _rate(multiple, "correct"),
            "extraction_rate_multiple": _rate(multiple, "extracted"),
        }
