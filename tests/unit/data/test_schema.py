from __future__ import annotations

import pytest

from medspec.data.schema import (
    ChoiceQuestion,
    ClinicalCase,
    Instruction,
    PreferencePair,
    RecordProblems,
    parse_answer_letters,
    record_from_dict,
    record_to_dict,
)

EXAMPLES = [
    {
        "type": "instruction",
        "id": "i1",
        "instruction": "术前禁食多久？",
        "input": "成人择期手术",
        "output": "固体食物6小时。",
        "history": [["你好", "您好，请问有什么可以帮您？"]],
        "system": "你是麻醉医生。",
        "tags": ["preoperative"],
        "provenance": {"source": "medspec", "generator": "model_a", "judge": "model_b", "scores": {"coherence": 8.0}},
        "meta": {"difficulty": "easy"},
    },
    {
        "type": "choice",
        "id": "c1",
        "question": "（多选）属于酰胺类局麻药的是",
        "options": {"A": "利多卡因", "B": "普鲁卡因", "C": "罗哌卡因"},
        "answer": "AC",
        "explanation": "普鲁卡因为酯类。",
    },
    {
        "type": "case",
        "id": "k1",
        "case": "患者男，68岁，拟行TURP。",
        "questions": [{"question": "麻醉方式？", "answer": "腰麻。"}],
    },
    {
        "type": "preference",
        "id": "p1",
        "prompt": "孩子发烧39度怎么办？",
        "chosen": "别着急……",
        "rejected": "吃退烧药。",
    },
    {"type": "document", "id": "d1", "text": "丙泊酚是常用的静脉麻醉药。"},
]


@pytest.mark.parametrize("data", EXAMPLES, ids=lambda d: d["type"])
def test_round_trip(data):
    record = record_from_dict(data)
    assert record_to_dict(record) == data
    assert record_from_dict(record_to_dict(record)) == record


def test_types_and_helpers():
    instruction, choice, case, preference, _ = (record_from_dict(d) for d in EXAMPLES)
    assert isinstance(instruction, Instruction)
    assert instruction.history == [("你好", "您好，请问有什么可以帮您？")]
    assert instruction.prompt_text() == "术前禁食多久？\n成人择期手术"
    assert isinstance(choice, ChoiceQuestion)
    assert choice.answer == ("A", "C")
    assert choice.is_multiple_answer
    assert isinstance(case, ClinicalCase)
    assert case.questions[0].answer == "腰麻。"
    assert isinstance(preference, PreferencePair)
    assert "您好" in instruction.content()
    assert "利多卡因" in choice.content()


@pytest.mark.parametrize(
    ("raw", "letters"),
    [
        ("B", ("B",)),
        ("DB", ("B", "D")),
        ("A,C", ("A", "C")),
        ("A、C、D", ("A", "C", "D")),
        (["C", "A"], ("A", "C")),
        ("b", None),
        ("AA", None),
        ("", None),
        (3, None),
    ],
)
def test_parse_answer_letters(raw, letters):
    assert parse_answer_letters(raw) == letters


def test_all_problems_are_reported_at_once():
    with pytest.raises(RecordProblems) as info:
        record_from_dict({"type": "choice", "id": "", "question": "", "options": {"A": "甲"}, "answer": "Z", "x": 1})
    fields = [f for f, _ in info.value.problems]
    assert fields == ["x", "id", "question", "options", "answer"] or set(fields) == {"x", "id", "question", "options"}


def test_allow_empty_output_for_raw_candidates():
    record = record_from_dict(
        {"type": "instruction", "id": "e", "instruction": "问题", "output": ""}, allow_empty=frozenset({"output"})
    )
    assert record.output == ""
    with pytest.raises(RecordProblems):
        record_from_dict({"type": "instruction", "id": "e", "instruction": "问题", "output": ""})
