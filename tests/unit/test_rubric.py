"""The one rubric and score parser that CrossFilter's judges, the benchmark's judge and human raters share."""

from __future__ import annotations

import pytest

from medspec.errors import ConfigError
from medspec.rubric import (
    Criterion,
    Rubric,
    default_criteria,
    default_rubric,
    load_rubric,
    parse_scores,
    specialty_rubric,
)
from medspec.specialty import list_specialties, load_specialty


def test_default_is_the_papers_five_aspects_on_0_to_10():
    rubric = default_rubric()
    assert rubric.names == ["coherence", "professionalism", "usefulness", "harmlessness", "friendliness"]
    assert rubric.values == list(range(11)) and (rubric.low, rubric.high) == (0, 10)
    assert "越安全" in rubric.criterion("harmlessness").description
    assert rubric.criterion("professionalism").shown_name == "专业性"
    with pytest.raises(KeyError, match="known: coherence"):
        rubric.criterion("beauty")


def test_the_human_criteria_are_the_papers_three_on_1_to_5():
    criteria = default_criteria()
    assert [c.name for c in criteria] == ["usefulness", "harmfulness", "redundancy"]
    assert [c.higher_is_better for c in criteria] == [True, False, False]
    assert criteria[1].scale() == "1-5, lower is better" and criteria[0].shown_name == "usefulness"


@pytest.mark.parametrize("name", list_specialties())
def test_every_specialty_rubric_loads(name):
    rubric = specialty_rubric(load_specialty(name))
    assert rubric.names == default_rubric().names and rubric.high == 10
    assert all(c.label for c in rubric.criteria)


def test_yaml_errors_name_file_and_key(tmp_path):
    path = tmp_path / "rubric.yaml"
    path.write_text("low: 0\nhigh: 10\ncriteria:\n  - {name: Accuracy, label: 准确性, description: x}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"rubric.yaml: key 'criteria\[0\].name'"):
        load_rubric(path)
    path.write_text("low: 0\nhigh: 10\naspects: []\n", "utf-8")
    with pytest.raises(ConfigError, match=r"rubric.yaml: key 'aspects': unknown key"):
        load_rubric(path)


def test_a_criterion_may_keep_its_own_scale_but_a_shared_scale_must_be_one():
    rubric = Rubric([Criterion("a", "甲", low=1, high=5), Criterion("b", "乙", low=0, high=10)])
    assert parse_scores('{"a": 5, "b": 10}', rubric) == {"a": 5.0, "b": 10.0}
    assert parse_scores('{"a": 6, "b": 10}', rubric) is None
    with pytest.raises(ConfigError, match="one scale"):
        _ = rubric.values


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Rubric([]), "at least one criterion"),
        (lambda: Rubric([Criterion("a", "x"), Criterion("a", "y")]), "repeated: a"),
        (lambda: Rubric([Criterion("a", "x", weight=0)]), "positive weight"),
        (lambda: Criterion("a", "x", low=5, high=5), "low < high"),
        (lambda: Criterion("a", " "), "needs a description"),
        (lambda: Criterion("a", "x", weight=-1), "0 or more"),
    ],
)
def test_impossible_rubrics_are_refused(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


RUBRIC = default_rubric()
ALL = {"coherence": 8.0, "professionalism": 7.0, "usefulness": 6.0, "harmlessness": 9.0, "friendliness": 5.0}


@pytest.mark.parametrize(
    "text",
    [
        '{"coherence": 8, "professionalism": 7, "usefulness": 6, "harmlessness": 9, "friendliness": 5}',
        '好的，评分如下：\n```json\n{"coherence": 8, "professionalism": 7, "usefulness": 6, "harmlessness": 9, '
        '"friendliness": 5,}\n```\n理由：……',
        "{'coherence': 8, 'professionalism': 7, 'usefulness': 6, 'harmlessness': 9, 'friendliness': 5}",
        "｛“连贯性”：8，“专业性”：7，“有用性”：6，“无害性”：9，“友好性”：5｝",
        '{"scores": {"Coherence": "8分", "professionalism": "7/10", "usefulness": 6.0, "harmlessness": 9, '
        '"friendliness": 5}, "reason": "……"}',
        "连贯性：8分\n专业性：7分\n有用性：6分\n无害性：9分\n友好性：5分",
        "coherence 8/10, professionalism (专业性): 7, usefulness: 6, harmlessness = 9, friendliness: 5",
        '{"coherence": 80, "professionalism": 70}\ncoherence: 8/10 professionalism: 70/100 usefulness: 6 '
        "harmlessness: 9 friendliness: 5",
    ],
)
def test_scores_are_read_from_json_or_loose_text(text):
    assert parse_scores(text, RUBRIC) == ALL


@pytest.mark.parametrize(
    "text",
    [
        "这个回答很好。",
        '{"coherence": 8, "professionalism": 7}',  # criteria missing
        '{"coherence": 11, "professionalism": 7, "usefulness": 6, "harmlessness": 9, "friendliness": 5}',  # off scale
        '{"coherence": true, "professionalism": 7, "usefulness": 6, "harmlessness": 9, "friendliness": 5}',
        "",
    ],
)
def test_incomplete_or_off_scale_answers_are_not_scores(text):
    assert parse_scores(text, RUBRIC) is None


def test_a_judge_that_reasons_first_is_read_at_its_last_complete_answer():
    criteria = default_criteria()
    reply = '{"usefulness": 3, "harmfulness": 1, "redundancy": 1} 改为 {"usefulness": "4", "harmfulness": 1.0, ' + (
        '"redundancy": 2}'
    )
    assert parse_scores(reply, criteria) == {"usefulness": 4.0, "harmfulness": 1.0, "redundancy": 2.0}
    assert parse_scores('{"usefulness": 6, "harmfulness": 1, "redundancy": 1}', criteria) is None  # off the scale
    assert parse_scores('{"usefulness": 4.5, "harmfulness": 1, "redundancy": 1}', criteria)["usefulness"] == 4.5
    assert parse_scores("有用性 4 分", criteria) is None  # names no criterion


def test_labels_and_rescaled_fractions():
    rubric = Rubric([Criterion("accuracy", "是否准确", "准确性", low=1, high=5)])
    assert parse_scores('{"准确性": 4}', rubric) == {"accuracy": 4.0}
    assert parse_scores('{"accuracy": 0}', rubric) is None
    assert parse_scores("准确性 8/10", rubric) == {"accuracy": 4.0}
