from __future__ import annotations

import json

import pytest

from medspec.errors import ConfigError
from medspec.run_dir import RunDirectory


def test_records_config_versions_inputs_and_resumes(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    calls = []

    def work(folder):
        calls.append(folder.name)
        (folder / "out.txt").write_text("done", encoding="utf-8")
        return {"n": 1}

    run = RunDirectory(tmp_path / "run", config={"lr": 1e-4}, inputs=[data])
    assert run.run_step("train", work) == {"n": 1}
    for name in ("config.yaml", "environment.json", "inputs.json", "manifest.json", "run.log", "train/out.txt"):
        assert (run.root / name).exists(), name
    assert "torch" in json.loads((run.root / "environment.json").read_text())
    assert json.loads((run.root / "manifest.json").read_text())["steps"]["train"]["status"] == "complete"

    again = RunDirectory(tmp_path / "run", config={"lr": 1e-4}, inputs=[data])
    assert again.run_step("train", work) == {"n": 1}
    assert calls == ["train"]


def test_an_interrupted_step_runs_again(tmp_path):
    run = RunDirectory(tmp_path, config={})

    def crash(folder):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run.run_step("slow", crash)
    resumed = RunDirectory(tmp_path, config={})
    assert not resumed.is_complete("slow")
    assert resumed.run_step("slow", lambda folder: {"ok": True}) == {"ok": True}


def test_refuses_another_config_or_changed_inputs(tmp_path):
    data = tmp_path / "data.jsonl"
    data.write_text("{}\n", encoding="utf-8")
    RunDirectory(tmp_path / "run", config={"lr": 1e-4, "seed": 0}, inputs=[data])
    with pytest.raises(ConfigError, match=r"another config \(lr: 0.0001 -> 0.001\)"):
        RunDirectory(tmp_path / "run", config={"lr": 1e-3, "seed": 0}, inputs=[data])
    data.write_text('{"changed": 1}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="other input files"):
        RunDirectory(tmp_path / "run", config={"lr": 1e-4, "seed": 0}, inputs=[data])


def test_a_reopened_step_runs_again_from_its_folder(tmp_path):
    run = RunDirectory(tmp_path, config={"seed": 0})
    run.run_step("score", lambda folder: {"failed": 2})
    run.reopen("score", "never-ran")
    assert not run.is_complete("score")
    again = RunDirectory(tmp_path, config={"seed": 0})  # the reopening is recorded: a new invocation runs it
    assert again.run_step("score", lambda folder: {"failed": 0}) == {"failed": 0} and again.is_complete("score")
    assert "never-ran" not in again.manifest["steps"]
