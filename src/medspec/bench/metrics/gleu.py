"""GLEU over jieba tokens, per answer: NLTK's ``sentence_gleu`` (Wu et al., 2016).

GLEU is the smaller of n-gram precision and recall with all n-grams of orders 1..4 pooled: matched n-grams divided by
the larger of the answer's and the reference's n-gram totals. Scores are averaged over answers and multiplied by 100;
the tests check each one against NLTK. An empty answer or reference scores 0, as NLTK gives.

Example:
    >>> gleu = ChineseGLEU()
    >>> gleu.compute(predictions=["术前禁食八小时"], references=["术前禁食八小时"])["gleu"]
    100.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import evaluate

from medspec.bench.metrics._base import PAIR_FEATURES, InMemoryMetric, aggregate
from medspec.bench.metrics.overlap import overlap_stats
from medspec.bench.metrics.segmentation import segment_all

__all__ = ["ChineseGLEU", "sentence_gleu_score"]


def sentence_gleu_score(reference: Sequence[str], hypothesis: Sequence[str]) -> float:
    """GLEU (in [0, 1]) of one tokenised hypothesis against one tokenised reference.

    Example:
        >>> sentence_gleu_score(["a", "b", "c"], ["a", "b"])
        0.5
    """
    if not hypothesis or not reference:
        return 0.0
    stats = overlap_stats(hypothesis, reference)
    return sum(stats.matches) / max(sum(stats.hyp_total), sum(stats.ref_total))


class ChineseGLEU(InMemoryMetric):
    """GLEU over jieba tokens, averaged per answer, x100 (an ``evaluate.Metric``).

    ``compute(predictions=[...], references=[...], per_sample=False, num_proc=1)`` returns ``gleu``; with
    ``per_sample=True`` the list of per-answer scores.
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=__doc__ or "",
            citation="Wu et al., Google's neural machine translation system, arXiv:1609.08144, 2016.",
            inputs_description="predictions: answers; references: one reference answer each (strings).",
            features=PAIR_FEATURES,
            reference_urls=["https://www.nltk.org/api/nltk.translate.gleu_score.html"],
        )

    def _compute(
        self, predictions: list[str], references: list[str], per_sample: bool = False, num_proc: int | None = 1
    ) -> dict[str, Any]:
        hypotheses = segment_all(predictions, num_proc=num_proc)
        targets = segment_all(references, num_proc=num_proc)
        rows = [{"gleu": sentence_gleu_score(r, h)} for h, r in zip(hypotheses, targets, strict=True)]
        return aggregate(rows, ["gleu"], per_sample=per_sample)
