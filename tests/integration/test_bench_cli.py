"""`medspec bench` end to end on a tiny random model saved as a Hugging Face folder."""

from __future__ import annotations

import csv
import json

import pytest
from transformers import AutoTokenizer

from medspec.bench.human import RatingKit
from medspec.cli import main
from tests.conftest import tiny_llama


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, byte_level_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    folder = tmp_path_factory.mktemp("tiny-model")
    tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def run(*argv: str) -> int:
    return main(["bench", *map(str, argv)])


def test_run_compare_and_human_evaluation(model_dir, tmp_path, capsys):
    common = ["--model", model_dir, "--limit", "3", "--max-new-tokens", "8", "--set", "bootstrap_resamples=100"]
    tasks = ["--tasks", "AneCQ-sample", "AneRC-sample"]
    assert run("run", *common, *tasks, "--out", tmp_path / "a", "--name", "tiny-a") == 0
    assert run("run", *common, *tasks, "--choice-mode", "letter", "--out", tmp_path / "b", "--name", "tiny-b") == 0
    first = capsys.readouterr().out
    assert "AneCQ-sample: Acc" in first and "AneRC-sample: R-L" in first
    results = json.loads((tmp_path / "b" / "results.json").read_text(encoding="utf-8"))
    choice = results["tasks"]["AneCQ-sample"]
    assert choice["settings"]["mode"] == "letter" and "Extracted" not in choice["figures"]  # letter always answers
    assert (tmp_path / "a" / "report.md").is_file() and (tmp_path / "a" / "charts" / "AneRC-sample.png").is_file()
    lines = (tmp_path / "a" / "predictions" / "AneCQ-sample" / "generations.jsonl").read_text().splitlines()
    assert len(lines) == 3

    # the same command again resumes: nothing is generated twice
    assert run("run", *common, *tasks, "--out", tmp_path / "a", "--name", "tiny-a") == 0
    assert (tmp_path / "a" / "predictions" / "AneCQ-sample" / "generations.jsonl").read_text().splitlines() == lines

    report = tmp_path / "report"
    judge = ["--judge", model_dir, "--judge-limit", "2", "--judge-max-new-tokens", "8"]
    assert run("compare", tmp_path / "a", tmp_path / "b", "--out", report, *judge) == 0
    text = (report / "report.md").read_text(encoding="utf-8")
    assert "| tiny-a |" in text and "| tiny-b |" in text and "## LLM judge" in text
    assert "**Not comparable:**" in text and "mode generate vs letter" in text  # AneCQ: generated vs letter
    assert "| Δ R-L | against |" in text and "| tiny-b | tiny-a | 9 |" in text  # AneRC: scored alike, paired
    judged = json.loads((report / "judge.json").read_text(encoding="utf-8"))
    assert len(judged["pointwise"]) == 2 * 2 and len(judged["pairwise"]) == 2  # 2 items x 2 models; 2 pairs
    assert (report / "charts" / "judge_win_tie_lose.png").is_file()

    sheets = tmp_path / "sheets"
    assert (
        run(
            "human",
            "export",
            tmp_path / "a",
            tmp_path / "b",
            "--out",
            sheets,
            "--raters",
            "r1",
            "r2",
            "--format",
            "csv",
        )
        == 0
    )
    kit = RatingKit.load(sheets / "key.json")
    for rater in ("r1", "r2"):
        path = sheets / f"ratings_{rater}.csv"
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        for row in rows[1:]:
            good = kit.answers[row[0]]["model"] == "tiny-a"
            row[5:8] = ["4" if good else "2", "1", "2"]
        with open(path, "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows(rows)
    out = tmp_path / "human"
    sheet_files = [sheets / "ratings_r1.csv", sheets / "ratings_r2.csv"]
    assert (
        run(
            "human",
            "import",
            *sheet_files,
            "--key",
            sheets / "key.json",
            "--out",
            out,
            "--judge",
            report / "judge.json",
        )
        == 0
    )
    human = json.loads((out / "human.json").read_text(encoding="utf-8"))
    assert human["summary"]["tiny-a"]["usefulness"]["mean"]["value"] == 4
    assert human["krippendorff_alpha"]["usefulness"]["value"] == pytest.approx(1.0)
    assert "judge_agreement" in human and (out / "charts" / "human_criteria.png").is_file()


def test_bad_input_gives_a_clear_error(tmp_path, capsys, model_dir):
    assert run("run", "--model", model_dir, "--tasks", "AneXX", "--out", tmp_path / "x") == 2
    assert "'AneXX' is neither a task of anesthesiology" in capsys.readouterr().err
    assert run("compare", tmp_path / "nothing", "--out", tmp_path / "r") == 2
    assert "holds no results.json" in capsys.readouterr().err


def test_run_selects_and_breaks_down_a_published_benchmark(model_dir, tmp_path, capsys):
    from tests.unit.data.published_shapes import anesbench

    shape = anesbench(tmp_path)
    levels = [row["level"] for row in json.loads(shape.path.read_text(encoding="utf-8"))]
    options = ["--choice-mode", "letter", "--set", "bootstrap_resamples=50", "--language", "en"]
    argv = ["--model", model_dir, "--tasks", f"Anes={shape.path}", "--where", "level!=1", "--by", "level", *options]
    assert run("run", *argv, "--out", tmp_path / "run") == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text(encoding="utf-8"))["tasks"]["Anes"]
    assert results["counts"]["items"] == sum(level != 1 for level in levels)
    assert set(results["by_tag"]) == {f"level={level}" for level in set(levels) - {1}}
    assert "by topic" in (tmp_path / "run" / "report.md").read_text(encoding="utf-8")


def test_progress_reaches_the_terminal_only_with_verbose(model_dir, tmp_path):
    import subprocess
    import sys

    def bench(*flags: str, out: str) -> str:
        command = [sys.executable, "-m", "medspec.cli", *flags, "bench", "run", "--model", str(model_dir)]
        command += ["--tasks", "AneQA-bpc", "--limit", "2", "--set", "bootstrap_resamples=20", "--out", out]
        return subprocess.run(command, check=True, capture_output=True, text=True).stderr

    assert "INFO" not in bench(out=str(tmp_path / "quiet"))
    assert "INFO medspec.run_dir: step" in (tmp_path / "quiet" / "run.log").read_text(encoding="utf-8")
    assert "INFO" in bench("-v", out=str(tmp_path / "verbose"))
