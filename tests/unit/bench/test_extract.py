from __future__ import annotations

import json
from pathlib import Path

import pytest

from medspec.bench.choice.extract import extract_choice

OPTIONS = {"A": "地氟醚", "B": "七氟醚", "C": "异氟醚", "D": "氧化亚氮", "E": "氟烷"}
ENGLISH = {"A": "Dantrolene", "B": "Neostigmine", "C": "Naloxone", "D": "Flumazenil", "E": "Atropine"}
# Model answers written in the shapes chat models give, each labelled with what a careful reader takes as committed.
ANSWERS = Path(__file__).parents[2] / "assets" / "extraction" / "answers.jsonl"


@pytest.mark.parametrize(
    ("answer", "letters"),
    [
        # explicit statements
        ("答案：B", "B"),
        ("答案是B", "B"),
        ("答案: B。", "B"),
        ("答案为 C，因为……", "C"),
        ("正确答案是A、C", "AC"),
        ("正确答案为A,C,D", "ACD"),
        ("正确答案：A、B、D。", "ABD"),
        ("选B。", "B"),
        ("我选C", "C"),
        ("故选C", "C"),
        ("应选D。", "D"),
        ("【答案】BD", "BD"),
        ("**答案：E**", "E"),
        ("答案：（B）", "B"),
        ("答案：Ｂ", "B"),
        ("答案 B", "B"),
        ("答案：b", "B"),
        ("这是一道选择题，答案是B", "B"),
        ("The answer is B.", "B"),
        ("Answer: (D)", "D"),
        # the last explicit statement wins
        ("答案是A。不对，重新考虑，正确答案是C", "C"),
        # option text instead of a letter
        ("答案是地氟醚", "A"),
        ("答案：氧化亚氮", "D"),
        ("地氟醚", "A"),
        ("氟烷。", "E"),
        ("地氟醚和七氟醚", "AB"),
        # the whole answer is letters
        ("B", "B"),
        ("Ｂ", "B"),
        ("(C)", "C"),
        ("B和D", "BD"),
        ("A、C", "AC"),
        ("ACD", "ACD"),
        ("A B D", "ABD"),
        ("答案：A B D", "ABD"),
        ("答案是A,B,D", "ABD"),
        ("（A）（B）（D）", "ABD"),
        (r"答案为 $\boxed{D}$", "D"),
        # the answer opens with letters
        ("B. 七氟醚", "B"),
        ("B。因为七氟醚的血气分配系数较低", "B"),
        ("BD\n解析：……", "BD"),
        ("D\n\n氧化亚氮的血气分配系数……", "D"),
        ("B 七氟醚", "B"),
        # an answer that ends by stating its choice
        ("单肺通气出现低氧时，因此首先应采取的措施是D。", "D"),
        ("血气分配系数最低的是地氟醚。", "A"),
        # a letter beside a medical word is still read where it stands in an answer position
        ("答案：B。术前应行B超检查。", "B"),
        ("维生素B12缺乏不影响本题，选C", "C"),
        ("根据HbA1c和ECG结果，答案是D", "D"),
        # a letter followed by its option text in brackets, ending the answer
        ("血气分配系数最低的是地氟醚（A）。", "A"),
        # options asserted correct
        ("A选项正确，B选项不正确", "A"),
        ("选项C正确", "C"),
        ("答案解析：A选项错误，B选项正确", "B"),
        ("选项A、C正确，B、D错误", "AC"),
    ],
)
def test_reads_what_the_answer_commits_to(answer, letters):
    assert extract_choice(answer, OPTIONS) == tuple(letters)


