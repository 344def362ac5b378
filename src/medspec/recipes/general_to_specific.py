"""The general-to-specific recipe, top to bottom, in one resumable run directory.

Steps, each recorded in the run directory's manifest and skipped when complete:

1. ``data``: load the specialty's general and specialty instruction data, drop exact and near duplicates, and drop
   every training record that overlaps the specialty's benchmark.

Every knob lives in :class:`RecipeConfig`; a specialty may ship a ``recipe.yaml`` with its defaults, and
``--set key=value`` overrides any value.

Example:
    >>> import tempfile
    >>> summary = run_recipe("anesthesiology", out=tempfile.mkdtemp())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medspec.config import apply_overrides, from_dict, load_yaml, to_dict
from medspec.data.dedup import Decontaminator, deduplicate
from medspec.data.io import read_records, write_records
from medspec.data.schema import Record
from medspec.errors import ConfigError
from medspec.run_dir import RunDirectory
from medspec.specialty import Specialty, load_specialty

__all__ = ["DataPrepConfig", "RecipeConfig", "load_recipe_config", "run_recipe", "summary_table"]

logger = logging.getLogger(__name__)


@dataclass
class DataPrepConfig:
    """How training data is cleaned before use.

    Attributes:
        dedup_threshold: Jaccard similarity of character 5-grams at or above which two records are duplicates.
        decontamination_ngram: Character n-gram length for benchmark-overlap checks.
        decontamination_threshold: Overlap coefficient with a benchmark item at or above which a record is dropped.
    """

    dedup_threshold: float = 0.7
    decontamination_ngram: int = 10
    decontamination_threshold: float = 0.5

    def __post_init__(self) -> None:
        for name in ("dedup_threshold", "decontamination_threshold"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(name, f"must be in (0, 1], got {getattr(self, name)}")
        if self.decontamination_ngram < 2:
            raise ConfigError("decontamination_ngram", f"must be at least 2, got {self.decontamination_ngram}")


@dataclass
class RecipeConfig:
    """The whole recipe's configuration.

    Attributes:
        specialty: Built-in specialty name or path of a specialty folder.
        data: Data cleaning.
    """

    specialty: str = "anesthesiology"
    data: DataPrepConfig = field(default_factory=DataPrepConfig)


def _clean(records: list[Record], decontaminator: Decontaminator, config: DataPrepConfig) -> tuple[list[Record], dict]:
    unique = deduplicate(records, threshold=config.dedup_threshold)
    report = decontaminator.check(unique.kept)
    summary = {
        "read": len(records),
        "duplicates": len(unique.removed),
        "benchmark_overlaps": len(report.overlaps),
        "kept": len(report.clean),
        "overlaps": [vars(o) for o in report.overlaps],
    }
    return report.clean, summary


def prepare_data(specialty: Specialty, config: DataPrepConfig, folder: Path) -> dict[str, Any]:
    """Step ``data``: de-duplicate and decontaminate the general and specialty instruction data."""
    benchmark = [r for task in specialty.benchmark for r in read_records(task.file)]
    decontaminator = Decontaminator(
        benchmark, ngram=config.decontamination_ngram, threshold=config.decontamination_threshold
    )
    outputs: dict[str, Any] = {}
    for name, paths in (("general", specialty.data.general_instructions), ("specialty", specialty.data.instructions)):
        records = [r for p in paths for r in read_records(p)]
        kept, summary = _clean(records, decontaminator, config)
        write_records(folder / f"{name}.jsonl", kept)
        outputs[name] = {k: v for k, v in summary.items() if k != "overlaps"} | {"file": f"{name}.jsonl"}
        (folder / f"{name}.report.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), "utf-8")
    return outputs


def summary_table(outputs: dict[str, Any]) -> str:
    """A Markdown table of what each step did, for the terminal and the README."""
    data = outputs["data"]
    rows = ["| data | read | duplicates | benchmark overlaps | kept |", "|---|---:|---:|---:|---:|"]
    rows += [
        f"| {name} | {o['read']} | {o['duplicates']} | {o['benchmark_overlaps']} | {o['kept']} |"
        for name, o in data.items()
    ]
    return "\n".join(rows)


def load_recipe_config(specialty: str, overrides: Sequence[str] = ()) -> RecipeConfig:
    """The recipe config of a specialty: its ``recipe.yaml`` when it has one, then ``overrides``."""
    recipe_file = load_specialty(specialty).root / "recipe.yaml"
    data = load_yaml(recipe_file) if recipe_file.is_file() else {}
    data.setdefault("specialty", specialty)
    return from_dict(RecipeConfig, apply_overrides(data, overrides), source=recipe_file if data else None)


def run_recipe(specialty: str, *, out: str | Path, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Run (or resume) the recipe for a specialty in run directory ``out``.

    Returns:
        The outputs of every step, by step name.
    """
    config = load_recipe_config(specialty, overrides)
    spec = load_specialty(config.specialty)
    run = RunDirectory(out, config=to_dict(config), inputs=sorted(spec.files().values()))

    data = run.run_step("data", lambda folder: prepare_data(spec, config.data, folder))

    return {"data": data}
