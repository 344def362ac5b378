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

from medspec.llm._http import HttpChatBackend
from medspec.llm.base import Chat, Completion, GenerationParams

__all__ = ["OPENAI_BASE_URL", "OpenAIBackend"]

OPENAI_BASE_URL = "https://api.openai.com/v1"


class OpenAIBackend(HttpChatBackend):
    """Chat completions (``POST {base_url}/chat/completions``) on OpenAI or any compatible server (vLLM, Ollama,
    DeepSeek, ...).

    Arguments as :class:`~medspec.llm._http.HttpChatBackend`; the key comes from ``OPENAI_API_KEY`` for OpenAI's
    own URL. ``base_url`` ends in ``/v1`` for most servers; ``model`` is the name the server knows
    (``"gpt-4o-mini"``, ``"deepseek-chat"``, a vLLM model path).
    """

    endpoint = "/chat/completions"

    default_base_url = OPENAI_BASE_URL
    key_variable = "OPENAI_API_KEY"
    kind = "openai"

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
