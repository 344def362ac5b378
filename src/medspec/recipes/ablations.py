"""Ablations: the recipe and variants that each leave one part out, trained side by side in one run directory.

The Hypnos paper's question, "which part of the method does what", asked the way a paper's ablation table asks
it: every variant starts from the same base, with the same data, budget and seed, and differs from the recipe in one
thing only. Steps two variants share run once (the data, the base, the extended vocabulary, CrossFilter, and any
training stage whose input model and settings are the same: the no-CrossFilter variant and the general-only variant
reuse the recipe's general stage). Each variant's model is then benchmarked, and the report gives every model's
difference from the base with its paired bootstrap interval.

==================  ==========================================================================================
variant             what differs from the recipe
==================  ==========================================================================================
``recipe``          nothing: the whole recipe
``no-vocab``        the base tokenizer: no vocabulary extension
``no-general``      no general stage: the specialty stage starts from the (extended) base
``no-crossfilter``  the raw candidate pool trains in place of the items CrossFilter kept
``general-only``    the general stage alone: no specialty stage
==================  ==========================================================================================

The run directory resumes like every run: a killed run skips what it finished and continues the stage it was in.

Example:
    >>> ablation = run_ablations("anesthesiology", out="runs/ablations")  # doctest: +SKIP
    >>> ablation.models["no-vocab"]  # doctest: +SKIP
    PosixPath('runs/ablations/train-no-vocab-specialty/model')
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medspec.bench.report import Report
from medspec.bench.results import BenchmarkResult
from medspec.config import to_dict
from medspec.errors import ConfigError
from medspec.recipes.config import ABLATIONS, RecipeConfig, load_recipe_config
from medspec.recipes.gate import benchmark_gate
from medspec.recipes.steps import (
    cross_filter,
    evaluate,
    extend_vocabulary,
    heldout_evaluator,
    materialise_base,
    prepare_data,
    resolve_stage,
    unfiltered_pool,
)
from medspec.run_dir import RunDirectory
from medspec.specialty import Specialty, load_specialty
from medspec.training.trainer import GeneralToSpecificTrainer, TrainingConfig

__all__ = ["DEFAULT_VARIANTS", "AblationRun", "Variant", "run_ablations"]


@dataclass(frozen=True)
class Variant:
    """One model of an ablation study: the recipe with some settings changed.

    Attributes:
        name: Its name in folders and reports (letters, digits, ``-``).
        overrides: ``key.path=value`` changes to the recipe.
        description: What it leaves out, in words.
    """

    name: str
    overrides: tuple[str, ...] = ()
    description: str = ""


DEFAULT_VARIANTS = (
    Variant("recipe", (), "the whole recipe"),
    Variant("no-vocab", tuple(ABLATIONS["no-vocab"]), "no vocabulary extension"),
    Variant("no-general", tuple(ABLATIONS["no-general"]), "no general stage"),
    Variant("no-crossfilter", tuple(ABLATIONS["no-crossfilter"]), "the raw candidate pool instead of the kept items"),
    Variant("general-only", ("training.skip=[specialty]",), "the general stage alone"),
)


@dataclass
class AblationRun:
    """What an ablation study produced.

    Attributes:
        root: The run directory.
        variants: The variants, by name.
        models: Each variant's final model folder (and ``base``).
        stages: Each variant's training steps in order (``train-recipe-general``, ...), shared ones included.
        results: Each model's benchmark result, base first.
        outputs: Every step's outputs, by step name.
    """

    root: Path
    variants: dict[str, Variant]
    models: dict[str, Path]
    stages: dict[str, list[str]]
    results: list[BenchmarkResult]
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def report(self) -> Path:
        """The comparison report's folder (``report.md``, ``report.json`` and plots)."""
        return self.root / "report"


def _stage_key(model: Path, stage: Any) -> str:
    """What makes two training stages the same: the model they start from and every setting."""
    return json.dumps([str(model), to_dict(stage)], sort_keys=True, default=str)