@pytest.mark.parametrize(
    ("answer", "letters"),
    [
        ("The answer is (B).", "B"),
        ("Answer: C", "C"),
        ("Answer: c", "C"),
        ("I would choose D because flumazenil reverses benzodiazepines.", "D"),
        ("I'd go with A.", "A"),
        ("Both A and C are correct", "AC"),
        ("The correct answers are A, B, and E.", "ABE"),
        ("Options A and C are correct.", "AC"),
        ("Malignant hyperthermia needs dantrolene, so the answer is A.", "A"),
        ("The best answer is dantrolene.", "A"),
        ("**Answer:** B) Neostigmine", "B"),
        ("Malignant hyperthermia is treated with dantrolene (A).", "A"),
        ("The answer is not B or C; it is A.", "A"),
        ("The answer is A and B is wrong.", "A"),
    ],
)
def test_reads_english_answers(answer, letters):
    assert extract_choice(answer, ENGLISH) == tuple(letters)


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "我无法确定",
        "答案是A或B",  # hedged
        "A或B",
        "答案为地氟醚或七氟醚",
        "A. 地氟醚\nB. 七氟醚\nC. 异氟醚",  # an echo of the options is no answer
        "答案：F",  # not an option
        "ASA分级是指",  # letters inside a word
        "B超检查提示胆囊结石",
        "answer is a drug",  # an English article is not option A
        "选择性阻滞不是答案",
        # letters inside medical words, wherever they stand
        "首选B超检查以明确诊断",
        "可选B超检查",
        "答案：B超",
        "治疗首选A型肉毒毒素",
        "建议补充维生素B1和维生素B12",
        "完善CT、ECG及MRI检查",
        "HbA1c 8.5%，血糖控制不佳",
        "B族链球菌筛查阳性",
        "乙型肝炎(HBV)病毒携带者",
        "ABO血型不合",
        "输血前核对ABO血型和Rh血型",
        "ASA III级，Mallampati III级",
        "患者血型为A。",  # a letter that is a value, not a choice
        # echoes of the option list or of the question
        "A. 1. 1.1 术前评估\n1.2 气道评估\nB. 2. 2.1 麻醉诱导",
        "下列哪项是最恰当的选择\nE.",
        "选项：\nA. 地氟醚\nB. 七氟醚\nC. 异氟醚\nD. 氧化亚氮\nE. 氟烷",
        "答案：\nA. 地氟醚\nB. 七氟醚\nC. 异氟醚",
        "A 地氟醚 B 七氟醚 C 异氟醚 D 氧化亚氮 E 氟烷",
        # hedges and uncertainty
        "可能是A，也可能是C",
        "答案是B还是C？",
        "A、B均错误",
        "答案：A、B、C或E",
        # refusals
        "我无法提供医疗建议，请咨询专业医生。",
        "以上都不是",
        # a letter and another option's text
        "答案：B. 地氟醚",
        "正确答案是C（地氟醚）",
        # negated cues
        "不选A",
        "答案不是A",
    ],
)
def test_unparseable_answers_are_never_guessed(answer):
    assert extract_choice(answer, OPTIONS) is None


@pytest.mark.parametrize(
    "answer",
    [
        "answer is a drug",
        "A or D",
        "Either A or D could be correct.",
        "I think the answer is B, but A could also be reasonable.",
        "A, B, and C are correct; I'm not sure about E.",
        "I'm sorry, but I can't provide medical advice.",
        "A. Dantrolene\nB. Neostigmine\nC. Naloxone",
        "A vaccinated patient needs no treatment.",  # an article, not option A
        "A GCS of 8 or less requires intubation.",
        "Check a D-dimer and an ECG.",
        "Group B streptococcus prophylaxis is indicated.",
        "Vitamin B12 and vitamin C levels are normal.",
        "The options are A through E.",
        "I would not choose A.",
        "Answer: A (Naloxone)",
        "Her blood type is A.",
    ],
)
def test_unparseable_english_answers_are_never_guessed(answer):
    assert extract_choice(answer, ENGLISH) is None


def test_longest_option_text_wins_over_a_shorter_one_it_contains():
    options = {"A": "氟烷", "B": "异氟烷"}
    assert extract_choice("异氟烷", options) == ("B",)
    assert extract_choice("答案是氟烷", options) == ("A",)


def test_letters_outside_the_options_are_rejected_even_when_stated():
    assert extract_choice("答案：E", {"A": "x", "B": "y", "C": "z", "D": "w"}) is None


def _labelled_answers() -> list[dict]:
    return [json.loads(line) for line in ANSWERS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_labelled_answers_cover_the_shapes_models_write():
    rows = _labelled_answers()
    expected = [row["expected"] for row in rows]
    assert len(rows) >= 220 and len({row["id"] for row in rows}) == len(rows)
    assert sum(row["language"] == "zh" for row in rows) >= 120 and sum(row["language"] == "en" for row in rows) >= 60
    assert sum(e is None for e in expected) >= 40 and sum(e is not None and len(e) > 1 for e in expected) >= 40
    assert all(e is None or set(e) <= set(row["options"]) for e, row in zip(expected, rows, strict=True))


def test_labelled_answers_are_read_with_full_precision_and_high_recall():
    """Never a wrong reading (precision 1.00); at least 95% of the committed answers read (recall)."""
    rows = _labelled_answers()
    wrong, missed = [], []
    for row in rows:
        letters = extract_choice(row["answer"], row["options"])
        read = "".join(letters) if letters is not None else None
        if read is not None and read != row["expected"]:
            wrong.append(f"{row['id']} [{row['shape']}] expected {row['expected']}, read {read}: {row['answer']!r}")
        elif read is None and row["expected"] is not None:
            missed.append(f"{row['id']} [{row['shape']}] expected {row['expected']}: {row['answer']!r}")
    committed = sum(row["expected"] is not None for row in rows)
    recall = (committed - len(missed)) / committed
    assert not wrong, "wrong readings (precision < 1.00):\n" + "\n".join(wrong)
    assert recall >= 0.95, f"recall {recall:.3f} < 0.95; unread:\n" + "\n".join(missed)
