"""How a model's answer to a multiple-choice question is taken, in the two modes that read probabilities.

``letter``
    The question is asked with its options listed, and each possible answer is scored as the start of the reply:
    the summed log-probability of its letters (``"B"``; ``"ACD"`` for a multiple-answer question, whose candidates
    are every set of two or more options, letters in order). This is MMLU's and CMMLU's original protocol. A small
    model's letter probabilities mostly reflect a preference for a letter, not knowledge: use it with circular
    evaluation, which exposes that.
``cloze``
    The question is asked without its options, and each option's *text* is scored as the reply (a multiple-answer
    candidate is its texts joined by ``、``). The answer is the candidate with the highest log-likelihood (``Acc``)
    or the highest log-likelihood per character (``Acc (norm)``), as lm-evaluation-harness's ``acc`` and
    ``acc_norm`` (Gao et al., 2021). No letters are shown, so a letter preference cannot help; it suits small and
    base models.

Both need a :class:`~medspec.llm.base.LikelihoodBackend`; every question gets an answer. The third mode,
``generate``, reads the letters out of a generated answer (:mod:`medspec.bench.choice.extract`).

Example:
    >>> candidate_answers({"A": "x", "B": "y", "C": "z"}, multiple=True)
    ['AB', 'AC', 'BC', 'ABC']
    >>> cloze_text({"A": "芬太尼", "B": "瑞芬太尼", "C": "吗啡"}, "AC")
    '芬太尼、吗啡'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

from medspec.bench.tasks import TaskItem
from medspec.llm.base import LikelihoodBackend

__all__ = ["best", "candidate_answers", "choose_by_cloze", "choose_by_letter", "cloze_text"]


def candidate_answers(options: Mapping[str, str], *, multiple: bool) -> list[str]:
    """Every answer a question allows: single letters, or every set of two or more letters (shortest first)."""
    letters = sorted(options)
    if not multiple:
        return letters
    return ["".join(group) for size in range(2, len(letters) + 1) for group in combinations(letters, size)]


def cloze_text(options: Mapping[str, str], candidate: str) -> str:
    """The reply a cloze candidate is scored as: its options' texts, joined by ``、``."""
    return "、".join(options[letter] for letter in candidate)


def best(table: Mapping[str, float], options: Mapping[str, str] | None = None) -> str:
    """The candidate with the highest score; per character of its cloze text when ``options`` are given.

    Ties go to the first candidate in ``table``'s order.
    """
    if options is None:
        return max(table, key=table.__getitem__)
    return max(table, key=lambda c: table[c] / max(1, len(cloze_text(options, c))))


def _check(items: Sequence[TaskItem]) -> None:
    wrong = [item.id for item in items if item.kind != "choice"]
    if wrong:
        raise ValueError(f"option scoring needs choice items; {wrong[0]!r} is not one")


def choose_by_letter(scorer: LikelihoodBackend, items: Sequence[TaskItem]) -> list[tuple[str, dict[str, float]]]:
    """The most likely letters of each choice item, with every candidate's log-probability.

    Raises:
        ValueError: When an item is not a choice item.
    """
    _check(items)
    candidates = [candidate_answers(item.options, multiple=len(item.reference) > 1) for item in items]
    scores = scorer.continuation_logprobs([item.messages for item in items], candidates)
    tables = [dict(zip(c, s, strict=True)) for c, s in zip(candidates, scores, strict=True)]
    return [(best(table), table) for table in tables]


def choose_by_cloze(scorer: LikelihoodBackend, items: Sequence[TaskItem]) -> list[tuple[str, dict[str, float]]]:
    """The candidate whose option text is most likely per character, with every candidate's log-probability.

    The table is keyed by letters (``"B"``, ``"AC"``); the raw and the per-character choice are both read from it.

    Raises:
        ValueError: When an item is not a choice item.
    """
    _check(items)
    candidates = [candidate_answers(item.options, multiple=len(item.reference) > 1) for item in items]
    texts = [[cloze_text(item.options, c) for c in cs] for item, cs in zip(items, candidates, strict=True)]
    scores = scorer.continuation_logprobs([item.messages for item in items], texts)
    tables = [dict(zip(c, s, strict=True)) for c, s in zip(candidates, scores, strict=True)]
    return [(best(table, item.options), table) for item, table in zip(items, tables, strict=True)]
