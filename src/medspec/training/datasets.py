"""From a stage's data files to a ``datasets.Dataset`` and its collator.

``sft`` and ``experts`` stages train on dialogues: instruction records (every assistant turn of a multi-turn record),
and multiple-choice questions, clinical cases and preference pairs turned into dialogues (:func:`as_dialogue`).
``preference`` stages train on preference pairs, batched as (chosen, rejected) rows.
``pretrain`` stages train on plain text: documents, and for PediatricsGPT's hybrid instruction pre-training,
instruction pairs rendered as text with no chat template and no loss mask.

Example:
    >>> from medspec.data.schema import ChoiceQuestion
    >>> q = ChoiceQuestion(id="1", question="首选的恶性高热治疗药物是", options={"A": "丹曲林", "B": "咪达唑仑"},
    ...                    answer=("A",), explanation="丹曲林抑制肌浆网钙释放。")
    >>> as_dialogue(q)[-1]["content"]
    '答案：A。丹曲林抑制肌浆网钙释放。'
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import Dataset

from medspec.chat import Message, record_messages
from medspec.data.io import read_records
from medspec.data.schema import ChoiceQuestion, ClinicalCase, Document, Instruction, PreferencePair, Record
from medspec.training.collate import (
    Example,
    PackedCollator,
    PaddingCollator,
    conversation_example,
    document_examples,
    pack,
)
from medspec.training.preference_data import PairCollator, pair_example
from medspec.training.stages import StageConfig

__all__ = ["StageData", "as_dialogue", "as_text", "build_stage_data"]

logger = logging.getLogger(__name__)


def as_dialogue(record: Record) -> list[Message]:
    """A record as a chat ending with the answer to learn.

    Raises:
        ValueError: For a document, which has no dialogue.
    """
    if isinstance(record, (Instruction, PreferencePair)):
        return record_messages(record)
    if isinstance(record, ChoiceQuestion):
        options = "\n".join(f"{letter}. {text}" for letter, text in record.options.items())
        answer = f"答案：{''.join(record.answer)}。" + (record.explanation or "")
        return [{"role": "user", "content": f"{record.question}\n{options}"}, {"role": "assistant", "content": answer}]
    if isinstance(record, ClinicalCase):
        messages: list[Message] = []
        for i, q in enumerate(record.questions):
            question = f"{record.case}\n\n{q.question}" if i == 0 else q.question
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": q.answer}]
        return messages
    raise ValueError(f"record {record.id} is a document; use it in a pretrain stage")


def as_text(record: Record) -> str:
    """A record as plain text for pre-training (an instruction pair with no template, a document as is)."""
    if isinstance(record, Document):
        return record.text
    if isinstance(record, Instruction):
        return "\n".join(part for part in (record.instruction, record.input, record.output) if part)
    return record.content()


@dataclass
class StageData:
    """A stage's tokenised training set.

    Attributes:
        dataset: Rows with ``input_ids`` and ``labels`` (and ``position_ids`` when packed).
        collator: Batches rows and counts non-padding tokens.
        records: Records read (replayed and mixed-in ones included).
        examples: Examples before packing.
        trained_tokens: Tokens that carry a loss.
    """

    dataset: Dataset
    collator: PackedCollator | PaddingCollator | PairCollator
    records: int
    examples: int
    trained_tokens: int


def _read(paths: Sequence[Path]) -> list[Record]:
    return [record for path in paths for record in read_records(path)]


def _sample(records: list[Record], count: int, rng: random.Random) -> list[Record]:
    return rng.sample(records, min(count, len(records)))


def _examples(stage: StageConfig, tokenizer: Any, records: list[Record], extra_text: list[Record]) -> list[Example]:
    if stage.kind == "pretrain":
        texts = [as_text(r) for r in [*records, *extra_text]]
        return [e for text in texts for e in document_examples(tokenizer, text, max_length=stage.max_seq_length)]
    return [conversation_example(tokenizer, as_dialogue(r), max_length=stage.max_seq_length) for r in records]


def _preference_data(stage: StageConfig, tokenizer: Any, records: list[Record]) -> StageData:
    pairs = [r for r in records if isinstance(r, PreferencePair)]
    if len(pairs) != len(records):
        raise ValueError(
            f"stage {stage.name}: a preference stage needs preference records only, "
            f"{len(records) - len(pairs)} of {len(records)} are not"
        )
    examples = [pair_example(tokenizer, p, max_length=stage.max_seq_length) for p in pairs]
    examples = [e for e in examples if any(x >= 0 for x in e.chosen_labels) and any(x >= 0 for x in e.rejected_labels)]
    if not examples:
        raise ValueError(f"stage {stage.name}: no pair has answer tokens left (max_seq_length too short?)")
    columns = {
        key: [getattr(e, key) for e in examples]
        for key in ("chosen_ids", "chosen_labels", "rejected_ids", "rejected_labels")
    }
    columns["length"] = [len(e.chosen_ids) + len(e.rejected_ids) for e in examples]
    trained = sum(x >= 0 for e in examples for x in (*e.chosen_labels, *e.rejected_labels))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return StageData(Dataset.from_dict(columns), PairCollator(pad_id), len(records), len(examples), trained)


def build_stage_data(stage: StageConfig, tokenizer: Any) -> StageData:
    """Read, mix, tokenise and (optionally) pack a stage's data.

    Raises:
        medspec.errors.InvalidDataError: With every problem in the stage's files.
        ValueError: When no example carries a loss (all truncated away, say).
    """
    rng = random.Random(stage.seed)
    records = _read(stage.data)
    if stage.kind == "preference":
        return _preference_data(stage, tokenizer, records)
    if stage.replay.fraction:
        records += _sample(_read(stage.replay.data), round(stage.replay.fraction * len(records)), rng)
    mixed_in = []
    if stage.instruction_fraction:
        mixed_in = _sample(_read(stage.instruction_data), round(stage.instruction_fraction * len(records)), rng)
    examples = [e for e in _examples(stage, tokenizer, records, mixed_in) if any(label >= 0 for label in e.labels)]
    if not examples:
        raise ValueError(f"stage {stage.name}: no example has a token to learn (max_seq_length too short?)")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    if stage.packing:
        rows = pack(examples, max_length=stage.max_seq_length)
        columns = {
            "input_ids": [r.input_ids for r in rows],
            "labels": [r.labels for r in rows],
            "position_ids": [r.position_ids for r in rows],
        }
        collator: PackedCollator | PaddingCollator = PackedCollator(pad_id)
    else:
        columns = {
            "input_ids": [e.input_ids for e in examples],
            "labels": [e.labels for e in examples],
            "length": [len(e) for e in examples],
        }
        collator = PaddingCollator(pad_id)
    trained = sum(label >= 0 for e in examples for label in e.labels)
    logger.info(
        "stage %s: %d records -> %d examples -> %d rows, %d trained tokens",
        stage.name,
        len(records) + len(mixed_in),
        len(examples),
        len(columns["input_ids"]),
        trained,
    )
    return StageData(Dataset.from_dict(columns), collator, len(records) + len(mixed_in), len(examples), trained)
