"""Human evaluation kit: blinded rating sheets out, validated ratings in.

:func:`export_sheets` picks the open and case questions every compared run answered (all of them, or a seeded
sample of ``limit`` per task), gives each model's answer an opaque code, and writes one sheet per rater in CSV (UTF-8
with a byte-order mark, so Excel shows Chinese correctly) and XLSX (score cells validated, an instructions sheet with
the criteria). Rows are shuffled per rater and model names never appear; which code is which answer is kept in
``key.json``, which stays with the organiser.

:func:`read_sheets` reads the filled sheets back (CSV, also re-saved by Excel as GB18030, or XLSX) and checks every
cell: unknown or repeated codes, a missing column, a rater not in the kit, a score that is not a whole number on the
criterion's scale, and blank or deleted rows (unless ``allow_missing``). Every problem is reported at once with its
file, row (as the spreadsheet numbers it, header = 1) and column. :mod:`medspec.bench.human.results` analyses them;
:mod:`medspec.bench.human.spreadsheet` writes and reads the files.

Example:
    >>> RatingKit(criteria=default_criteria(), raters=["张医生"], answers={}).raters
    ['张医生']
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from medspec.bench.human.spreadsheet import read_rows, write_csv, write_xlsx
from medspec.bench.results import BenchmarkResult
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError, DataError, InvalidDataError
from medspec.rubric import Criterion, check_criteria, default_criteria

__all__ = ["Rating", "RatingKit", "answer_codes", "check_rater_name", "export_sheets", "read_sheets", "select_answers"]

KEY_FILE = "key.json"
_RATER = re.compile(r"^[\w\-]+$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read and typed by people
SheetFormat = Literal["csv", "xlsx"]


def check_rater_name(name: str) -> str:
    """Return the name after checking it is letters (Chinese included), digits, ``_`` or ``-``: it names files.

    Raises:
        ConfigError: For any other name.
    """
    if not _RATER.match(name):
        raise ConfigError("raters", f"rater name {name!r} must be letters, digits, '_' or '-' (a file name)")
    return name


@dataclass
class RatingKit:
    """The key of a human evaluation: the criteria, the raters, and the answer behind every code.

    Attributes:
        criteria: What raters score.
        raters: Rater names (also in the sheets' ``rater`` column and file names).
        answers: Code to ``{"task", "item", "model", "question", "reference", "answer"}``.
        show_reference: Whether the sheets show the reference answer.
    """

    criteria: list[Criterion]
    raters: list[str]
    answers: dict[str, dict[str, str]]
    show_reference: bool = True

    def __post_init__(self) -> None:
        self.criteria = check_criteria(self.criteria)
        if not self.raters or len(set(self.raters)) != len(self.raters):
            raise ConfigError("raters", f"expected one or more distinct rater names, got {self.raters}")
        for rater in self.raters:
            check_rater_name(rater)

    def columns(self) -> list[str]:
        """The sheet's columns, in order."""
        shown = ["question", "reference", "answer"] if self.show_reference else ["question", "answer"]
        return ["code", "rater", *shown, *(c.name for c in self.criteria), "comment"]

    def save(self, path: str | Path) -> Path:
        """Write the key as JSON."""
        data = {
            "criteria": [vars(c) for c in self.criteria],
            "raters": self.raters,
            "show_reference": self.show_reference,
            "answers": self.answers,
        }
        atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2))
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> RatingKit:
        """Read a key written by :meth:`save`.

        Raises:
            ConfigError: When the file is missing.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError("key", f"{path} not found; pass the key.json that `bench human export` wrote")
        data = json.loads(path.read_text(encoding="utf-8"))
        criteria = [Criterion(**c) for c in data["criteria"]]
        return cls(criteria, data["raters"], data["answers"], show_reference=data.get("show_reference", True))


@dataclass(frozen=True)
class Rating:
    """One rater's scores of one answer (criteria left blank are absent)."""

    rater: str
    code: str
    scores: dict[str, int] = field(default_factory=dict)


