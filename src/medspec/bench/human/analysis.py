"""What the raters of a browser study said, in the same analysis as the spreadsheet kit.

A pointwise study becomes a :class:`~medspec.bench.human.results.HumanResults` (per-model means with intervals,
variance, Krippendorff's alpha per criterion, judge-human agreement). A pairwise study becomes a
:class:`PreferenceResults`: per pair of models the win, tie and lose rates of the first with bootstrap intervals
over units, Krippendorff's alpha (ordinal) of the raters' preferences, the share of decided votes that went to the
answer shown on the left (near 50 when the side does not sway raters), and, given an LLM judge's pairwise verdicts on
the same items, how often the judge agrees with the raters' majority. :func:`export_ratings_csv` writes every rating
with its unit, models and revision for the organiser.

Example:
    >>> from medspec.rubric import default_criteria
    >>> from medspec.bench.human.store import StoredRating
    >>> from medspec.bench.human.study import Study, Unit
    >>> units = [Unit(c, "qa", c, "问", "答", ("ours", "base"), ("甲", "乙")) for c in ("U1", "U2")]
    >>> study = Study(mode="pairwise", criteria=default_criteria(), units=units)
    >>> votes = [StoredRating("a", "U1", {"preference": 1}, "", 0, 1, ""),
    ...          StoredRating("a", "U2", {"preference": 0}, "", 1, 1, "")]
    >>> PreferenceResults(study, ["a"], votes).summary()["ours vs base"]["win"].value
    50.0
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from medspec.bench.agreement import alpha_estimate
from medspec.bench.bootstrap import Estimate
from medspec.bench.human.kit import Rating, RatingKit
from medspec.bench.human.results import HumanResults
from medspec.bench.human.store import DB_FILE, RatingStore, StoredRating
from medspec.bench.human.study import PREFERENCE, Study
from medspec.bench.judge.report import JudgeReport
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError

__all__ = ["PreferenceResults", "export_ratings_csv", "pointwise_results", "study_results"]

_OUTCOMES = {1: "win", 0: "tie", -1: "lose"}


@dataclass
class PreferenceResults:
    """The raters' preferences in a pairwise study.

    Args:
        study: The study.
        raters: Every rater of the study (those without ratings count for coverage).
        ratings: The stored ratings.
    """

    study: Study
    raters: list[str]
    ratings: list[StoredRating]

    def _pairs(self) -> list[tuple[str, ...]]:
        return list(dict.fromkeys(u.models for u in self.study.units))

    def summary(self, *, resamples: int = 1000, seed: int = 0) -> dict[str, dict[str, Estimate]]:
        """Per ``"A vs B"``: win, tie and lose rates of A (x100) over every vote, resampling units."""
        found = {}
        for pair in self._pairs():
            votes = [r for r in self.ratings if self.study.unit(r.unit).models == pair]
            found[" vs ".join(pair)] = {
                outcome: Estimate.from_scores(
                    [r.scores[PREFERENCE] == value for r in votes],
                    scale=100,
                    groups=[r.unit for r in votes],
                    resamples=resamples,
                    seed=seed,
                )
                for value, outcome in _OUTCOMES.items()
            }
        return found

    def left_share(self, *, resamples: int = 1000, seed: int = 0) -> Estimate:
        """Share (x100) of decided votes that chose the answer shown on the left; 50 means no side bias."""
        decided = [r for r in self.ratings if r.scores[PREFERENCE] != 0 and r.left is not None]
        chose_left = [(r.scores[PREFERENCE] == 1) == (r.left == 0) for r in decided]
        return Estimate.from_scores(chose_left, scale=100, resamples=resamples, seed=seed)

    def alpha(self, *, resamples: int = 1000, seed: int = 0) -> Estimate:
        """Krippendorff's alpha (ordinal: lose < tie < win) of the raters' preferences, interval over units."""
        codes = [u.code for u in self.study.units]
        column = {code: i for i, code in enumerate(codes)}
        table: list[list[float | None]] = [[None] * len(codes) for _ in self.raters]
        for rating in self.ratings:
            table[self.raters.index(rating.rater)][column[rating.unit]] = rating.scores[PREFERENCE]
        return alpha_estimate(table, level="ordinal", resamples=resamples, seed=seed)

    def majority(self) -> dict[str, int]:
        """Per rated unit, the raters' majority: 1 (first model better), 0 (tie or split) or -1."""
        votes: dict[str, list[int]] = {}
        for rating in self.ratings:
            votes.setdefault(rating.unit, []).append(rating.scores[PREFERENCE])
        return {unit: int(np.sign(sum(v))) for unit, v in votes.items()}

    def judge_agreement(self, judge: JudgeReport, *, resamples: int = 1000, seed: int = 0) -> Estimate:
        """Share (x100) of rated units where the judge's pairwise outcome equals the raters' majority."""
        verdicts = {}
        for j in judge.pairwise:
            if j.outcome is not None:
                value = {"win": 1, "tie": 0, "lose": -1}[j.outcome]
                verdicts[(j.task, j.item, j.model_a, j.model_b)] = value
                verdicts[(j.task, j.item, j.model_b, j.model_a)] = -value
        matches = []
        for code, human in self.majority().items():
            unit = self.study.unit(code)
            judged = verdicts.get((unit.task, unit.item, *unit.models))
            if judged is not None:
                matches.append(judged == human)
        return Estimate.from_scores(matches, scale=100, resamples=resamples, seed=seed)

    def to_dict(self, *, judge: JudgeReport | None = None) -> dict[str, Any]:
        """JSON-ready summary: votes per rater, the rates, alpha, left share and, given a judge, agreement."""
        data: dict[str, Any] = {
            "mode": "pairwise",
            "raters": {r: sum(x.rater == r for x in self.ratings) for r in self.raters},
            "units": len(self.study.units),
            "summary": {p: {k: e.to_dict() for k, e in s.items()} for p, s in self.summary().items()},
            "krippendorff_alpha": self.alpha().to_dict(),
            "left_share": self.left_share().to_dict(),
        }
        if judge is not None:
            data["judge_agreement"] = self.judge_agreement(judge).to_dict()
        return data

    def save(self, path: str | Path, *, judge: JudgeReport | None = None) -> Path:
        """Write :meth:`to_dict` as JSON."""
        atomic_write_text(path, json.dumps(self.to_dict(judge=judge), ensure_ascii=False, indent=2))
        return Path(path)


