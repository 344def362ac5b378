"""Specialties: one folder with a ``config.yaml`` that names a branch of medicine's data and assets.

A specialty bundles what the method needs for one branch of medicine: a lexicon of its terms, Self-Instruct seed
tasks, demo training data, a corpus for vocabulary mining and its benchmark tasks. medspec ships
``anesthesiology`` (the Hypnos reference) and ``pediatrics`` (after PediatricsGPT); a user adds one by writing a
folder of the same shape and passing its path wherever a specialty name is accepted.

Paths in ``config.yaml`` are relative to the folder. Every named file must exist.

Example:
    >>> spec = load_specialty("anesthesiology")
    >>> spec.name, [task.kind for task in spec.benchmark]
    ('anesthesiology', ['choice', 'qa', 'case', 'perplexity', 'perplexity', 'choice'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from medspec.config import from_dict, load_yaml
from medspec.data.io import ReadOptions
from medspec.errors import ConfigError

__all__ = ["BenchmarkTask", "Specialty", "SpecialtyData", "list_specialties", "load_specialty"]

TaskKind = Literal["qa", "choice", "case", "perplexity"]


@dataclass
class BenchmarkTask:
    """One benchmark task of a specialty.

    Attributes:
        name: Short name used in reports (``"AneCQ-sample"``).
        kind: ``qa`` (open questions, instruction records), ``choice`` (multiple-choice questions), ``case``
            (clinical cases with questions) or ``perplexity`` (bits per character of documents, or of the
            reference answers of instruction or case records).
        file: The task's records.
        description: One line for reports.
        read: How to read the file (format, column mapping, ``where`` selection, language of a bilingual source).
        breakdown: Kept source fields to break the headline figure down by in reports (``level``, ``exam_class``).
        settings: Benchmark settings for this task only (``{choice_mode: letter, circular: true}``), over the run's.
    """

    name: str
    kind: TaskKind
    file: Path
    description: str = ""
    read: ReadOptions = field(default_factory=ReadOptions)
    breakdown: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpecialtyData:
    """The data files a specialty ships or points to.

    Attributes:
        instructions: Specialty instruction data (the second, specific training stage).
        general_instructions: General medical instruction data (the first, general stage).
        corpus: Plain text for vocabulary mining and continued pre-training.
        candidates: A pool of generated instruction candidates labelled by generator, for CrossFilter demos.
        preferences: Preference pairs for preference optimisation.
        read: How to read a file, by its (resolved) path; filled from list entries written as a mapping,
            ``{path: export.xlsx, columns: {instruction: 问题, output: 回答}, where: [科室=麻醉科]}``.
    """

    instructions: list[Path] = field(default_factory=list)
    general_instructions: list[Path] = field(default_factory=list)
    corpus: list[Path] = field(default_factory=list)
    candidates: list[Path] = field(default_factory=list)
    preferences: list[Path] = field(default_factory=list)
    read: dict[str, ReadOptions] = field(default_factory=dict)

    def files(self) -> dict[str, list[Path]]:
        """The file lists, by name (``instructions``, ``corpus``, ...)."""
        return {key: paths for key, paths in vars(self).items() if key != "read"}

    def options(self, path: str | Path) -> ReadOptions:
        """How to read one of the files: its entry's options, or the defaults."""
        return self.read.get(str(path), ReadOptions())


