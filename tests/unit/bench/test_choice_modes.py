"""Choice scoring modes on fake models whose knowledge is known: a letter-biased one and an all-knowing one."""

from __future__ import annotations

import random
import re
import zlib

import pytest

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.tasks import PromptTemplates, Task, rotate_options, task_items
from medspec.data.schema import ChoiceQuestion
from medspec.errors import ConfigError
from medspec.llm.base import Completion

DRUGS = [
    "丙泊酚",
    "依托咪酯",
    "氯胺酮",
    "咪达唑仑",
    "右美托咪定",
    "瑞芬太尼",
    "舒芬太尼",
    "罗库溴铵",
    "顺阿曲库铵",
    "新斯的明",
]
OPTION_LINE = re.compile(r"^([A-E])\. (.+)$", re.M)


def questions(count: int = 240, seed: int = 7) -> list[ChoiceQuestion]:
    """Questions with 4 or 5 options, a fifth of them multiple-answer; the key's letters are spread evenly."""
    rng = random.Random(seed)
    records = []
    for i in range(count):
        letters = "ABCDE"[: rng.choice((4, 5))]
        texts = rng.sample(DRUGS, len(letters))
        options = dict(zip(letters, texts, strict=True))
        answer = tuple(sorted(rng.sample(letters, 2))) if i % 5 == 0 else (rng.choice(letters),)
        records.append(
            ChoiceQuestion(id=f"q{i:03d}", question=f"第{i}题：下列药物中符合题意的是", options=options, answer=answer)
        )
    return records


class LetterBiased:
    """Always answers A: in generation, and as the likeliest letter; option texts get scores unrelated to truth."""

    name = "always-a"

    def generate(self, chats, params):
        return [Completion(text="答案：A") for _ in chats]

    def continuation_logprobs(self, chats, continuations):
        def score(text: str) -> float:
            if re.fullmatch("[A-E]+", text):
                return 0.0 if text == "A" else -5.0
            return -(zlib.crc32(text.encode()) % 1000) / 100  # a cloze text: knowledge-free, stable noise

        return [[score(c) for c in options] for options in continuations]


class AllKnowing:
    """Knows every question's correct option texts, whatever order the options are shown in."""

    name = "all-knowing"

    def __init__(self, records: list[ChoiceQuestion]) -> None:
        self.key = {r.question: {r.options[letter] for letter in r.answer} for r in records}

    def _question(self, chat) -> tuple[set[str], dict[str, str]]:
        content = chat[-1]["content"]
        stem = next(q for q in self.key if q in content)
        return self.key[stem], dict(OPTION_LINE.findall(content))

    def _letters(self, chat) -> str:
        correct, shown = self._question(chat)
        return "".join(letter for letter, text in shown.items() if text in correct)

    def generate(self, chats, params):
        return [Completion(text=f"正确答案是{self._letters(chat)}。") for chat in chats]

    def continuation_logprobs(self, chats, continuations):
        scores = []
        for chat, options in zip(chats, continuations, strict=True):
            correct, _ = self._question(chat)
            right = {self._letters(chat), "、".join(sorted(correct, key=lambda t: DRUGS.index(t)))}
            joined = [set(c.split("、")) == correct or c in right for c in options]
            scores.append([0.0 if hit else -3.0 - len(c) for c, hit in zip(options, joined, strict=True)])
        return scores


def run(backend, mode: str, circular: bool, records=None):
    config = BenchmarkConfig(choice_mode=mode, circular=circular, bootstrap_resamples=300)  # type: ignore[arg-type]
    return Benchmark([Task("mc", "choice", records or questions())], config=config).run(backend).tasks["mc"]


@pytest.mark.parametrize(("mode", "circular"), [("letter", True), ("generate", True)])
def test_a_model_that_always_answers_a_scores_zero_under_circular_evaluation(mode, circular):
    result = run(LetterBiased(), mode, circular)
    assert result.figures["Acc"].value == 0
    assert result.figures["Acc (as given)"].value > 0  # without rotation the bias earns the key's share of A
    assert set(result.letters["answers"]) == {"A"} and len(result.letters["key"]) == 5


def test_without_rotation_the_letter_bias_reads_as_the_keys_share_of_a():
    records = questions()
    result = run(LetterBiased(), "letter", False, records)
    single = [r for r in records if len(r.answer) == 1]
    # the bias picks A, and AB among the sets of a multiple-answer question (all tie; the first wins)
    share_of_a = 100 * sum(r.answer in {("A",), ("A", "B")} for r in records) / len(records)
    assert result.figures["Acc"].value == pytest.approx(share_of_a)
    assert result.letters["answers"] == {"A": len(single)}


