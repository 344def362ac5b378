"""Tokenisation for training: chat-template rendering with assistant-only labels, documents, packing, collators.

* :func:`conversation_example` renders a dialogue with the tokenizer's chat template and labels only the assistant's
  turns (every assistant turn of a multi-turn record, each with its end-of-turn marker, so the model learns to stop);
  the prompt tokens get the ignore index.
* :func:`document_examples` cuts plain text into training chunks, every token labelled.
* :func:`pack` puts short examples into rows of ``max_length`` by best-fit decreasing. Position ids restart at 0 for
  each example and no attention mask is passed, which transformers turns into a block-diagonal causal mask: no
  token attends across an example boundary, and the first token of each example is not predicted from the one before.
* :class:`PackedCollator` and :class:`PaddingCollator` batch examples and count the share of non-padding tokens.

Example:
    >>> rows = pack([Example([1, 2, 3], [-100, 2, 3]), Example([4, 5], [-100, 5])], max_length=8)
    >>> rows[0].input_ids, rows[0].position_ids, rows[0].labels
    ([1, 2, 3, 4, 5], [0, 1, 2, 0, 1], [-100, 2, 3, -100, 5])
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from medspec.errors import ConfigError

__all__ = [
    "IGNORE_INDEX",
    "Example",
    "PackedCollator",
    "PaddingCollator",
    "TokenCounter",
    "conversation_example",
    "document_examples",
    "pack",
]

IGNORE_INDEX = -100  # the label value transformers' loss skips


@dataclass
class Example:
    """One training sequence.

    Attributes:
        input_ids: Token ids.
        labels: The same ids where the loss applies, :data:`IGNORE_INDEX` elsewhere.
        position_ids: Positions (restarting at 0 for each packed example); ``0..n-1`` when omitted.
    """

    input_ids: list[int]
    labels: list[int]
    position_ids: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.input_ids)


def _render(tokenizer: Any, messages: list[dict[str, str]], *, generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered dialogue and the character spans of every assistant turn (with its end-of-turn marker).

    Raises:
        ConfigError: When the chat template renders earlier turns differently once later turns follow, so the
            assistant turns cannot be located (a template that rewrites history).
    """
    full = _render(tokenizer, messages)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = _render(tokenizer, messages[:i], generation_prompt=True)
        upto = _render(tokenizer, messages[: i + 1])
        if not (upto.startswith(prompt) and full.startswith(upto)):
            raise ConfigError(
                "chat_template",
                "the template renders earlier turns differently when later turns "
                "follow, so assistant turns cannot be located; use a template that "
                "only appends (e.g. medspec.chat.DEFAULT_CHAT_TEMPLATE)",
            )
        spans.append((len(prompt), len(upto)))
    return full, spans


def conversation_example(tokenizer: Any, messages: list[dict[str, str]], *, max_length: int) -> Example:
    """Tokenise a dialogue, labelling only the assistant's turns; truncate to ``max_length`` tokens."""
    text, spans = assistant_spans(tokenizer, messages)
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = encoded["input_ids"][:max_length]
    labels = []
    for token_id, (start, _) in zip(ids, encoded["offset_mapping"], strict=False):
        trained = any(s <= start < e for s, e in spans)
        labels.append(token_id if trained else IGNORE_INDEX)
    return Example(ids, labels)


def document_examples(tokenizer: Any, text: str, *, max_length: int) -> list[Example]:
    """Tokenise plain text followed by the end-of-sequence token, cut into chunks of at most ``max_length``."""
    ids = tokenizer(text, add_special_tokens=True)["input_ids"]
    if tokenizer.eos_token_id is not None:
        ids = [*ids, tokenizer.eos_token_id]
    return [
        Example(chunk, list(chunk))
        for chunk in (ids[i : i + max_length] for i in range(0, len(ids), max_length))
        if len(chunk) > 1
    ]