@dataclass
class Specialty:
    """A branch of medicine as medspec sees it.

    Attributes:
        name: Identifier (``"anesthesiology"``).
        title: Human-readable title.
        description: What the specialty covers and where its data comes from.
        language: Language code of its data.
        lexicon: One term per line, used for vocabulary mining and relevance checks.
        seed_tasks: Self-Instruct seed tasks (instruction records).
        data: Training and demo data.
        benchmark: Benchmark tasks, in report order.
    """

    name: str
    title: str
    description: str = ""
    language: str = "zh"
    lexicon: Path | None = None
    seed_tasks: Path | None = None
    data: SpecialtyData = field(default_factory=SpecialtyData)
    benchmark: list[BenchmarkTask] = field(default_factory=list)
    root: Path = field(default=Path("."), init=False)

    def lexicon_terms(self) -> list[str]:
        """Return the lexicon's terms, in file order, without blanks or duplicates."""
        if self.lexicon is None:
            return []
        terms = (line.strip() for line in self.lexicon.read_text(encoding="utf-8").splitlines())
        return list(dict.fromkeys(t for t in terms if t))

    def files(self) -> dict[str, Path]:
        """Every file the specialty names, keyed by its config path."""
        named: dict[str, Path] = {}
        if self.lexicon:
            named["lexicon"] = self.lexicon
        if self.seed_tasks:
            named["seed_tasks"] = self.seed_tasks
        for key, paths in self.data.files().items():
            named.update({f"data.{key}[{i}]": p for i, p in enumerate(paths)})
        named.update({f"benchmark[{i}].file": task.file for i, task in enumerate(self.benchmark)})
        return named


def _builtin_root() -> Path:
    return Path(str(resources.files("medspec") / "specialties"))


def list_specialties() -> list[str]:
    """Names of the specialties that ship with medspec."""
    return sorted(p.name for p in _builtin_root().iterdir() if (p / "config.yaml").is_file())


def _resolve(data: dict[str, Any], root: Path) -> dict[str, Any]:
    """Make the config's relative paths absolute, relative to the specialty folder."""
    resolved = dict(data)
    for key in ("lexicon", "seed_tasks"):
        if isinstance(resolved.get(key), str):
            resolved[key] = str(root / resolved[key])
    if isinstance(resolved.get("data"), dict):
        data_lists: dict[str, Any] = {}
        read: dict[str, Any] = {}
        for key, entries in resolved["data"].items():
            if not isinstance(entries, list):
                data_lists[key] = entries
                continue
            data_lists[key] = []
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("path"), str):
                    path = str(root / entry["path"])
                    read[path] = {k: v for k, v in entry.items() if k != "path"}
                    data_lists[key].append(path)
                else:
                    data_lists[key].append(str(root / entry) if isinstance(entry, str) else entry)
        resolved["data"] = {**data_lists, **({"read": read} if read else {})}
    if isinstance(resolved.get("benchmark"), list):
        resolved["benchmark"] = [
            {**t, "file": str(root / t["file"])} if isinstance(t, dict) and "file" in t else t
            for t in resolved["benchmark"]
        ]
    return resolved


def load_specialty(name_or_path: str | Path | Specialty) -> Specialty:
    """Load a built-in specialty by name, or a user's specialty from its folder or ``config.yaml``.

    A :class:`Specialty` already loaded is returned as it is, so functions that take a name also take the object.

    Raises:
        ConfigError: When the name is unknown (the message lists the known ones), a key is wrong, or a named file
            does not exist.
    """
    if isinstance(name_or_path, Specialty):
        return name_or_path
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
        config_path = candidate
    elif (candidate / "config.yaml").is_file():
        config_path = candidate / "config.yaml"
    elif (_builtin_root() / str(name_or_path) / "config.yaml").is_file():
        config_path = _builtin_root() / str(name_or_path) / "config.yaml"
    else:
        raise ConfigError(
            "",
            f"unknown specialty {str(name_or_path)!r}: not a built-in name "
            f"({', '.join(list_specialties())}) nor a folder holding config.yaml",
        )
    root = config_path.parent
    specialty = from_dict(Specialty, _resolve(load_yaml(config_path), root), source=config_path)
    specialty.root = root
    missing = [key for key, path in specialty.files().items() if not path.is_file()]
    if missing:
        raise ConfigError(missing[0], f"file not found: {specialty.files()[missing[0]]}", source=config_path)
    return specialty
