"""A browser rating study: blinded units of work built from benchmark runs, kept in ``study.json``.

:func:`create_study` picks the open and case answers that every compared run gave (all, or a seeded sample of
``limit`` items per task, as the spreadsheet kit does) and cuts them into units a rater judges on one page:

- ``pairwise``: one item and two models' answers; the rater says which is better or that they tie. By default the
  first run is compared with each of the others (the papers' "ours versus each baseline"); ``pairs="all"`` compares
  every pair.
- ``pointwise``: one item and one model's answer, scored on every criterion of the rubric.

Every unit has an opaque code; model names stay in ``study.json`` with the organiser and never reach a rater's page.
Each rater sees the units in an order of their own (seeded by the study's seed and the rater's name), and in pairwise
studies the side each model is shown on is also per rater: every rater sees each model on the left in half of the
units, so a preference for the left answer cancels out in the results.

Example:
    >>> from medspec.rubric import default_criteria
    >>> unit = Unit("K7Q2XM", "qa", "q1", "问题", "参考", ("ours", "base"), ("回答一", "回答二"))
    >>> study = Study(mode="pairwise", criteria=default_criteria(), units=[unit])
    >>> [u.code for u in study.order("张医生")], study.left("张医生", unit) in (0, 1)
    (['K7Q2XM'], True)
"""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations
from pathlib import Path
from typing import Any, Literal

from medspec.bench.human.kit import answer_codes, select_answers
from medspec.bench.results import BenchmarkResult
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError
from medspec.rubric import Criterion, check_criteria, default_criteria, specialty_rubric
from medspec.specialty import Specialty

__all__ = ["PREFERENCE", "STUDY_FILE", "Study", "StudyMode", "Unit", "create_study", "rubric_criteria"]

STUDY_FILE = "study.json"
SECRET_FILE = "secret.key"
PREFERENCE = "preference"  # the one "criterion" of a pairwise unit: 1 = first model better, 0 = tie, -1 = second
StudyMode = Literal["pairwise", "pointwise"]
_FORMAT = 1


@dataclass(frozen=True)
class Unit:
    """What a rater judges on one page.

    Attributes:
        code: Opaque identifier, the same for every rater.
        task: Benchmark task.
        item: Item id within the task.
        question: The question as the models saw it (a case's text included).
        reference: The reference answer.
        models: One model (pointwise) or two (pairwise), in canonical order.
        answers: Each model's answer, in the order of ``models``.
    """

    code: str
    task: str
    item: str
    question: str
    reference: str
    models: tuple[str, ...]
    answers: tuple[str, ...]


