"""A local Hugging Face causal LM as a :class:`~medspec.llm.base.ChatBackend`.

Prompts go through the tokenizer's chat template (:func:`medspec.chat.ensure_chat_template` supplies one when the
model has none), are sorted by length and generated in left-padded batches, then returned in input order.

Example:
    >>> backend = TransformersBackend.from_pretrained("demo", batch_size=16)  # doctest: +SKIP
    >>> backend.generate([[{"role": "user", "content": "什么是全身麻醉？"}]], GenerationParams(max_new_tokens=64))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from medspec.chat import ensure_chat_template
from medspec.llm._likelihood import continuation_logprobs as score_continuations
from medspec.llm._likelihood import text_logprobs as score_texts
from medspec.llm.base import Chat, Completion, GenerationParams
from medspec.model_loading import load_model_and_tokenizer

__all__ = ["TransformersBackend"]

logger = logging.getLogger(__name__)


class TransformersBackend:
    """Batched generation with a local model.

    Args:
        model: A causal LM (``PreTrainedModel``), in eval mode or not (generation runs under ``inference_mode``).
        tokenizer: Its tokenizer.
        name: The backend's name in provenance and reports; ``transformers:<model path>`` by default.
        batch_size: Chats generated together.
    """

    def __init__(self, model: Any, tokenizer: Any, *, name: str | None = None, batch_size: int = 8) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.name = name or f"transformers:{getattr(model, 'name_or_path', '') or type(model).__name__}"
        ensure_chat_template(tokenizer)

    @classmethod
    def from_pretrained(
        cls, path: str | Path, *, gguf_file: str | None = None, device: str | None = None, **kwargs: Any
    ) -> TransformersBackend:
        """Load a model folder, GGUF file or ``"demo"`` and wrap it."""
        model, tokenizer = load_model_and_tokenizer(path, gguf_file=gguf_file, device=device)
        return cls(model, tokenizer, name=kwargs.pop("name", f"transformers:{path}"), **kwargs)

    def prompts(self, chats: Sequence[Chat]) -> list[str]:
        """The chats rendered by the chat template, each ending with the assistant's turn opening."""
        return [self.tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False) for chat in chats]

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Completion]:
        """Answer each chat; greedy unless ``params.temperature`` is positive."""
        prompts = self.prompts(chats)
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
        results: list[Completion | None] = [None] * len(prompts)
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            for index, completion in zip(batch, self._generate_batch([prompts[i] for i in batch], params), strict=True):
                results[index] = completion
        return [r for r in results if r is not None]

    def _generate_batch(self, prompts: list[str], params: GenerationParams) -> list[Completion]:
        tokenizer = self.tokenizer
        padding_side, tokenizer.padding_side = tokenizer.padding_side, "left"
        try:
            encoded = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
        finally:
            tokenizer.padding_side = padding_side
        encoded = encoded.to(self.model.device)
        sampling = params.temperature > 0
        if sampling and params.seed is not None:
            torch.manual_seed(params.seed)
        options: dict[str, Any] = {"do_sample": sampling, "max_new_tokens": params.max_new_tokens}
        if sampling:
            options.update(temperature=params.temperature, top_p=params.top_p)
        else:  # the model's generation_config may carry sampling defaults; greedy means greedy
            options.update(temperature=None, top_p=None, top_k=None)
        stop_ids = self._stop_token_ids()
        with torch.inference_mode():
            output = self.model.generate(
                **encoded, **options, pad_token_id=tokenizer.pad_token_id, eos_token_id=stop_ids
            )
        new_tokens = output[:, encoded["input_ids"].shape[1] :]  # (B, T_new)
        prompt_lengths = encoded["attention_mask"].sum(dim=1).tolist()
        return [
            self._completion(row.tolist(), length, stop_ids, params)
            for row, length in zip(new_tokens, prompt_lengths, strict=True)
        ]

    def continuation_logprobs(self, chats: Sequence[Chat], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        """Log-probability of each continuation as the start of the assistant's answer to each chat.

        Used to score multiple-choice options by likelihood and to read a judge's score distribution. The prompt and
        each continuation are tokenised separately and concatenated, so the boundary never merges into one token;
        consecutive chats that share a long beginning (one item's rubric questions) compute it once.

        Args:
            chats: The chats.
            continuations: For each chat, the candidate answer starts (``["A", "B", ...]`` or option texts).

        Returns:
            For each chat, the summed token log-probability of each continuation, in order.
        """
        if len(chats) != len(continuations):
            raise ValueError(f"{len(chats)} chats but {len(continuations)} continuation lists")
        prompts = [self._encode(p) for p in self.prompts(chats)]
        options = [[self._encode(o) for o in opts] for opts in continuations]
        if any(not o for opts in options for o in opts):
            raise ValueError("every continuation needs at least one token")
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return score_continuations(self.model, prompts, options, pad_token_id=pad, batch_size=self.batch_size)

    def text_logprobs(self, texts: Sequence[str], *, window: int = 1024, stride: int = 512) -> list[float]:
        """The summed log-probability of each text as plain text (no chat template), after the BOS token.

        Used for perplexity documents. A text longer than ``window`` tokens is scored in windows that move by
        ``stride`` tokens, each token once.

        Args:
            texts: The texts.
            window: Longest window in tokens; capped at the model's context length.
            stride: How far a window moves; at most ``window - 1`` is used.
        """
        window = min(window, getattr(self.model.config, "max_position_embeddings", None) or window)
        start = self.tokenizer.bos_token_id
        start = self.tokenizer.eos_token_id if start is None else start
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return score_texts(
            self.model,
            [self._encode(text) for text in texts],
            start_token_id=start,
            window=window,
            stride=min(stride, window - 1),
            pad_token_id=pad,
        )

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _stop_token_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        im_end = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        if isinstance(im_end, int) and im_end != self.tokenizer.unk_token_id:
            ids.add(im_end)
        configured = getattr(self.model.generation_config, "eos_token_id", None)
        ids.update(configured if isinstance(configured, list) else [configured])
        return sorted(i for i in ids if i is not None)

    def _completion(
        self, tokens: list[int], prompt_tokens: int, stop_ids: list[int], params: GenerationParams
    ) -> Completion:
        end = next((i for i, t in enumerate(tokens) if t in stop_ids), None)
        generated = tokens if end is None else tokens[:end]
        text = self.tokenizer.decode(generated, skip_special_tokens=True)
        finish = "stop" if end is not None else "length"
        if finish == "length":
            text = text.rstrip("\ufffd")  # a character whose bytes were cut off by max_new_tokens
        for stop in params.stop:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        usage = {"prompt_tokens": int(prompt_tokens), "completion_tokens": len(generated)}
        return Completion(text=text.strip(), finish_reason=finish, usage=usage)
