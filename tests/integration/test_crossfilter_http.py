"""CrossFilter end to end against a local server speaking the OpenAI and Anthropic wire formats, with faults."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import yaml

from medspec.cli import main
from medspec.data.io import read_records, write_records
from medspec.llm.base import GenerationParams
from medspec.llm.cache import RequestCache
from medspec.specialty import load_specialty
from tests.unit.llm.fake_server import FakeLLMServer, medical_responder

LEXICON = load_specialty("anesthesiology").lexicon_terms()
FAST_RETRIES = {"max_retries": 8, "retry_base_delay_s": 0.005, "retry_max_delay_s": 0.05, "timeout_s": 0.5}


def write_config(path: Path, backends: dict, **sections) -> Path:
    config = {
        "specialty": "anesthesiology",
        "backends": backends,
        "self_instruct": {"target_count": 16, "tasks_per_request": 4, "requests_per_round": 2, "max_rounds": 6},
        "scoring": {"chunk_size": 4},
        "audit": {"sample_per_generator": 3},
    } | sections
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def outputs(run: Path) -> dict[str, list]:
    folder = run / "filter"
    return {
        name: read_records(folder / f"{name}.jsonl", allow_empty=frozenset({"output"}))
        for name in ("kept", "dropped", "unscored")
    }


def test_with_30_percent_of_requests_faulted_every_item_is_accounted_for(tmp_path):
    with FakeLLMServer(medical_responder(LEXICON), fault_rate=0.3, slow_s=1.0, seed=7) as server:
        server.inject("slow", "malformed", "noscore", "429", "500")  # each kind at least once, then 30% at random
        backends = {
            "gpt": {"kind": "openai", "model": "gen-a", "base_url": server.openai_url, **FAST_RETRIES},
            "claude": {"kind": "anthropic", "model": "gen-b", "base_url": server.anthropic_url, **FAST_RETRIES},
        }
        config = write_config(tmp_path / "cf.yaml", backends)
        assert main(["crossfilter", "run", "--config", str(config), "--out", str(tmp_path / "run")]) == 0
        assert set(server.faulted) == {"429", "500", "slow", "malformed", "noscore"}
        assert sum(server.faulted.values()) >= 0.2 * server.hits
        paths = {p for p, _, _ in server.requests}
        assert paths == {"/v1/chat/completions", "/v1/messages"}
    candidates = read_records(tmp_path / "run" / "candidates" / "candidates.jsonl", allow_empty=frozenset({"output"}))
    assert len(candidates) >= 16 and {r.provenance.generator for r in candidates} == {"gpt", "claude"}
    split = outputs(tmp_path / "run")
    ids = sorted(r.id for records in split.values() for r in records)
    assert ids == sorted(r.id for r in candidates)  # each exactly once
    report = json.loads((tmp_path / "run" / "filter" / "report.json").read_text(encoding="utf-8"))
    refusals = sum(r.output.startswith("作为一个AI") for r in candidates)  # one in every answer of four tasks
    assert report["rules"]["refusal"]["dropped"] == refusals >= 1
    for record in split["unscored"]:
        assert record.meta["crossfilter"]["reason"] and record.provenance.scores == {}
    for record in split["kept"] + [r for r in split["dropped"] if r.meta["crossfilter"]["step"] == "score"]:
        assert record.provenance.judge != record.provenance.generator
    assert report["audit"]["items"] == 6


RUN_SCRIPT = """
import sys
from medspec.cli import main
sys.exit(main(["crossfilter", "run", "--config", sys.argv[1], "--out", sys.argv[2]]))
"""


def _params(body: dict) -> GenerationParams:
    """The parameters an OpenAI request body was sent with (the inverse of OpenAIBackend._body)."""
    return GenerationParams(
        max_new_tokens=body["max_tokens"],
        temperature=body["temperature"],
        top_p=body.get("top_p", 1.0),
        seed=body.get("seed"),
        stop=tuple(body.get("stop", ())),
    )


def test_a_killed_run_resumes_without_resending_a_cached_request(tmp_path):
    with FakeLLMServer(medical_responder(LEXICON), latency_s=0.05) as server:
        names = {"a": ("writer-a", "gen-a"), "b": ("writer-b", "gen-b")}
        backends = {
            key: {"kind": "openai", "name": name, "model": model, "base_url": server.openai_url, "max_concurrency": 2}
            for key, (name, model) in names.items()
        }
        config = write_config(
            tmp_path / "cf.yaml",
            backends,
            self_instruct={"target_count": 24, "tasks_per_request": 3, "requests_per_round": 2},
        )
        run = tmp_path / "run"
        child = subprocess.Popen(
            [sys.executable, "-c", RUN_SCRIPT, str(config), str(run)],
            cwd=Path(__file__).parents[2],
            env=os.environ | {"PYTHONPATH": str(Path(__file__).parents[2])},
        )
        deadline = time.monotonic() + 120
        while len(server.answered) < 14 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        with sqlite3.connect(run / "cache.sqlite") as db:
            cached = {key for (key,) in db.execute("SELECT key FROM answers")}
        assert len(cached) >= 10
        before = len(server.requests)

        assert main(["crossfilter", "run", "--config", str(config), "--out", str(run)]) == 0

        model_name = {model: name for name, model in names.values()}
        resent = [
            body
            for _, body, _ in server.requests[before:]
            if RequestCache.key(
                model_name[body["model"]],
                {"model": body["model"], "params": dataclasses.asdict(_params(body)), "messages": body["messages"]},
            )
            in cached
        ]
        assert resent == []
        assert len(server.requests) > before  # the resumed run did have work left
    split = outputs(run)
    candidates = read_records(run / "candidates" / "candidates.jsonl", allow_empty=frozenset({"output"}))
    assert sorted(r.id for records in split.values() for r in records) == sorted(r.id for r in candidates)


def test_judgements_that_failed_in_transport_are_retried_when_the_same_command_runs_again(tmp_path, capsys):
    candidates = read_records(load_specialty("anesthesiology").data.candidates[0], allow_empty=frozenset({"output"}))
    pool_file = tmp_path / "pool.jsonl"
    write_records(pool_file, [r for r in candidates if r.output.strip()][:8])
    with FakeLLMServer(medical_responder(LEXICON), fault_rate=1.0, faults=("500",)) as server:  # down for the first run
        retries = {**FAST_RETRIES, "max_retries": 1}
        backends = {
            "model_a": {"kind": "openai", "model": "judge-a", "base_url": server.openai_url, **retries},
            "model_b": {"kind": "anthropic", "model": "judge-b", "base_url": server.anthropic_url, **retries},
        }
        pool = {"files": [str(pool_file)]}
        config = write_config(
            tmp_path / "cf.yaml", backends, source="pool", pool=pool, audit={"sample_per_generator": 0}
        )
        command = ["crossfilter", "run", "--config", str(config), "--out", str(tmp_path / "run")]
        assert main(command) == 1  # unscored because requests failed: not a success
        assert "run the same command again" in capsys.readouterr().err
        first = outputs(tmp_path / "run")
        assert first["unscored"] and not first["kept"]  # every judgement failed in transport
        assert all("request failed" in r.meta["crossfilter"]["reason"] for r in first["unscored"])
        report = (tmp_path / "run" / "filter" / "report.md").read_text(encoding="utf-8")
        assert "Unscored judgements by reason: request failed" in report
        assert main([*command, "--allow-unscored"]) == 0  # accepted as it is (and retried once more, still down)

        server.fault_rate = 0.0  # the server is back
        assert main(command) == 0
        second = outputs(tmp_path / "run")
    assert not second["unscored"]  # the failures were asked again, and answered
    assert sorted(r.id for r in second["kept"] + second["dropped"]) == sorted(
        r.id for r in first["unscored"] + first["dropped"]
    )
