from __future__ import annotations

import csv

import pytest

from medspec.bench.human.analysis import PreferenceResults, export_ratings_csv, study_results
from medspec.bench.human.results import HumanResults
from medspec.bench.human.store import DB_FILE, RatingStore
from medspec.bench.human.study import PREFERENCE, Study
from medspec.bench.judge.core import PairwiseJudgement
from medspec.bench.judge.report import JudgeReport
from medspec.errors import ConfigError


def vote_all(folder, rater, preference_of, *, left=0):
    """Store ``preference_of(unit)`` from ``rater`` for every unit of the study."""
    store = RatingStore(folder / DB_FILE)
    store.add_rater(rater)
    for unit in Study.load(folder).units:
        store.save(rater, unit.code, {PREFERENCE: preference_of(unit)}, left=left)


def test_win_rates_follow_the_votes_with_intervals(pairwise_dir):
    vote_all(pairwise_dir, "zhang", lambda u: 1)
    vote_all(pairwise_dir, "li", lambda u: 1 if u.task == "qa" else 0)
    results = study_results(pairwise_dir)
    assert isinstance(results, PreferenceResults)
    summary = results.summary()["ours vs base"]
    assert summary["win"].value == pytest.approx(75.0)  # 12 + 6 wins of 24 votes
    assert summary["tie"].value == pytest.approx(25.0) and summary["lose"].value == 0
    assert summary["win"].low < 75 < summary["win"].high and summary["win"].n == 24


def test_alpha_is_one_when_raters_agree_and_low_when_they_do_not(pairwise_dir, tmp_path):
    vote_all(pairwise_dir, "zhang", lambda u: 1 if u.task == "qa" else -1)
    vote_all(pairwise_dir, "li", lambda u: 1 if u.task == "qa" else -1)
    assert study_results(pairwise_dir).alpha().value == pytest.approx(1.0)
    study = Study.load(pairwise_dir)
    study.save(tmp_path / "copy")
    vote_all(tmp_path / "copy", "zhang", lambda u: 1 if u.task == "qa" else -1)
    vote_all(tmp_path / "copy", "li", lambda u: -1 if u.task == "qa" else 1)
    assert study_results(tmp_path / "copy").alpha().value < 0


def test_left_share_reveals_raters_who_pick_the_left_answer(pairwise_dir):
    store = RatingStore(pairwise_dir / DB_FILE)
    store.add_rater("zhang")
    study = Study.load(pairwise_dir)
    for unit in study.units:  # always the left answer, whichever model it was
        left = study.left("zhang", unit)
        store.save("zhang", unit.code, {PREFERENCE: 1 if left == 0 else -1}, left=left)
    results = study_results(pairwise_dir)
    assert results.left_share().value == 100
    assert results.summary()["ours vs base"]["win"].value == pytest.approx(50.0)


def test_judge_agreement_compares_the_judge_with_the_majority(pairwise_dir):
    vote_all(pairwise_dir, "zhang", lambda u: 1)
    study = Study.load(pairwise_dir)
    verdicts = []
    for i, unit in enumerate(study.units):
        if i % 2:  # the judge listed the pair the other way round: a win for base is a lose for ours
            verdicts.append(PairwiseJudgement(unit.task, unit.item, "base", "ours", ("B", "B"), "lose", True))
        else:
            outcome = "win" if i % 4 == 0 else "tie"
            verdicts.append(PairwiseJudgement(unit.task, unit.item, "ours", "base", ("A", "A"), outcome, True))
    judge = JudgeReport("judge", [], [], verdicts)
    agreement = study_results(pairwise_dir).judge_agreement(judge)
    assert agreement.n == 12 and agreement.value == pytest.approx(100 * 9 / 12)


def test_pointwise_studies_give_the_sheet_kits_analysis(pointwise_dir):
    store = RatingStore(pointwise_dir / DB_FILE)
    study = Study.load(pointwise_dir)
    for rater in ("zhang", "li"):
        store.add_rater(rater)
        for unit in study.units:
            good = unit.models == ("ours",)
            store.save(rater, unit.code, {"usefulness": 5 if good else 2, "harmfulness": 1, "redundancy": 2})
    results = study_results(pointwise_dir)
    assert isinstance(results, HumanResults)
    summary = results.summary()
    assert summary["ours"]["usefulness"].mean.value == 5 and summary["base"]["usefulness"].mean.value == 2
    assert results.inter_rater_alpha()["usefulness"].value == pytest.approx(1.0)


def test_no_ratings_yet_is_an_error(pairwise_dir):
    with pytest.raises(ConfigError, match="no ratings yet"):
        study_results(pairwise_dir)


def test_csv_export_names_models_sides_and_revisions(pairwise_dir, tmp_path):
    store = RatingStore(pairwise_dir / DB_FILE)
    store.add_rater("zhang")
    unit = Study.load(pairwise_dir).units[0]
    store.save("zhang", unit.code, {PREFERENCE: 1}, left=1, comment="回答一更全面")
    store.save("zhang", unit.code, {PREFERENCE: 0}, left=1, comment="复核后认为相当")
    path = export_ratings_csv(pairwise_dir, tmp_path / "ratings.csv")
    with open(path, encoding="utf-8-sig", newline="") as f:
        [row] = list(csv.DictReader(f))
    assert (row["model_1"], row["model_2"], row["left"]) == ("ours", "base", "base")
    assert (row["preference"], row["comment"], row["revision"]) == ("0", "复核后认为相当", "2")
