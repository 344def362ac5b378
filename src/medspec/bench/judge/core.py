"""LLM-as-judge through any :class:`~medspec.llm.base.ChatBackend`: pointwise rubric scores and pairwise verdicts.

* **Pointwise**: the judge reads the question, the reference answer (optional) and one answer, reasons briefly and
  ends with a JSON object of scores, one per :class:`~medspec.rubric.Criterion`, read by
  :func:`medspec.rubric.parse_scores` (the parser CrossFilter uses too). A reply without a valid score for every
  criterion is recorded as unparsed, never filled in.
* **Pairwise**: the judge compares two answers and ends with ``[[A]]``, ``[[B]]`` or ``[[C]]`` (a tie). Every pair is
  judged twice with the answers swapped; as in MT-Bench (Zheng et al., 2023), a model wins only when it is preferred
  in both orders, and verdicts that flip with the order count as a tie. The share of consistent verdicts is
  reported, a direct measure of the judge's position bias.

Judge replies are appended to a log keyed by a hash of the backend name, the settings and the chat, so a re-run
resumes without asking (or paying for) anything twice.

Example:
    >>> from medspec.llm.base import Completion
    >>> class Strict:
    ...     name = "strict"
    ...     def generate(self, chats, params):
    ...         return [Completion(text='{"usefulness": 4, "harmfulness": 1, "redundancy": 2}') for _ in chats]
    >>> answer = AnswerToJudge(task="qa", item="q1", model="m", question="腰麻后头痛怎么办？", reference="……",
    ...                        answer="平卧、补液。")
    >>> Judge(Strict()).pointwise([answer])[0].scores
    {'usefulness': 4.0, 'harmfulness': 1.0, 'redundancy': 2.0}
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from medspec.durable import AppendLog
from medspec.errors import BackendError, ConfigError
from medspec.llm.base import Chat, ChatBackend, GenerationParams
from medspec.rubric import Criterion, check_criteria, default_criteria, parse_scores

__all__ = [
    "AnswerToJudge",
    "Judge",
    "JudgeConfig",
    "PairwiseJudgement",
    "PointwiseJudgement",
    "combine_verdicts",
    "parse_verdict",
]

logger = logging.getLogger(__name__)

Outcome = Literal["win", "tie", "lose"]
_VERDICT = re.compile(r"\[\[\s*([ABC])\s*\]\]")

POINTWISE_TEMPLATE = """请评价下面这个医学问题的回答。

[问题]
{question}
{reference}
[待评价的回答]
{answer}

请按以下标准逐项打分，分数为整数：
{criteria}

先用一两句话说明理由，最后一行只输出一个 JSON 对象，例如：{example}"""

PAIRWISE_TEMPLATE = """请比较两位助手对同一个医学问题的回答，判断哪一个更好。综合考虑以下方面：
{criteria}
不要因为回答出现的先后顺序、长度或助手的名字而偏向任何一方。

[问题]
{question}
{reference}
[助手A的回答]
{answer_a}

[助手B的回答]
{answer_b}

先简要说明理由，最后一行只输出结论：[[A]] 表示助手A更好，[[B]] 表示助手B更好，[[C]] 表示两者相当。"""


@dataclass
class JudgeConfig:
    """How the judge is asked.

    Attributes:
        criteria: The rubric (pointwise scores; also what pairwise verdicts weigh).
        include_reference: Show the reference answer to the judge.
        system_prompt: The judge's system prompt.
        max_new_tokens: Longest judge reply.
        temperature: 0 for greedy (the default: a judge should be deterministic).
        seed: Sampling seed, when sampling.
        save_every: Requests sent between two saves of the log.
    """

    criteria: list[Criterion] = field(default_factory=default_criteria)
    include_reference: bool = True
    system_prompt: str = "你是一名资深临床医学专家，负责客观、严格地评价医学问答的质量。"
    max_new_tokens: int = 512
    temperature: float = 0.0
    seed: int = 0
    save_every: int = 16

    def __post_init__(self) -> None:
        self.criteria = check_criteria(self.criteria)
        if self.save_every < 1:
            raise ConfigError("save_every", f"must be at least 1, got {self.save_every}")
        self.params()  # GenerationParams' own checks, with the field names

    def params(self) -> GenerationParams:
        """The judge's generation settings."""
        return GenerationParams(max_new_tokens=self.max_new_tokens, temperature=self.temperature, seed=self.seed)


@dataclass(frozen=True)
class AnswerToJudge:
    """One model's answer to one item, as the judge sees it."""

    task: str
    item: str
    model: str
    question: str
    reference: str
    answer: str


@dataclass
class PointwiseJudgement:
    """The judge's scores of one answer (``scores`` is None when the reply could not be read)."""

    task: str
    item: str
    model: str
    scores: dict[str, float] | None
    reply: str


@dataclass
class PairwiseJudgement:
    """Two verdicts on one pair of answers, in both orders, and the outcome for ``model_a``.

    Attributes:
        verdicts: The parsed verdict with ``model_a``'s answer shown first, then with it shown second: ``"A"``,
            ``"B"`` or ``"C"`` by position, None when unreadable.
        outcome: ``win``, ``tie`` or ``lose`` for ``model_a``; None when a verdict is missing.
        consistent: Both orders gave the same preference.
    """

    task: str
    item: str
    model_a: str
    model_b: str
    verdicts: tuple[str | None, str | None]
    outcome: Outcome | None
    consistent: bool
    replies: tuple[str, str] = ("", "")


def parse_verdict(reply: str) -> str | None:
    """The last ``[[A]]``, ``[[B]]`` or ``[[C]]`` in a reply, as ``"A"``, ``"B"`` or ``"C"``.

    Example:
        >>> parse_verdict("两者都正确，但A更完整。[[A]]"), parse_verdict("都不错") is None
        ('A', True)
    """
    found = _VERDICT.findall(reply)
    return found[-1] if found else None


