"""Self-Instruct generation from a specialty's seed tasks, in rounds, until a target count.

Each request shows a generator a few seed tasks and a few of its own earlier items (Self-Instruct mixes human and
machine examples), steers it toward a couple of lexicon terms for diversity, and asks in Chinese for a JSON array of
new ``instruction`` / ``input`` / ``output`` tasks. A task is accepted when it mentions at least one lexicon term
(relevance) and its instruction's ROUGE-L with every instruction in the pool (seeds included) is below the
threshold (novelty, :mod:`medspec.crossfilter.novelty`). Generators only see their own earlier items, so each item
is one model's work and the judge audit's self-preference measure stays clean.

Every round is appended to a log as it completes; a restarted run replays the log and continues with the same
prompts (they depend only on the seed, the round and the accepted pool), which the request cache then answers.

Example:
    >>> tasks = parse_tasks('[{"instruction": "简述喉罩的禁忌证。", "input": "", "output": "饱胃、……"}, {"instr')
    >>> [t["instruction"] for t in tasks]
    ['简述喉罩的禁忌证。']
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from medspec.crossfilter.novelty import NoveltyIndex
from medspec.data.json_text import parse_json_prefix
from medspec.data.schema import Instruction, Provenance
from medspec.durable import AppendLog
from medspec.errors import ConfigError, MedspecError
from medspec.llm.base import Chat, ChatBackend, Completion, GenerationParams

__all__ = ["SelfInstruct", "SelfInstructConfig", "SelfInstructResult", "parse_tasks"]

logger = logging.getLogger(__name__)

_KEYS = {
    "instruction": ("instruction", "指令", "问题", "question"),
    "input": ("input", "输入"),
    "output": ("output", "输出", "回答", "answer"),
}
_LABELLED = re.compile(r"(指令|输入|输出)\s*[:：]\s*")


@dataclass
class SelfInstructConfig:
    """How new tasks are generated.

    Attributes:
        target_count: New items to generate in all, shared evenly between the generators.
        tasks_per_request: Tasks asked for in one request.
        requests_per_round: Requests per generator per round (sent concurrently).
        max_rounds: Rounds after which generation stops even short of the target.
        seed_examples: Seed tasks shown in each request.
        generated_examples: The generator's own earlier items shown in each request, once it has some.
        focus_terms: Lexicon terms each request is steered toward, for diversity.
        rouge_threshold: A new instruction whose ROUGE-L with a pool instruction reaches this is dropped.
        min_lexicon_terms: Lexicon terms an item must mention to count as in the specialty.
        temperature: Sampling temperature of the generators.
        top_p: Nucleus sampling mass.
        max_new_tokens: Longest answer to one request.
        seed: Seeds example sampling and the generators' sampling.
    """

    target_count: int = 200
    tasks_per_request: int = 5
    requests_per_round: int = 8
    max_rounds: int = 100
    seed_examples: int = 3
    generated_examples: int = 1
    focus_terms: int = 2
    rouge_threshold: float = 0.7
    min_lexicon_terms: int = 1
    temperature: float = 0.7
    top_p: float = 1.0
    max_new_tokens: int = 2048
    seed: int = 0

    def __post_init__(self) -> None:
        for key in ("target_count", "tasks_per_request", "requests_per_round", "max_rounds", "max_new_tokens"):
            if getattr(self, key) < 1:
                raise ConfigError(key, f"must be at least 1, got {getattr(self, key)}")
        for key in ("seed_examples", "generated_examples", "focus_terms", "min_lexicon_terms"):
            if getattr(self, key) < 0:
                raise ConfigError(key, f"must be 0 or more, got {getattr(self, key)}")
        if not 0 < self.rouge_threshold <= 1:
            raise ConfigError("rouge_threshold", f"must be in (0, 1], got {self.rouge_threshold}")
        GenerationParams(temperature=self.temperature, top_p=self.top_p)  # raises ConfigError naming the field


def _field(data: dict[str, Any], name: str) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in data.items()}
    return next((lowered[k] for k in _KEYS[name] if k in lowered), None)


def _task(data: Any) -> dict[str, str] | None:
    if not isinstance(data, dict):
        return None
    task = {name: _field(data, name) for name in _KEYS}
    if not isinstance(task["instruction"], str) or not task["instruction"].strip():
        return None
    if task["input"] in (None, "<无输入>", "无"):
        task["input"] = ""
    task["output"] = "" if task["output"] is None else task["output"]
    if not isinstance(task["input"], str) or not isinstance(task["output"], str):
        return None
    return {k: v.strip() for k, v in task.items()}


def _complete_objects(text: str) -> list[Any]:
    """Each complete top-level JSON object in ``text``; a cut-off last one is left out."""
    objects, position = [], 0
    while (start := text.find("{", position)) != -1:
        try:
            value, position = parse_json_prefix(text, start)
        except json.JSONDecodeError as exc:
            if isinstance(exc.__cause__, RecursionError):
                break  # nested too deeply: every "{" inside it would fail the same way, one slow try each
            position = start + 1
            continue
        objects.append(value)
    return objects


def _labelled_tasks(text: str) -> list[dict[str, str]]:
    """Tasks written as ``指令：…… 输入：…… 输出：……`` blocks."""
    parts = _LABELLED.split(text)
    tasks: list[dict[str, str]] = []
    for label, value in zip(parts[1::2], parts[2::2], strict=True):
        value = re.sub(r"\n\s*(?:\d+[.、)]|[-*#]+)\s*$", "", value.strip()).strip()  # the next task's number
        if label == "指令":
            tasks.append({"instruction": value, "input": "", "output": ""})
        elif tasks:
            tasks[-1]["input" if label == "输入" else "output"] = "" if value in ("<无输入>", "无") else value
    return [t for t in tasks if t["instruction"]]


def parse_tasks(text: str) -> list[dict[str, str]]:
    """The tasks in a generator's answer: a JSON array, JSON objects one per line, or labelled text."""
    candidates: list[Any] = []
    for value in _complete_objects(text):
        tasks = value.get("tasks") if isinstance(value, dict) and isinstance(value.get("tasks"), list) else [value]
        candidates += tasks
    tasks = [t for t in map(_task, candidates) if t is not None]
    return tasks or _labelled_tasks(text)


