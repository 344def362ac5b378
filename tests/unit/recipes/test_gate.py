"""The evaluation gate counts a change as better in each figure's own direction."""

from __future__ import annotations

from medspec.recipes.gate import _improvement


def test_a_fall_in_bits_per_character_is_an_improvement_and_a_fall_in_accuracy_is_not():
    before = {"AneCQ-sample": 40.0, "AneDoc-sample": 2.0}
    assert _improvement(before, {"AneCQ-sample": 40.0, "AneDoc-sample": 1.5}, {"AneDoc-sample"}) == 0.25
    assert _improvement(before, {"AneCQ-sample": 38.0, "AneDoc-sample": 2.0}, {"AneDoc-sample"}) == -1.0
    assert _improvement(before, {"AneCQ-sample": 40.0, "AneDoc-sample": 2.5}, {"AneDoc-sample"}) == -0.25