def run_ablations(
    specialty: str,
    *,
    out: str | Path,
    variants: Sequence[Variant] = DEFAULT_VARIANTS,
    overrides: Sequence[str] = (),
    recipe: str | Path | None = None,
) -> AblationRun:
    """Train and benchmark the recipe and its variants in run directory ``out`` (resumed when it exists).

    Args:
        specialty: A built-in specialty name or a specialty folder.
        out: The run directory.
        variants: The models to build; the base model is always benchmarked first.
        overrides: ``key.path=value`` changes to the recipe for every variant (the study's budget, say).
        recipe: A recipe YAML other than the specialty's own ``recipe.yaml``.

    Raises:
        ConfigError: For two variants with one name, or variants that differ in their data cleaning.
    """
    names = [v.name for v in variants]
    if len(set(names)) != len(names) or "base" in names:
        raise ConfigError("variants", f"variant names must be unique and not 'base', got {names}")
    configs = {v.name: load_recipe_config(specialty, [*overrides, *v.overrides], path=recipe) for v in variants}
    first = next(iter(configs.values()))
    if any(to_dict(c.data) != to_dict(first.data) or c.specialty != first.specialty for c in configs.values()):
        raise ConfigError("variants", "variants share their data: change data cleaning for all of them, in overrides")
    spec = load_specialty(first.specialty)
    run = RunDirectory(
        out,
        config={"variants": {v.name: list(v.overrides) for v in variants}, "recipe": to_dict(first)},
        inputs=sorted(spec.files().values()),
    )
    outputs: dict[str, Any] = {"data": run.run_step("data", lambda folder: prepare_data(spec, first, folder))}
    outputs["base"] = run.run_step("base", lambda folder: materialise_base(first, folder))
    base = run.root / "base" / "model"
    extended = _shared_steps(run, spec, configs, base, outputs)

    trained: dict[str, Path] = {}
    models, stages = {"base": base}, {}
    for name, config in configs.items():
        model, stages[name] = extended if config.vocab.enabled else base, []
        for stage in config.training.active_stages():
            resolved = resolve_stage(run, config, spec, stage)
            key = _stage_key(model, resolved)
            if key not in trained:
                trained[key] = _train(run, config, spec, model, replace(resolved, name=f"{name}-{stage.name}"), outputs)
            model = trained[key]
            stages[name].append(model.parent.name)
        models[name] = model

    results = []
    for name, folder in models.items():
        step = f"bench-{name}"
        outputs[step] = run.run_step(step, lambda out_dir, f=folder, n=name: evaluate(first, spec, f, n, out_dir))
        results.append(BenchmarkResult.load(run.root / step))
    Report(results).save(run.root / "report")
    return AblationRun(run.root, {v.name: v for v in variants}, models, stages, results, outputs)


def _shared_steps(
    run: RunDirectory, spec: Specialty, configs: dict[str, RecipeConfig], base: Path, outputs: dict[str, Any]
) -> Path:
    """The steps before training that any variant needs, run once; returns the extended model's folder."""
    with_vocab = [c for c in configs.values() if c.vocab.enabled]
    if with_vocab:
        config = with_vocab[0]
        outputs["vocab"] = run.run_step("vocab", lambda folder: extend_vocabulary(run, spec, config, base, folder))
    filtered = [c for c in configs.values() if c.crossfilter.enabled]
    if filtered:
        config = filtered[0]
        outputs["crossfilter"] = run.run_step("crossfilter", lambda folder: cross_filter(spec, config, base, folder))
    unfiltered = [c for c in configs.values() if not c.crossfilter.enabled and c.crossfilter.unfiltered]
    if unfiltered:
        config = unfiltered[0]
        outputs["pool"] = run.run_step("pool", lambda folder: unfiltered_pool(spec, config, folder))
    return run.root / "vocab" / "model"


def _train(
    run: RunDirectory, config: RecipeConfig, spec: Specialty, model: Path, stage: Any, outputs: dict[str, Any]
) -> Path:
    """One training stage from ``model``, as step ``train-<variant>-<stage>``; returns its model folder."""
    gate = benchmark_gate(specialty=spec, settings=config.benchmark.settings, batch_size=config.benchmark.batch_size)
    trainer = GeneralToSpecificTrainer(
        TrainingConfig(base_model=str(model), stages=[stage]), eval_gate=gate, measure=heldout_evaluator(config, spec)
    )
    result = trainer.train(run)[stage.name]
    outputs[f"train-{stage.name}"] = vars(result)
    return run.root / f"train-{stage.name}" / result.model
