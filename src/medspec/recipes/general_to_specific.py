"""The general-to-specific recipe, top to bottom, in one resumable run directory.

1. ``data``: clean the general and specialty instruction data: duplicates out, anything overlapping the benchmark out.
2. ``base``: a plain model folder from the base model (a GGUF file is de-quantised once, here).
3. ``vocab``: extend the vocabulary with the specialty's Chinese and domain pieces; resize and initialise the model.
4. ``crossfilter``: clean and cross-score generated instruction data; keep what both rules and judges pass.
5. ``train-<stage>``: the training stages in order (Hypnos: LoRA on general data with the new rows trainable, then
   full fine-tuning on specialty data), each starting from the previous one's model.
6. ``bench-<model>``: the benchmark on the base model and on every stage's model, and one report comparing them.

Every step is recorded in the run directory and skipped when it is complete, so running the same command again
resumes. Every knob is in :class:`~medspec.recipes.config.RecipeConfig`; a specialty's ``recipe.yaml`` holds its
defaults and ``--set key=value`` changes any of them.

Example:
    >>> outputs = run_recipe("anesthesiology", out="runs/demo")  # doctest: +SKIP
    >>> print(summary_table(outputs))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from medspec.bench.benchmark import Benchmark
from medspec.bench.gate import benchmark_gate
from medspec.bench.report import Report
from medspec.bench.results import BenchmarkResult
from medspec.config import to_dict
from medspec.crossfilter.pipeline import CrossFilter
from medspec.data.dedup import Decontaminator, deduplicate
from medspec.data.io import read_records, write_records
from medspec.errors import ConfigError
from medspec.llm.transformers import TransformersBackend
from medspec.model_loading import load_model_and_tokenizer
from medspec.recipes.config import RecipeConfig, load_recipe_config, specialty_reference
from medspec.recipes.summary import summary_table
from medspec.run_dir import RunDirectory
from medspec.specialty import Specialty, load_specialty
from medspec.training.trainer import GeneralToSpecificTrainer, TrainingConfig
from medspec.vocab.checkpoint import extend_checkpoint

__all__ = ["run_recipe", "summary_table"]

logger = logging.getLogger(__name__)


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


def extend_vocabulary(run: RunDirectory, config: RecipeConfig, base: Path, folder: Path) -> dict[str, Any]:
    """Step ``vocab``: extend the base tokenizer with mined vocabulary and bring the model along."""
    spec = load_specialty(config.specialty)
    extension = extend_checkpoint(
        base,
        corpus=resolve(run, config, config.vocab.corpus),
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


def cross_filter(config: RecipeConfig, base: Path, folder: Path) -> dict[str, Any]:
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
        files = pool.files or load_specialty(config.specialty).data.candidates
        items = [r for p in files for r in read_records(p, allow_empty=frozenset({"output"}))][: profile.pool_limit]
        write_records(folder / "pool.jsonl", items)
        pool = replace(pool, files=[folder / "pool.jsonl"])
    settings = replace(step.settings, specialty=config.specialty, backends=backends, pool=pool, scoring=profile.scoring)
    result = CrossFilter(settings).run(folder / "run")
    return {
        "kept_file": str((result.folder / "kept.jsonl").relative_to(folder)),
        "kept": len(result.kept),
        "steps": result.report["steps"],
        "flaws": result.report.get("flaws"),
        "profile": step.profile,
    }


def resolve(run: RunDirectory, config: RecipeConfig, references: Sequence[str | Path]) -> list[Path]:
    """Turn data references (``data:general``, ``crossfilter:kept``, ``specialty:corpus``, paths) into files."""
    files: list[Path] = []
    for reference in map(str, references):
        kind, _, key = reference.partition(":")
        if kind == "data" and key in ("general", "specialty"):
            files.append(run.root / "data" / run.outputs("data")[key]["file"])
        elif kind == "crossfilter" and key == "kept":
            if config.crossfilter.enabled:
                files.append(run.root / "crossfilter" / run.outputs("crossfilter")["kept_file"])
        elif kind == "specialty":
            files += specialty_reference(config.specialty, key)
        else:
            files.append(Path(reference))
    return files


def _training_config(run: RunDirectory, config: RecipeConfig, base: Path) -> TrainingConfig:
    stages = [
        replace(
            stage,
            data=resolve(run, config, stage.data),
            instruction_data=resolve(run, config, stage.instruction_data),
            replay=replace(stage.replay, data=resolve(run, config, stage.replay.data)),
        )
        for stage in config.training.active_stages()
    ]
    return TrainingConfig(base_model=str(base), stages=stages)


def evaluate(config: RecipeConfig, model_folder: Path, name: str, folder: Path) -> dict[str, Any]:
    """Step ``bench-<name>``: the benchmark on one model (predictions resume if interrupted)."""
    step = config.benchmark
    model, tokenizer = load_model_and_tokenizer(model_folder)
    backend = TransformersBackend(model.eval(), tokenizer, name=name, batch_size=step.batch_size)
    bench = Benchmark.from_specialty(config.specialty, tasks=step.tasks or None, config=step.settings)
    result = bench.run(backend, out=folder, model=name)
    return {"headlines": result.headlines()}


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
        outputs["vocab"] = run.run_step("vocab", lambda folder: extend_vocabulary(run, config, model, folder))
        model = run.root / "vocab" / "model"

    if config.crossfilter.enabled:
        base = run.root / "base" / "model"
        outputs["crossfilter"] = run.run_step("crossfilter", lambda folder: cross_filter(config, base, folder))

    models = {"base": run.root / "base" / "model"}
    if config.training.active_stages():
        gate = benchmark_gate(
            specialty=config.specialty, settings=config.benchmark.settings, batch_size=config.benchmark.batch_size
        )
        trained = GeneralToSpecificTrainer(_training_config(run, config, model), eval_gate=gate).train(run)
        for name, result in trained.items():
            outputs[f"train-{name}"] = vars(result)
            models[name] = run.root / f"train-{name}" / result.model

    if config.benchmark.enabled:
        results = []
        for name, folder in models.items():
            outputs[f"bench-{name}"] = run.run_step(
                f"bench-{name}", lambda out_dir, f=folder, n=name: evaluate(config, f, n, out_dir)
            )
            results.append(BenchmarkResult.load(run.root / f"bench-{name}"))
        Report(results).save(run.root / "report")
    if not outputs:
        raise ConfigError("", "the recipe has no step enabled")
    return outputs