def test_a_model_that_always_answers_a_is_at_chance_in_cloze():
    records = [r for r in questions(400) if len(r.answer) == 1 and len(r.options) == 4]
    result = run(LetterBiased(), "cloze", False, records)
    for figure in ("Acc", "Acc (norm)"):
        estimate = result.figures[figure]
        assert estimate.low <= 25 <= estimate.high, (figure, estimate)


@pytest.mark.parametrize(
    ("mode", "circular"),
    [("letter", False), ("letter", True), ("cloze", False), ("generate", False), ("generate", True)],
)
def test_a_model_that_knows_the_answers_scores_100_in_every_mode(mode, circular):
    records = questions()
    result = run(AllKnowing(records), mode, circular, records)
    assert result.figures[result.headline].value == 100
    assert all(e.value == 100 for name, e in result.figures.items() if name.startswith("Acc")), result.figures
    assert result.settings["mode"] == mode and result.settings["circular"] == circular


def test_rotations_move_every_text_under_every_letter_once():
    record = questions(1)[0]
    items = task_items(Task("mc", "choice", [record]), prompts=PromptTemplates(), choice_mode="letter", circular=True)
    assert len(items) == len(record.options)
    for letter in record.options:
        assert {item.options[letter] for item in items} == set(record.options.values())
    for item in items:
        assert {item.options[letter] for letter in item.reference} == {record.options[a] for a in record.answer}
    assert rotate_options({"A": "x", "B": "y", "C": "z", "D": "w"}, ["B", "D"], 3) == (
        {"A": "w", "B": "x", "C": "y", "D": "z"},
        "AC",
    )


def test_cloze_asks_without_the_options_and_circular_cloze_is_refused():
    record = questions(1)[0]
    item = task_items(Task("mc", "choice", [record]), prompts=PromptTemplates(), choice_mode="cloze")[0]
    assert record.question in item.messages[-1]["content"]
    assert not any(text in item.messages[-1]["content"] for text in record.options.values())
    with pytest.raises(ConfigError, match="circular"):
        BenchmarkConfig(choice_mode="cloze", circular=True)
    with pytest.raises(ConfigError, match="now called 'letter'"):
        BenchmarkConfig(choice_mode="likelihood")  # type: ignore[arg-type]


def test_one_benchmark_asks_the_same_questions_two_ways_through_task_settings():
    records = questions(60)
    tasks = [
        Task("mc", "choice", records),
        Task("mc-circular", "choice", records, settings={"choice_mode": "letter", "circular": True}),
    ]
    config = BenchmarkConfig(choice_mode="cloze", bootstrap_resamples=100)
    results = Benchmark(tasks, config=config).run(LetterBiased()).tasks
    assert results["mc"].settings["mode"] == "cloze" and not results["mc"].settings["circular"]
    assert results["mc-circular"].settings == {**results["mc-circular"].settings, "mode": "letter", "circular": True}
    assert results["mc-circular"].figures["Acc"].value == 0  # the letter bias, caught by rotation


def test_task_settings_are_checked_and_name_the_task():
    records = questions(4)
    unknown = Task("mc", "choice", records, settings={"choise_mode": "letter"})
    with pytest.raises(ConfigError, match=r"mc\.settings.*choise_mode"):
        Benchmark([unknown]).items(unknown)
    impossible = Task("mc", "choice", records, settings={"choice_mode": "cloze", "circular": True})
    with pytest.raises(ConfigError, match=r"mc\.settings\.circular"):
        Benchmark([impossible]).items(impossible)


def test_a_task_whose_own_settings_need_likelihoods_is_skipped_for_an_api_model():
    class ApiModel:  # generates only, like an OpenAI-compatible backend
        name = "api"

        def generate(self, chats, params):
            return [Completion(text="答案：A") for _ in chats]

    records = questions(8)
    tasks = [Task("mc", "choice", records), Task("mc-letter", "choice", records, settings={"choice_mode": "letter"})]
    result = Benchmark(tasks, config=BenchmarkConfig(bootstrap_resamples=50)).run(ApiModel())
    assert list(result.tasks) == ["mc"] and "choice_mode letter" in result.skipped["mc-letter"]
