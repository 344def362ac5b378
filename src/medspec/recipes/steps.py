"""The recipe's steps, each a function of the recipe configuration and the folder it writes.

:func:`~medspec.recipes.general_to_specific.run_recipe` runs them in order for one model;
:func:`~medspec.recipes.ablations.run_ablations` runs them once and trains several variants on top. Every step
returns a small dict of what it produced, which the run directory records in its manifest.

Example:
    >>> from medspec.recipes.config import load_recipe_config
    >>> config = load_recipe_config("anesthesiology")
    >>> run = RunDirectory(tempfile.mkdtemp(), config={})  # doctest: +SKIP
    >>> spec = load_specialty(config.specialty)  # doctest: +SKIP
    >>> run.run_step("data", lambda folder: prepare_data(spec, config, folder))  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from medspec.bench.benchmark import Benchmark
from medspec.bench.tasks import load_tasks
from medspec.crossfilter.pipeline import CrossFilter
from medspec.data.dedup import Decontaminator, deduplicate
from medspec.data.io import read_records, write_records
from medspec.data.schema import Record
from medspec.errors import ConfigError
from medspec.llm.transformers import TransformersBackend
from medspec.model_loading import load_model_and_tokenizer
from medspec.recipes.config import RecipeConfig, specialty_reference
from medspec.run_dir import RunDirectory
from medspec.specialty import Specialty
from medspec.training.loading import load_trained_model
from medspec.training.stages import StageConfig
from medspec.training.trainer import TrainingConfig
from medspec.vocab.checkpoint import extend_checkpoint

__all__ = [
    "POOL_FILE",
    "candidate_pool",
    "cross_filter",
    "evaluate",
    "extend_vocabulary",
    "heldout_evaluator",
    "materialise_base",
    "prepare_data",
    "recipe_benchmark",
    "resolve",
    "resolve_stage",
    "training_config",
    "unfiltered_pool",
]

POOL_FILE = "pool.jsonl"


def prepare_data(spec: Specialty, config: RecipeConfig, folder: Path) -> dict[str, Any]:
    """Step ``data``: de-duplicate and decontaminate the general and specialty instruction data."""
    settings = config.data
    benchmark = [r for task in spec.benchmark for r in read_records(task.file, task.read)]
    decontaminator = Decontaminator(
        benchmark, ngram=settings.decontamination_ngram, threshold=settings.decontamination_threshold
    )
    outputs: dict[str, Any] = {}
    for name, paths in (("general", spec.data.general_instructions), ("specialty", spec.data.instructions)):
        records = [r for p in paths for r in read_records(p, spec.data.options(p))]
        unique = deduplicate(records, threshold=settings.dedup_threshold)
        report = decontaminator.check(unique.kept)
        write_records(folder / f"{name}.jsonl", report.clean)
        outputs[name] = {
            "read": len(records),
            "duplicates": len(unique.removed),
            "benchmark_overlaps": len(report.overlaps),
            "kept": len(report.clean),
            "file": f"{name}.jsonl",
        }
        (folder / f"{name}.overlaps.json").write_text(
            json.dumps(report.summary(), ensure_ascii=False, indent=1), encoding="utf-8"
        )
    return outputs


def materialise_base(config: RecipeConfig, folder: Path) -> dict[str, Any]:
    """Step ``base``: load the base model once and save it as a plain folder every later step loads quickly."""
    model, tokenizer = load_model_and_tokenizer(config.base_model)
    model.save_pretrained(folder / "model")
    tokenizer.save_pretrained(folder / "model")
    return {"model": "model", "parameters": sum(p.numel() for p in model.parameters()), "vocab": len(tokenizer)}


def extend_vocabulary(
    run: RunDirectory, spec: Specialty, config: RecipeConfig, base: Path, folder: Path
) -> dict[str, Any]:
    """Step ``vocab``: extend the base tokenizer with mined vocabulary and bring the model along."""
    extension = extend_checkpoint(
        base,
        corpus=resolve(run, config, spec, config.vocab.corpus),
        out=folder / "model",
        config=config.vocab.settings,
        lexicon=spec.lexicon_terms(),
        heldout=[task.file for task in spec.benchmark],
    )
    report = extension.report
    return {
        "model": "model",
        "added": report["added"],
        "vocab_size": report["vocab_size"],
        "tokens_per_character": report["tokens_per_character"],
        "dropped": report["dropped"],
    }


def candidate_pool(spec: Specialty, config: RecipeConfig) -> list[Record]:
    """The candidates CrossFilter judges in ``source: pool`` mode: the pool files, cut to the profile's limit.

    Raises:
        ConfigError: When the recipe generates its candidates (``settings.source`` is not ``pool``).
    """
    step = config.crossfilter
    if step.settings.source != "pool":
        raise ConfigError("crossfilter.settings.source", "a candidate pool needs source: pool")
    files = step.settings.pool.files or spec.data.candidates
    items = [r for p in files for r in read_records(p, allow_empty=frozenset({"output"}))]
    return items[: step.profiles[step.profile].pool_limit] if step.profile in step.profiles else items


def cross_filter(spec: Specialty, config: RecipeConfig, base: Path, folder: Path) -> dict[str, Any]:
    """Step ``crossfilter``: rules, cross scoring and filtering of the candidate pool (or of generated data)."""
    step = config.crossfilter
    profile = step.profiles[step.profile]
    # A local backend on the base model loads the plain folder of the base step (a GGUF file takes much longer).
    backends = {
        name: replace(backend, model=str(base))
        if backend.kind == "transformers" and backend.model == config.base_model
        else backend
        for name, backend in profile.backends.items()
    }
    pool = step.settings.pool
    if step.settings.source == "pool" and profile.pool_limit is not None:
        write_records(folder / POOL_FILE, candidate_pool(spec, config))
        pool = replace(pool, files=[folder / POOL_FILE])
    settings = replace(step.settings, specialty=config.specialty, backends=backends, pool=pool, scoring=profile.scoring)
    result = CrossFilter(settings, specialty=spec).run(folder / "run")
    return {
        "kept_file": str((result.folder / "kept.jsonl").relative_to(folder)),
        "kept": len(result.kept),
        "steps": result.report["steps"],
        "flaws": result.report.get("flaws"),
        "profile": step.profile,
    }


def unfiltered_pool(spec: Specialty, config: RecipeConfig, folder: Path) -> dict[str, Any]:
    """Step ``pool``: the candidates CrossFilter would judge, taken as they are (the no-CrossFilter ablation).

    Candidates with an empty answer cannot be trained on and are left out; nothing else is.
    """
    items = candidate_pool(spec, config)
    answered = [r for r in items if getattr(r, "output", "").strip()]
    write_records(folder / POOL_FILE, answered)
    return {"file": POOL_FILE, "candidates": len(items), "kept": len(answered)}


def resolve(run: RunDirectory, config: RecipeConfig, spec: Specialty, references: Sequence[str | Path]) -> list[Path]:
    """Turn data references (``data:general``, ``crossfilter:kept``, ``specialty:corpus``, paths) into files.

    ``crossfilter:kept`` is the kept items when CrossFilter ran, the unfiltered pool when it is off with
    ``unfiltered: true``, and nothing otherwise.
    """
    files: list[Path] = []
    for reference in map(str, references):
        kind, _, key = reference.partition(":")
        if kind == "data" and key in ("general", "specialty"):
            files.append(run.root / "data" / run.outputs("data")[key]["file"])
        elif kind == "crossfilter" and key == "kept":
            if config.crossfilter.enabled:
                files.append(run.root / "crossfilter" / run.outputs("crossfilter")["kept_file"])
            elif config.crossfilter.unfiltered:
                files.append(run.root / "pool" / run.outputs("pool")["file"])
        elif kind == "specialty":
            files += specialty_reference(spec, key)
        else:
            files.append(Path(reference))
    return files


def resolve_stage(run: RunDirectory, config: RecipeConfig, spec: Specialty, stage: StageConfig) -> StageConfig:
    """A stage with its data references turned into files."""
    return replace(
        stage,
        data=resolve(run, config, spec, stage.data),
        instruction_data=resolve(run, config, spec, stage.instruction_data),
        replay=replace(stage.replay, data=resolve(run, config, spec, stage.replay.data)),
    )


def training_config(run: RunDirectory, config: RecipeConfig, spec: Specialty, base: Path) -> TrainingConfig:
    """The recipe's active stages, data resolved, starting from model folder ``base``."""
    return TrainingConfig(
        base_model=str(base), stages=[resolve_stage(run, config, spec, s) for s in config.training.active_stages()]
    )


