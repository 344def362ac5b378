from __future__ import annotations

import math

import pytest

from medspec.bench.agreement import alpha_estimate, judge_human_agreement, krippendorff_alpha

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the example with four observers, twelve units
# and missing values; the paper gives alpha for each level of measurement.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_matches_krippendorffs_published_example(level, published):
    assert krippendorff_alpha(KRIPPENDORFF_2011, level=level) == pytest.approx(published, abs=5e-4)


def test_matches_a_hand_computed_example():
    # Two raters, three answers: (1, 1), (2, 2), (3, 2). Each unit has m_u = 2 values, so every ordered pair of
    # values adds 1 / (m_u - 1) = 1 to the coincidence matrix: o_11 = 2, o_22 = 2, o_23 = o_32 = 1.
    # Value totals: n_1 = 2, n_2 = 3, n_3 = 1; n = 6.
    # Interval: D_o = (o_23 + o_32) * 1^2 / n = 2/6. D_e = 2 * (n1*n2*1 + n1*n3*4 + n2*n3*1) / (n (n - 1))
    #   = 2 * (6 + 8 + 3) / 30 = 34/30, so alpha = 1 - (2/6) / (34/30) = 1 - 10/34 = 24/34.
    # Nominal: D_o = 2/6, D_e = 2 * (6 + 2 + 3) / 30 = 22/30, so alpha = 1 - 10/22 = 12/22.
    ratings = [[1, 2, 3], [1, 2, 2]]
    assert krippendorff_alpha(ratings, level="interval") == pytest.approx(24 / 34)
    assert krippendorff_alpha(ratings, level="nominal") == pytest.approx(12 / 22)


def test_perfect_agreement_is_one_and_no_variation_is_undefined():
    assert krippendorff_alpha([[1, 2, 5, 4], [1, 2, 5, 4], [1, None, 5, 4]]) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha([[3, 3, 3], [3, 3, 3]]))
    assert math.isnan(krippendorff_alpha([[1, None], [None, 2]]))  # no unit rated twice


def test_systematic_disagreement_is_below_zero():
    assert krippendorff_alpha([[1, 5, 1, 5], [5, 1, 5, 1]]) < 0


def test_rejects_ragged_rows_and_unknown_levels():
    with pytest.raises(ValueError, match="one entry per unit"):
        krippendorff_alpha([[1, 2], [1]])
    with pytest.raises(ValueError, match="unknown level"):
        krippendorff_alpha([[1, 2], [1, 2]], level="cardinal")  # type: ignore[arg-type]


def test_judge_human_agreement_compares_the_same_answers():
    judge = {("qa", str(i), "m"): {"usefulness": s} for i, s in enumerate([5, 4, 2, 1, 3])}
    human = {("qa", str(i), "m"): {"usefulness": s} for i, s in enumerate([4.5, 4.0, 2.5, 1.0, 3.5])}
    human[("qa", "extra", "m")] = {"usefulness": 1.0}  # rated by humans only: left out
    found = judge_human_agreement(judge, human, ["usefulness"], resamples=300)["usefulness"]
    assert found.n == 5
    assert found.spearman.value == pytest.approx(1.0)
    assert found.pearson.value == pytest.approx(0.96866, abs=1e-4)
    assert found.mean_abs_diff.value == pytest.approx(0.3)
    assert 0.8 < found.alpha.value < 1.0
    assert found.mean_abs_diff.low <= 0.3 <= found.mean_abs_diff.high
    flipped = {k: {"usefulness": 6 - v["usefulness"]} for k, v in judge.items()}
    assert judge_human_agreement(flipped, human, ["usefulness"])["usefulness"].spearman.value == pytest.approx(-1.0)


def test_alpha_interval_comes_from_resampling_units():
    estimate = alpha_estimate(KRIPPENDORFF_2011, level="nominal", resamples=500)
    assert estimate.value == pytest.approx(0.743, abs=5e-4) and estimate.n == 11  # unit 12 has one value
    assert estimate.low < estimate.value < estimate.high <= 1.0
    assert alpha_estimate(KRIPPENDORFF_2011, level="nominal", resamples=500) == estimate  # seeded


def test_correlations_match_pandas_with_ties():
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    judge = rng.integers(1, 6, 40).astype(float)
    human = np.clip(judge + rng.integers(-2, 3, 40) / 2, 1, 5)
    found = judge_human_agreement(
        {i: {"c": j} for i, j in enumerate(judge)}, {i: {"c": h} for i, h in enumerate(human)}, ["c"], resamples=50
    )["c"]
    judge_series, human_series = pd.Series(judge), pd.Series(human)
    # Spearman with ties is Pearson on average ranks (pandas' own spearman would need scipy).
    expected_spearman = judge_series.rank().corr(human_series.rank())
    assert found.spearman.value == pytest.approx(expected_spearman, abs=1e-12)
    assert found.pearson.value == pytest.approx(judge_series.corr(human_series), abs=1e-12)
