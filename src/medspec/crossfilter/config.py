"""CrossFilter's configuration: which backends generate and judge, and every knob of every step.

A config is YAML; :func:`load_crossfilter_config` reads it, applies ``key=value`` overrides and resolves relative
paths against the file's folder. A minimal paid-API config::

    specialty: anesthesiology
    backends:
      gpt: {kind: openai, model: gpt-4o-mini}
      claude: {kind: anthropic, model: claude-3-5-haiku-latest}
    self_instruct: {target_count: 1000}

Example:
    >>> config = CrossFilterConfig(backends={"a": BackendConfig(kind="openai", model="m1"),
    ...                                      "b": BackendConfig(kind="openai", model="m2")})
    >>> config.generator_names, config.judge_names
    (['a', 'b'], ['a', 'b'])
    >>> CrossFilterConfig(backends={"a": BackendConfig(kind="openai", model="m")}, judges=["z"])
    Traceback (most recent call last):
    ...
    medspec.errors.ConfigError: key 'judges': 'z' is not a backend; backends: a
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from medspec.config import apply_overrides, from_dict, load_yaml
from medspec.crossfilter.filtering import Aggregate, ThresholdConfig
from medspec.crossfilter.rules import RulesConfig
from medspec.crossfilter.scoring import ScoringMode
from medspec.crossfilter.self_instruct import SelfInstructConfig
from medspec.errors import ConfigError
from medspec.llm.registry import BackendConfig

__all__ = ["AuditConfig", "CrossFilterConfig", "PoolConfig", "ScoringConfig", "load_crossfilter_config"]


@dataclass
class PoolConfig:
    """An existing pool of candidates to filter instead of generating (``source: pool``).

    Attributes:
        files: Candidate files (instruction records, ``provenance.generator`` naming their model); the specialty's
            ``data.candidates`` when empty.
        generator_judges: For each generator label in the files, the judge that is the same model, so its items are
            judged by another one and the audit can measure its self-preference. A label that names a judge maps to
            it without being listed.
    """

    files: list[Path] = field(default_factory=list)
    generator_judges: dict[str, str] = field(default_factory=dict)


@dataclass
class ScoringConfig:
    """How judges score and what is kept.

    Attributes:
        mode: ``generate`` (judges answer with JSON scores) or ``likelihood`` (local judges: the expected score
            under the judge's probabilities of each score).
        rubric: A rubric YAML file; the specialty's ``rubric.yaml``, else the paper's five aspects, when unset.
        aggregate: How aspects combine: ``mean``, ``min`` or ``weighted`` (the rubric's weights).
        threshold: Where kept and dropped part.
        judges_per_item: Judges scoring each item, chosen among those that did not generate it and spread evenly;
            0 means every such judge.
        allow_self_judging: Let an item's own generator judge it when no other judge can (otherwise an error).
        parse_retries: Corrections asked of a judge whose answer has no complete set of scores, before the item is
            recorded as unscored.
        max_new_tokens: Longest judge answer (generate mode).
        chunk_size: Items a judge scores between two writes of the progress log (smaller for slow local judges, so
            progress shows sooner; the request cache keeps finished batches either way).
    """

    mode: ScoringMode = "generate"
    rubric: Path | None = None
    aggregate: Aggregate = "mean"
    threshold: ThresholdConfig = field(default_factory=ThresholdConfig)
    judges_per_item: int = 1
    allow_self_judging: bool = False
    parse_retries: int = 2
    max_new_tokens: int = 256
    chunk_size: int = 64

    def __post_init__(self) -> None:
        for key, low in (("judges_per_item", 0), ("parse_retries", 0), ("max_new_tokens", 1), ("chunk_size", 1)):
            if getattr(self, key) < low:
                raise ConfigError(key, f"must be at least {low}, got {getattr(self, key)}")


@dataclass
class AuditConfig:
    """The judge audit.

    Attributes:
        sample_per_generator: Cleaned items per generator that every judge scores; 0 skips the audit.
        seed: Seed of the sample.
    """

    sample_per_generator: int = 20
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sample_per_generator < 0:
            raise ConfigError("sample_per_generator", f"must be 0 or more, got {self.sample_per_generator}")


@dataclass
class CrossFilterConfig:
    """Everything CrossFilter needs to know.

    Attributes:
        specialty: Built-in specialty name or specialty folder: seeds, lexicon, rubric, default candidates.
        backends: Backends by name. May be left empty when backend objects are passed to
            :class:`~medspec.crossfilter.pipeline.CrossFilter` directly.
        generators: Backends that generate (``source: generate``); all backends when empty.
        judges: Backends that judge; all backends when empty.
        source: ``generate`` (Self-Instruct) or ``pool`` (filter existing candidates).
        pool: The existing candidates, for ``source: pool``.
        self_instruct: Generation, for ``source: generate``.
        rules: Cleaning rules.
        scoring: Judging, aggregation and threshold.
        audit: The judge audit.
        cache: Keep a request cache (``cache.sqlite``) in the run directory, so no request is paid twice.
    """

    specialty: str = "anesthesiology"
    backends: dict[str, BackendConfig] = field(default_factory=dict)
    generators: list[str] = field(default_factory=list)
    judges: list[str] = field(default_factory=list)
    source: Literal["generate", "pool"] = "generate"
    pool: PoolConfig = field(default_factory=PoolConfig)
    self_instruct: SelfInstructConfig = field(default_factory=SelfInstructConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    cache: bool = True

    def __post_init__(self) -> None:
        if self.backends:
            self.check_names(self.backends)

    def check_names(self, available: Sequence[str]) -> None:
        """Check that every backend named in ``generators``, ``judges`` and the pool mapping is ``available``.

        Raises:
            ConfigError: Naming the key and listing the backends.
        """
        known = ", ".join(sorted(available)) or "none"
        for key, names in (
            ("generators", self.generators),
            ("judges", self.judges),
            ("pool.generator_judges", list(self.pool.generator_judges.values())),
        ):
            for name in names:
                if name not in available:
                    raise ConfigError(key, f"{name!r} is not a backend; backends: {known}")

    @property
    def generator_names(self) -> list[str]:
        """The generating backends."""
        return list(self.generators or self.backends)

    @property
    def judge_names(self) -> list[str]:
        """The judging backends."""
        return list(self.judges or self.backends)


def load_crossfilter_config(path: str | Path, overrides: Sequence[str] = ()) -> CrossFilterConfig:
    """Read a CrossFilter YAML config, apply ``key.path=value`` overrides, resolve paths against its folder.

    Raises:
        ConfigError: Naming the file and the key at fault.
    """
    path = Path(path)
    data = apply_overrides(load_yaml(path), overrides)
    config = from_dict(CrossFilterConfig, data, source=path)
    root = path.parent
    config.pool.files = [p if p.is_absolute() else root / p for p in config.pool.files]
    if config.scoring.rubric is not None and not config.scoring.rubric.is_absolute():
        config.scoring.rubric = root / config.scoring.rubric
    specialty = Path(config.specialty)
    if not specialty.is_absolute() and (root / specialty).exists():
        config.specialty = str(root / specialty)
    return config
