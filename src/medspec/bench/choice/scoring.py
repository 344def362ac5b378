"""Figures of a multiple-choice task in each scoring mode, with circular evaluation and the answer letters.

Every question is read once per item asked (each rotation of its options under circular evaluation); a question
counts as correct only when every one of its items was answered correctly (Liu et al., 2023, MMBench's
CircularEval). A model that always picks the same letter is right in at most one rotation of a single-answer
question and so scores 0; a model that knows the answers scores 100.

================ =========================================================================================
figure           meaning
================ =========================================================================================
Acc              share of questions answered correctly (under circular evaluation: in every rotation);
                 in ``cloze`` mode, by the most likely option text
Acc (norm)       ``cloze`` only, the headline: by the most likely option text per character
Acc (as given)   circular evaluation only: accuracy on the options in their published order
Extracted        ``generate`` only: share of answers the extractor could read
Acc (single)     the headline accuracy on single-answer questions (and ``(multiple)`` likewise)
================ =========================================================================================

Beside the figures, :func:`letter_counts` counts the letters chosen for single-answer items against the letters of
the key: a letter bias shows at a glance ("A 47, B 0, ..." against "A 10, B 12, ...").

Example:
    >>> from medspec.bench.results import Prediction
    >>> from medspec.bench.tasks import TaskItem
    >>> item = TaskItem(id="q", task="t", kind="choice", messages=[], reference="B", question="?",
    ...                 options={"A": "x", "B": "y"}, group="q", record_id="q")
    >>> scored = score_choice_task([item], {"q": Prediction(id="q", text="答案：B")}, mode="generate")
    >>> scored.headline, scored.rows[0]["scores"]["Acc"], scored.letters
    ('Acc', 100.0, {'answers': {'B': 1}, 'key': {'B': 1}})
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from medspec.bench.choice.modes import best
from medspec.bench.results import Prediction
from medspec.bench.tasks import ChoiceMode, TaskItem

__all__ = ["ChoiceScores", "letter_counts", "score_choice_task"]


@dataclass
class ChoiceScores:
    """What a choice task's answers come to.

    Attributes:
        headline: The figure that sums the task up (``Acc``, or ``Acc (norm)`` in cloze mode).
        rows: One row per question: ``id``, ``question``, ``reference``, ``prediction``, ``answer`` (the letters
            read, or None), ``answers`` per rotation when circular, ``multiple``, ``scores`` (figure -> 0 or 100).
        unparseable: Items whose answer could not be read (``generate`` mode).
        letters: ``{"answers": letter -> count, "key": letter -> count}`` over single-answer items.
    """

    headline: str
    rows: list[dict[str, Any]]
    unparseable: int
    letters: dict[str, dict[str, int]]


def _chosen(item: TaskItem, prediction: Prediction, mode: ChoiceMode, *, normalised: bool = True) -> str | None:
    """The letters an item's prediction commits to, or None."""
    if prediction.error is not None:
        return None
    if mode == "generate":
        from medspec.bench.metrics.choice_accuracy import score_choices  # evaluate loads slowly; scoring needs it

        return score_choices([prediction.text], [item.reference], [item.options])[0]["answer"]
    if not prediction.logprobs:
        return None
    return best(prediction.logprobs, item.options if mode == "cloze" and normalised else None)


def letter_counts(items: Sequence[TaskItem], answers: Sequence[str | None]) -> dict[str, dict[str, int]]:
    """Letters chosen for single-answer items (``none`` for no answer) beside the letters of their key."""
    chosen: Counter[str] = Counter()
    key: Counter[str] = Counter()
    for item, answer in zip(items, answers, strict=True):
        if len(item.reference) == 1:
            key[item.reference] += 1
            chosen[answer if answer and len(answer) == 1 else ("none" if not answer else "several")] += 1
    return {"answers": dict(sorted(chosen.items())), "key": dict(sorted(key.items()))}


def score_choice_task(
    items: Sequence[TaskItem],
    predictions: Mapping[str, Prediction],
    *,
    mode: ChoiceMode,
    circular: bool = False,
) -> ChoiceScores:
    """Score a choice task's items (all rotations of each question, when circular) in a mode."""
    answers = [_chosen(item, predictions[item.id], mode) for item in items]
    raw = [_chosen(item, predictions[item.id], mode, normalised=False) for item in items] if mode == "cloze" else []
    by_question: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        by_question.setdefault(item.record_id or item.id, []).append(index)
    headline = "Acc (norm)" if mode == "cloze" else "Acc"
    rows = []
    for question, indices in by_question.items():
        first = items[indices[0]]
        right = [answers[i] == items[i].reference for i in indices]
        scores = {headline: 100.0 * all(right)}
        if mode == "cloze":
            scores["Acc"] = 100.0 * all(raw[i] == items[i].reference for i in indices)
        if circular:
            scores["Acc (as given)"] = 100.0 * right[0]
        if mode == "generate":
            scores["Extracted"] = 100.0 * sum(answers[i] is not None for i in indices) / len(indices)
        row: dict[str, Any] = {
            "id": question,
            "question": first.question,
            "reference": first.reference,
            "prediction": predictions[first.id].text,
            "answer": answers[indices[0]],
            "tags": list(first.tags),
            "group": first.group,
            "multiple": len(first.reference) > 1,
            "scores": scores,
        }
        if circular:
            row["answers"] = [answers[i] for i in indices]
        rows.append(row)
    unparseable = sum(answer is None for answer in answers) if mode == "generate" else 0
    return ChoiceScores(headline, rows, unparseable, letter_counts(items, answers))
