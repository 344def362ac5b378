from __future__ import annotations

import math
import random
import statistics

import pytest

from medspec.correlation import spearman
from medspec.crossfilter.audit import audit_summary, cohen_kappa


def reference_spearman(x, y):
    """Pearson's correlation of average ranks, computed the slow, obvious way."""

    def ranks(values):
        return [sum(u < v for u in values) + (sum(u == v for u in values) + 1) / 2 for v in values]

    return statistics.correlation(ranks(x), ranks(y))


def test_spearman_matches_the_definition_with_ties():
    rng = random.Random(0)
    for _ in range(20):
        x = [rng.randint(0, 5) for _ in range(15)]
        y = [v + rng.randint(-2, 2) for v in x]
        assert spearman(x, y) == pytest.approx(reference_spearman(x, y))
    assert spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) == pytest.approx(0.8207826816681233)
    assert math.isnan(spearman([1, 2], [2, 1])) and math.isnan(spearman([1, 1, 1], [1, 2, 3]))


def test_kappa():
    assert cohen_kappa([True, False] * 5, [True, False] * 5) == pytest.approx(1.0)
    assert cohen_kappa([True, False, True, False], [False, True, False, True]) == pytest.approx(-1.0)
    # 20 items: both keep 15, agree on 13 kept and 3 dropped.
    a = [True] * 13 + [True] * 2 + [False] * 2 + [False] * 3
    b = [True] * 13 + [False] * 2 + [True] * 2 + [False] * 3
    assert cohen_kappa(a, b) == pytest.approx((16 / 20 - (0.75 * 0.75 + 0.25 * 0.25)) / (1 - 0.625))
    assert cohen_kappa([True, True], [True, True]) is None


def _scores(generators):
    rng = random.Random(1)
    items = {f"{g}{i}": g for g in generators for i in range(30)}
    quality = {i: rng.uniform(3, 9) for i in items}
    scores = {
        "A": {i: q + (2.0 if items[i] == "A" else 0.0) for i, q in quality.items()},  # favours its own items
        "B": {i: q + 1.0 for i, q in quality.items()},  # lenient with everyone, no self-preference
        "C": dict(quality),
    }
    judges = {j: scores[j] for j in generators}
    return judges, items


def test_self_preference_separates_bias_from_leniency():
    scores, items = _scores("ABC")
    summary = audit_summary(scores, items, {"A": "A", "B": "B", "C": "C"}, threshold=6.0)
    bias = summary["self_preference"]
    assert {j: v["self_preference"] for j, v in bias.items()} == pytest.approx({"A": 2.0, "B": 0.0, "C": 0.0})
    assert summary["joint_self_preference"] == pytest.approx(2.0)
    assert bias["A"]["own_minus_others_on_own"] == pytest.approx(1.5)  # others: B (+1) and C (0)
    assert bias["B"]["own_minus_others_on_own"] == pytest.approx(1.0)  # leniency looks like self-preference raw
    assert summary["mean_scores"]["A"]["A"] == pytest.approx(summary["mean_scores"]["C"]["A"] + 2.0)
    pairs = {tuple(a["judges"]): a for a in summary["agreement"]}
    assert set(pairs) == {("A", "B"), ("A", "C"), ("B", "C")}
    assert pairs[("B", "C")]["spearman"] == pytest.approx(1.0) and pairs[("B", "C")]["items"] == 90
    assert pairs[("A", "C")]["spearman"] < 1.0
    assert pairs[("B", "C")]["same_decision"] < 1.0  # B's leniency moves items across the threshold


def test_with_two_judges_only_the_joint_self_preference_is_identified():
    scores, items = _scores("AB")
    summary = audit_summary(scores, items, {"A": "A", "B": "B"}, threshold=6.0)
    assert summary["joint_self_preference"] == pytest.approx(2.0)
    assert all(v["self_preference"] is None for v in summary["self_preference"].values())
    assert summary["self_preference"]["A"]["own_minus_others_on_own"] == pytest.approx(1.0)


def test_a_neutral_third_judge_identifies_each_generators_bias():
    scores, items = _scores("AB")
    scores["C"] = {i: v - 1.0 for i, v in scores["B"].items()}  # a third judge that generated nothing
    summary = audit_summary(scores, items, {"A": "A", "B": "B"}, threshold=6.0)
    assert {j: v["self_preference"] for j, v in summary["self_preference"].items()} == pytest.approx(
        {"A": 2.0, "B": 0.0}
    )
