"""bench compare: runs scored alike side by side with paired differences; other settings kept apart, said so."""

from __future__ import annotations

import pytest

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.bootstrap import Estimate, paired_difference
from medspec.bench.compare import PairedDelta, comparable_groups, paired_deltas
from medspec.bench.report import Report
from medspec.bench.results import BenchmarkResult
from medspec.bench.tasks import Task
from tests.unit.bench.test_choice_modes import AllKnowing, LetterBiased, questions


def runs(tmp_path, *pairs):
    records = questions(120)
    backends = {"knows": AllKnowing(records), "always-a": LetterBiased()}
    found = []
    for model, mode in pairs:
        config = BenchmarkConfig(choice_mode=mode, bootstrap_resamples=300)
        out = tmp_path / f"{model}-{mode}"
        Benchmark([Task("mc", "choice", records)], config=config).run(backends[model], out=out, model=model)
        found.append(BenchmarkResult.load(out))
    return found


def test_paired_difference_is_narrower_than_the_two_separate_intervals():
    shared = [i % 3 for i in range(90)]  # item difficulty both models share
    base = [s * 10.0 for s in shared]
    better = [s * 10.0 + (2.0 if i % 2 else 0.0) for i, s in enumerate(shared)]
    delta = paired_difference(base, better, resamples=500)
    separate = Estimate.from_scores(better, resamples=500).high - Estimate.from_scores(base, resamples=500).low
    assert delta.value == pytest.approx(1.0) and delta.low > 0 and delta.high - delta.low < separate


def test_a_knowing_model_is_better_than_a_biased_one_with_an_interval_that_excludes_zero(tmp_path):
    biased, knowing = runs(tmp_path, ("always-a", "letter"), ("knows", "letter"))
    (delta,) = paired_deltas([biased, knowing], "mc", resamples=300)
    assert delta.model == "knows" and delta.baseline == "always-a" and delta.delta.n == 120
    assert delta.delta.low > 0 and delta.verdict == "better"
    text = Report([biased, knowing]).markdown()
    assert "| Δ Acc | against | items | Δ [interval] | verdict |" in text and "| knows | always-a | 120 |" in text
    assert "- always-a: A " in text  # the bias, beside the key's letters
    assert Report([biased, knowing]).to_dict()["deltas"]["mc"][0]["verdict"] == "better"


def test_runs_scored_in_different_modes_are_not_compared(tmp_path):
    letter, generate = runs(tmp_path, ("knows", "letter"), ("always-a", "generate"))
    assert [[r.model for r in g] for g in comparable_groups([letter, generate], "mc")] == [["knows"], ["always-a"]]
    with pytest.raises(ValueError, match="different settings"):
        paired_deltas([letter, generate], "mc")
    text = Report([letter, generate]).markdown()
    assert "**Not comparable:**" in text and "mode letter vs generate" in text
    assert "### letter" in text and "### generate" in text and "| Δ Acc |" not in text


def test_lower_bits_per_character_is_the_better_direction():
    delta = PairedDelta("tuned", "base", "BPC", Estimate(-0.2, -0.3, -0.1, 40), lower_is_better=True)
    assert delta.verdict == "better"
    assert PairedDelta("x", "base", "BPC", Estimate(0.2, 0.1, 0.3, 40), lower_is_better=True).verdict == "worse"
    assert PairedDelta("x", "base", "Acc", Estimate(0.2, -0.1, 0.3, 40)).verdict == "no clear difference"
