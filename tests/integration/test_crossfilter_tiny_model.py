"""CrossFilter with tiny random local models as judges: likelihood scoring, and free-text scoring that never parses."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from medspec.crossfilter.config import AuditConfig, CrossFilterConfig, PoolConfig, ScoringConfig
from medspec.crossfilter.filtering import ThresholdConfig
from medspec.crossfilter.pipeline import CrossFilter
from medspec.crossfilter.results import refilter
from medspec.data.io import read_records, write_records
from medspec.llm.transformers import TransformersBackend
from medspec.specialty import load_specialty
from tests.conftest import tiny_llama

EMPTY_OK = frozenset({"output"})


class Counted(TransformersBackend):
    """A TransformersBackend that counts the chats it scores or answers."""

    calls = 0

    def continuation_logprobs(self, chats, continuations):
        Counted.calls += len(chats)
        return super().continuation_logprobs(chats, continuations)

    def generate(self, chats, params):
        Counted.calls += len(chats)
        return super().generate(chats, params)


@pytest.fixture
def judges(byte_level_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    return {
        name: Counted(tiny_llama(len(tokenizer), seed=seed), tokenizer, name=f"tiny-{seed}", batch_size=16)
        for name, seed in (("model_a", 1), ("model_b", 2))
    }


@pytest.fixture
def pool(tmp_path):
    records = read_records(load_specialty("anesthesiology").data.candidates[0], allow_empty=EMPTY_OK)
    path = tmp_path / "pool.jsonl"
    write_records(path, records[:14])
    return path


def test_tiny_judges_run_the_whole_pipeline_by_likelihood(tmp_path, judges, pool):
    config = CrossFilterConfig(
        source="pool",
        pool=PoolConfig(files=[pool]),
        scoring=ScoringConfig(mode="likelihood", threshold=ThresholdConfig("quantile", 0.25), chunk_size=8),
        audit=AuditConfig(sample_per_generator=2),
    )
    result = CrossFilter(config, backends=judges).run(tmp_path / "run")
    assert len(result.kept) + len(result.dropped) + len(result.unscored) == 14 and not result.unscored
    scored = result.kept + [r for r in result.dropped if r.meta["crossfilter"]["step"] == "score"]
    assert len(scored) >= 8 and len(result.kept) < len(scored)  # the quantile dropped some
    for record in scored:
        scores = record.provenance.scores
        assert set(scores) == {"coherence", "professionalism", "usefulness", "harmlessness", "friendliness"}
        assert all(0 <= s <= 10 for s in scores.values())
        assert any(s != round(s) for s in scores.values())  # expected scores, not integers
        assert record.provenance.judge != record.provenance.generator
    judgements = (tmp_path / "run" / "score" / "judgements.jsonl").read_text(encoding="utf-8")
    assert '"distributions": {"coherence": [' in judgements
    assert result.report["audit"]["agreement"][0]["items"] == 4
    assert (tmp_path / "run" / "filter" / "histograms.png").stat().st_size > 1000

    calls = Counted.calls
    again = CrossFilter(config, backends=judges).run(tmp_path / "run")
    refilter(tmp_path / "run", threshold=ThresholdConfig("absolute", 5.0))
    assert Counted.calls == calls and [r.id for r in again.kept] == [r.id for r in result.kept]


def test_tiny_judges_that_never_answer_in_json_leave_items_unscored_not_zero(tmp_path, judges, pool):
    config = CrossFilterConfig(
        source="pool",
        pool=PoolConfig(files=[pool]),
        scoring=ScoringConfig(max_new_tokens=12, parse_retries=1),
        audit=AuditConfig(sample_per_generator=0),
    )
    result = CrossFilter(config, backends=judges).run(tmp_path / "run")
    after_rules = 14 - len([r for r in result.dropped if r.meta["crossfilter"]["step"] == "clean"])
    assert len(result.unscored) == after_rules and not result.kept
    assert all(r.provenance.scores == {} for r in result.unscored)
    reasons = {r.meta["crossfilter"]["reason"] for r in result.unscored}
    assert all("no complete set of scores in 2 answer(s)" in reason for reason in reasons)
    assert result.report["steps"][2] == {"step": "score", "in": after_rules, "unscored": after_rules, "out": 0}
