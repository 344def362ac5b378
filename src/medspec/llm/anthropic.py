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

from medspec.llm._http import HttpChatBackend
from medspec.llm.base import Chat, Completion, GenerationParams

__all__ = ["ANTHROPIC_BASE_URL", "ANTHROPIC_VERSION", "AnthropicBackend"]

ANTHROPIC_BASE_URL = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class AnthropicBackend(HttpChatBackend):
    """Messages (``POST {base_url}/v1/messages``).

    Arguments as :class:`~medspec.llm._http.HttpChatBackend`; the key comes from ``ANTHROPIC_API_KEY`` for
    Anthropic's own URL. Retries include 529 "overloaded".
    """

    endpoint = "/v1/messages"

    default_base_url = ANTHROPIC_BASE_URL
    key_variable = "ANTHROPIC_API_KEY"
    kind = "anthropic"

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
