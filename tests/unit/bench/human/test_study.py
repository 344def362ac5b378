from __future__ import annotations

import json
from collections import Counter

import pytest

from medspec.bench.human.study import PREFERENCE, Study, create_study, rubric_criteria
from medspec.errors import ConfigError
from medspec.rubric import Criterion
from medspec.specialty import load_specialty


def test_pairwise_study_pairs_the_first_run_with_each_other_on_every_open_and_case_item(runs, tmp_path):
    study = create_study(runs, tmp_path / "s")
    open_items = 6 + 6  # six QA items and three cases of two questions; choice items are not rated
    assert len(study.units) == 2 * open_items
    assert Counter(u.models for u in study.units) == {("ours", "base"): open_items, ("ours", "rogue"): open_items}
    assert {u.task for u in study.units} == {"qa", "cases"}
    unit = next(u for u in study.units if u.task == "qa" and u.models == ("ours", "base"))
    assert unit.answers[0] == unit.reference and unit.answers[1] == "多喝水。"


def test_all_pairs_and_pointwise_units(runs, tmp_path):
    assert len(create_study(runs, tmp_path / "a", pairs="all").units) == 3 * 12
    pointwise = create_study(runs, tmp_path / "p", mode="pointwise", limit=2)
    assert len(pointwise.units) == 3 * 2 * 2  # three models, two items from each of two tasks
    assert all(len(u.models) == 1 for u in pointwise.units)


def test_study_round_trips_and_keeps_model_names_out_of_unit_codes(runs, tmp_path):
    study = create_study(runs[:2], tmp_path / "s", seed=5, show_reference=True, title="麻醉评价")
    loaded = Study.load(tmp_path / "s")
    assert loaded == study
    assert all("ours" not in u.code and "base" not in u.code for u in study.units)
    assert (tmp_path / "s" / "secret.key").stat().st_mode & 0o077 == 0
    assert json.loads((tmp_path / "s" / "study.json").read_text(encoding="utf-8"))["title"] == "麻醉评价"


def test_creating_over_an_existing_study_is_refused(runs, pairwise_dir):
    with pytest.raises(ConfigError, match="already holds a study"):
        create_study(runs[:2], pairwise_dir)


def test_pairwise_needs_two_distinct_runs(runs, tmp_path):
    with pytest.raises(ConfigError, match="two or more"):
        create_study(runs[:1], tmp_path / "one")
    with pytest.raises(ConfigError, match="distinct"):
        create_study([runs[0], runs[0]], tmp_path / "same")


def test_each_rater_has_an_order_of_their_own_and_sees_each_side_equally(pairwise_dir):
    study = Study.load(pairwise_dir)
    zhang, li = study.order("zhang"), study.order("li")
    assert sorted(u.code for u in zhang) == sorted(u.code for u in li) and zhang != li
    assert study.order("zhang") == zhang
    for rater in ("zhang", "li", "wang"):
        sides = Counter(study.left(rater, u) for u in study.units)
        assert abs(sides[0] - sides[1]) <= 1


def test_check_scores_accepts_exactly_the_study_rubric(pointwise_dir, pairwise_dir):
    pointwise = Study.load(pointwise_dir)
    good = {"usefulness": 5, "harmfulness": 1, "redundancy": 2}
    assert pointwise.check_scores(good) == good
    for bad, message in [
        ({**good, "usefulness": 6}, "from 1 to 5"),
        ({**good, "usefulness": 2.5}, "whole number"),
        ({**good, "usefulness": True}, "whole number"),
        ({**good, "style": 3}, "unknown criterion 'style'"),
        ({"usefulness": 5}, "missing a score for 'harmfulness'"),
        ([5, 1, 2], "object"),
    ]:
        with pytest.raises(ValueError, match=message):
            pointwise.check_scores(bad)
    pairwise = Study.load(pairwise_dir)
    assert pairwise.check_scores({PREFERENCE: -1}) == {PREFERENCE: -1}
    with pytest.raises(ValueError, match="from -1 to 1"):
        pairwise.check_scores({PREFERENCE: 2})


def test_rubric_criteria_come_from_the_specialty_on_a_five_point_scale():
    criteria = rubric_criteria(load_specialty("pediatrics"))
    assert [c.name for c in criteria] == ["coherence", "professionalism", "usefulness", "harmlessness", "friendliness"]
    assert all((c.low, c.high) == (1, 5) and c.higher_is_better for c in criteria)
    assert criteria[1].description.startswith("专业性：")
    assert not any("10分" in c.description for c in criteria)


def test_a_pointwise_scale_must_fit_one_key(tmp_path):
    with pytest.raises(ConfigError, match="one digit key"):
        Study(mode="pointwise", criteria=[Criterion("quality", "质量", low=0, high=10)], units=[])
