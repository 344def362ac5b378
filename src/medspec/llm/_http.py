"""What the HTTP chat backends share: bounded concurrency, timeouts, retries, the request cache and key hygiene.

A subclass says how one chat becomes a request body and how a response body becomes a :class:`Completion`; this
module sends the requests concurrently (at most ``max_concurrency`` in flight), abandons an attempt that makes no
progress for ``timeout_s``, and retries timeouts, connection errors, malformed bodies, 429 and 5xx with exponential
backoff and jitter, honouring ``Retry-After``. A 4xx that retrying cannot fix raises
:class:`~medspec.errors.BackendError`; a request that still fails after every retry comes back as a
:class:`~medspec.llm.base.Completion` with ``error`` set.

The API key is read from an environment variable once, kept only in the request headers, and removed from every
message this module writes (errors, logs), even when a server echoes it back.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import random
import re
import ssl
import time
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import httpx

from medspec.errors import BackendError, ConfigError
from medspec.llm.base import Chat, Completion, GenerationParams
from medspec.llm.cache import RequestCache, completion_from_dict, completion_to_dict

__all__ = ["HttpChatBackend", "RetryPolicy", "api_key_from_env", "retry_after_seconds", "run_sync"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
# 408 timeout, 409 conflict (OpenAI's "try again"), 425 too early, 429 rate limit; every 5xx (529 = overloaded).
_RETRYABLE_4XX = frozenset({408, 409, 425, 429})
_HINTS = {
    401: "the API key was refused: check the variable named by api_key_env",
    403: "the key has no access to this model or endpoint",
    404: "check base_url and the model name",
}


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a failed request again.

    Attributes:
        max_retries: Retries after the first attempt (so ``max_retries + 1`` attempts at most).
        base_delay_s: Backoff before the first retry; doubles with each retry.
        max_delay_s: Longest wait, for backoff and for a server's ``Retry-After`` alike.

    Example:
        >>> policy = RetryPolicy(base_delay_s=1.0, max_delay_s=8.0)
        >>> rng = random.Random(0)
        >>> [0.5 <= policy.delay(0, rng=rng) <= 1.0, 4.0 <= policy.delay(3, rng=rng) <= 8.0]
        [True, True]
        >>> policy.delay(0, retry_after=5.0, rng=rng), policy.delay(0, retry_after=60.0, rng=rng)
        (5.0, 8.0)
    """

    max_retries: int = 6
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ConfigError("max_retries", f"must be 0 or more, got {self.max_retries}")
        if self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ConfigError(
                "retry_base_delay_s",
                f"need 0 <= base delay <= max delay, got {self.base_delay_s} and {self.max_delay_s}",
            )

    def delay(self, attempt: int, *, retry_after: float | None = None, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (0 for the first retry).

        Exponential backoff with "equal jitter": half the backoff, plus a random part of the other half, so
        clients that failed together do not retry together. A server's ``Retry-After`` is a lower bound.
        """
        backoff = min(self.max_delay_s, self.base_delay_s * 2**attempt)
        wait = backoff / 2 + rng.uniform(0, backoff / 2)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_delay_s)


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a server asks for: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date.

    Example:
        >>> retry_after_seconds({"retry-after": "3"}), retry_after_seconds({"retry-after-ms": "250"})
        (3.0, 0.25)
        >>> retry_after_seconds({"retry-after": "Thu, 01 Jan 1970 00:00:10 GMT"}, now=4.0)
        6.0
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if "retry-after-ms" in lowered:
        try:
            return max(0.0, float(lowered["retry-after-ms"]) / 1000)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, also inside a running loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class _Transient(Exception):
    """A failure that a later attempt may not meet."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class HttpChatBackend:
    """Base of the HTTP backends; subclasses set the class attributes and implement :meth:`_headers`, :meth:`_body`
    and :meth:`_parse`.

    Args:
        model: The model name the server knows.
        base_url: The API's root URL; the provider's own (``default_base_url``) when omitted.
        api_key_env: Environment variable holding the key. Defaults to the provider's variable (``key_variable``)
            for the provider's own URL, where a key is required, and to no key for any other server (a local vLLM or
            Ollama), so a key is never sent to a server it was not meant for.
        name: Name in provenance, reports and cache keys; ``<kind>:<model>`` by default.
        max_concurrency: Requests in flight at once.
        timeout_s: Longest wait, in seconds, to connect, to send, and for each part of the response.
        retry: When to retry.
        cache: Where answers are kept; consulted before each request, written as each answer arrives.

    Raises:
        ConfigError: When the key's variable is required but not set.
    """

    endpoint = ""  # the request path under base_url
    default_base_url = ""  # the provider's own API root
    key_variable = ""  # the provider's key variable
    kind = ""  # the default name's prefix

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str | None = None,
        name: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        cache: RequestCache | None = None,
    ) -> None:
        base_url = base_url or self.default_base_url
        official = base_url.rstrip("/") == self.default_base_url
        variable = api_key_env or (self.key_variable if official else None)
        api_key = api_key_from_env(variable, required=official or api_key_env is not None)
        name = name or f"{self.kind}:{model}"
        if max_concurrency < 1:
            raise ConfigError("max_concurrency", f"must be at least 1, got {max_concurrency}")
        if timeout_s <= 0:
            raise ConfigError("timeout_s", f"must be positive, got {timeout_s}")
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.retry = retry or RetryPolicy()
        self.cache = cache
        self._secret = api_key
        self._rng = random.Random()
        self._ssl: ssl.SSLContext | None = None

    def _headers(self, api_key: str | None) -> dict[str, str]:
        raise NotImplementedError

    def _body(self, chat: Chat, params: GenerationParams) -> dict[str, Any]:
        raise NotImplementedError

    def _parse(self, data: Any) -> Completion:
        raise NotImplementedError

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Completion]:
        """Answer each chat, ``max_concurrency`` requests at a time; completions come back in input order."""
        return run_sync(self.agenerate(chats, params))

    async def agenerate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Completion]:
        """The asynchronous form of :meth:`generate`."""
        # One single-connection client per lane, lent to one request at a time: the lanes bound the concurrency,
        # and each request costs the same at any concurrency (one shared httpx pool scans all its connections for
        # every request, which at 32 in flight costs more CPU than the request itself).
        lanes: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        options = {
            "base_url": self.base_url,
            "headers": self._headers(self._secret),
            "timeout": self.timeout_s,
            "limits": httpx.Limits(max_connections=1, max_keepalive_connections=1),
            "verify": self._ssl_context(),
        }
        for _ in range(min(self.max_concurrency, max(1, len(chats)))):
            lanes.put_nowait(httpx.AsyncClient(**options))
        tasks = [asyncio.ensure_future(self._answer(lanes, chat, params)) for chat in chats]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            # A request failed for good: stop the others (their answers so far are already cached).
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            await asyncio.gather(*(lanes.get_nowait().aclose() for _ in range(lanes.qsize())))

    def _ssl_context(self) -> ssl.SSLContext:
        # Loading the CA bundle takes tens of milliseconds: once per backend, shared by every lane.
        if self._ssl is None:
            self._ssl = httpx.create_ssl_context()
        return self._ssl

    def cache_key(self, chat: Chat, params: GenerationParams) -> str:
        """The key of one request in the cache: backend name, model, parameters and messages."""
        return RequestCache.key(self.name, {"model": self.model, "params": asdict(params), "messages": chat})

    async def _answer(
        self, lanes: asyncio.Queue[httpx.AsyncClient], chat: Chat, params: GenerationParams
    ) -> Completion:
        key = self.cache_key(chat, params) if self.cache is not None else ""
        if self.cache is not None and (stored := self.cache.get(key)) is not None:
            return completion_from_dict(stored)
        client = await lanes.get()
        try:
            completion = await self._with_retries(client, chat, params)
        finally:
            lanes.put_nowait(client)
        if completion.ok and self.cache is not None:
            self.cache.put(key, completion_to_dict(completion), backend=self.name)
        return completion

    async def _with_retries(self, client: httpx.AsyncClient, chat: Chat, params: GenerationParams) -> Completion:
        body = self._body(chat, params)
        attempts = self.retry.max_retries + 1
        reason = ""
        for attempt in range(attempts):
            try:
                return await self._send(client, body)
            except _Transient as failure:
                reason = self._redact(str(failure))
                if attempt + 1 == attempts:
                    break
                wait = self.retry.delay(attempt, retry_after=failure.retry_after, rng=self._rng)
                logger.info("%s: %s; retry %d/%d in %.2fs", self.name, reason, attempt + 1, attempts - 1, wait)
                await asyncio.sleep(wait)
        message = f"{self.name}: gave up after {attempts} attempts; last: {reason}"
        logger.warning("%s", message)
        return Completion(text="", finish_reason="error", error=message)

    async def _send(self, client: httpx.AsyncClient, body: dict[str, Any]) -> Completion:
        try:
            response = await client.post(self.endpoint, json=body)
        except httpx.TimeoutException as exc:
            raise _Transient(f"no progress within {self.timeout_s}s ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Transient(f"connection failed ({type(exc).__name__})") from None
        status = response.status_code
        if status in _RETRYABLE_4XX or status >= 500:
            raise _Transient(f"HTTP {status}: {self._server_message(response)}", retry_after_seconds(response.headers))
        if status >= 400:
            hint = _HINTS.get(status, "the request was rejected; retrying cannot fix it")
            raise BackendError(
                self._redact(
                    f"{self.name}: HTTP {status} from {self.base_url}{self.endpoint}: "
                    f"{self._server_message(response)} ({hint})"
                )
            )
        try:
            return self._parse(response.json())
        except ValueError:
            raise _Transient("the response body is not valid JSON") from None
        except (KeyError, IndexError, TypeError) as exc:
            raise _Transient(f"unexpected response shape (missing {exc})") from None

    @staticmethod
    def _server_message(response: httpx.Response) -> str:
        try:
            error = response.json().get("error")
            message = error.get("message") if isinstance(error, dict) else error
        except (ValueError, AttributeError):
            message = None
        return str(message or response.text or response.reason_phrase)[:300]

    def _redact(self, text: str) -> str:
        """Remove the key, any token that begins like it, and any that shares its first and last four characters
        (servers echo masked keys such as ``sk-rev***2e1b``)."""
        if not self._secret:
            return text
        text = text.replace(self._secret, "[api key]")
        prefix = self._secret[: max(4, min(8, len(self._secret) // 2))]
        text = re.sub(re.escape(prefix) + r"\S*", "[api key]", text)
        if len(self._secret) >= 12:  # a short key's ends are too common to scrub by
            ends = re.escape(self._secret[:4]) + r"\S*?" + re.escape(self._secret[-4:])
            text = re.sub(ends, "[api key]", text)
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, base_url={self.base_url!r})"


def api_key_from_env(variable: str | None, *, required: bool) -> str | None:
    """Read an API key from the environment; the error names the variable, never a value.

    Raises:
        ConfigError: When ``required`` and the variable is unset or empty.
    """
    if variable is None:
        return None
    key = os.environ.get(variable, "").strip()
    if not key and required:
        raise ConfigError("api_key_env", f"the environment variable {variable} holding the API key is not set")
    return key or None
