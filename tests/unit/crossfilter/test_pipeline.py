from __future__ import annotations

import hashlib
import json

import pytest

from medspec.cli import main
from medspec.crossfilter.config import (
    AuditConfig,
    CrossFilterConfig,
    PoolConfig,
    ScoringConfig,
    load_crossfilter_config,
)
from medspec.crossfilter.filtering import ThresholdConfig
from medspec.crossfilter.pipeline import CrossFilter
from medspec.crossfilter.results import refilter
from medspec.data.io import read_records
from medspec.durable import AppendLog
from medspec.errors import ConfigError
from medspec.llm.base import Completion
from medspec.llm.registry import BACKENDS, register_backend
from medspec.specialty import load_specialty

ASPECTS = ["coherence", "professionalism", "usefulness", "harmlessness", "friendliness"]
POOL = load_specialty("anesthesiology").data.candidates[0]
EMPTY_OK = frozenset({"output"})


class Judge:
    """Scores from a hash of the judged text; records every chat it answered."""

    def __init__(self, name, *, fail_after=None):
        self.name = name
        self.answered: list[str] = []
        self.fail_after = fail_after

    def generate(self, chats, params):
        if self.fail_after is not None and len(self.answered) + len(chats) > self.fail_after:
            raise KeyboardInterrupt("killed")
        answers = []
        for chat in chats:
            text = json.dumps(chat, ensure_ascii=False)
            self.answered.append(text)
            digest = hashlib.sha256((self.name + chat[1]["content"]).encode()).digest()
            answers.append(Completion(text=json.dumps({a: 3 + digest[i] % 8 for i, a in enumerate(ASPECTS)})))
        return answers


def pool_config(**scoring):
    return CrossFilterConfig(
        source="pool", scoring=ScoringConfig(chunk_size=16, **scoring), audit=AuditConfig(sample_per_generator=5)
    )


def run_pool(out, judges=None, config=None):
    judges = judges or {"model_a": Judge("model_a"), "model_b": Judge("model_b")}
    return CrossFilter(config or pool_config(), backends=judges).run(out), judges


