"""ROUGE-1, ROUGE-2 and ROUGE-L F1 over jieba tokens, per answer, as ``rouge-chinese`` computes them.

The published Chinese medical evaluations call ``rouge_chinese.Rouge().get_scores`` on space-joined jieba tokens;
this metric gives the same numbers (the tests compare them) without its quirks: an empty answer scores 0 instead of
raising, and the longest common subsequence is found with a bit-parallel algorithm instead of a Python dynamic-
programming table, which makes ROUGE-L on long answers about a hundred times faster.

Like ``rouge-chinese`` by default, ROUGE-N counts each distinct n-gram once (``exclusive=True``); pass
``exclusive=False`` for the clipped-count ROUGE-N of Lin (2004). ROUGE-L is the F1 of the longest common
subsequence of the whole token sequences. F1 values are averaged over answers and multiplied by 100.

Example:
    >>> rouge = ChineseROUGE()
    >>> answer, reference = "术前需禁食8小时、禁饮2小时", "患者术前应禁食8小时，禁饮2小时"
    >>> scores = rouge.compute(predictions=[answer], references=[reference])
    >>> round(scores["rouge-l"], 2)
    73.68
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import evaluate

from medspec.bench.metrics._base import PAIR_FEATURES, InMemoryMetric, aggregate
from medspec.bench.metrics.overlap import overlap_stats
from medspec.bench.metrics.segmentation import segment_all
from medspec.lcs import lcs_length

__all__ = ["ChineseROUGE", "sentence_rouge_scores"]

ROUGE_NAMES = ("rouge-1", "rouge-2", "rouge-l")


def _f1(overlap: int, hyp_total: int, ref_total: int) -> float:
    if not overlap:
        return 0.0
    precision, recall = overlap / hyp_total, overlap / ref_total
    return 2 * precision * recall / (precision + recall)


def sentence_rouge_scores(
    reference: Sequence[str], hypothesis: Sequence[str], *, exclusive: bool = True
) -> dict[str, float]:
    """ROUGE-1/2/L F1 (in [0, 1]) of one tokenised hypothesis against one tokenised reference.

    Example:
        >>> scores = sentence_rouge_scores(["a", "b", "c"], ["a", "b"])
        >>> round(scores["rouge-1"], 4), round(scores["rouge-l"], 4)
        (0.8, 0.8)
    """
    if not hypothesis or not reference:
        return dict.fromkeys(ROUGE_NAMES, 0.0)
    stats = overlap_stats(hypothesis, reference)
    scores = {}
    for n in (1, 2):
        if exclusive:
            counts = (stats.shared_distinct[n - 1], stats.hyp_distinct[n - 1], stats.ref_distinct[n - 1])
        else:
            counts = (stats.matches[n - 1], stats.hyp_total[n - 1], stats.ref_total[n - 1])
        scores[f"rouge-{n}"] = _f1(*counts)
    scores["rouge-l"] = _f1(lcs_length(reference, hypothesis), len(hypothesis), len(reference))
    return scores


class ChineseROUGE(InMemoryMetric):
    """ROUGE-1/2/L F1 over jieba tokens, averaged per answer, x100 (an ``evaluate.Metric``).

    ``compute(predictions=[...], references=[...], exclusive=True, per_sample=False, num_proc=1)`` returns
    ``rouge-1``, ``rouge-2`` and ``rouge-l``; with ``per_sample=True`` the lists of per-answer scores.
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=__doc__ or "",
            citation="Lin, ROUGE: a package for automatic evaluation of summaries, ACL Workshop 2004.",
            inputs_description="predictions: answers; references: one reference answer each (strings).",
            features=PAIR_FEATURES,
            reference_urls=["https://pypi.org/project/rouge-chinese/"],
        )

    def _compute(
        self,
        predictions: list[str],
        references: list[str],
        exclusive: bool = True,
        per_sample: bool = False,
        num_proc: int | None = 1,
    ) -> dict[str, Any]:
        hypotheses = segment_all(predictions, num_proc=num_proc)
        targets = segment_all(references, num_proc=num_proc)
        rows = [sentence_rouge_scores(r, h, exclusive=exclusive) for h, r in zip(hypotheses, targets, strict=True)]
        return aggregate(rows, list(ROUGE_NAMES), per_sample=per_sample)
