from __future__ import annotations

import pytest

from medspec.crossfilter.rubric import Aspect, Rubric, default_rubric, load_rubric, specialty_rubric
from medspec.errors import ConfigError
from medspec.specialty import list_specialties, load_specialty


def test_default_is_the_papers_five_aspects_on_0_to_10():
    rubric = default_rubric()
    assert rubric.names == ["coherence", "professionalism", "usefulness", "harmlessness", "friendliness"]
    assert rubric.values == list(range(11))
    assert "越安全" in rubric.aspect("harmlessness").description
    with pytest.raises(KeyError, match="known: coherence"):
        rubric.aspect("beauty")


@pytest.mark.parametrize("name", list_specialties())
def test_every_specialty_rubric_loads(name):
    rubric = specialty_rubric(load_specialty(name))
    assert rubric.names == default_rubric().names and rubric.scale_max == 10


def test_yaml_errors_name_file_and_key(tmp_path):
    path = tmp_path / "rubric.yaml"
    path.write_text("aspects:\n  - {name: Accuracy, label: 准确性, description: x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rubric.yaml: key 'aspects\[0\].name'"):
        load_rubric(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"aspects": []}, "at least one aspect"),
        ({"aspects": [Aspect("a", "甲", "x"), Aspect("a", "乙", "y")]}, "repeated: a"),
        ({"aspects": [Aspect("a", "甲", "x", weight=0)]}, "positive weight"),
        ({"aspects": [Aspect("a", "甲", "x")], "scale_min": 5, "scale_max": 5}, "scale_min < scale_max"),
    ],
)
def test_impossible_rubrics_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Rubric(**kwargs)
