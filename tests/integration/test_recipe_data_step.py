"""`medspec run` on the bundled anesthesiology data: the data step, its outputs and resume."""

from __future__ import annotations

import json

import pytest

from medspec.cli import main
from medspec.data.dedup import Decontaminator
from medspec.data.io import read_records
from medspec.specialty import load_specialty


def test_run_data_step_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "anesthesiology", "--out", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| general |" in table and "| specialty |" in table
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    data = manifest["steps"]["data"]
    assert data["status"] == "complete"
    kept = read_records(out / "data" / "specialty.jsonl")
    assert len(kept) == data["outputs"]["specialty"]["kept"] >= 300
    first_finish = data["finished"]
    assert main(["run", "anesthesiology", "--out", str(out)]) == 0
    again = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["steps"]["data"]
    assert again["finished"] == first_finish  # resumed: nothing redone


def test_run_refuses_a_changed_config(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "anesthesiology", "--out", str(out)]) == 0
    assert main(["run", "anesthesiology", "--out", str(out), "--set", "data.dedup_threshold=0.9"]) == 2
    assert "another config (data.dedup_threshold: 0.7 -> 0.9)" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["anesthesiology", "pediatrics"])
def test_bundled_training_data_does_not_overlap_the_benchmark(name):
    specialty = load_specialty(name)
    benchmark = [r for task in specialty.benchmark for r in read_records(task.file)]
    decontaminator = Decontaminator(benchmark)
    files = [*specialty.data.instructions, *specialty.data.general_instructions, *specialty.data.preferences]
    if specialty.seed_tasks:
        files.append(specialty.seed_tasks)
    for path in files:
        report = decontaminator.check(read_records(path))
        assert not report.overlaps, f"{path}: {report.overlaps[:5]}"