def test_pool_run_accounts_for_every_item_and_judges_cross(tmp_path):
    result, judges = run_pool(tmp_path / "run")
    ids = [r.id for r in result.kept + result.dropped + result.unscored]
    assert sorted(ids) == sorted(r.id for r in read_records(POOL, allow_empty=EMPTY_OK)) and len(ids) == 140
    steps = {s["step"]: s for s in result.report["steps"]}
    assert steps["clean"]["dropped"] == 37 and steps["filter"]["out"] == len(result.kept)
    log = [json.loads(line) for line in (tmp_path / "run" / "score" / "judgements.jsonl").open()]
    generator = {r.id: r.provenance.generator for r in read_records(POOL, allow_empty=EMPTY_OK)}
    assert len(log) == 103 and all(generator[j["item"]] != j["judge"] for j in log)
    assert {j["judge"] for j in log} == {"model_a", "model_b"}
    for record in result.kept:
        info = record.meta["crossfilter"]
        assert record.provenance.judge != record.provenance.generator and set(record.provenance.scores) == set(ASPECTS)
        assert info["status"] == "kept" and info["aggregate"] >= info["threshold"] == 6.0
    by_rule = [r for r in result.dropped if r.meta["crossfilter"]["step"] == "clean"]
    assert len(by_rule) == 37 and all(r.meta["crossfilter"]["rule"] for r in by_rule)
    flaws = result.report["flaws"]
    assert flaws["refusal"]["rules"] == {"refusal": 5} and flaws["factual_error"]["items"] == 14
    audit = result.report["audit"]
    assert audit["items"] == 10 and {tuple(a["judges"]) for a in audit["agreement"]} == {("model_a", "model_b")}
    assert audit["agreement"][0]["items"] == 10 and audit["joint_self_preference"] is not None
    files = sorted(p.name for p in (tmp_path / "run" / "filter").iterdir())
    assert files == ["dropped.jsonl", "histograms.png", "kept.jsonl", "report.json", "report.md", "unscored.jsonl"]
    assert (tmp_path / "run" / "filter" / "histograms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| filter | 103 |" in (tmp_path / "run" / "filter" / "report.md").read_text(encoding="utf-8")
    # the audit asked each judge only for what cross scoring had not: the sampled items of its own generator
    assert len(judges["model_a"].answered) + len(judges["model_b"].answered) == 103 + 10


def test_a_killed_run_resumes_without_asking_an_answered_question_again(tmp_path):
    dying = {"model_a": Judge("model_a", fail_after=30), "model_b": Judge("model_b", fail_after=30)}
    with pytest.raises(KeyboardInterrupt):
        run_pool(tmp_path / "run", dying)
    assert all(judge.answered for judge in dying.values())
    fresh = {"model_a": Judge("model_a"), "model_b": Judge("model_b")}
    result, _ = run_pool(tmp_path / "run", fresh)
    log = [json.loads(line) for line in (tmp_path / "run" / "score" / "judgements.jsonl").open()]
    for name, judge in fresh.items():
        assert set(judge.answered) & set(dying[name].answered) == set()
        share = sum(1 for entry in log if entry["judge"] == name)
        assert len(judge.answered) + len(dying[name].answered) == share + 5  # cross scoring, then its 5 audit items
    assert len(result.kept) + len(result.dropped) + len(result.unscored) == 140
    again = {"model_a": Judge("model_a"), "model_b": Judge("model_b")}
    run_pool(tmp_path / "run", again)
    assert again["model_a"].answered == again["model_b"].answered == []


def test_refilter_needs_no_backend_and_moves_the_line(tmp_path):
    first, judges = run_pool(tmp_path / "run")
    calls = sum(len(j.answered) for j in judges.values())
    strict = refilter(tmp_path / "run", threshold=ThresholdConfig("absolute", 8.0))
    assert sum(len(j.answered) for j in judges.values()) == calls
    assert strict.folder == tmp_path / "run" / "refilter-mean-absolute-8"
    assert len(strict.kept) < len(first.kept) and len(strict.kept) + len(strict.dropped) == len(first.kept) + len(
        first.dropped
    )
    assert all(r.meta["crossfilter"]["aggregate"] >= 8.0 for r in strict.kept)
    tenth = refilter(tmp_path / "run", threshold=ThresholdConfig("quantile", 0.1))
    scored = len(tenth.kept) + len([r for r in tenth.dropped if r.meta["crossfilter"]["step"] == "score"])
    assert scored == 103 and 0.85 * scored <= len(tenth.kept) < scored
    strict_min = refilter(tmp_path / "run", threshold=ThresholdConfig("absolute", 5.0), aggregate_method="min")
    assert strict_min.report["settings"]["aggregate"] == "min"
    assert all(min(r.provenance.scores.values()) >= 5.0 for r in strict_min.kept)
    with pytest.raises(ConfigError, match="no CrossFilter run"):
        refilter(tmp_path / "nothing", threshold=ThresholdConfig())


def test_an_item_is_never_judged_by_its_generator_unless_allowed(tmp_path):
    with pytest.raises(ConfigError, match="no judge other than the generator itself for items of model_a"):
        CrossFilter(pool_config(), backends={"model_a": Judge("model_a")}).run(tmp_path / "one")
    config = pool_config(allow_self_judging=True)
    result = CrossFilter(config, backends={"model_a": Judge("model_a")}).run(tmp_path / "self")
    assert {r.provenance.judge for r in result.kept} == {"model_a"}


def test_pool_labels_map_to_judges(tmp_path):
    config = CrossFilterConfig(
        source="pool", pool=PoolConfig(files=[POOL], generator_judges={"model_a": "gpt", "model_b": "claude"})
    )
    result = CrossFilter(config, backends={"gpt": Judge("gpt"), "claude": Judge("claude")}).run(tmp_path / "run")
    pairs = {(r.provenance.generator, r.provenance.judge) for r in result.kept}
    assert pairs == {("model_a", "claude"), ("model_b", "gpt")}
    assert set(result.report["audit"]["self_preference"]) == {"gpt", "claude"}


def test_likelihood_mode_refuses_api_judges(tmp_path):
    config = pool_config(mode="likelihood")
    with pytest.raises(ConfigError, match="likelihood"):
        run_pool(tmp_path / "run", config=config)


def test_a_changed_config_is_not_mixed_into_an_old_run(tmp_path):
    run_pool(tmp_path / "run")
    with pytest.raises(ConfigError, match="another config"):
        run_pool(tmp_path / "run", config=pool_config(parse_retries=0))


def test_cli_runs_and_refilters_from_a_yaml_config(tmp_path, capsys):
    register_backend("scripted-test", lambda config, cache: Judge(config.display_name))
    try:
        config = tmp_path / "crossfilter.yaml"
        config.write_text(
            "source: pool\n"
            "backends:\n"
            "  model_a: {kind: scripted-test, model: a}\n"
            "  model_b: {kind: scripted-test, model: b}\n"
            "audit: {sample_per_generator: 3}\n",
            encoding="utf-8",
        )
        assert main(["crossfilter", "run", "--config", str(config), "--out", str(tmp_path / "run")]) == 0
        printed = capsys.readouterr().out
        assert "| clean | 140 | 37 |" in printed and "kept.jsonl" in printed
        code = main(["crossfilter", "refilter", str(tmp_path / "run"), "--threshold", "0.2", "--quantile"])
        assert code == 0 and (tmp_path / "run" / "refilter-mean-quantile-0.2" / "kept.jsonl").is_file()
        assert (
            main(["crossfilter", "run", "--config", str(config), "--out", str(tmp_path / "b"), "--set", "judges=[x]"])
            == 2
        )
        assert "key 'judges': 'x' is not a backend" in capsys.readouterr().err
    finally:
        del BACKENDS["scripted-test"]


def test_yaml_paths_resolve_against_the_config_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pool.jsonl").write_bytes(POOL.read_bytes())
    path = tmp_path / "cf.yaml"
    path.write_text("source: pool\npool: {files: [data/pool.jsonl]}\nscoring: {rubric: r.yaml}\n", encoding="utf-8")
    config = load_crossfilter_config(path, ["scoring.threshold.value=7"])
    assert config.pool.files == [tmp_path / "data" / "pool.jsonl"] and config.scoring.rubric == tmp_path / "r.yaml"
    assert config.scoring.threshold.value == 7.0


def test_judgements_log_is_the_resume_point(tmp_path):
    run_pool(tmp_path / "run")
    entries = list(AppendLog(tmp_path / "run" / "score" / "judgements.jsonl").entries())
    assert {"item", "judge", "scores", "reason", "attempts", "answers"} <= set(entries[0])
