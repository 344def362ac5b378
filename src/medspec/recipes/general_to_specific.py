"""The general-to-specific recipe, top to bottom, in one resumable run directory.

Each step is a function of :mod:`medspec.recipes.steps`:

1. ``data``: clean the general and specialty instruction data: duplicates out, anything overlapping the benchmark out.
2. ``base``: a plain model folder from the base model (a GGUF file is de-quantised once, here).
3. ``vocab``: extend the vocabulary with the specialty's Chinese and domain pieces; resize and initialise the model.
4. ``crossfilter``: clean and cross-score generated instruction data; keep what both rules and judges pass (with
   CrossFilter off and ``crossfilter.unfiltered``, ``pool``: the candidates as they are, for the ablation).
5. ``train-<stage>``: the training stages in order (Hypnos: LoRA on general data with the new rows trainable, then
   full fine-tuning on specialty data), each starting from the previous one's model; a stage with ``eval_steps``
   logs its held-out curve.
6. ``bench-<model>``: the benchmark on the base model and on every stage's model, and one report comparing them.

Every step is recorded in the run directory and skipped when it is complete, so running the same command again
resumes. Every knob is in :class:`~medspec.recipes.config.RecipeConfig`; a specialty's ``recipe.yaml`` holds its
defaults and ``--set key=value`` changes any of them.

Example:
    >>> outputs = run_recipe("anesthesiology", out="runs/demo")  # doctest: +SKIP
    >>> print(summary_table(outputs))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medspec.bench.report import Report
from medspec.bench.results import BenchmarkResult
from medspec.config import to_dict
from medspec.errors import ConfigError
from medspec.recipes.config import load_recipe_config
from medspec.recipes.gate import benchmark_gate
from medspec.recipes.steps import (
    cross_filter,
    evaluate,
    extend_vocabulary,
    heldout_evaluator,
    materialise_base,
    prepare_data,
    training_config,
    unfiltered_pool,
)
from medspec.recipes.summary import summary_table
from medspec.run_dir import RunDirectory
from medspec.specialty import load_specialty
from medspec.training.trainer import GeneralToSpecificTrainer

__all__ = ["run_recipe", "summary_table"]


def run_recipe(
    specialty: str, *, out: str | Path, overrides: Sequence[str] = (), recipe: str | Path | None = None
) -> dict[str, Any]:
    """Run (or resume) a specialty's recipe in run directory ``out``.

    Args:
        specialty: A built-in specialty name or a specialty folder.
        out: The run directory.
        overrides: ``key.path=value`` changes to the recipe.
        recipe: A recipe YAML other than the specialty's own ``recipe.yaml``.

    Returns:
        The outputs of every step, by step name (see :func:`summary_table`).
    """
    config = load_recipe_config(specialty, overrides, path=recipe)
    spec = load_specialty(config.specialty)
    run = RunDirectory(out, config=to_dict(config), inputs=sorted(spec.files().values()))
    outputs: dict[str, Any] = {}

    outputs["data"] = run.run_step("data", lambda folder: prepare_data(spec, config, folder))

    outputs["base"] = run.run_step("base", lambda folder: materialise_base(config, folder))
    model = run.root / "base" / "model"

    if config.vocab.enabled:
        outputs["vocab"] = run.run_step("vocab", lambda folder: extend_vocabulary(run, spec, config, model, folder))
        model = run.root / "vocab" / "model"

    if config.crossfilter.enabled:
        base = run.root / "base" / "model"
        outputs["crossfilter"] = run.run_step("crossfilter", lambda folder: cross_filter(spec, config, base, folder))
    elif config.crossfilter.unfiltered:
        outputs["pool"] = run.run_step("pool", lambda folder: unfiltered_pool(spec, config, folder))

    models = {"base": run.root / "base" / "model"}
    if config.training.active_stages():
        gate = benchmark_gate(
            specialty=spec, settings=config.benchmark.settings, batch_size=config.benchmark.batch_size
        )
        trainer = GeneralToSpecificTrainer(
            training_config(run, config, spec, model), eval_gate=gate, measure=heldout_evaluator(config, spec)
        )
        trained = trainer.train(run)
        for name, result in trained.items():
            outputs[f"train-{name}"] = vars(result)
            models[name] = run.root / f"train-{name}" / result.model

    if config.benchmark.enabled:
        results = []
        for name, folder in models.items():
            outputs[f"bench-{name}"] = run.run_step(
                f"bench-{name}", lambda out_dir, f=folder, n=name: evaluate(config, spec, f, n, out_dir)
            )
            results.append(BenchmarkResult.load(run.root / f"bench-{name}"))
        Report(results).save(run.root / "report")
    if not outputs:
        raise ConfigError("", "the recipe has no step enabled")
    return outputs
