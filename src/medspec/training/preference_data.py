"""Preference data: tokenised (chosen, rejected) pairs for training, and building pairs from instruction data.

PediatricsGPT's preferred answers are humanistic rewrites and its rejected answers weaker assistant answers.
:func:`build_preference_pairs` makes such pairs from instruction records: the preferred answer is the record's
reference answer, or a backend's rewrite of it in an empathetic, clear style; the rejected answer is the current
model's own answer to the same prompt.

Example:
    >>> from medspec.data.schema import Instruction
    >>> from medspec.llm.base import Completion
    >>> class Fixed:
    ...     name = "fixed"
    ...     def generate(self, chats, params):
    ...         return [Completion(text="多喝水。") for _ in chats]
    >>> record = Instruction(id="1", instruction="孩子发烧怎么办？", output="先测体温，38.5℃以上可用退热药……")
    >>> build_preference_pairs([record], policy=Fixed())[0].rejected
    '多喝水。'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from medspec.chat import prompt_messages
from medspec.data.schema import Instruction, PreferencePair, Provenance
from medspec.llm.base import ChatBackend, GenerationParams
from medspec.training.collate import IGNORE_INDEX, TokenCounter, conversation_example

__all__ = ["HUMANISTIC_REWRITE_PROMPT", "PairCollator", "PreferenceExample", "build_preference_pairs", "pair_example"]

logger = logging.getLogger(__name__)

HUMANISTIC_REWRITE_PROMPT = (
    "请在不改变医学事实的前提下改写下面的医生回答，使其更有人文关怀：先共情、语言清晰易懂、解释理由、"
    "说明何时需要就医。只输出改写后的回答。\n\n问题：{question}\n\n原回答：{answer}"
)


@dataclass
class PreferenceExample:
    """One tokenised pair: the same prompt with the chosen and with the rejected answer."""

    chosen_ids: list[int]
    chosen_labels: list[int]
    rejected_ids: list[int]
    rejected_labels: list[int]


def pair_example(tokenizer: Any, pair: PreferencePair, *, max_length: int) -> PreferenceExample:
    """Tokenise a preference pair through the chat template; only the answers carry labels."""
    prompt = prompt_messages(pair.prompt, history=pair.history, system=pair.system)
    chosen = conversation_example(
        tokenizer, [*prompt, {"role": "assistant", "content": pair.chosen}], max_length=max_length
    )
    rejected = conversation_example(
        tokenizer, [*prompt, {"role": "assistant", "content": pair.rejected}], max_length=max_length
    )
    return PreferenceExample(chosen.input_ids, chosen.labels, rejected.input_ids, rejected.labels)


class PairCollator:
    """Batches pairs as 2B right-padded rows: the chosen answers first, then the rejected ones in the same order."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id
        self.counter = TokenCounter()

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows = [(f["chosen_ids"], f["chosen_labels"]) for f in features]
        rows += [(f["rejected_ids"], f["rejected_labels"]) for f in features]
        width = max(len(ids) for ids, _ in rows)
        self.counter.offer(sum(len(ids) for ids, _ in rows), width * len(rows))
        return {
            "input_ids": torch.tensor([ids + [self.pad_token_id] * (width - len(ids)) for ids, _ in rows]),
            "labels": torch.tensor([labels + [IGNORE_INDEX] * (width - len(labels)) for _, labels in rows]),
            "attention_mask": torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids, _ in rows]),
        }


def build_preference_pairs(
    records: Sequence[Instruction],
    *,
    policy: ChatBackend,
    rewriter: ChatBackend | None = None,
    params: GenerationParams | None = None,
) -> list[PreferencePair]:
    """Make preference pairs from instruction records.

    Args:
        records: Instruction records with reference answers.
        policy: The model being trained (its answers are the rejected ones).
        rewriter: A backend that rewrites the reference answer humanistically; the reference itself when None.
        params: Generation settings (greedy, 512 new tokens by default).

    Returns:
        One pair per record whose two answers differ and are both non-empty (failed generations are skipped
        and logged).
    """
    params = params or GenerationParams()
    chats = [prompt_messages(r.prompt_text(), history=r.history, system=r.system) for r in records]
    rejected = policy.generate(chats, params)
    if rewriter is not None:
        prompts = [
            [{"role": "user", "content": HUMANISTIC_REWRITE_PROMPT.format(question=r.prompt_text(), answer=r.output)}]
            for r in records
        ]
        chosen = [
            c.text if c.ok and c.text.strip() else r.output
            for c, r in zip(rewriter.generate(prompts, params), records, strict=True)
        ]
    else:
        chosen = [r.output for r in records]
    pairs = []
    for record, good, bad in zip(records, chosen, rejected, strict=True):
        if not bad.ok or not bad.text.strip() or bad.text.strip() == good.strip():
            logger.info("%s: no usable rejected answer (%s); skipped", record.id, bad.error or "same or empty")
            continue
        provenance = Provenance(
            source="preference-build", generator=policy.name, judge=rewriter.name if rewriter else None
        )
        pairs.append(
            PreferencePair(
                id=record.id,
                prompt=record.prompt_text(),
                chosen=good,
                rejected=bad.text,
                history=list(record.history),
                system=record.system,
                tags=list(record.tags),
                provenance=provenance,
            )
        )
    return pairs