def pack(examples: Sequence[Example], *, max_length: int) -> list[Example]:
    """Pack examples into rows of at most ``max_length`` tokens, fullest first (best-fit decreasing).

    Each example keeps its tokens contiguous; its positions restart at 0 and its first label is ignored.
    """
    rows: list[Example] = []
    by_room: dict[int, list[int]] = {}  # remaining room -> rows with that room
    rooms: list[int] = []  # sorted distinct rooms that some row has
    for example in sorted(examples, key=len, reverse=True):
        size = min(len(example), max_length)
        at = bisect.bisect_left(rooms, size)
        if at < len(rooms):
            room = rooms[at]
            row_index = by_room[room].pop()
            if not by_room[room]:
                del by_room[room]
                rooms.pop(at)
        else:
            room, row_index = max_length, len(rows)
            rows.append(Example([], [], []))
        row = rows[row_index]
        row.input_ids += example.input_ids[:size]
        row.labels += [IGNORE_INDEX, *example.labels[1:size]]
        row.position_ids += list(range(size))
        left = room - size
        if left > 0:
            if left not in by_room:
                bisect.insort(rooms, left)
            by_room.setdefault(left, []).append(row_index)
    return rows


@dataclass
class TokenCounter:
    """Real and total (padded) token counts of the batches a trainer actually stepped on.

    Collators :meth:`offer` each batch's counts when they build it; the trainer :meth:`confirm` s one per training step,
    so batches a data loader prepared ahead but never trained on are not counted.
    """

    real: int = 0
    total: int = 0
    _pending: deque[tuple[int, int]] = field(default_factory=deque)

    def offer(self, real: int, total: int) -> None:
        """Record a batch that was built."""
        self._pending.append((real, total))

    def confirm(self) -> None:
        """Count the oldest built batch as trained."""
        if self._pending:
            real, total = self._pending.popleft()
            self.real += real
            self.total += total

    @property
    def fraction(self) -> float:
        """Share of batch positions that hold real tokens."""
        return self.real / self.total if self.total else 0.0


class PackedCollator:
    """Batches packed rows: pads to the longest row, no attention mask, positions that keep segments apart.

    Padding gets positions restarting at 0 (a segment of its own) and ignored labels. The batch also says
    ``use_cache=False``: transformers only derives the per-example mask from positions when no cache is built, and a
    model left with ``use_cache=True`` would otherwise attend across examples without a word.
    """

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id
        self.counter = TokenCounter()

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, Any]:
        width = max(len(f["input_ids"]) for f in features)
        batch: dict[str, list[list[int]]] = {"input_ids": [], "labels": [], "position_ids": []}
        for f in features:
            pad = width - len(f["input_ids"])
            batch["input_ids"].append(list(f["input_ids"]) + [self.pad_token_id] * pad)
            batch["labels"].append(list(f["labels"]) + [IGNORE_INDEX] * pad)
            batch["position_ids"].append(list(f["position_ids"]) + list(range(pad)))
        self.counter.offer(sum(len(f["input_ids"]) for f in features), width * len(features))
        tensors: dict[str, Any] = {key: torch.tensor(value, dtype=torch.long) for key, value in batch.items()}
        return {**tensors, "use_cache": False}


class PaddingCollator:
    """Batches unpacked examples: right padding to the longest in the batch, with an attention mask."""

    def __init__(self, pad_token_id: int) -> None:
        self.pad_token_id = pad_token_id
        self.counter = TokenCounter()

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        ids, labels, mask = [], [], []
        for f in features:
            pad = width - len(f["input_ids"])
            ids.append(list(f["input_ids"]) + [self.pad_token_id] * pad)
            labels.append(list(f["labels"]) + [IGNORE_INDEX] * pad)
            mask.append([1] * len(f["input_ids"]) + [0] * pad)
        self.counter.offer(sum(len(f["input_ids"]) for f in features), width * len(features))
        return {"input_ids": torch.tensor(ids), "labels": torch.tensor(labels), "attention_mask": torch.tensor(mask)}
