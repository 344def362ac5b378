"""`medspec run` end to end on a tiny random Llama: the Hypnos recipe, an ablation, and the PediatricsGPT recipe."""

from __future__ import annotations

import json

import pytest

import medspec.specialty
from medspec.cli import main
from medspec.data.dedup import Decontaminator
from medspec.data.io import read_records
from medspec.specialty import load_specialty


def sets(*overrides):
    return [arg for o in overrides for arg in ("--set", o)]


def tiny_hypnos(model_dir):
    return sets(*tiny_overrides(model_dir))


def tiny_overrides(model_dir):
    """The Hypnos recipe on the tiny model: two steps per stage, a few benchmark items."""
    return [
        f"base_model={model_dir}",
        "vocab.settings.add=200",
        "vocab.settings.sentencepiece_vocab_size=1000",
        f"crossfilter.profiles.local.backends.model_a.model={model_dir}",
        f"crossfilter.profiles.local.backends.model_b.model={model_dir}",
        "crossfilter.profiles.local.pool_limit=6",
        "training.stages[0].max_steps=2",
        "training.stages[1].max_steps=2",
        "training.stages[0].save_steps=1",
        "training.stages[1].save_steps=1",
        "benchmark.settings.limit=2",
        "benchmark.settings.max_new_tokens=6",
        "benchmark.settings.bootstrap_resamples=20",
    ]


def manifest(out):
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["steps"]


@pytest.mark.slow
def test_hypnos_recipe_end_to_end_and_resume(tmp_path, tiny_model_dir, capsys, monkeypatch):
    out = tmp_path / "run"
    loads = []
    resolve = medspec.specialty._resolve  # called once per specialty read from disk
    monkeypatch.setattr(medspec.specialty, "_resolve", lambda *a: loads.append(a) or resolve(*a))
    assert main(["run", "anesthesiology", "--out", str(out), *tiny_hypnos(tiny_model_dir)]) == 0
    assert len(loads) == 2  # the recipe's config finds recipe.yaml; then one specialty object serves every step
    printed = capsys.readouterr().out
    steps = manifest(out)
    expected = [
        "data",
        "base",
        "vocab",
        "crossfilter",
        "train-general",
        "train-specialty",
        "bench-base",
        "bench-general",
        "bench-specialty",
    ]
    assert [s for s in steps if s in expected] == expected and all(steps[s]["status"] == "complete" for s in expected)
    for row in ("| data |", "| vocab | +", "| crossfilter |", "| train-general |", "| train-specialty |"):
        assert row in printed
    assert "| model | AneCQ-sample | AneQA-sample | AneRC-sample |" in printed
    assert (out / "report" / "report.md").is_file() and (out / "report" / "charts").is_dir()
    kept = read_records(out / "crossfilter" / steps["crossfilter"]["outputs"]["kept_file"])
    assert len(kept) == steps["crossfilter"]["outputs"]["kept"] <= 6
    assert steps["vocab"]["outputs"]["added"] > 0

    finished = {s: steps[s]["finished"] for s in expected}
    assert main(["run", "anesthesiology", "--out", str(out), *tiny_hypnos(tiny_model_dir)]) == 0
    assert {s: manifest(out)[s]["finished"] for s in expected} == finished  # resumed: nothing redone


@pytest.mark.slow
def test_ablation_without_vocabulary_and_general_stage(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "run"
    args = [
        "run",
        "anesthesiology",
        "--out",
        str(out),
        "--ablation",
        "no-vocab",
        "--ablation",
        "no-general",
        "--ablation",
        "no-crossfilter",
        *tiny_hypnos(tiny_model_dir),
    ]
    assert main(args) == 0
    steps = manifest(out)
    assert "vocab" not in steps and "crossfilter" not in steps and "train-general" not in steps
    assert steps["train-specialty"]["status"] == "complete"


@pytest.mark.slow
def test_pediatrics_recipe_end_to_end(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "run"
    overrides = sets(
        f"base_model={tiny_model_dir}",
        *(f"training.stages[{i}].max_steps=2" for i in range(4)),
        *(f"training.stages[{i}].save_steps=1" for i in range(4)),
        "benchmark.settings.limit=2",
        "benchmark.settings.max_new_tokens=6",
        "benchmark.settings.bootstrap_resamples=20",
    )
    assert main(["run", "pediatrics", "--out", str(out), *overrides]) == 0
    steps = manifest(out)
    for stage in ("pretrain", "sft", "dfpo", "experts"):
        assert steps[f"train-{stage}"]["status"] == "complete" and steps[f"bench-{stage}"]["status"] == "complete"
    assert (out / "train-experts" / "model" / "experts" / "experts_config.json").is_file()
    assert "| model | PedKQ-sample | PedDx-sample | PedTx-sample |" in capsys.readouterr().out


def test_a_changed_config_is_refused(tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "run"
    data_only = sets(
        f"base_model={tiny_model_dir}",
        "vocab.enabled=false",
        "crossfilter.enabled=false",
        "training.stages=[]",
        "benchmark.enabled=false",
    )
    assert main(["run", "anesthesiology", "--out", str(out), *data_only, "--set", "data.dedup_threshold=0.8"]) == 0
    assert main(["run", "anesthesiology", "--out", str(out), *data_only, "--set", "data.dedup_threshold=0.9"]) == 2
    assert "another config (data.dedup_threshold: 0.8 -> 0.9)" in capsys.readouterr().err
    data = manifest(out)["data"]["outputs"]
    assert data["specialty"]["kept"] >= 300 and data["general"]["kept"] >= 300


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
