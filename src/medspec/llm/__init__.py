"""LLM backends: one protocol for generation and judging, injectable into CrossFilter and the benchmark judge.

:class:`ChatBackend` is the protocol; :class:`LikelihoodBackend` adds reading the probability of given answers
(local models). :class:`~medspec.llm.transformers.TransformersBackend` (imported on first use),
:class:`OpenAIBackend` and
:class:`AnthropicBackend` implement it; :class:`RequestCache` keeps every answer so nothing is paid for twice; and
:class:`BackendConfig` with :func:`build_backend` builds a backend from a config entry.
"""

from typing import Any

from medspec.llm.anthropic import AnthropicBackend
from medspec.llm.base import ChatBackend, Completion, GenerationParams, LikelihoodBackend
from medspec.llm.cache import CachedBackend, RequestCache
from medspec.llm.openai import OpenAIBackend
from medspec.llm.registry import BackendConfig, build_backend, register_backend

__all__ = [
    "AnthropicBackend",
    "BackendConfig",
    "CachedBackend",
    "ChatBackend",
    "Completion",
    "GenerationParams",
    "LikelihoodBackend",
    "OpenAIBackend",
    "RequestCache",
    "TransformersBackend",
    "build_backend",
    "register_backend",
]


def __getattr__(name: str) -> Any:
    # A local model's backend imports torch: only when it is asked for, so the API backends stay light.
    if name == "TransformersBackend":
        from medspec.llm.transformers import TransformersBackend

        return TransformersBackend
    raise AttributeError(f"module 'medspec.llm' has no attribute {name!r}")
