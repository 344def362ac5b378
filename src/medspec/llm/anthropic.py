"""The Anthropic Messages API as a :class:`~medspec.llm.base.ChatBackend`.

System messages become the request's ``system`` field; the other turns keep their order. Anthropic accepts
temperatures up to 1, so higher ones are sent as 1, and it has no sampling seed, so ``params.seed`` is not sent
(it still separates cache entries). Requests run concurrently with retries, including on 529 "overloaded" (see
:class:`~medspec.llm._http.HttpChatBackend`).

Example:
    >>> backend = AnthropicBackend("claude-3-5-haiku-latest", base_url="http://127.0.0.1:8001")
    >>> chat = [{"role": "system", "content": "你是麻醉科医生。"}, {"role": "user", "content": "你好"}]
    >>> body = backend._body(chat, GenerationParams(max_new_tokens=8))
    >>> body["system"], body["messages"]
    ('你是麻醉科医生。', [{'role': 'user', 'content': '你好'}])
"""

from __future__ import annotations

from typing import Any

from medspec.llm._http import HttpChatBackend, RetryPolicy, api_key_from_env
from medspec.llm.base import Chat, Completion, GenerationParams
from medspec.llm.cache import RequestCache

__all__ = ["ANTHROPIC_BASE_URL", "ANTHROPIC_VERSION", "AnthropicBackend"]

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicBackend(HttpChatBackend):
    """Messages (``POST {base_url}/v1/messages``).

    Args:
        model: The model name (``"claude-3-5-haiku-latest"``).
        base_url: The API root.
        api_key_env: Environment variable holding the key. Defaults to ``ANTHROPIC_API_KEY`` for Anthropic's own
            URL (where it is required) and to no key for any other server.
        name: Name in provenance, reports and cache keys; ``anthropic:<model>`` by default.
        max_concurrency: Requests in flight at once.
        timeout_s: Longest wait, in seconds, to connect, to send, and for each part of the response.
        retry: When to retry (429, 5xx, 529, timeouts, malformed bodies).
        cache: A :class:`~medspec.llm.cache.RequestCache`; answered requests are never sent again.

    Raises:
        ConfigError: When the key's variable is required but not set.
    """

    endpoint = "/v1/messages"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = ANTHROPIC_BASE_URL,
        api_key_env: str | None = None,
        name: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        cache: RequestCache | None = None,
    ) -> None:
        official = base_url.rstrip("/") == ANTHROPIC_BASE_URL
        variable = api_key_env or ("ANTHROPIC_API_KEY" if official else None)
        super().__init__(
            model,
            base_url=base_url,
            api_key=api_key_from_env(variable, required=official or api_key_env is not None),
            name=name or f"anthropic:{model}",
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            retry=retry,
            cache=cache,
        )

    def _headers(self, api_key: str | None) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def _body(self, chat: Chat, params: GenerationParams) -> dict[str, Any]:
        system = "\n\n".join(m["content"] for m in chat if m["role"] == "system")
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": params.max_new_tokens,
            "messages": [{"role": m["role"], "content": m["content"]} for m in chat if m["role"] != "system"],
            "temperature": min(params.temperature, 1.0),
        }
        if system:
            body["system"] = system
        if params.top_p < 1:
            body["top_p"] = params.top_p
        if params.stop:
            body["stop_sequences"] = list(params.stop)
        return body

    def _parse(self, data: Any) -> Completion:
        text = "".join(block["text"] for block in data["content"] if block.get("type") == "text")
        finish = "length" if data.get("stop_reason") == "max_tokens" else "stop"
        usage = data.get("usage") or {}
        counts = {
            ours: int(usage[theirs])
            for ours, theirs in (("prompt_tokens", "input_tokens"), ("completion_tokens", "output_tokens"))
            if isinstance(usage.get(theirs), int)
        }
        return Completion(text=text, finish_reason=finish, usage=counts)
