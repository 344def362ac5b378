"""`medspec bench human create / raters / results` on saved benchmark runs."""

from __future__ import annotations

import json
import re

from starlette.testclient import TestClient

from medspec.bench.human.app import rating_app
from medspec.bench.human.study import Study
from medspec.bench.judge.core import PairwiseJudgement
from medspec.bench.judge.report import JudgeReport
from medspec.cli import main
from tests.integration.human.servers import csrf
from tests.unit.bench.fakes import case_task, echo_reference, qa_task, run_model


def human(*argv) -> int:
    return main(["bench", "human", *map(str, argv)])


def saved_runs(tmp_path):
    tasks = [qa_task(4), case_task()]
    run_model(tasks, echo_reference(tasks[0]), "ours", out=tmp_path / "ours")
    run_model(tasks, lambda p: "多喝水。", "base", out=tmp_path / "base")
    return tmp_path / "ours", tmp_path / "base"


def rate_everything(folder, tokens, choose):
    client = TestClient(rating_app(folder))
    for token in tokens:
        headers = {"X-CSRF-Token": csrf(client.get(f"/r/{token}/1").text)}
        for position in range(1, len(Study.load(folder).units) + 1):
            response = client.post(f"/r/{token}/{position}", json=choose(folder, token, position), headers=headers)
            assert response.status_code == 200


def test_pairwise_study_from_create_to_results(tmp_path, capsys):
    ours, base = saved_runs(tmp_path)
    study = tmp_path / "study"
    assert human("create", ours, base, "--out", study, "--limit", "2", "--criteria", "hypnos") == 0
    assert "a pairwise study of 4 units, models ours, base" in capsys.readouterr().out
    assert human("raters", "add", study, "zhang", "li", "--base-url", "http://10.0.0.5:9000/") == 0
    links = re.findall(r"^(\w+): http://10\.0\.0\.5:9000/r/(\S+)$", capsys.readouterr().out, flags=re.M)
    assert [name for name, _ in links] == ["zhang", "li"]
    assert not any(token in (study / "ratings.sqlite").read_bytes().decode("latin-1") for _, token in links)

    def prefer_ours(folder, token, position):  # whichever side ours is shown on
        page = TestClient(rating_app(folder)).get(f"/r/{token}/{position}").text
        base_on_the_right = page.index("多喝水") > page.index("回答 2")
        return {"choice": "left" if base_on_the_right else "right"}

    rate_everything(study, [token for _, token in links], prefer_ours)
    assert human("raters", "list", study) == 0
    assert capsys.readouterr().out.splitlines() == ["zhang: 4 / 4 rated", "li: 4 / 4 rated"]

    units = Study.load(study).units
    judged = [PairwiseJudgement(u.task, u.item, "ours", "base", ("A", "A"), "win", True) for u in units]
    JudgeReport("judge-model", [], [], judged).save(tmp_path / "judge.json")
    out = tmp_path / "results"
    assert human("results", study, "--out", out, "--judge", tmp_path / "judge.json") == 0
    printed = capsys.readouterr().out
    assert "Human evaluation, pairwise (2 raters, 4 blinded pairs, 8 votes)" in printed
    assert "| ours vs base | 100.0 [100.0, 100.0] | 0.0 [0.0, 0.0] | 0.0 [0.0, 0.0] | 8 |" in printed
    assert "agrees with the raters' majority (%): 100.0" in printed and "shown on the left (%): 50.0" in printed
    data = json.loads((out / "human.json").read_text(encoding="utf-8"))
    assert data["summary"]["ours vs base"]["win"]["value"] == 100 and data["judge_agreement"]["n"] == 4
    assert (out / "charts" / "human_win_tie_lose.png").is_file() and (out / "human.md").is_file()
    assert len((out / "ratings.csv").read_text(encoding="utf-8-sig").splitlines()) == 1 + 8


def test_pointwise_study_scores_the_specialty_rubric(tmp_path, capsys):
    ours, base = saved_runs(tmp_path)
    study = tmp_path / "study"
    assert human("create", ours, base, "--out", study, "--mode", "pointwise", "--specialty", "pediatrics") == 0
    criteria = [c["name"] for c in json.loads((study / "study.json").read_text(encoding="utf-8"))["criteria"]]
    assert criteria == ["coherence", "professionalism", "usefulness", "harmlessness", "friendliness"]
    assert human("raters", "add", study, "wang") == 0
    token = re.search(r"/r/(\S+)", capsys.readouterr().out).group(1)
    rate_everything(study, [token], lambda folder, token, position: {"scores": dict.fromkeys(criteria, 4)})
    assert human("results", study, "--out", tmp_path / "out") == 0
    assert "| ours | 4.00 [4.00, 4.00] (var 0.00)" in capsys.readouterr().out
    assert (tmp_path / "out" / "charts" / "human_criteria.png").is_file()


def test_mistakes_are_named_errors(tmp_path, capsys):
    ours, base = saved_runs(tmp_path)
    assert human("raters", "add", tmp_path, "zhang") == 2
    assert "create the study with `medspec bench human create`" in capsys.readouterr().err
    assert not (tmp_path / "ratings.sqlite").exists()
    assert human("create", ours, base, "--out", tmp_path / "s") == 0
    assert human("create", ours, base, "--out", tmp_path / "s") == 2
    assert "already holds a study" in capsys.readouterr().err
    assert human("results", tmp_path / "s", "--out", tmp_path / "r") == 2
    assert "no ratings yet" in capsys.readouterr().err
    assert human("raters", "add", tmp_path / "s", "zhang", "zhang") == 2
    assert "already" in capsys.readouterr().err
