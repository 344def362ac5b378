"""Distinct-1 and Distinct-2: how little an answer repeats itself (Li et al., 2016).

Per answer, Distinct-n is the number of distinct token n-grams over the number of n-grams (jieba tokens); the values
are averaged over answers and multiplied by 100, as the Chinese medical LLM papers report them. An answer with no
n-gram of that order (empty, or a single token for Distinct-2) scores 0. ``per_response=False`` gives the corpus-level
variant of the original paper instead: distinct n-grams over all n-grams of all answers.

Example:
    >>> distinct = Distinct()
    >>> distinct.compute(predictions=["麻醉 麻醉 麻醉 诱导"])["distinct-1"]
    50.0
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import evaluate

from medspec.bench.metrics._base import PREDICTION_FEATURES, InMemoryMetric, aggregate
from medspec.bench.metrics.overlap import ngram_counts
from medspec.bench.metrics.segmentation import segment_all

__all__ = ["Distinct"]

_ORDERS = (1, 2)


class Distinct(InMemoryMetric):
    """Distinct-1/2 over jieba tokens (an ``evaluate.Metric``).

    ``compute(predictions=[...], per_response=True, per_sample=False, num_proc=1)`` returns ``distinct-1`` and
    ``distinct-2``; with ``per_sample=True`` (per-response mode only) the lists of per-answer scores.
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=__doc__ or "",
            citation="Li et al., A diversity-promoting objective function for neural conversation models, NAACL 2016.",
            inputs_description="predictions: answers (strings).",
            features=PREDICTION_FEATURES,
        )

    def _compute(
        self, predictions: list[str], per_response: bool = True, per_sample: bool = False, num_proc: int | None = 1
    ) -> dict[str, Any]:
        answers = segment_all(predictions, num_proc=num_proc)
        if not per_response:
            if per_sample:
                raise ValueError(
                    "per_sample=True needs per_response=True: a corpus-level score has no per-answer parts"
                )
            return {f"distinct-{n}": 100 * _corpus_distinct(answers, n) for n in _ORDERS}
        rows = [{f"distinct-{n}": _distinct(ngram_counts(tokens, n)) for n in _ORDERS} for tokens in answers]
        return aggregate(rows, [f"distinct-{n}" for n in _ORDERS], per_sample=per_sample)


def _distinct(counts: Counter[tuple[str, ...]]) -> float:
    total = sum(counts.values())
    return len(counts) / total if total else 0.0


def _corpus_distinct(answers: list[tuple[str, ...]], n: int) -> float:
    pooled: Counter[tuple[str, ...]] = Counter()
    for tokens in answers:
        pooled.update(ngram_counts(tokens, n))
    return _distinct(pooled)
