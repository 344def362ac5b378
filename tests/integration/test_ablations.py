"""`run_ablations` on a tiny random Llama: shared steps run once, every variant is benchmarked, curves are logged."""

from __future__ import annotations

import json

import pytest

from medspec.data.io import read_records
from medspec.errors import ConfigError
from medspec.recipes.ablation_report import write_evidence
from medspec.recipes.ablations import DEFAULT_VARIANTS, Variant, run_ablations
from medspec.training.curves import read_curve
from tests.integration.test_recipes import tiny_overrides


def tiny_study(model_dir):
    return [
        *tiny_overrides(model_dir),
        "training.stages[0].eval_steps=1",
        "training.stages[1].eval_steps=0",
        "training.heldout.tasks=[AneQA-bpc]",
        "training.heldout.max_items=2",
        "benchmark.tasks=[AneQA-bpc,AneCQ-sample,AneCQ-circular]",
        "benchmark.settings.limit=3",
    ]


def steps(out):
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))["steps"]


@pytest.mark.slow
def test_variants_share_steps_and_resume(tmp_path, tiny_model_dir):
    out = tmp_path / "ablations"
    study = run_ablations("anesthesiology", out=out, overrides=tiny_study(tiny_model_dir))

    trained = sorted(s for s in steps(out) if s.startswith("train-"))
    # general-only and no-crossfilter reuse the recipe's general stage; nothing is trained twice
    assert trained == [
        "train-no-crossfilter-specialty",
        "train-no-general-specialty",
        "train-no-vocab-general",
        "train-no-vocab-specialty",
        "train-recipe-general",
        "train-recipe-specialty",
    ]
    assert study.models["general-only"] == out / "train-recipe-general" / "model"
    assert [r.model for r in study.results] == ["base", *(v.name for v in DEFAULT_VARIANTS)]
    assert (study.report / "report.md").is_file()
    assert "AneCQ-circular" in study.results[0].tasks and study.results[0].tasks["AneCQ-circular"].settings["circular"]

    # the no-CrossFilter variant trained on the pool as it is: every answered candidate, flaws included
    pool = read_records(out / "pool" / "pool.jsonl")
    kept = read_records(out / "crossfilter" / steps(out)["crossfilter"]["outputs"]["kept_file"])
    assert len(pool) == steps(out)["pool"]["outputs"]["kept"] >= len(kept)

    curve = read_curve(out / "train-recipe-general" / "curve.jsonl")
    assert [entry["step"] for entry in curve] == [0, 1, 2] and all(entry["AneQA-bpc"] > 0 for entry in curve)
    assert not (out / "train-recipe-specialty" / "curve.jsonl").exists()  # eval_steps is 0 there

    table = write_evidence(study, tmp_path / "results", "evidence", invocation_s=1.0)
    summary = json.loads((tmp_path / "results" / "evidence.json").read_text(encoding="utf-8"))
    assert set(summary["tasks"]["AneQA-bpc"]["deltas"]) == {v.name for v in DEFAULT_VARIANTS}
    assert summary["tasks"]["AneQA-bpc"]["lower_is_better"] and summary["headline"].startswith("recipe Δ AneQA-bpc")
    general = summary["training"]["train-recipe-general"]
    assert general["steps"] == 2 and general["tokens"] > 0 and [e["step"] for e in general["curve"]] == [0, 1, 2]
    assert summary["variants"]["general-only"]["stages"] == ["train-recipe-general"]
    assert summary["total_seconds"] > 0 and "| recipe |" in table
    assert all((tmp_path / "results" / f"evidence{end}").is_file() for end in (".md", "_deltas.png", "_curves.png"))

    finished = {name: step["finished"] for name, step in steps(out).items()}
    run_ablations("anesthesiology", out=out, overrides=tiny_study(tiny_model_dir))
    assert {name: step["finished"] for name, step in steps(out).items()} == finished  # resumed: nothing redone


def test_variant_names_must_be_unique(tmp_path):
    with pytest.raises(ConfigError, match="unique"):
        run_ablations("anesthesiology", out=tmp_path, variants=[Variant("a"), Variant("a")])
