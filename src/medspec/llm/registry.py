"""Backends by name, so a YAML config can say which model generates and which judges.

:class:`BackendConfig` describes one backend; :func:`build_backend` turns it into a
:class:`~medspec.llm.base.ChatBackend` through the factory registered for its ``kind``. Three kinds ship:
``transformers`` (a local model), ``openai`` (any OpenAI-compatible server) and ``anthropic``. Add your own with
:func:`register_backend`.

Example:
    >>> config = BackendConfig(kind="openai", model="deepseek-chat", base_url="https://api.deepseek.com/v1",
    ...                        api_key_env="DEEPSEEK_API_KEY", max_concurrency=16)
    >>> config.display_name
    'openai:deepseek-chat'
    >>> BackendConfig(kind="gemini", model="x")
    Traceback (most recent call last):
    ...
    medspec.errors.ConfigError: key 'kind': unknown backend kind 'gemini'; known: anthropic, openai, transformers \
(add one with medspec.llm.registry.register_backend)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from medspec.errors import ConfigError
from medspec.llm._http import HttpChatBackend, RetryPolicy
from medspec.llm.base import ChatBackend
from medspec.llm.cache import CachedBackend, RequestCache

__all__ = ["BACKENDS", "BackendConfig", "BackendFactory", "build_backend", "register_backend"]

BackendFactory = Callable[["BackendConfig", "RequestCache | None"], ChatBackend]
BACKENDS: dict[str, BackendFactory] = {}
_KIND = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass
class BackendConfig:
    """One backend, as a config names it.

    Attributes:
        kind: A registered kind: ``transformers``, ``openai``, ``anthropic`` or one you registered.
        model: The model name for an API; for ``transformers`` a model folder, a ``.gguf`` file or ``"demo"``.
        name: Name in provenance, reports and cache keys; ``<kind>:<model>`` by default.
        base_url: The API root; the provider's own by default.
        api_key_env: Environment variable holding the API key. Defaults to the provider's variable
            (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``) when ``base_url`` is the provider's own, and to no key
            otherwise, so a key is never sent to a server it was not meant for.
        max_concurrency: HTTP requests in flight at once.
        timeout_s: Longest wait, in seconds, for an HTTP connection, upload, or the next part of a response.
        max_retries: Retries of a request after 429, 5xx, a timeout or a malformed body.
        retry_base_delay_s: Backoff before the first retry; doubles with each retry, with jitter.
        retry_max_delay_s: Longest wait between retries, ``Retry-After`` included.
        batch_size: Chats a local model generates together.
        device: Where a local model runs (``"cpu"``, ``"cuda"``); transformers' choice by default.
        gguf_file: The GGUF file inside ``model`` when it is a folder holding several.
    """

    kind: str
    model: str
    name: str | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    max_concurrency: int = 8
    timeout_s: float = 60.0
    max_retries: int = 6
    retry_base_delay_s: float = 1.0
    retry_max_delay_s: float = 60.0
    batch_size: int = 8
    device: str | None = None
    gguf_file: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in BACKENDS:
            raise ConfigError(
                "kind",
                f"unknown backend kind {self.kind!r}; known: {', '.join(sorted(BACKENDS))} "
                "(add one with medspec.llm.registry.register_backend)",
            )
        if not self.model.strip():
            raise ConfigError("model", "is empty; name the model (or, for transformers, its folder or 'demo')")
        for key in ("max_concurrency", "batch_size"):
            if getattr(self, key) < 1:
                raise ConfigError(key, f"must be at least 1, got {getattr(self, key)}")
        if self.timeout_s <= 0:
            raise ConfigError("timeout_s", f"must be positive, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ConfigError("max_retries", f"must be 0 or more, got {self.max_retries}")
        if not 0 <= self.retry_base_delay_s <= self.retry_max_delay_s:
            raise ConfigError(
                "retry_base_delay_s",
                f"need 0 <= retry_base_delay_s <= retry_max_delay_s, got {self.retry_base_delay_s} "
                f"and {self.retry_max_delay_s}",
            )

    @property
    def display_name(self) -> str:
        """The backend's name: ``name``, or ``<kind>:<model>``."""
        return self.name or f"{self.kind}:{self.model}"


def register_backend(kind: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Make ``kind`` usable in :class:`BackendConfig`.

    Args:
        kind: Lower-case name (letters, digits, ``-``, ``_``).
        factory: Builds the backend from its config and the run's request cache (None when caching is off). It
            should put the cache in front of every request it sends, or wrap its backend in
            :class:`~medspec.llm.cache.CachedBackend`.
        replace: Allow replacing an existing kind.

    Raises:
        ValueError: For a malformed kind, a factory that is not callable, or a kind already taken.
    """
    if not _KIND.match(kind):
        raise ValueError(f"backend kind {kind!r} must be lower-case letters, digits, '-' or '_'")
    if not callable(factory):
        raise ValueError(f"the factory for {kind!r} must be callable, got {type(factory).__name__}")
    if kind in BACKENDS and not replace:
        raise ValueError(f"backend kind {kind!r} is already registered; pass replace=True to replace it")
    BACKENDS[kind] = factory


def build_backend(config: BackendConfig, *, cache: RequestCache | None = None) -> ChatBackend:
    """Build the backend a config describes, behind ``cache`` when one is given."""
    return BACKENDS[config.kind](config, cache)


def _retry(config: BackendConfig) -> RetryPolicy:
    return RetryPolicy(
        max_retries=config.max_retries, base_delay_s=config.retry_base_delay_s, max_delay_s=config.retry_max_delay_s
    )


def _http(backend_class: type[HttpChatBackend], config: BackendConfig, cache: RequestCache | None) -> ChatBackend:
    return backend_class(
        config.model,
        base_url=config.base_url,
        api_key_env=config.api_key_env,
        name=config.display_name,
        max_concurrency=config.max_concurrency,
        timeout_s=config.timeout_s,
        retry=_retry(config),
        cache=cache,
    )


def _openai(config: BackendConfig, cache: RequestCache | None) -> ChatBackend:
    from medspec.llm.openai import OpenAIBackend

    return _http(OpenAIBackend, config, cache)


def _anthropic(config: BackendConfig, cache: RequestCache | None) -> ChatBackend:
    from medspec.llm.anthropic import AnthropicBackend

    return _http(AnthropicBackend, config, cache)


def _transformers(config: BackendConfig, cache: RequestCache | None) -> ChatBackend:
    from medspec.llm.transformers import TransformersBackend

    backend = TransformersBackend.from_pretrained(
        config.model,
        gguf_file=config.gguf_file,
        device=config.device,
        name=config.display_name,
        batch_size=config.batch_size,
    )
    return backend if cache is None else CachedBackend(backend, cache)


register_backend("openai", _openai)
register_backend("anthropic", _anthropic)
register_backend("transformers", _transformers)