@dataclass
class SelfInstructResult:
    """The accepted items and what happened to every request and task."""

    items: list[Instruction]
    stats: dict[str, dict[str, int]] = field(default_factory=dict)


class SelfInstruct:
    """Rounds of Self-Instruct generation.

    Args:
        config: How to generate.
        seeds: The specialty's seed tasks.
        lexicon: The specialty's terms, for relevance and steering.
        field_name: The specialty as prompts name it (``"麻醉学"``).
    """

    def __init__(
        self, config: SelfInstructConfig, *, seeds: Sequence[Instruction], lexicon: Sequence[str], field_name: str
    ) -> None:
        if not seeds:
            raise ConfigError("seed_tasks", "Self-Instruct needs seed tasks; the specialty has none")
        self.config = config
        self.seeds = list(seeds)
        self.lexicon = list(lexicon)
        self.field_name = field_name
        self.params = GenerationParams(
            max_new_tokens=config.max_new_tokens, temperature=config.temperature, top_p=config.top_p, seed=config.seed
        )

    def prompt(self, generator: str, round_index: int, request: int, own: Sequence[Instruction]) -> Chat:
        """The request ``request`` of round ``round_index`` to ``generator``, whose accepted items are ``own``."""
        c = self.config
        rng = random.Random(f"{c.seed}:{generator}:{round_index}:{request}")
        examples = rng.sample(self.seeds, min(c.seed_examples, len(self.seeds)))
        examples += rng.sample(list(own), min(c.generated_examples, len(own)))
        terms = rng.sample(self.lexicon, min(c.focus_terms, len(self.lexicon)))
        shown = "\n".join(
            json.dumps({"instruction": e.instruction, "input": e.input, "output": e.output}, ensure_ascii=False)
            for e in examples
        )
        focus = f"\n6. 本批任务请尽量涉及以下主题词：{'、'.join(terms)}。" if terms else ""
        user = (
            f"请为训练{self.field_name}领域的大语言模型编写{c.tasks_per_request}条新的、彼此不同的指令任务。要求：\n"
            f"1. 任务属于{self.field_name}领域，内容专业、准确，符合当前临床指南与专业共识。\n"
            "2. 任务类型多样：知识问答、临床决策、病例分析、剂量计算、操作步骤、并发症处理等。\n"
            "3. 指令用中文书写，不要与示例重复。\n"
            "4. 部分任务需要“input”（如病例摘要、检验结果），其余任务的input为空字符串。\n"
            "5. “output”是对指令完整、准确、专业的中文回答。"
            f"{focus}\n\n示例：\n{shown}\n\n"
            f'请只输出一个JSON数组，包含{c.tasks_per_request}个对象，每个对象有"instruction"、"input"、"output"三个字段。'
        )
        system = f"你是一位经验丰富的{self.field_name}专家，负责编写用于训练医学大语言模型的高质量指令数据。"
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def _relevant(self, task: dict[str, str]) -> bool:
        text = f"{task['instruction']}\n{task['input']}\n{task['output']}"
        needed = self.config.min_lexicon_terms
        return needed == 0 or sum(term in text for term in self.lexicon) >= needed

    def run(self, generators: Mapping[str, ChatBackend], *, log: AppendLog) -> SelfInstructResult:
        """Generate until every generator has its share of ``target_count`` or ``max_rounds`` have run.

        Raises:
            MedspecError: When no task at all could be accepted (the log holds every answer).
        """
        if not generators:
            raise ConfigError("generators", "Self-Instruct needs at least one generator")
        state = _State(self.seeds, self.config.rouge_threshold)
        for entry in log.entries():
            state.record(entry, index=True)
        quota = math.ceil(self.config.target_count / len(generators))
        bar = tqdm(total=quota * len(generators), desc="self-instruct", unit="item", disable=None)
        bar.update(min(len(state.items), bar.total))
        with ThreadPoolExecutor(max_workers=len(generators)) as pool:
            while state.rounds < self.config.max_rounds:
                missing = {g: max(0, quota - len(state.own[g])) for g in generators}
                if not any(missing.values()):
                    break
                chats = {
                    g: [self.prompt(g, state.rounds, i, state.own[g]) for i in range(self._requests(n))]
                    for g, n in missing.items()
                }
                futures = {
                    g: pool.submit(generators[g].generate, chats[g], self.params) for g in generators if chats[g]
                }
                answers = {g: future.result() for g, future in futures.items()}
                entries = [
                    self._entry(state, g, i, completion)
                    for g in generators
                    for i, completion in enumerate(answers.get(g, []))
                ]
                log.extend(entries)
                for entry in entries:
                    state.record(entry, index=False)  # _entry already indexed them
                bar.update(min(sum(len(e["accepted"]) for e in entries), bar.total - bar.n))
        bar.close()
        if not state.items:
            raise MedspecError(
                f"Self-Instruct accepted no task in {state.rounds} rounds; see the answers in {log.path}"
            )
        stats = {g: dict(state.stats[g]) for g in generators}
        if any(len(state.own[g]) < quota for g in generators):
            logger.warning("self-instruct stopped after %d rounds short of the target: %s", state.rounds, stats)
        return SelfInstructResult(items=state.items, stats=stats)

    def _requests(self, missing: int) -> int:
        """Requests to send for ``missing`` items: no more than needed, at most ``requests_per_round``."""
        return min(self.config.requests_per_round, math.ceil(missing / self.config.tasks_per_request))

    def _entry(self, state: _State, generator: str, request: int, completion: Completion) -> dict[str, Any]:
        entry: dict[str, Any] = {"round": state.rounds, "generator": generator, "request": request}
        if not completion.ok:
            return entry | {"error": completion.error, "accepted": [], "rejected": []}
        accepted, rejected = [], []
        tasks = parse_tasks(completion.text)
        for number, task in enumerate(tasks):
            if completion.finish_reason == "length" and number == len(tasks) - 1:
                task["finish_reason"] = "length"  # the last task of a cut-off answer may be cut off too
            if not self._relevant(task):
                rejected.append({"task": task, "reason": "mentions no term of the specialty's lexicon"})
            elif not state.index.is_novel(task["instruction"]):
                rejected.append({"task": task, "reason": f"ROUGE-L >= {self.config.rouge_threshold} with the pool"})
            else:
                state.index.add(task["instruction"])
                accepted.append(task)
        return entry | {"parsed": len(tasks), "accepted": accepted, "rejected": rejected, "answer": completion.text}


