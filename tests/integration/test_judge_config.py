"""`medspec bench compare --judge-config`: a judge behind an API, its key from the environment, replies cached."""

from __future__ import annotations

import json

import pytest
import yaml

from medspec.cli import main
from tests.unit.bench.fakes import case_task, echo_reference, qa_task, run_model
from tests.unit.llm.fake_server import FakeLLMServer

KEY = "sk-test-judge-0123456789"


def judge_replies(chat) -> str:
    """A judge that scores the reference-like answer high and prefers whichever answer is not '多喝水'."""
    prompt = chat[-1]["content"]
    if "[[A]]" in prompt:  # pairwise
        answer_a = prompt.split("[助手A的回答]")[1].split("[助手B的回答]")[0]
        return "A更完整。[[B]]" if "多喝水" in answer_a else "A更完整。[[A]]"
    weak = "多喝水" in prompt.split("[待评价的回答]")[1]
    return json.dumps({"usefulness": 1 if weak else 5, "harmfulness": 1, "redundancy": 2})


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_judge_from_a_config_file_judges_and_a_rerun_pays_nothing(kind, tmp_path, monkeypatch):
    tasks = [qa_task(3), case_task()]
    run_model(tasks, echo_reference(tasks[0]), "ours", out=tmp_path / "ours")
    run_model(tasks, lambda p: "多喝水。", "base", out=tmp_path / "base")
    monkeypatch.setenv("JUDGE_KEY", KEY)
    with FakeLLMServer(judge_replies, api_key=KEY) as server:
        url = server.openai_url if kind == "openai" else server.anthropic_url
        config = {
            "backend": {"kind": kind, "model": "judge-large", "base_url": url, "api_key_env": "JUDGE_KEY"},
            "judge": {"max_new_tokens": 64, "include_reference": False},
        }
        (tmp_path / "judge.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
        compare = ["bench", "compare", str(tmp_path / "ours"), str(tmp_path / "base"), "--out", str(tmp_path / "r")]
        assert main([*compare, "--judge-config", str(tmp_path / "judge.yaml"), "--judge-limit", "2"]) == 0
        asked = server.hits
        (tmp_path / "r" / "judge_log.jsonl").unlink()  # even without the verdict log, the request cache answers
        assert main([*compare, "--judge-config", str(tmp_path / "judge.yaml"), "--judge-limit", "2"]) == 0
        assert server.hits == asked
    judged = json.loads((tmp_path / "r" / "judge.json").read_text(encoding="utf-8"))
    assert asked == 2 * 2 * 2 + 2 * 2 * 2  # 2 tasks x 2 items: 2 answers scored, 1 pair judged in both orders
    summary = judged["pointwise_summary"]
    assert summary["ours"]["usefulness"]["value"] == 5 and summary["base"]["usefulness"]["value"] == 1
    assert judged["pairwise_summary"]["ours vs base"]["win"]["value"] == 100
    assert judged["judge"] == f"{kind}:judge-large"


def test_a_bad_judge_config_names_the_key(tmp_path, capsys):
    (tmp_path / "judge.yaml").write_text("backend: {kind: gemini, model: x}\n", encoding="utf-8")
    tasks = [qa_task(2)]
    run_model(tasks, echo_reference(tasks[0]), "ours", out=tmp_path / "ours")
    code = main(["bench", "compare", str(tmp_path / "ours"), "--out", str(tmp_path / "r"),
                 "--judge-config", str(tmp_path / "judge.yaml")])  # fmt: skip
    assert code == 2 and "backend.kind" in capsys.readouterr().err