def recipe_benchmark(config: RecipeConfig, spec: Specialty) -> Benchmark:
    """The benchmark the recipe scores every model on: its tasks, settings and ``task_settings``.

    Raises:
        ConfigError: When ``task_settings`` names a task the benchmark does not have.

    Example:
        >>> from medspec.recipes.config import load_recipe_config
        >>> config = load_recipe_config("anesthesiology", ["benchmark.task_settings={AneQA-sample: {limit: 3}}"])
        >>> from medspec.specialty import load_specialty
        >>> bench = recipe_benchmark(config, load_specialty(config.specialty))
        >>> len(bench.items(next(t for t in bench.tasks if t.name == "AneQA-sample")))
        3
    """
    step = config.benchmark
    bench = Benchmark.from_specialty(spec, tasks=step.tasks or None, config=step.settings)
    unknown = sorted(set(step.task_settings) - {task.name for task in bench.tasks})
    if unknown:
        raise ConfigError("benchmark.task_settings", f"{unknown[0]!r} is not a task of this benchmark")
    for task in bench.tasks:
        task.settings = {**task.settings, **step.task_settings.get(task.name, {})}
    return bench


def evaluate(config: RecipeConfig, spec: Specialty, model_folder: Path, name: str, folder: Path) -> dict[str, Any]:
    """Step ``bench-<name>``: the benchmark on one model (predictions resume if interrupted)."""
    bench = recipe_benchmark(config, spec)
    model, tokenizer = load_trained_model(model_folder, device="auto")
    backend = TransformersBackend(model.eval(), tokenizer, name=name, batch_size=config.benchmark.batch_size)
    result = bench.run(backend, out=folder, model=name)
    return {"headlines": result.headlines()}


def heldout_evaluator(config: RecipeConfig, spec: Specialty) -> Callable[[Any, Any], dict[str, float]] | None:
    """What a stage with ``eval_steps`` measures during training: the headline of each ``training.heldout`` task.

    The tasks are usually perplexity tasks (bits per character moves step by step, where accuracies do not); each
    is cut to ``max_items``. None when the recipe names no held-out task.
    """
    heldout = config.training.heldout
    if not heldout.tasks:
        return None
    bench = Benchmark(
        load_tasks(heldout.tasks, specialty=spec),
        config=replace(config.benchmark.settings, limit=heldout.max_items, bootstrap_resamples=1),
    )

    def measure(model: Any, tokenizer: Any) -> dict[str, float]:
        backend = TransformersBackend(model, tokenizer, name="training", batch_size=config.benchmark.batch_size)
        result = bench.run(backend, model="training")
        return {name: float(task.figures[task.headline].value) for name, task in result.tasks.items()}

    return measure