class _State:
    """The accepted pool and the counts, rebuilt from the log on resume."""

    def __init__(self, seeds: Sequence[Instruction], threshold: float) -> None:
        self.index = NoveltyIndex((s.instruction for s in seeds), threshold=threshold)
        self.items: list[Instruction] = []
        self.own: dict[str, list[Instruction]] = defaultdict(list)
        self.rounds = 0
        self.stats: dict[str, Counter[str]] = defaultdict(Counter)

    def record(self, entry: dict[str, Any], *, index: bool) -> None:
        """Add a logged request's accepted tasks to the pool (and to the novelty index when ``index``)."""
        generator = entry["generator"]
        stats = self.stats[generator]
        stats["requests"] += 1
        stats["failed requests"] += "error" in entry
        stats["tasks parsed"] += entry.get("parsed", 0)
        for rejection in entry["rejected"]:
            stats[f"rejected: {rejection['reason']}"] += 1
        for task in entry["accepted"]:
            if index:
                self.index.add(task["instruction"])
            meta = {"round": entry["round"]} | ({"finish_reason": "length"} if task.get("finish_reason") else {})
            item = Instruction(
                id=f"{generator}-{len(self.own[generator]) + 1:06d}",
                instruction=task["instruction"],
                input=task["input"],
                output=task["output"],
                provenance=Provenance(source="self-instruct", generator=generator),
                meta=meta,
            )
            self.own[generator].append(item)
            self.items.append(item)
            stats["accepted"] += 1
        self.rounds = max(self.rounds, entry["round"] + 1)
