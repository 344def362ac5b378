"""An evaluation gate for training stages: did the stage make the model worse on a benchmark subset?

:func:`benchmark_gate` builds the callable :class:`~medspec.training.GeneralToSpecificTrainer` calls after a stage
with an ``eval_gate``: it runs the gate's tasks (``max_items`` each) on the model before and after the stage and
passes when the tasks' headline figures did not get worse by more than ``tolerance`` on average (a figure's change
counts as an improvement when it goes the better way: up for accuracies and overlap metrics, down for bits per
character, so a perplexity task can gate a stage).

Example:
    >>> gate = benchmark_gate(specialty="anesthesiology")
    >>> trainer = GeneralToSpecificTrainer(config, eval_gate=gate)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.tasks import load_tasks
from medspec.llm.transformers import TransformersBackend
from medspec.specialty import Specialty
from medspec.training.loading import load_trained_model
from medspec.training.stages import StageConfig

__all__ = ["benchmark_gate"]


def _score(bench: Benchmark, folder: Path, name: str, batch_size: int) -> dict[str, float]:
    model, tokenizer = load_trained_model(folder, device="auto")
    backend = TransformersBackend(model.eval(), tokenizer, name=name, batch_size=batch_size)
    result = bench.run(backend, model=name)
    return {task: float(r.figures[r.headline].value) for task, r in result.tasks.items()}


def _improvement(before: dict[str, float], after: dict[str, float], lower_is_better: set[str]) -> float:
    """Mean change of the tasks' headline figures, each signed so that positive is better."""
    changes = [(before[t] - after[t]) if t in lower_is_better else (after[t] - before[t]) for t in before]
    return sum(changes) / len(changes)


def benchmark_gate(
    *,
    specialty: str | Path | Specialty = "anesthesiology",
    settings: BenchmarkConfig | None = None,
    batch_size: int = 16,
) -> Callable[[StageConfig, Path, Path], dict[str, Any]]:
    """The gate: ``gate(stage, model_before, model_after) -> {"passed", "before", "after", ...}``.

    Args:
        specialty: Where the gate's task names are looked up (files work for any specialty).
        settings: How items are asked and scored; ``limit`` is replaced by the gate's ``max_items``.
        batch_size: Items a local model generates together.
    """
    base = settings or BenchmarkConfig(bootstrap_resamples=200)

    def gate(stage: StageConfig, before: Path, after: Path) -> dict[str, Any]:
        assert stage.eval_gate is not None
        bench = Benchmark(
            load_tasks(stage.eval_gate.tasks, specialty=specialty),
            config=replace(base, limit=stage.eval_gate.max_items),
        )
        scores = {
            "before": _score(bench, before, "before", batch_size),
            "after": _score(bench, after, "after", batch_size),
        }
        lower = {task.name for task in bench.tasks if task.kind == "perplexity"}
        change = _improvement(scores["before"], scores["after"], lower)
        mean = {k: sum(v.values()) / len(v) for k, v in scores.items()}
        return {
            "passed": change >= -stage.eval_gate.tolerance,
            "tasks": scores,
            "before": round(mean["before"], 3),
            "after": round(mean["after"], 3),
            "improvement": round(change, 4),
        }

    return gate
