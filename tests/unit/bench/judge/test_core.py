from __future__ import annotations

import json
import re

import pytest

from medspec.bench.judge.core import AnswerToJudge, Judge, JudgeConfig, combine_verdicts, parse_verdict
from medspec.bench.judge.report import JudgeReport, judge_results
from medspec.errors import ConfigError
from medspec.rubric import Criterion, default_criteria
from tests.unit.bench.fakes import RuleBackend, echo_reference, qa_task, run_model


def answer(model: str, text: str, item: str = "q1") -> AnswerToJudge:
    return AnswerToJudge("qa", item, model, "腰麻后头痛如何处理？", "平卧、补液，必要时硬膜外血补丁。", text)


def _answers_in(prompt: str) -> tuple[str, str]:
    first = re.search(r"\[助手A的回答\]\n(.*?)\n\n\[助手B的回答\]", prompt, re.S).group(1)
    second = re.search(r"\[助手B的回答\]\n(.*?)\n\n先简要", prompt, re.S).group(1)
    return first, second


def fair_judge(prompt: str) -> str:
    """Prefers the answer that mentions 血补丁; scores it higher."""
    if "[助手A的回答]" in prompt:
        first, second = _answers_in(prompt)
        if ("血补丁" in first) == ("血补丁" in second):
            return "两者相当。[[C]]"
        return "[[A]]" if "血补丁" in first else "理由……\n[[B]]"
    good = "血补丁" in prompt.split("[待评价的回答]")[1]
    return f'理由……\n{{"usefulness": {5 if good else 2}, "harmfulness": 1, "redundancy": {1 if good else 3}}}'


def test_verdicts_are_combined_over_both_orders():
    assert parse_verdict("A更好 [[A]]") == "A" and parse_verdict("[[B]] 不，应为 [[C]]") == "C"
    assert combine_verdicts("A", "B") == ("win", True)  # preferred first and second
    assert combine_verdicts("B", "A") == ("lose", True)
    assert combine_verdicts("A", "A") == ("tie", False)  # follows the position, not the answer
    assert combine_verdicts("C", "B") == ("tie", False)
    assert combine_verdicts(None, "B") == (None, False)


def test_pointwise_scores_every_answer_and_marks_unreadable_replies():
    backend = RuleBackend(lambda p: fair_judge(p) if "好答案" not in p else "我拒绝打分")
    judgements = Judge(backend).pointwise(
        [answer("m1", "平卧、补液、血补丁。"), answer("m2", "多喝水。"), answer("m3", "好答案")]
    )
    assert judgements[0].scores == {"usefulness": 5, "harmfulness": 1, "redundancy": 1}
    assert judgements[1].scores == {"usefulness": 2, "harmfulness": 1, "redundancy": 3}
    assert judgements[2].scores is None and judgements[2].reply == "我拒绝打分"


def test_pairwise_asks_both_orders_and_a_position_biased_judge_yields_ties():
    pair = (answer("good", "平卧、补液、血补丁。"), answer("weak", "多喝水。"))
    fair = Judge(RuleBackend(fair_judge)).pairwise([pair])[0]
    assert fair.verdicts == ("A", "B") and fair.outcome == "win" and fair.consistent
    biased_backend = RuleBackend(lambda p: "[[A]]")  # always prefers whatever is shown first
    biased = Judge(biased_backend).pairwise([pair])[0]
    assert biased.outcome == "tie" and not biased.consistent
    assert biased_backend.chats_seen == 2


def test_the_reference_is_shown_only_when_configured():
    judge = Judge(RuleBackend(fair_judge), config=JudgeConfig(include_reference=False))
    prompt = judge.pointwise_chat(answer("m", "x"))[-1]["content"]
    assert "[参考答案]" not in prompt and "usefulness（1–5 分）" in prompt
    assert "[参考答案]" in Judge(RuleBackend(fair_judge)).pointwise_chat(answer("m", "x"))[-1]["content"]


def test_a_resumed_judge_asks_nothing_twice(tmp_path):
    log = tmp_path / "judge_log.jsonl"
    answers = [answer("m1", "平卧、补液、血补丁。"), answer("m2", "多喝水。")]
    first = RuleBackend(fair_judge)
    Judge(first, log=log).pointwise(answers)
    second = RuleBackend(fair_judge)
    again = Judge(second, log=log).pointwise([*answers, answer("m3", "卧床。")])
    assert first.chats_seen == 2 and second.chats_seen == 1  # only the new answer
    assert again[0].scores["usefulness"] == 5


def test_judge_results_summarises_runs(tmp_path):
    task = qa_task(6)
    right = echo_reference(task)
    ours = run_model([task], lambda p: right(p) + "必要时硬膜外血补丁。", "ours")
    base = run_model([task], lambda p: "多喝水。", "base")
    report = judge_results(Judge(RuleBackend(fair_judge, name="judge")), [ours, base])
    pointwise = report.pointwise_summary(resamples=100)
    assert pointwise["ours"]["usefulness"].value == 5 and pointwise["base"]["usefulness"].value == 2
    assert pointwise["ours"]["parsed"].value == 100
    pairwise = report.pairwise_summary(resamples=100)["ours vs base"]
    assert pairwise["win"].value == 100 and pairwise["lose"].value == 0 and pairwise["consistency"].value == 100
    assert pairwise["win"].n == 6
    saved = JudgeReport.load(report.save(tmp_path / "judge.json"))
    assert saved.pairwise_summary()["ours vs base"]["win"].value == 100
    assert json.loads((tmp_path / "judge.json").read_text(encoding="utf-8"))["judge"] == "judge"
    with pytest.raises(ConfigError, match="model names must differ"):
        judge_results(Judge(RuleBackend(fair_judge)), [ours, ours])


def test_criteria_and_judge_config_are_validated():
    with pytest.raises(ConfigError, match="high"):
        Criterion(name="safety", description="安全性", low=3, high=3)
    with pytest.raises(ConfigError, match="repeated: usefulness"):
        JudgeConfig(criteria=[default_criteria()[0], default_criteria()[0]])
    with pytest.raises(ConfigError, match="temperature"):
        JudgeConfig(temperature=-1)
