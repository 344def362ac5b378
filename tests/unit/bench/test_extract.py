from __future__ import annotations

import pytest

from medspec.bench.extract import extract_choice

OPTIONS = {"A": "地氟醚", "B": "七氟醚", "C": "异氟醚", "D": "氧化亚氮", "E": "氟烷"}


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
        # the answer opens with letters
        ("B. 七氟醚", "B"),
        ("B。因为七氟醚的血气分配系数较低", "B"),
        ("BD\n解析：……", "BD"),
        # options asserted correct
        ("A选项正确，B选项不正确", "A"),
        ("选项C正确", "C"),
        ("答案解析：A选项错误，B选项正确", "B"),
    ],
)
def test_reads_what_the_answer_commits_to(answer, letters):
    assert extract_choice(answer, OPTIONS) == tuple(letters)


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
    ],
)
def test_unparseable_answers_are_never_guessed(answer):
    assert extract_choice(answer, OPTIONS) is None


def test_longest_option_text_wins_over_a_shorter_one_it_contains():
    options = {"A": "氟烷", "B": "异氟烷"}
    assert extract_choice("异氟烷", options) == ("B",)
    assert extract_choice("答案是氟烷", options) == ("A",)


def test_letters_outside_the_options_are_rejected_even_when_stated():
    assert extract_choice("答案：E", {"A": "x", "B": "y", "C": "z", "D": "w"}) is None
