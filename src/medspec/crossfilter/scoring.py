"""Judging items against a rubric: Chinese prompts, the correction loop, and the likelihood mode.

Two modes, chosen by :attr:`ScoringConfig.mode`:

* ``generate``: the judge answers one prompt per item with a JSON object of scores, read by
  :func:`medspec.rubric.parse_scores` (the parser the benchmark's judge uses too: code fences, full-width
  punctuation, Chinese keys, nested objects and loose text such as ``专业性：8分`` are tolerated). An answer missing
  an aspect is sent back with a request to answer in
  JSON (up to ``parse_retries`` times); after that the item is *unscored*, never scored 0.
* ``likelihood``: for local models, whose free text is unreliable but whose probabilities are readable. For each
  aspect, the judge is asked for a score and the probability of each score ``k`` as the start of its answer is
  read (:meth:`~medspec.llm.base.LikelihoodBackend.continuation_logprobs`); normalised over the scale, the
  expected score ``sum_k p(k) * k`` is the aspect's score. Always parseable, and graded rather than integer.

Example:
    >>> from medspec.rubric import default_rubric
    >>> round(expected_score([math.log(0.25), math.log(0.75)], [4, 8])[0], 6)
    7.0
    >>> "专业性" in judge_chat(Instruction(id="i1", instruction="何为ASA分级？", output="……"), default_rubric(),
    ...                      field_name="麻醉学")[1]["content"]
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from medspec.data.schema import Instruction
from medspec.errors import ConfigError
from medspec.llm.base import Chat, ChatBackend, GenerationParams, LikelihoodBackend
from medspec.rubric import Rubric, parse_scores

__all__ = [
    "Judgement",
    "Scorer",
    "ScoringMode",
    "expected_score",
    "judge_chat",
    "likelihood_chats",
]

TRANSPORT_FAILURE = "request failed"  # the reason of a judgement whose request never got an answer

ScoringMode = Literal["generate", "likelihood"]

_SYSTEM = "你是一位资深的{field}专家，负责审核用于训练医学大模型的指令数据。请严格、客观地评分。"


@dataclass
class Judgement:
    """One judge's verdict on one item.

    Attributes:
        item: The item's id.
        judge: The judge's name.
        scores: Per-aspect scores; None when the item could not be scored.
        reason: Why it is unscored ("" when scored).
        attempts: Requests made (generate mode: the first prompt and each correction).
        answers: The judge's answers (generate mode), kept for audit.
        distributions: Per aspect, the probability of each score on the scale (likelihood mode).
    """

    item: str
    judge: str
    scores: dict[str, float] | None
    reason: str = ""
    attempts: int = 1
    answers: list[str] = field(default_factory=list)
    distributions: dict[str, list[float]] = field(default_factory=dict)

    @property
    def scored(self) -> bool:
        """True when every aspect has a score."""
        return self.scores is not None

    @property
    def failed_in_transport(self) -> bool:
        """True when the request itself failed (the server was down): a resumed run asks again."""
        return self.reason.startswith(TRANSPORT_FAILURE)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, one line of a score log."""
        return dict(vars(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Judgement:
        """The inverse of :meth:`to_dict`."""
        return cls(**data)


def _item_text(record: Instruction) -> str:
    parts = [f"【指令】\n{record.instruction}"]
    if record.input.strip():
        parts.append(f"【输入】\n{record.input}")
    parts.append(f"【回答】\n{record.output}")
    return "\n".join(parts)


def judge_chat(record: Instruction, rubric: Rubric, *, field_name: str) -> Chat:
    """The generate-mode prompt: every aspect at once, answered as a JSON object."""
    aspects = "\n".join(f"{i}. {c.name}（{c.shown_name}）：{c.description}" for i, c in enumerate(rubric.criteria, 1))
    example = json.dumps({c.name: "整数" for c in rubric.criteria}, ensure_ascii=False)
    user = (
        f"请评审下面这条{field_name}领域指令数据中的“回答”。\n\n{_item_text(record)}\n\n"
        f"请从以下{len(rubric.criteria)}个方面分别打分，每项为{rubric.low}到{rubric.high}的整数，"
        f"分数越高越好：\n{aspects}\n\n只输出一个JSON对象，不要输出其他内容，格式如下：\n{example}"
    )
    return [{"role": "system", "content": _SYSTEM.format(field=field_name)}, {"role": "user", "content": user}]


def likelihood_chats(record: Instruction, rubric: Rubric, *, field_name: str) -> list[Chat]:
    """The likelihood-mode prompts: one per aspect, each answered by a single number."""
    chats = []
    for criterion in rubric.criteria:
        user = (
            f"请评审下面这条{field_name}领域指令数据中的“回答”。\n\n{_item_text(record)}\n\n"
            f"评分项：{criterion.shown_name}——{criterion.description}\n"
            f"请给出{rubric.low}到{rubric.high}之间的一个整数分数，分数越高越好。只输出这个数字。"
        )
        chats.append(
            [{"role": "system", "content": _SYSTEM.format(field=field_name)}, {"role": "user", "content": user}]
        )
    return chats


def _correction(chat: Chat, answer: str, rubric: Rubric) -> Chat:
    # Placeholders, not example numbers: a weak judge would copy the numbers.
    shape = json.dumps({a.name: "整数" for a in rubric.criteria}, ensure_ascii=False)
    request = (
        f"无法从你的回答中读出全部{len(rubric.criteria)}项评分。请只输出一个JSON对象，把下面的“整数”换成"
        f"{rubric.low}到{rubric.high}之间的评分：{shape}"
    )
    return [*chat, {"role": "assistant", "content": answer}, {"role": "user", "content": request}]


def expected_score(logprobs: Sequence[float], values: Sequence[int]) -> tuple[float, list[float]]:
    """The expected score and the normalised probabilities, from each score's log-probability.

    Example:
        >>> score, probs = expected_score([math.log(0.25), math.log(0.75)], [4, 8])
        >>> round(score, 6), [round(p, 6) for p in probs]
        (7.0, [0.25, 0.75])
    """
    top = max(logprobs)
    weights = [math.exp(lp - top) for lp in logprobs]  # shift by the max: no underflow to all zeros
    total = sum(weights)
    probabilities = [w / total for w in weights]
    return sum(p * v for p, v in zip(probabilities, values, strict=True)), probabilities


class Scorer:
    """Scores items with one judge at a time, in the configured mode.

    Args:
        rubric: What to score.
        mode: ``generate`` or ``likelihood``.
        field_name: The specialty as the judge's persona names it (``"麻醉学"``).
        max_new_tokens: Longest judge answer (generate mode).
        parse_retries: Corrections asked for after an unparseable answer, before the item is unscored.
    """

    def __init__(
        self,
        rubric: Rubric,
        *,
        mode: ScoringMode = "generate",
        field_name: str,
        max_new_tokens: int = 256,
        parse_retries: int = 2,
    ) -> None:
        if parse_retries < 0:
            raise ConfigError("parse_retries", f"must be 0 or more, got {parse_retries}")
        self.rubric = rubric
        self.mode = mode
        self.field_name = field_name
        self.params = GenerationParams(max_new_tokens=max_new_tokens)
        self.parse_retries = parse_retries

    def score(self, backend: ChatBackend, judge: str, records: Sequence[Instruction]) -> list[Judgement]:
        """One judgement per record, in order.

        Raises:
            ConfigError: In likelihood mode, when the backend cannot report probabilities.
        """
        if self.mode == "likelihood":
            if not isinstance(backend, LikelihoodBackend):
                raise ConfigError(
                    "scoring.mode",
                    f"'likelihood' needs judges that expose continuation_logprobs (local transformers models); "
                    f"judge {judge!r} ({backend.name}) does not: use mode 'generate' for it",
                )
            return self._by_likelihood(backend, judge, records)
        return self._by_generation(backend, judge, records)

    def _by_generation(self, backend: ChatBackend, judge: str, records: Sequence[Instruction]) -> list[Judgement]:
        chats = [judge_chat(r, self.rubric, field_name=self.field_name) for r in records]
        results = [Judgement(item=r.id, judge=judge, scores=None, attempts=0) for r in records]
        pending = list(range(len(records)))
        for _ in range(self.parse_retries + 1):
            if not pending:
                break
            completions = backend.generate([chats[i] for i in pending], self.params)
            retry = []
            for i, completion in zip(pending, completions, strict=True):
                result = results[i]
                result.attempts += 1
                if not completion.ok:
                    result.reason = f"{TRANSPORT_FAILURE}: {completion.error}"
                    continue
                result.answers.append(completion.text)
                result.scores = parse_scores(completion.text, self.rubric)
                if result.scores is None:
                    result.reason = f"no complete set of scores in {result.attempts} answer(s)"
                    chats[i] = _correction(chats[i], completion.text, self.rubric)
                    retry.append(i)
                else:
                    result.reason = ""
            pending = retry
        return results

    def _by_likelihood(self, backend: LikelihoodBackend, judge: str, records: Sequence[Instruction]) -> list[Judgement]:
        values = self.rubric.values
        options = [str(v) for v in values]
        chats = [c for r in records for c in likelihood_chats(r, self.rubric, field_name=self.field_name)]
        logprobs = backend.continuation_logprobs(chats, [options] * len(chats))
        results, n = [], len(self.rubric.criteria)
        for index, record in enumerate(records):
            scores, distributions = {}, {}
            for aspect, row in zip(self.rubric.names, logprobs[index * n : (index + 1) * n], strict=True):
                score, probabilities = expected_score(row, values)
                scores[aspect] = round(score, 4)
                distributions[aspect] = [round(p, 4) for p in probabilities]
            results.append(Judgement(item=record.id, judge=judge, scores=scores, distributions=distributions))
        return results
