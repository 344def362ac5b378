from __future__ import annotations

import math

import pytest

from medspec.crossfilter.scoring import Scorer, expected_score, judge_chat, likelihood_chats
from medspec.data.schema import Instruction
from medspec.errors import ConfigError
from medspec.llm.base import Completion
from medspec.rubric import Criterion, Rubric, default_rubric

RUBRIC = default_rubric()
ALL = {"coherence": 8.0, "professionalism": 7.0, "usefulness": 6.0, "harmlessness": 9.0, "friendliness": 5.0}
ITEM = Instruction(id="i1", instruction="腰麻后头痛如何处理？", input="产妇，术后第2天", output="平卧、补液、血补丁。")


def test_prompts_are_chinese_and_name_every_aspect():
    chat = judge_chat(ITEM, RUBRIC, field_name="麻醉学")
    assert chat[0]["role"] == "system" and "麻醉学专家" in chat[0]["content"]
    user = chat[1]["content"]
    assert all(f"{c.name}（{c.label}）" in user for c in RUBRIC.criteria)
    assert "【指令】\n腰麻后头痛如何处理？" in user and "【输入】\n产妇" in user and "【回答】\n平卧" in user
    assert "0到10的整数" in user and "JSON" in user
    chats = likelihood_chats(ITEM, RUBRIC, field_name="麻醉学")
    assert len(chats) == 5 and "评分项：专业性" in chats[1][1]["content"] and "只输出这个数字" in chats[1][1]["content"]


def test_expected_score_normalises_over_the_scale():
    score, probabilities = expected_score([0.0, math.log(3), -1000.0], [0, 10, 5])
    assert score == pytest.approx(7.5) and probabilities == pytest.approx([0.25, 0.75, 0.0])


class Scripted:
    """A judge that gives the next answer of a script for each chat, and records the chats."""

    def __init__(self, *answers, name="scripted"):
        self.answers = list(answers)
        self.name = name
        self.chats = []

    def generate(self, chats, params):
        self.chats += chats
        out = []
        for _ in chats:
            answer = self.answers.pop(0)
            out.append(answer if isinstance(answer, Completion) else Completion(text=answer))
        return out


GOOD = '{"coherence": 8, "professionalism": 7, "usefulness": 6, "harmlessness": 9, "friendliness": 5}'


def test_an_unparseable_answer_is_corrected_then_scored():
    judge = Scripted("我觉得不错。", GOOD)
    [result] = Scorer(RUBRIC, field_name="麻醉学").score(judge, "j", [ITEM])
    assert result.scores == ALL and result.attempts == 2 and result.reason == ""
    assert result.answers == ["我觉得不错。", GOOD]
    correction = judge.chats[1]
    assert correction[-2] == {"role": "assistant", "content": "我觉得不错。"} and "JSON" in correction[-1]["content"]


def test_an_item_never_scored_is_unscored_not_zero():
    judge = Scripted("好。", "很好。", "非常好。")
    [result] = Scorer(RUBRIC, field_name="麻醉学", parse_retries=2).score(judge, "j", [ITEM])
    assert result.scores is None and not result.scored and result.attempts == 3
    assert "no complete set of scores in 3 answer(s)" in result.reason


def test_a_failed_request_is_unscored_with_its_error():
    judge = Scripted(Completion(text="", finish_reason="error", error="gave up after 7 attempts"), GOOD)
    results = Scorer(RUBRIC, field_name="麻醉学").score(judge, "j", [ITEM, ITEM])
    assert results[0].scores is None and results[0].reason.startswith("request failed: gave up")
    assert results[1].scores == ALL


class Likelihood:
    name = "local"

    def __init__(self, favourite):
        self.favourite = favourite
        self.calls = []

    def generate(self, chats, params):
        raise AssertionError("likelihood mode must not generate")

    def continuation_logprobs(self, chats, continuations):
        self.calls.append((len(chats), continuations[0]))
        return [[0.0 if option == self.favourite else -30.0 for option in options] for options in continuations]


def test_likelihood_mode_reads_the_expected_score_per_aspect():
    judge = Likelihood("8")
    results = Scorer(RUBRIC, mode="likelihood", field_name="麻醉学").score(judge, "j", [ITEM, ITEM])
    assert judge.calls == [(10, [str(k) for k in range(11)])]
    assert all(r.scores == {name: pytest.approx(8.0) for name in RUBRIC.names} for r in results)
    assert results[0].distributions["coherence"][8] == pytest.approx(1.0)


def test_likelihood_mode_needs_a_likelihood_backend():
    with pytest.raises(ConfigError, match=r"scoring\.mode.*continuation_logprobs"):
        Scorer(RUBRIC, mode="likelihood", field_name="麻醉学").score(Scripted(GOOD), "api", [ITEM])


def test_custom_scales_and_aspects():
    rubric = Rubric([Criterion("accuracy", "是否准确", "准确性", low=1, high=5)])
    results = Scorer(rubric, mode="likelihood", field_name="儿科学").score(Likelihood("5"), "j", [ITEM])
    assert results[0].scores == {"accuracy": pytest.approx(5.0)}
