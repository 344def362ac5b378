"""The one protocol every LLM backend speaks, for generation and for judging.

A backend turns a batch of chats into completions. CrossFilter's generators and judges, the benchmark's models and
its LLM judge all take a :class:`ChatBackend`, so a local model, an OpenAI-compatible server and the Anthropic API are
interchangeable, and tests inject a fake.

A request that fails for good (a 4xx that retrying cannot fix, a bad key) raises
:class:`~medspec.errors.BackendError`; a request that keeps failing for passing reasons (timeouts, 5xx) after all
retries comes back as a :class:`Completion` with ``error`` set, so one bad item never loses a batch.

Example:
    >>> class Echo:
    ...     name = "echo"
    ...     def generate(self, chats, params):
    ...         return [Completion(text=chat[-1]["content"]) for chat in chats]
    >>> isinstance(Echo(), ChatBackend)
    True
    >>> Echo().generate([[{"role": "user", "content": "你好"}]], GenerationParams())[0].text
    '你好'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from medspec.errors import ConfigError

__all__ = ["Chat", "ChatBackend", "Completion", "GenerationParams", "LikelihoodBackend", "TextLikelihoodBackend"]

Chat = list[dict[str, str]]
FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class GenerationParams:
    """How to generate.

    Attributes:
        max_new_tokens: Longest completion, in tokens.
        temperature: 0 for greedy decoding (the default, for reproducible data and evaluation).
        top_p: Nucleus sampling mass when sampling.
        seed: Sampling seed, where the backend supports one.
        stop: Strings that end a completion (the stop string itself is not returned).
    """

    max_new_tokens: int = 512
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError("max_new_tokens", f"must be at least 1, got {self.max_new_tokens}")
        if self.temperature < 0:
            raise ConfigError("temperature", f"must be 0 (greedy) or positive, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ConfigError("top_p", f"must be in (0, 1], got {self.top_p}")


@dataclass
class Completion:
    """One generated answer.

    Attributes:
        text: The completion ("" when ``error`` is set).
        finish_reason: ``stop`` (natural end or stop string), ``length`` (hit ``max_new_tokens``) or ``error``.
        usage: Token counts when the backend reports them (``prompt_tokens``, ``completion_tokens``).
        error: Why the request failed after every retry; None on success.
    """

    text: str
    finish_reason: FinishReason = "stop"
    usage: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the request succeeded."""
        return self.error is None


@runtime_checkable
class ChatBackend(Protocol):
    """Anything that answers chats.

    Attributes:
        name: Identifies the backend and model (``"openai:gpt-4o-mini"``); used in provenance, caches and reports.
    """

    name: str

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Completion]:
        """Answer each chat; the result has one completion per chat, in order."""
        ...


@runtime_checkable
class LikelihoodBackend(ChatBackend, Protocol):
    """A backend that can also score given answer starts: a local model, whose probabilities are readable.

    Used to score multiple-choice options by likelihood and to read a judge's distribution over scores.
    """

    def continuation_logprobs(self, chats: Sequence[Chat], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        """For each chat, the summed log-probability of each continuation as the start of the assistant's answer."""
        ...


@runtime_checkable
class TextLikelihoodBackend(ChatBackend, Protocol):
    """A backend that can score plain text, with no chat template: a local model's perplexity on documents."""

    def text_logprobs(self, texts: Sequence[str], *, window: int, stride: int) -> list[float]:
        """For each text, the summed log-probability of its tokens, scored in windows of ``window`` tokens that
        move by ``stride``."""
        ...