@dataclass
class Study:
    """The units, the rubric and how they are shown.

    Attributes:
        mode: ``pairwise`` or ``pointwise``.
        criteria: The rubric: scored per criterion in pointwise studies, shown as guidance in pairwise ones.
        units: Every unit, in canonical order.
        seed: Seed of each rater's order and sides.
        show_reference: Show raters the reference answer.
        title: Shown at the top of every page.
    """

    mode: StudyMode
    criteria: list[Criterion]
    units: list[Unit]
    seed: int = 0
    show_reference: bool = False
    title: str = "医学回答评价"
    _by_code: dict[str, Unit] = field(default_factory=dict, init=False, repr=False, compare=False)
    _orders: dict[str, list[Unit]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _positions: dict[str, dict[str, int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.mode not in ("pairwise", "pointwise"):
            raise ConfigError("mode", f"expected pairwise or pointwise, got {self.mode!r}")
        self.criteria = check_criteria(self.criteria)
        too_wide = [c.name for c in self.criteria if not 0 <= c.low < c.high <= 9]
        if self.mode == "pointwise" and too_wide:
            raise ConfigError("criteria", f"{too_wide[0]!r}: raters score with one digit key, so use a 0-9 scale")
        size = 2 if self.mode == "pairwise" else 1
        wrong = [u.code for u in self.units if len(u.models) != size or len(u.answers) != size]
        if wrong:
            raise ConfigError("units", f"unit {wrong[0]} needs {size} answer(s) in a {self.mode} study")
        self._by_code = {u.code: u for u in self.units}
        if len(self._by_code) != len(self.units):
            raise ConfigError("units", "unit codes must be distinct")

    def unit(self, code: str) -> Unit:
        """The unit with this code.

        Raises:
            KeyError: For a code the study does not have.
        """
        return self._by_code[code]

    def models(self) -> list[str]:
        """The rated models, in order of first appearance."""
        return list(dict.fromkeys(m for u in self.units for m in u.models))

    def order(self, rater: str) -> list[Unit]:
        """The units in the order this rater sees them."""
        if rater not in self._orders:  # shuffled once per rater, then looked up
            shuffler = random.Random(f"{self.seed}:order:{rater}")
            self._orders[rater] = sorted(self.units, key=lambda _: shuffler.random())
            self._positions[rater] = {u.code: i for i, u in enumerate(self._orders[rater])}
        return list(self._orders[rater])

    def left(self, rater: str, unit: Unit) -> int:
        """Which of a pairwise unit's answers this rater sees on the left (0 or 1), balanced over their units."""
        self.order(rater)
        offset = random.Random(f"{self.seed}:sides:{rater}").randrange(2)
        return (self._positions[rater][unit.code] + offset) % 2

    def check_scores(self, scores: dict[str, Any]) -> dict[str, int]:
        """A submission's scores, checked against the study: every criterion once, each a whole number in range.

        Raises:
            ValueError: Naming the first criterion or score that the study does not have.
        """
        if not isinstance(scores, dict):
            raise ValueError("scores must be an object of criterion to score")
        scales = {PREFERENCE: (-1, 1)} if self.mode == "pairwise" else {c.name: (c.low, c.high) for c in self.criteria}
        unknown = sorted(set(scores) - set(scales))
        if unknown:
            raise ValueError(f"unknown criterion {unknown[0]!r}; the study rates {', '.join(scales)}")
        missing = [name for name in scales if name not in scores]
        if missing:
            raise ValueError(f"missing a score for {missing[0]!r}")
        for name, value in scores.items():
            low, high = scales[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name}: expected a whole number from {low} to {high}, got {value!r}")
        return {name: scores[name] for name in scales}

    def save(self, folder: str | Path) -> Path:
        """Write ``study.json`` into ``folder``, and the server's secret when the folder has none."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        secret = folder / SECRET_FILE
        if not secret.exists():
            secret.touch(mode=0o600)
            secret.write_text(secrets.token_hex(32), encoding="utf-8")
        data = {
            "format": _FORMAT,
            "mode": self.mode,
            "title": self.title,
            "seed": self.seed,
            "show_reference": self.show_reference,
            "criteria": [vars(c) for c in self.criteria],
            "units": [vars(u) for u in self.units],
        }
        atomic_write_text(folder / STUDY_FILE, json.dumps(data, ensure_ascii=False, indent=1))
        return folder / STUDY_FILE

    @classmethod
    def load(cls, folder: str | Path) -> Study:
        """Read the study in ``folder``.

        Raises:
            ConfigError: When the folder holds no study.
        """
        path = Path(folder) / STUDY_FILE
        if not path.is_file():
            raise ConfigError("study", f"{path} not found; create the study with `medspec bench human create`")
        data = json.loads(path.read_text(encoding="utf-8"))
        units = [Unit(**{**u, "models": tuple(u["models"]), "answers": tuple(u["answers"])}) for u in data["units"]]
        return cls(
            mode=data["mode"],
            criteria=[Criterion(**c) for c in data["criteria"]],
            units=units,
            seed=data["seed"],
            show_reference=data["show_reference"],
            title=data["title"],
        )


def rubric_criteria(specialty: Specialty, *, low: int = 1, high: int = 5) -> list[Criterion]:
    """The specialty's ``rubric.yaml`` (the aspects its judges score) as criteria for human raters.

    Each aspect keeps its name; raters read its Chinese label and description. People rate on a short scale, so the
    scale is ``low``-``high`` (1-5 by default) rather than the judges' 0-10.

    Example:
        >>> from medspec.specialty import load_specialty
        >>> [c.name for c in rubric_criteria(load_specialty("anesthesiology"))][:2]
        ['coherence', 'professionalism']
    """
    return [
        replace(
            c, description=f"{c.label}：{c.description}" if c.label else c.description, label="", low=low, high=high
        )
        for c in specialty_rubric(specialty).criteria
    ]


def _pairs(models: Sequence[str], pairs: Literal["first", "all"]) -> list[tuple[str, str]]:
    if pairs == "first":
        return [(models[0], other) for other in models[1:]]
    return list(combinations(models, 2))


def create_study(
    results: Sequence[BenchmarkResult],
    out: str | Path,
    *,
    mode: StudyMode = "pairwise",
    criteria: Sequence[Criterion] | None = None,
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    pairs: Literal["first", "all"] = "first",
    seed: int = 0,
    show_reference: bool = False,
    title: str | None = None,
) -> Study:
    """Build a study from benchmark runs and save it in ``out``.

    Args:
        results: The runs whose answers are rated, with their scored items; model names must differ. Pairwise
            studies need two or more.
        out: The study folder (``study.json``, and the ratings database once raters are added).
        mode: ``pairwise`` (which of two answers is better) or ``pointwise`` (each answer on each criterion).
        criteria: The rubric; the Hypnos paper's usefulness, harmfulness and redundancy by default.
        tasks: Open or case tasks to rate; all that every run has by default.
        limit: A seeded random sample of this many items per task; all items by default.
        pairs: ``first`` compares the first run with each other one, ``all`` every pair.
        seed: Seed of the sample, the codes, and each rater's order and sides.
        show_reference: Show raters the reference answer.
        title: The page title.

    Returns:
        The saved study.

    Raises:
        ConfigError: For repeated model names, too few runs, unknown tasks, or a folder that already holds a study.
    """
    models = [r.model for r in results]
    if not models or len(set(models)) != len(models):
        raise ConfigError("models", f"expected runs of distinct models, got {models}")
    if mode == "pairwise" and len(models) < 2:
        raise ConfigError("runs", "a pairwise study compares two or more runs")
    if (Path(out) / STUDY_FILE).exists():
        raise ConfigError("out", f"{out} already holds a study; ratings refer to its units, so choose a new folder")
    rng = random.Random(seed)
    answers: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for task, item, model, row in select_answers(results, tasks, limit, rng):
        answers.setdefault((task, item), {})[model] = row
    groups = [(m,) for m in models] if mode == "pointwise" else _pairs(models, pairs)
    planned = [(key, group) for key, by_model in answers.items() for group in groups]
    units = []
    for code, ((task, item), group) in zip(answer_codes(len(planned), rng), planned, strict=True):
        rows = [answers[(task, item)][model] for model in group]
        question, reference = rows[0]["question"], rows[0]["reference"]
        units.append(Unit(code, task, item, question, reference, group, tuple(r["prediction"] for r in rows)))
    study = Study(
        mode=mode,
        criteria=list(criteria or default_criteria()),
        units=units,
        seed=seed,
        show_reference=show_reference,
        **({"title": title} if title else {}),
    )
    study.save(out)
    return study