def answer_codes(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct six-character codes, easy to read and type, in a seeded random order."""
    codes: set[str] = set()
    while len(codes) < count:
        codes.add("".join(rng.choice(_CODE_ALPHABET) for _ in range(6)))
    return sorted(codes, key=lambda _: rng.random())


def select_answers(
    results: Sequence[BenchmarkResult], tasks: Sequence[str] | None, limit: int | None, rng: random.Random
) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(task, item, model, scored row) of every answer to rate, item by item: the open and case items every run
    answered, or a seeded sample of ``limit`` per task.

    Raises:
        ConfigError: For a task that is not an open or case task of every run.
    """
    shared = [n for n, t in results[0].tasks.items() if t.kind in ("qa", "case") and all(n in r.tasks for r in results)]
    chosen = list(tasks) if tasks is not None else shared
    unknown = [t for t in chosen if t not in shared]
    if unknown:
        raise ConfigError("tasks", f"{unknown[0]!r} is not an open or case task of every run; shared: {shared}")
    for task in chosen:
        rows = [{row["id"]: row for row in r.scored_items(task)} for r in results]
        items = [item for item in rows[0] if all(item in r for r in rows)]
        if limit is not None and limit < len(items):
            keep = set(rng.sample(items, limit))
            items = [item for item in items if item in keep]
        for item in items:
            for result, by_id in zip(results, rows, strict=True):
                yield task, item, result.model, by_id[item]


def export_sheets(
    results: Sequence[BenchmarkResult],
    *,
    out: str | Path,
    raters: Sequence[str],
    criteria: Sequence[Criterion] | None = None,
    tasks: Sequence[str] | None = None,
    limit: int | None = None,
    formats: Sequence[SheetFormat] = ("xlsx", "csv"),
    seed: int = 0,
    show_reference: bool = True,
) -> tuple[RatingKit, list[Path]]:
    """Write blinded rating sheets, one per rater and format, and ``key.json``.

    Args:
        results: The runs whose answers are rated (with their scored items); model names must differ.
        out: The folder for the sheets and the key.
        raters: Rater names.
        criteria: What raters score; usefulness, harmfulness and redundancy by default.
        tasks: Open or case tasks to rate; all that every run has by default.
        limit: Rate a seeded random sample of this many items per task; all items by default.
        formats: ``xlsx`` and/or ``csv``.
        seed: Seed of the codes, the sample and each rater's row order.
        show_reference: Show raters the reference answer.

    Returns:
        The kit (also saved as ``out/key.json``) and the sheet files.

    Raises:
        ConfigError: For repeated model names, unknown tasks, bad rater names or formats.
    """
    models = [r.model for r in results]
    if not models or len(set(models)) != len(models):
        raise ConfigError("models", f"expected runs of distinct models, got {models}")
    unknown_formats = sorted(set(formats) - {"csv", "xlsx"})
    if unknown_formats or not formats:
        raise ConfigError("formats", f"expected csv and/or xlsx, got {list(formats)}")
    rng = random.Random(seed)
    selected = list(select_answers(results, tasks, limit, rng))
    codes = answer_codes(len(selected), rng)
    answers = {
        code: {
            "task": task,
            "item": item,
            "model": model,
            "question": row["question"],
            "reference": row["reference"],
            "answer": row["prediction"],
        }
        for code, (task, item, model, row) in zip(codes, selected, strict=True)
    }
    kit = RatingKit(list(criteria or default_criteria()), list(raters), answers, show_reference=show_reference)
    folder = Path(out)
    kit.save(folder / KEY_FILE)
    written = []
    for rater in kit.raters:
        shuffler = random.Random(f"{seed}:{rater}")
        order = sorted(answers, key=lambda _: shuffler.random())
        rows = [_sheet_row(kit, rater, code) for code in order]
        for fmt in formats:
            path = folder / f"ratings_{rater}.{fmt}"
            if fmt == "xlsx":
                write_xlsx(path, kit.columns(), rows, kit.criteria)
            else:
                write_csv(path, kit.columns(), rows)
            written.append(path)
    return kit, written


def _sheet_row(kit: RatingKit, rater: str, code: str) -> list[Any]:
    answer = kit.answers[code]
    shown = (
        [answer["question"], answer["reference"], answer["answer"]]
        if kit.show_reference
        else [
            answer["question"],
            answer["answer"],
        ]
    )
    return [code, rater, *shown, *([None] * len(kit.criteria)), None]


def _score(value: Any, criterion: Criterion) -> int | str | None:
    """The score in a cell, None when blank, or a message saying what is wrong."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if isinstance(number, (int, float)) and not isinstance(number, bool) and float(number).is_integer():
        score = int(number)
        if criterion.low <= score <= criterion.high:
            return score
    return f"expected a whole number from {criterion.low} to {criterion.high}, got {value!r}"


def _read_sheet(path: Path, kit: RatingKit, allow_missing: bool) -> tuple[list[Rating], list[DataError], str | None]:
    rows = read_rows(path)
    header = [str(h).strip() if h is not None else "" for h in next(rows, [])]
    required = ["code", "rater", *(c.name for c in kit.criteria)]
    missing_columns = [name for name in required if name not in header]
    if missing_columns:
        message = "missing column; keep the columns the sheet was exported with"
        return [], [DataError(path, 1, name, message) for name in missing_columns], None
    position = {name: header.index(name) for name in required}
    ratings, errors, raters, seen = [], [], set(), {}
    for number, cells in enumerate(rows, start=2):
        cells = list(cells) + [None] * (len(header) - len(cells))
        code = str(cells[position["code"]] or "").strip()
        if not code and not any(str(c or "").strip() for c in cells):
            continue  # a blank line
        rater = str(cells[position["rater"]] or "").strip()
        raters.add(rater)
        if rater not in kit.raters:
            errors.append(DataError(path, number, "rater", f"unknown rater {rater!r}; raters: {', '.join(kit.raters)}"))
        if code not in kit.answers:
            errors.append(DataError(path, number, "code", f"unknown code {code!r}; codes must not be edited"))
            continue
        if code in seen:
            errors.append(DataError(path, number, "code", f"code {code} repeats row {seen[code]}"))
            continue
        seen[code] = number
        scores = {}
        for criterion in kit.criteria:
            score = _score(cells[position[criterion.name]], criterion)
            if isinstance(score, str):
                errors.append(DataError(path, number, criterion.name, score))
            elif score is None and not allow_missing:
                errors.append(DataError(path, number, criterion.name, "missing rating (or pass allow_missing)"))
            elif score is not None:
                scores[criterion.name] = score
        ratings.append(Rating(rater, code, scores))
    absent = [code for code in kit.answers if code not in seen]
    if absent and not allow_missing:
        errors.append(DataError(path, None, "code", f"{len(absent)} answers are missing, e.g. {absent[0]}"))
    if len(raters) > 1:
        errors.append(DataError(path, None, "rater", f"one sheet must hold one rater, found {sorted(raters)}"))
    return ratings, errors, next(iter(raters), None)


def read_sheets(paths: Sequence[str | Path], kit: RatingKit, *, allow_missing: bool = False) -> list[Rating]:
    """Read and validate filled rating sheets.

    Args:
        paths: Sheets (``.csv`` or ``.xlsx``), one per rater.
        kit: The evaluation's key.
        allow_missing: Accept blank scores and deleted rows (Krippendorff's alpha handles missing ratings).

    Returns:
        Every rating, in file order.

    Raises:
        InvalidDataError: Listing every problem in every sheet, by file, row and column.
    """
    ratings: list[Rating] = []
    errors: list[DataError] = []
    owner: dict[str, Path] = {}
    for path in map(Path, paths):
        if not path.is_file():
            errors.append(DataError(path, None, None, "no such file"))
            continue
        found, problems, rater = _read_sheet(path, kit, allow_missing)
        if rater in owner:
            problems.append(DataError(path, None, "rater", f"rater {rater!r} already rated in {owner[rater]}"))
        elif rater is not None:
            owner[rater] = path
        ratings += found
        errors += problems
    if errors:
        raise InvalidDataError(errors)
    return ratings
