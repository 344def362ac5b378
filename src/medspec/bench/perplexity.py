"""Perplexity tasks: bits per character of held-out text, the figure continued pre-training and SFT move first.

A ``perplexity`` task scores text the model is given, not text it writes, so it needs no extraction and no judge
and moves with small amounts of training, where a choice accuracy on a hundred questions stays within its noise.
Two forms, by record type:

* a :class:`~medspec.data.schema.Document` is scored whole as plain text (no chat template), in windows of
  ``perplexity_window`` tokens that move by ``perplexity_stride`` (every token once, with context);
* an :class:`~medspec.data.schema.Instruction` or a :class:`~medspec.data.schema.ClinicalCase` question scores its
  reference answer as the assistant's reply to its prompt: the figure supervised fine-tuning changes.

The figure is bits per character: the text's summed negative log-probability in bits over its length in
characters, ``BPC = -log2 p(text) / chars``; the task's figure is total bits over total characters (each text
weighted by its length). Unlike perplexity per token it does not depend on the tokenizer, so a model whose
vocabulary was extended and its base compare fairly on the same text (Chinese-LLaMA's point). Lower is better.

Example:
    >>> from medspec.bench.results import Prediction
    >>> from medspec.bench.tasks import TaskItem
    >>> item = TaskItem(id="d1", task="t", kind="perplexity", messages=[], reference="麻醉", question="")
    >>> rows = perplexity_rows([item], {"d1": Prediction(id="d1", text="", logprob=-2 * math.log(2))})
    >>> rows[0]["scores"], rows[0]["chars"]
    ({'BPC': 1.0}, 2)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from medspec.bench.results import Prediction
from medspec.bench.tasks import TaskItem
from medspec.errors import ConfigError
from medspec.llm.base import ChatBackend, LikelihoodBackend, TextLikelihoodBackend

__all__ = ["character_weights", "perplexity_rows", "score_texts"]


def score_texts(backend: ChatBackend, items: Sequence[TaskItem], *, window: int, stride: int) -> list[Prediction]:
    """Each item's text log-probability (natural log), as predictions with ``logprob`` set.

    Raises:
        ConfigError: When the backend cannot score text (an API backend).
    """
    documents = [item for item in items if not item.messages]
    answers = [item for item in items if item.messages]
    found: dict[str, float] = {}
    if documents:
        if not isinstance(backend, TextLikelihoodBackend):
            raise ConfigError("kind", f"backend {backend.name} cannot score plain text; perplexity needs a local model")
        texts = [item.reference for item in documents]
        scores = backend.text_logprobs(texts, window=window, stride=stride)
        found.update(zip((i.id for i in documents), scores, strict=True))
    if answers:
        if not isinstance(backend, LikelihoodBackend):
            raise ConfigError("kind", f"backend {backend.name} cannot score answers; perplexity needs a local model")
        chats, replies = [item.messages for item in answers], [[item.reference] for item in answers]
        scores = backend.continuation_logprobs(chats, replies)
        found.update(zip((i.id for i in answers), (s[0] for s in scores), strict=True))
    return [Prediction(id=item.id, text="", logprob=found[item.id]) for item in items]


def perplexity_rows(items: Sequence[TaskItem], predictions: Mapping[str, Prediction]) -> list[dict[str, Any]]:
    """One scored row per item: ``chars``, ``bits`` and ``scores["BPC"]`` (NaN when scoring failed)."""
    rows = []
    for item in items:
        logprob = predictions[item.id].logprob
        chars = len(item.reference)
        bits = -logprob / math.log(2) if logprob is not None else math.nan
        rows.append(
            {
                "id": item.id,
                "question": item.question,
                "reference": item.reference,
                "prediction": "",
                "tags": list(item.tags),
                "group": item.group,
                "chars": chars,
                "bits": bits,
                "scores": {"BPC": bits / chars if chars else math.nan},
            }
        )
    return rows


def character_weights(rows: Sequence[Mapping[str, Any]]) -> list[int] | None:
    """Each scored row's length in characters when the rows are bits per character (weighted by length), else None.

    Example:
        >>> character_weights([{"chars": 120}, {"chars": 80}]), character_weights([{"scores": {"Acc": 100.0}}])
        ([120, 80], None)
    """
    return [row["chars"] for row in rows] if rows and "chars" in rows[0] else None