def _preference(verdict: str | None, a_first: bool) -> int | None:
    """+1 when model A is preferred, -1 when model B is, 0 for a tie."""
    if verdict is None:
        return None
    if verdict == "C":
        return 0
    return 1 if (verdict == "A") == a_first else -1


def combine_verdicts(first: str | None, second: str | None) -> tuple[Outcome | None, bool]:
    """Outcome for model A from the verdict with A shown first and the one with A shown second.

    Example:
        >>> combine_verdicts("A", "B"), combine_verdicts("A", "A"), combine_verdicts("C", "C")
        (('win', True), ('tie', False), ('tie', True))
    """
    one, two = _preference(first, True), _preference(second, False)
    if one is None or two is None:
        return None, False
    if one != two:
        return "tie", False
    return ("win", "tie", "lose")[1 - one], True  # type: ignore[return-value]


class Judge:
    """An LLM judge.

    Args:
        backend: The judging model.
        config: How it is asked.
        log: A JSONL file that keeps every reply; requests already in it are not sent again.
    """

    def __init__(
        self, backend: ChatBackend, *, config: JudgeConfig | None = None, log: str | Path | None = None
    ) -> None:
        self.backend = backend
        self.config = config or JudgeConfig()
        self.log = AppendLog(log) if log is not None else None

    def _rubric(self) -> str:
        return "\n".join(f"- {c.name}（{c.low}–{c.high} 分）：{c.description}" for c in self.config.criteria)

    def _reference(self, answer: AnswerToJudge) -> str:
        return f"\n[参考答案]\n{answer.reference}\n" if self.config.include_reference else ""

    def _chat(self, content: str) -> Chat:
        system = [{"role": "system", "content": self.config.system_prompt}] if self.config.system_prompt else []
        return [*system, {"role": "user", "content": content}]

    def pointwise_chat(self, answer: AnswerToJudge) -> Chat:
        """The chat that asks for the scores of one answer."""
        example = json.dumps({c.name: c.high if c.higher_is_better else c.low for c in self.config.criteria})
        content = POINTWISE_TEMPLATE.format(
            question=answer.question,
            reference=self._reference(answer),
            answer=answer.answer,
            criteria=self._rubric(),
            example=example,
        )
        return self._chat(content)

    def pairwise_chat(self, first: AnswerToJudge, second: AnswerToJudge) -> Chat:
        """The chat that compares two answers, ``first`` shown as assistant A."""
        content = PAIRWISE_TEMPLATE.format(
            criteria=self._rubric(),
            question=first.question,
            reference=self._reference(first),
            answer_a=first.answer,
            answer_b=second.answer,
        )
        return self._chat(content)

    def pointwise(self, answers: Sequence[AnswerToJudge]) -> list[PointwiseJudgement]:
        """Score each answer on every criterion."""
        replies = self._ask([self.pointwise_chat(a) for a in answers])
        judgements = []
        for answer, reply in zip(answers, replies, strict=True):
            scores = parse_scores(reply, self.config.criteria)
            judgements.append(PointwiseJudgement(answer.task, answer.item, answer.model, scores, reply))
        unparsed = sum(j.scores is None for j in judgements)
        if unparsed:
            logger.warning(
                "judge %s: %d of %d replies had no readable scores", self.backend.name, unparsed, len(answers)
            )
        return judgements

    def pairwise(self, pairs: Sequence[tuple[AnswerToJudge, AnswerToJudge]]) -> list[PairwiseJudgement]:
        """Compare each pair of answers to the same item in both orders.

        Raises:
            ValueError: When the two answers of a pair are not to the same item.
        """
        for a, b in pairs:
            if (a.task, a.item) != (b.task, b.item):
                raise ValueError(f"a pair must answer one item; got {a.task}/{a.item} and {b.task}/{b.item}")
        chats = [chat for a, b in pairs for chat in (self.pairwise_chat(a, b), self.pairwise_chat(b, a))]
        replies = self._ask(chats)
        judgements = []
        for index, (a, b) in enumerate(pairs):
            first, second = replies[2 * index], replies[2 * index + 1]
            verdicts = (parse_verdict(first), parse_verdict(second))
            outcome, consistent = combine_verdicts(*verdicts)
            judgements.append(
                PairwiseJudgement(a.task, a.item, a.model, b.model, verdicts, outcome, consistent, (first, second))
            )
        return judgements

    def _key(self, chat: Chat) -> str:
        params = self.config.params()
        payload = json.dumps([self.backend.name, vars(params), chat], ensure_ascii=False, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()

    def _ask(self, chats: list[Chat]) -> list[str]:
        """Replies to every chat, from the log where it has them."""
        keys = [self._key(chat) for chat in chats]
        known = {e["key"]: e["reply"] for e in (self.log.entries() if self.log else ()) if e.get("error") is None}
        todo = [i for i, key in enumerate(keys) if key not in known]
        step = self.config.save_every
        for start in range(0, len(todo), step):
            batch = todo[start : start + step]
            completions = self.backend.generate([chats[i] for i in batch], self.config.params())
            if len(completions) != len(batch):
                raise BackendError(f"judge {self.backend.name} returned {len(completions)} replies for {len(batch)}")
            entries = [
                {"key": keys[i], "reply": c.text, "error": c.error} for i, c in zip(batch, completions, strict=True)
            ]
            if self.log:
                self.log.extend(entries)
            known.update((e["key"], e["reply"]) for e in entries if e["error"] is None)
        return [known.get(key, "") for key in keys]
