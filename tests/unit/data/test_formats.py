from __future__ import annotations

import pytest

from medspec.data.formats import FORMATS, ConvertOptions, DataFormat, detect_format, register_format
from medspec.data.schema import ChoiceQuestion, ClinicalCase, Instruction, RecordProblems

NONE = frozenset()


def convert(row, name=None):
    return FORMATS[name or detect_format(row)].convert(row, "fallback", ConvertOptions())


def test_alpaca_with_history_and_system():
    record = convert(
        {
            "instruction": "还需要注意什么？",
            "input": "",
            "output": "术后多饮水。",
            "history": [["腰麻后头痛吗？", "少数会。"]],
            "system": "你是医生",
        }
    )
    assert isinstance(record, Instruction)
    assert record.history == [("腰麻后头痛吗？", "少数会。")]
    assert record.system == "你是医生"
    assert record.id == "fallback"


@pytest.mark.parametrize(
    ("key", "role", "text", "user", "bot"),
    [("conversations", "from", "value", "human", "gpt"), ("messages", "role", "content", "user", "assistant")],
)
def test_dialogues(key, role, text, user, bot):
    turns = [
        {role: "system", text: "你是儿科医生。"},
        {role: user, text: "孩子发烧"},
        {role: bot, text: "多少度？"},
        {role: user, text: "39度"},
        {role: bot, text: "可以用布洛芬。"},
    ]
    record = convert({key: turns, "id": 7})
    assert record.system == "你是儿科医生。"
    assert record.instruction == "39度"
    assert record.output == "可以用布洛芬。"
    assert record.history == [("孩子发烧", "多少度？")]
    assert record.id == "7"


def test_cmexam_multiple_answers_and_meta():
    record = convert(
        {
            "Question": "属于酰胺类局麻药的是",
            "Options": "A. 利多卡因\nB、普鲁卡因\nC：罗哌卡因\nD 丁卡因",
            "Answer": "AC",
            "Explanation": "普鲁卡因、丁卡因为酯类。",
            "Clinical Department": "麻醉科",
        }
    )
    assert isinstance(record, ChoiceQuestion)
    assert record.options == {"A": "利多卡因", "B": "普鲁卡因", "C": "罗哌卡因", "D": "丁卡因"}
    assert record.answer == ("A", "C")
    assert record.meta == {}  # the reader keeps the columns the adapter does not read ("Clinical Department")
    assert record.provenance.source is None  # set by the reader, not the adapter


def test_cmmlu_cmb_medqa():
    cmmlu = convert({"Question": "题", "A": "甲", "B": "乙", "C": "丙", "D": "丁", "Answer": "D"})
    assert detect_format({"Question": "题", "A": "甲"}) == "cmmlu"
    assert cmmlu.answer == ("D",)
    cmb = convert(
        {
            "question": "题",
            "option": {"A": "甲", "B": "乙", "C": "丙", "D": "丁", "E": ""},
            "answer": "B",
            "exam_type": "医师考试",
            "question_type": "单项选择题",
        }
    )
    assert list(cmb.options) == ["A", "B", "C", "D"]
    medqa = convert({"question": "题", "options": {"A": "甲", "B": "乙"}, "answer": "乙", "answer_idx": "B"})
    assert medqa.answer == ("B",)


def test_cmb_clin():
    record = convert(
        {"id": 3, "title": "案例", "description": "患者男。", "QA_pairs": [{"question": "诊断？", "solution": "肺炎"}]}
    )
    assert isinstance(record, ClinicalCase)
    assert record.questions[0].answer == "肺炎"


def test_register_custom_format():
    custom = DataFormat(
        "qa-pairs-test",
        lambda r: "q" in r and "a" in r,
        lambda r, fid, options: Instruction(id=fid, instruction=r["q"], output=r["a"]),
        "q/a pairs",
    )
    register_format(custom)
    try:
        assert detect_format({"q": "问", "a": "答"}) == "qa-pairs-test"
        with pytest.raises(ValueError, match="already registered"):
            register_format(custom)
    finally:
        del FORMATS["qa-pairs-test"]


def test_problems_use_source_field_names():
    with pytest.raises(RecordProblems) as info:
        convert({"Question": "题", "Options": "A 甲\nB 乙", "Answer": "X"})
    assert info.value.problems[0][0] == "Answer"


def test_alpaca_preference_joins_instruction_and_input():
    row = {
        "instruction": "解释下列术语",
        "input": "恶性高热",
        "chosen": "一种遗传性骨骼肌高代谢危象。",
        "rejected": "一种感冒。",
    }
    record = convert(row)
    assert detect_format(row) == "preference" and record.prompt == "解释下列术语\n恶性高热"
    assert (record.chosen, record.rejected) == ("一种遗传性骨骼肌高代谢危象。", "一种感冒。")
