from __future__ import annotations

import pytest

from medspec.crossfilter.filtering import (
    ThresholdConfig,
    aggregate,
    apply_filter,
    combine_judges,
    resolve_threshold,
)
from medspec.crossfilter.scoring import Judgement
from medspec.data.schema import Instruction, Provenance
from medspec.errors import ConfigError
from medspec.rubric import Criterion, Rubric, default_rubric

RUBRIC = default_rubric()


def scores(*values):
    return dict(zip(RUBRIC.names, map(float, values), strict=True))


def test_aggregates():
    rubric = Rubric([Criterion("a", "x", "甲", weight=3), Criterion("b", "y", "乙", weight=1)])
    assert aggregate({"a": 8, "b": 4}, rubric, "mean") == 6.0
    assert aggregate({"a": 8, "b": 4}, rubric, "min") == 4.0
    assert aggregate({"a": 8, "b": 4}, rubric, "weighted") == 7.0


def test_judges_combine_per_aspect_and_unscored_ones_are_ignored():
    judgements = [
        Judgement("i", "a", scores(8, 8, 8, 8, 8)),
        Judgement("i", "b", scores(6, 4, 8, 8, 8)),
        Judgement("i", "c", None, reason="no complete set of scores"),
    ]
    assert combine_judges(judgements, RUBRIC) == scores(7, 6, 8, 8, 8)
    assert combine_judges(judgements[2:], RUBRIC) is None


def test_thresholds():
    values = [2.0, 4.0, 6.0, 8.0, 10.0]
    assert resolve_threshold(values, ThresholdConfig("absolute", 6.5)) == 6.5
    assert resolve_threshold(values, ThresholdConfig("quantile", 0.25)) == 4.0
    assert resolve_threshold(values, ThresholdConfig("quantile", 0.0)) == 2.0
    with pytest.raises(ConfigError, match="key 'value'"):
        ThresholdConfig("quantile", 1.0)


def record(i, generator="a"):
    return Instruction(
        id=i, instruction=f"问题{i}", output="回答。", provenance=Provenance(source="pool", generator=generator)
    )


def test_apply_filter_splits_records_and_records_why():
    records = [record("hi", "a"), record("lo", "b"), record("none", "a")]
    judgements = [
        Judgement("hi", "b", scores(9, 9, 8, 9, 9)),
        Judgement("lo", "a", scores(3, 2, 4, 6, 5)),
        Judgement("none", "b", None, reason="request failed: HTTP 500"),
    ]
    result = apply_filter(records, judgements, RUBRIC, method="mean", threshold=ThresholdConfig("absolute", 6))
    assert [r.id for r in result.kept] == ["hi"] and [r.id for r in result.dropped] == ["lo"]
    assert [r.id for r in result.unscored] == ["none"]
    kept = result.kept[0]
    assert kept.provenance.generator == "a" and kept.provenance.judge == "b" and kept.provenance.source == "pool"
    assert kept.provenance.scores == scores(9, 9, 8, 9, 9)
    assert kept.meta["crossfilter"]["aggregate"] == 8.8 and kept.meta["crossfilter"]["status"] == "kept"
    assert result.dropped[0].meta["crossfilter"]["reason"] == "mean score 4.00 < threshold 6.00"
    assert "HTTP 500" in result.unscored[0].meta["crossfilter"]["reason"]
    assert result.unscored[0].provenance.scores == {}  # never a made-up score
    assert result.per_judge == {"b": {"hi": 8.8}, "a": {"lo": 4.0}}
    assert records[0].meta == {}  # inputs are not modified


def test_min_aggregate_drops_an_item_weak_in_one_aspect():
    records = [record("x")]
    judgements = [Judgement("x", "b", scores(9, 9, 9, 2, 9))]
    mean = apply_filter(records, judgements, RUBRIC, method="mean", threshold=ThresholdConfig())
    strict = apply_filter(records, judgements, RUBRIC, method="min", threshold=ThresholdConfig())
    assert len(mean.kept) == 1 and len(strict.dropped) == 1
