from __future__ import annotations

import json

import pytest

from medspec.crossfilter.self_instruct import SelfInstruct, SelfInstructConfig, parse_tasks
from medspec.data.io import read_records
from medspec.durable import AppendLog
from medspec.errors import ConfigError, MedspecError
from medspec.llm.base import Completion
from medspec.specialty import load_specialty

SPECIALTY = load_specialty("anesthesiology")
SEEDS = read_records(SPECIALTY.seed_tasks)
LEXICON = SPECIALTY.lexicon_terms()


def test_tasks_parse_from_json_arrays_lines_wrappers_and_labelled_text():
    array = (
        '```json\n[{"instruction": "简述喉罩的禁忌证。", "input": "<无输入>", "output": "饱胃。"},\n'
        '{"指令": "丙泊酚剂量？"}]'
    )
    assert parse_tasks(array) == [
        {"instruction": "简述喉罩的禁忌证。", "input": "", "output": "饱胃。"},
        {"instruction": "丙泊酚剂量？", "input": "", "output": ""},
    ]
    lines = '{"instruction": "甲", "input": "", "output": "一"}\n{"instruction": "乙", "input": "病例", "output": "二"}'
    assert [t["input"] for t in parse_tasks(lines)] == ["", "病例"]
    assert parse_tasks('{"tasks": [{"instruction": "甲", "output": "一"}]}')[0]["output"] == "一"
    labelled = (
        "1. 指令：什么是恶性高热？\n输入：<无输入>\n输出：一种药物遗传性疾病。\n"
        "2. 指令：丹曲林剂量？\n输出：2.5 mg/kg。"
    )
    assert parse_tasks(labelled) == [
        {"instruction": "什么是恶性高热？", "input": "", "output": "一种药物遗传性疾病。"},
        {"instruction": "丹曲林剂量？", "input": "", "output": "2.5 mg/kg。"},
    ]
    assert parse_tasks("对不起，我不能完成这个任务。") == []
    assert parse_tasks('[{"instruction": "", "output": "x"}, {"input": "只有输入"}]') == []


class Writer:
    """A generator that writes numbered tasks from a script of instruction stems, and records its prompts."""

    def __init__(self, name, stems):
        self.name = name
        self.stems = list(stems)
        self.prompts = []

    def generate(self, chats, params):
        self.prompts += [c[-1]["content"] for c in chats]
        answers = []
        for _ in chats:
            tasks = [
                {"instruction": self.stems.pop(0), "input": "", "output": "按体重给药并监测血压。"}
                for _ in range(2)
                if self.stems
            ]
            answers.append(Completion(text=json.dumps(tasks, ensure_ascii=False)))
        return answers


def instruct(**changes):
    options = {"target_count": 6, "tasks_per_request": 2, "requests_per_round": 2, "max_rounds": 5} | changes
    return SelfInstruct(SelfInstructConfig(**options), seeds=SEEDS, lexicon=LEXICON, field_name="麻醉学")


def test_rounds_until_target_with_novelty_and_relevance_filters(tmp_path):
    stems_a = [
        "丙泊酚注射痛的预防方法有哪些？",
        "丙泊酚注射痛的预防方法有哪些",  # a near-copy of the first: ROUGE-L 1.0
        "今天天气怎么样？",  # no lexicon term
        "七氟烷诱导的优点？",
        "瑞芬太尼停药后如何镇痛？",
    ]
    stems_b = ["罗哌卡因的心脏毒性如何？", "舒芬太尼的镇痛效价是多少？", "喉罩置入失败怎么办？", "硬膜外导管如何固定？"]
    a, b = Writer("a", stems_a), Writer("b", stems_b)
    result = instruct().run({"a": a, "b": b}, log=AppendLog(tmp_path / "rounds.jsonl"))
    assert [r.instruction for r in result.items if r.provenance.generator == "a"] == [stems_a[i] for i in (0, 3, 4)]
    assert [r.id for r in result.items if r.provenance.generator == "b"] == [f"b-00000{i}" for i in range(1, 5)]
    assert all(r.provenance.source == "self-instruct" for r in result.items)
    assert result.stats["a"]["rejected: ROUGE-L >= 0.7 with the pool"] == 1
    assert result.stats["a"]["rejected: mentions no term of the specialty's lexicon"] == 1
    # quota 3 each: b is done after one round of 2 requests; a needs a second round of one request
    assert len(b.prompts) == 2 and len(a.prompts) == 3 and len(set(a.prompts)) == 3
    assert [r.meta["round"] for r in result.items if r.provenance.generator == "a"] == [0, 0, 1]


def test_prompts_are_chinese_show_examples_and_steer_to_lexicon_terms():
    generator = instruct(seed_examples=2, focus_terms=2)
    chat = generator.prompt("a", 0, 0, [])
    user = chat[-1]["content"]
    assert chat[0]["role"] == "system" and "麻醉学专家" in chat[0]["content"]
    assert "编写2条" in user and "JSON数组" in user and user.count('{"instruction": ') == 2
    terms = user.split("主题词：")[1].split("。")[0].split("、")
    assert len(terms) == 2 and all(t in LEXICON for t in terms)
    assert generator.prompt("a", 0, 0, []) == chat and generator.prompt("a", 0, 1, []) != chat


def test_resume_replays_the_log_without_new_requests(tmp_path):
    stems = [f"{term}的临床意义是什么？" for term in LEXICON[:40:4]]
    log = AppendLog(tmp_path / "rounds.jsonl")
    first = instruct().run({"a": Writer("a", stems)}, log=log)
    again = Writer("a", [])
    second = instruct().run({"a": again}, log=AppendLog(tmp_path / "rounds.jsonl"))
    assert again.prompts == [] and [r.instruction for r in second.items] == [r.instruction for r in first.items]


def test_nothing_accepted_is_an_error_pointing_at_the_log(tmp_path):
    class Silent:
        name = "silent"

        def generate(self, chats, params):
            return [Completion(text="好的。") for _ in chats]

    with pytest.raises(MedspecError, match=r"rounds\.jsonl"):
        instruct(max_rounds=2).run({"s": Silent()}, log=AppendLog(tmp_path / "rounds.jsonl"))


def test_failed_requests_are_logged_and_generation_goes_on(tmp_path):
    class Flaky(Writer):
        def generate(self, chats, params):
            answers = super().generate(chats, params)
            answers[0] = Completion(text="", finish_reason="error", error="HTTP 500")
            return answers

    result = instruct(target_count=4).run(
        {"f": Flaky("f", [f"{t}有何作用？" for t in LEXICON[:12]])}, log=AppendLog(tmp_path / "r.jsonl")
    )
    assert len(result.items) >= 2 and result.stats["f"]["failed requests"] >= 1


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="key 'tasks_per_request'"):
        SelfInstructConfig(tasks_per_request=0)
    with pytest.raises(ConfigError, match="key 'temperature'"):
        SelfInstructConfig(temperature=-1)
    with pytest.raises(ConfigError, match="seed tasks"):
        SelfInstruct(SelfInstructConfig(), seeds=[], lexicon=LEXICON, field_name="麻醉学")
