from __future__ import annotations

import copy
import json

import pytest

from medspec.bench.judge.core import Judge
from medspec.bench.judge.report import judge_results
from medspec.bench.report import Report, task_table
from tests.unit.bench.fakes import RuleBackend, choice_task, echo_reference, qa_task, run_model
from tests.unit.bench.judge.test_core import fair_judge


@pytest.fixture(scope="module")
def results():
    tasks = [choice_task(), qa_task(4)]
    right = echo_reference(tasks[1])
    ours = run_model(tasks, lambda p: "答案：A" if "以下是" in p else right(p) + "必要时血补丁。", "ours")
    base = run_model(tasks, lambda p: "答案：C" if "以下是" in p else "多喝水。", "base")
    return [ours, base]


def test_tables_are_laid_out_like_the_papers(results):
    table = task_table(results, "qa").splitlines()
    assert table[0] == "| Model | R-1 | R-2 | R-L | B-1 | B-2 | B-3 | B-4 | GLEU | D-1 | D-2 |"
    assert table[1] == "|---|" + "---:|" * 10
    ours, base = table[2].split(" | "), table[3].split(" | ")
    assert ours[0] == "| ours" and ours[3].startswith("**") and not base[3].startswith("**")  # best R-L in bold
    assert "[" in ours[3] and "]" in ours[3]  # with its interval
    choice = task_table(results, "choice").splitlines()[0]
    assert choice == "| Model | Acc | Extracted | Acc (single) | Acc (multiple) |"


def test_the_report_has_every_section_and_writes_md_json_and_pngs(results, tmp_path):
    results = copy.deepcopy(results)
    judge = judge_results(Judge(RuleBackend(fair_judge, name="fair-judge")), results)
    results[0].tasks["qa"].contaminated = ["q1"]
    report = Report(results, judge=judge)
    text = report.markdown()
    assert text.startswith("# Benchmark report")
    for heading in ("## choice (choice, 5 items)", "## qa (qa, 4 items)", "## LLM judge: fair-judge"):
        assert heading in text
    assert "**Contamination:** ours: 1 items overlap its training data (q1)" in text
    assert "Acc by topic:" in text and "| ours vs base | 100.0 [100.0, 100.0] | 0.0" in text
    written = report.save(tmp_path)
    assert (tmp_path / "report.md").read_text(encoding="utf-8") == text
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["judge"]["judge"] == "fair-judge"
    charts = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert charts == ["choice.png", "judge_win_tie_lose.png", "qa.png"]
    assert all(written[k].read_bytes().startswith(b"\x89PNG") for k in written if k.startswith("chart:"))


def test_a_model_without_a_task_gets_dashes(results):
    only_choice = run_model([choice_task()], lambda p: "A", "third")
    rows = task_table([*results, only_choice], "qa").splitlines()
    assert rows[-1].startswith("| third | —")


def test_a_value_every_model_shares_is_not_bolded():
    twins = [run_model([qa_task(3)], lambda p: "多喝水。", name) for name in ("a", "b")]
    assert "**" not in task_table(twins, "qa")


def test_paired_differences_and_curves_are_drawn(tmp_path):
    from medspec.bench.bootstrap import Estimate
    from medspec.bench.compare import PairedDelta
    from medspec.bench.plots import plot_curves, plot_deltas

    deltas = {
        "AneQA-bpc": [
            PairedDelta("recipe", "base", "BPC", Estimate(-1.2, -1.6, -0.8, 70), lower_is_better=True),
            PairedDelta("no-vocab", "base", "BPC", Estimate(0.1, -0.2, 0.4, 70), lower_is_better=True),
        ],
        "AneCQ-sample": [PairedDelta("recipe", "base", "Acc (norm)", Estimate(3.0, -5.0, 11.0, 60))],
    }
    assert plot_deltas(deltas, tmp_path / "deltas.png").stat().st_size > 0
    curves = {"training loss": {"recipe": ([1, 2, 3], [6.5, 6.1, 5.8])}, "held-out BPC": {"recipe": ([0, 3], [8, 7])}}
    assert plot_curves(curves, tmp_path / "curves.png", xlabel="step").stat().st_size > 0
    with pytest.raises(ValueError, match="no paired differences"):
        plot_deltas({"AneQA-bpc": []}, tmp_path / "none.png")
