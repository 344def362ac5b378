"""Answering multiple-choice questions by option log-likelihood instead of generation.

The model is asked the question and, instead of generating, each possible answer is scored as the start of its
reply: the summed log-probability of the answer's letters (``"B"``; ``"ACD"`` for a multiple-answer question, whose
candidates are every set of two or more options, letters in order). The most likely candidate is the answer, so
every question gets one and the extraction rate is 100 by construction. This needs a backend that exposes
log-probabilities, a :class:`~medspec.llm.base.LikelihoodBackend` (e.g.
:class:`~medspec.llm.transformers.TransformersBackend`).

Example:
    >>> candidate_answers({"A": "x", "B": "y", "C": "z"}, multiple=True)
    ['AB', 'AC', 'BC', 'ABC']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

from medspec.bench.tasks import TaskItem
from medspec.llm.base import LikelihoodBackend

__all__ = ["candidate_answers", "choose_by_likelihood"]


def candidate_answers(options: Mapping[str, str], *, multiple: bool) -> list[str]:
    """Every answer a question allows: single letters, or every set of two or more letters (shortest first)."""
    letters = sorted(options)
    if not multiple:
        return letters
    return ["".join(group) for size in range(2, len(letters) + 1) for group in combinations(letters, size)]


def choose_by_likelihood(scorer: LikelihoodBackend, items: Sequence[TaskItem]) -> list[tuple[str, dict[str, float]]]:
    """The most likely answer of each choice item, with every candidate's log-probability.

    Raises:
        ValueError: When an item is not a choice item.
    """
    wrong = [item.id for item in items if item.kind != "choice"]
    if wrong:
        raise ValueError(f"likelihood scoring needs choice items; {wrong[0]!r} is not one")
    candidates = [candidate_answers(item.options, multiple=len(item.reference) > 1) for item in items]
    scores = scorer.continuation_logprobs([item.messages for item in items], candidates)
    results = []
    for options, logprobs in zip(candidates, scores, strict=True):
        table = dict(zip(options, logprobs, strict=True))
        results.append((max(table, key=table.__getitem__), table))
    return results
