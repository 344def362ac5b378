"""Any OpenAI-compatible chat-completions server as a :class:`~medspec.llm.base.ChatBackend`.

OpenAI itself, and the servers that speak its wire format: vLLM, Ollama, llama.cpp's server, DeepSeek, Qwen's
DashScope compatible mode, and most gateways. Requests run concurrently with retries (see
:class:`~medspec.llm._http.HttpChatBackend`); answers go to the request cache when one is given.

The key is read from the environment variable ``api_key_env``. Pointing ``base_url`` elsewhere than OpenAI does
not send ``OPENAI_API_KEY`` there: a server other than OpenAI gets a key only when you name its variable.

Example:
    >>> backend = OpenAIBackend("qwen2.5-7b-instruct", base_url="http://127.0.0.1:8000/v1")
    >>> backend.name, backend._body([{"role": "user", "content": "你好"}], GenerationParams(max_new_tokens=8))
    ('openai:qwen2.5-7b-instruct', {'model': 'qwen2.5-7b-instruct', 'messages': [{'role': 'user', 'content': '你好'}], \
'max_tokens': 8, 'temperature': 0.0})
"""

from __future__ import annotations

from typing import Any

from medspec.llm._http import HttpChatBackend, RetryPolicy, api_key_from_env
from medspec.llm.base import Chat, Completion, GenerationParams
from medspec.llm.cache import RequestCache

__all__ = ["OPENAI_BASE_URL", "OpenAIBackend"]

OPENAI_BASE_URL = "https://api.openai.com/v1"


class OpenAIBackend(HttpChatBackend):
    """Chat completions (``POST {base_url}/chat/completions``).

    Args:
        model: The model name the server knows (``"gpt-4o-mini"``, ``"deepseek-chat"``, a vLLM model path).
        base_url: The API root, ending in ``/v1`` for most servers.
        api_key_env: Environment variable holding the key. Defaults to ``OPENAI_API_KEY`` for OpenAI's own URL
            (where it is required) and to no key for any other server.
        name: Name in provenance, reports and cache keys; ``openai:<model>`` by default.
        max_concurrency: Requests in flight at once.
        timeout_s: Longest wait, in seconds, to connect, to send, and for each part of the response.
        retry: When to retry (429, 5xx, timeouts, malformed bodies).
        cache: A :class:`~medspec.llm.cache.RequestCache`; answered requests are never sent again.

    Raises:
        ConfigError: When the key's variable is required but not set.
    """

    endpoint = "/chat/completions"

    def __init__(
        self,
        model: str,
        *,
        base_url: str = OPENAI_BASE_URL,
        api_key_env: str | None = None,
        name: str | None = None,
        max_concurrency: int = 8,
        timeout_s: float = 60.0,
        retry: RetryPolicy | None = None,
        cache: RequestCache | None = None,
    ) -> None:
        official = base_url.rstrip("/") == OPENAI_BASE_URL
        variable = api_key_env or ("OPENAI_API_KEY" if official else None)
        super().__init__(
            model,
            base_url=base_url,
            api_key=api_key_from_env(variable, required=official or api_key_env is not None),
            name=name or f"openai:{model}",
            max_concurrency=max_concurrency,
            timeout_s=timeout_s,
            retry=retry,
            cache=cache,
        )

    def _headers(self, api_key: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _body(self, chat: Chat, params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(chat),
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
        }
        if params.top_p < 1:
            body["top_p"] = params.top_p
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        return body

    def _parse(self, data: Any) -> Completion:
        choice = data["choices"][0]
        text = choice["message"].get("content") or ""
        finish = "length" if choice.get("finish_reason") == "length" else "stop"
        usage = data.get("usage") or {}
        counts = {k: int(usage[k]) for k in ("prompt_tokens", "completion_tokens") if isinstance(usage.get(k), int)}
        return Completion(text=text, finish_reason=finish, usage=counts)
