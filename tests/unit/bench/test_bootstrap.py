from __future__ import annotations

import math

import numpy as np
import pytest

from medspec.bench.bootstrap import Estimate, bootstrap_ci


def test_interval_brackets_the_mean_and_narrows_with_more_items():
    rng = np.random.default_rng(0)
    small = rng.integers(0, 2, size=40).astype(float)
    large = rng.integers(0, 2, size=4000).astype(float)
    low_s, high_s = bootstrap_ci(small)
    low_l, high_l = bootstrap_ci(large)
    assert low_s <= small.mean() <= high_s and low_l <= large.mean() <= high_l
    assert (high_l - low_l) < (high_s - low_s) / 5  # width shrinks like 1/sqrt(n): 10x the items, ~1/10 the width


def test_interval_matches_the_normal_approximation_for_a_proportion():
    values = np.array([1.0] * 300 + [0.0] * 700)
    low, high = bootstrap_ci(values, resamples=4000)
    half = 1.96 * math.sqrt(0.3 * 0.7 / 1000)
    assert low == pytest.approx(0.3 - half, abs=0.006) and high == pytest.approx(0.3 + half, abs=0.006)


def test_same_seed_same_interval_and_another_seed_differs():
    values = np.random.default_rng(1).random(50)
    assert bootstrap_ci(values, seed=3) == bootstrap_ci(values, seed=3)
    assert bootstrap_ci(values, seed=3) != bootstrap_ci(values, seed=4)


def test_groups_are_resampled_whole():
    # Two cases of 50 questions each: every answer of one case right, every answer of the other wrong. Item by item
    # the mean looks precise; with only two independent cases it is not.
    values = [1.0] * 50 + [0.0] * 50
    groups = ["case-1"] * 50 + ["case-2"] * 50
    item_low, item_high = bootstrap_ci(values)
    case_low, case_high = bootstrap_ci(values, groups=groups)
    assert item_high - item_low < 0.25
    assert case_low == 0.0 and case_high == 1.0


def test_edge_cases_and_errors():
    assert all(math.isnan(v) for v in bootstrap_ci([]))
    assert bootstrap_ci([7.0]) == (7.0, 7.0)
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_ci([1.0], confidence=1.5)
    with pytest.raises(ValueError, match="group labels"):
        bootstrap_ci([1.0, 2.0], groups=["a"])


def test_estimate_scales_formats_and_round_trips():
    estimate = Estimate.from_scores([1, 0, 1, 1], scale=100, resamples=200)
    assert estimate.value == 75.0 and estimate.n == 4 and estimate.low <= 75.0 <= estimate.high
    assert Estimate.from_dict(estimate.to_dict()) == estimate
    empty = Estimate.from_scores([])
    assert empty.format() == "n/a" and empty.to_dict()["value"] is None