def pointwise_results(study: Study, raters: Sequence[str], ratings: Sequence[StoredRating]) -> HumanResults:
    """A pointwise study's ratings as :class:`~medspec.bench.human.results.HumanResults`."""
    answers = {
        u.code: {"task": u.task, "item": u.item, "model": u.models[0], "question": u.question,
                 "reference": u.reference, "answer": u.answers[0]}
        for u in study.units
    }  # fmt: skip
    kit = RatingKit(study.criteria, list(raters), answers, show_reference=study.show_reference)
    return HumanResults(kit, [Rating(r.rater, r.unit, r.scores) for r in ratings])


def study_results(folder: str | Path) -> HumanResults | PreferenceResults:
    """The analysis of the study in ``folder``, by its mode.

    Raises:
        ConfigError: When the study has no raters or no ratings yet.
    """
    study = Study.load(folder)
    store = RatingStore(Path(folder) / DB_FILE)
    raters, ratings = store.raters(), store.ratings()
    if not ratings:
        raise ConfigError("ratings", f"{folder} has no ratings yet; add raters and serve the study first")
    if study.mode == "pairwise":
        return PreferenceResults(study, raters, ratings)
    return pointwise_results(study, raters, ratings)


def export_ratings_csv(folder: str | Path, path: str | Path) -> Path:
    """Write every rating of the study in ``folder`` as CSV (UTF-8 with BOM), with its unit's task, item and models.

    Pairwise rows say which model was shown on the left and the preference for the first model (1, 0, -1).
    """
    study = Study.load(folder)
    names = [PREFERENCE] if study.mode == "pairwise" else [c.name for c in study.criteria]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["rater", "unit", "task", "item", "model_1", "model_2", "left", *names, "comment",
                     "revision", "updated"])  # fmt: skip
    for r in RatingStore(Path(folder) / DB_FILE).ratings():
        unit = study.unit(r.unit)
        models = [*unit.models, ""][:2]
        left = "" if r.left is None else unit.models[r.left]
        scores = [r.scores.get(name, "") for name in names]
        writer.writerow([r.rater, r.unit, unit.task, unit.item, *models, left, *scores, r.comment, r.revision,
                         r.updated])  # fmt: skip
    atomic_write_text(path, "\ufeff" + buffer.getvalue())
    return Path(path)
