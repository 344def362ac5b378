"""What medspec's metrics share: in-memory by default, and the string-pair input schema."""

from __future__ import annotations

import math
from typing import Any

import datasets
import evaluate

PAIR_FEATURES = datasets.Features({"predictions": datasets.Value("string"), "references": datasets.Value("string")})
PREDICTION_FEATURES = datasets.Features({"predictions": datasets.Value("string")})


class InMemoryMetric(evaluate.Metric):
    """An ``evaluate.Metric`` that keeps its inputs in memory unless told otherwise.

    ``evaluate`` otherwise writes every batch to an Arrow cache under ``~/.cache/huggingface``, which single-process
    evaluation does not need.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("keep_in_memory", True)
        super().__init__(**kwargs)


def aggregate(rows: list[dict[str, float]], names: list[str], *, per_sample: bool) -> dict[str, Any]:
    """Scale per-answer scores in [0, 1] to x100 and average them, or return the per-answer lists."""
    columns = {name: [100 * row[name] for row in rows] for name in names}
    if per_sample:
        return columns
    return {name: (math.fsum(values) / len(values) if values else 0.0) for name, values in columns.items()}
