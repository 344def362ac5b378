"""Backends that answer by rule, and small tasks, for the benchmark tests."""

from __future__ import annotations

from collections.abc import Callable

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.results import BenchmarkResult
from medspec.bench.tasks import Task
from medspec.data.schema import CaseQuestion, ChoiceQuestion, ClinicalCase, Instruction
from medspec.llm.base import Completion


class RuleBackend:
    """Answers each chat with ``rule(last user message)``; counts the chats it was sent."""

    def __init__(self, rule: Callable[[str], str], name: str = "rule") -> None:
        self.rule = rule
        self.name = name
        self.chats_seen = 0
        self.calls = 0

    def generate(self, chats, params):
        self.calls += 1
        self.chats_seen += len(chats)
        return [Completion(text=self.rule(chat[-1]["content"])) for chat in chats]


def qa_task(n: int = 6, name: str = "qa") -> Task:
    records = [
        Instruction(id=f"q{i}", instruction=f"第{i}题：丙泊酚的诱导剂量是多少？", output=f"成人约{i}mg/kg，缓慢静注。")
        for i in range(n)
    ]
    return Task(name, "qa", records)


def choice_task() -> Task:
    options = {"A": "丹曲林", "B": "新斯的明", "C": "阿托品", "D": "纳洛酮"}
    records = [
        ChoiceQuestion(id="c1", question="恶性高热的特效药是", options=options, answer=("A",), tags=["pharmacology"]),
        ChoiceQuestion(id="c2", question="拮抗阿片类呼吸抑制用", options=options, answer=("D",), tags=["pharmacology"]),
        ChoiceQuestion(id="c3", question="可用于心动过缓的是", options=options, answer=("C",), tags=["monitoring"]),
        ChoiceQuestion(id="c4", question="属于抗胆碱药的是", options=options, answer=("C",), tags=["pharmacology"]),
        ChoiceQuestion(id="m1", question="以下哪些是拮抗药", options=options, answer=("B", "D"), tags=["pharmacology"]),
    ]
    return Task("choice", "choice", records)


def case_task() -> Task:
    records = [
        ClinicalCase(
            id=f"case{i}",
            case=f"患者{i}，男，65岁，拟行全髋关节置换术，既往高血压。",
            questions=[
                CaseQuestion(question="术前评估重点是什么？", answer="心肺功能与血压控制。"),
                CaseQuestion(question="首选何种麻醉方式？", answer="椎管内麻醉或全身麻醉。"),
            ],
        )
        for i in range(3)
    ]
    return Task("cases", "case", records)


def echo_reference(task: Task) -> Callable[[str], str]:
    """A rule that answers every open question of ``task`` with its reference answer."""
    answers = {r.instruction: r.output for r in task.records if isinstance(r, Instruction)}
    return lambda prompt: answers.get(prompt, "不知道")


def run_model(tasks: list[Task], rule: Callable[[str], str], model: str, out=None) -> BenchmarkResult:
    config = BenchmarkConfig(bootstrap_resamples=200)
    return Benchmark(tasks, config=config).run(RuleBackend(rule, name=model), out=out, model=model)
