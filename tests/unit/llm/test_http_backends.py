from __future__ import annotations

import asyncio
import logging
import random

import pytest

from medspec.errors import BackendError, ConfigError
from medspec.llm import _http
from medspec.llm._http import RetryPolicy, retry_after_seconds
from medspec.llm.anthropic import AnthropicBackend
from medspec.llm.base import ChatBackend, GenerationParams
from medspec.llm.cache import RequestCache
from medspec.llm.openai import OpenAIBackend
from tests.unit.llm.fake_server import NO_SCORE, FakeLLMServer

FAST = RetryPolicy(max_retries=4, base_delay_s=0.001, max_delay_s=0.05)
PARAMS = GenerationParams(max_new_tokens=16)


def chat(text):
    return [{"role": "system", "content": "你是麻醉科医生。"}, {"role": "user", "content": text}]


@pytest.fixture
def server():
    with FakeLLMServer() as running:
        yield running


def openai(server, **kwargs):
    options = {"retry": FAST, "timeout_s": 2.0, **kwargs}
    return OpenAIBackend("fake-model", base_url=server.openai_url, **options)


def anthropic(server, **kwargs):
    options = {"retry": FAST, "timeout_s": 2.0, **kwargs}
    return AnthropicBackend("fake-claude", base_url=server.anthropic_url, **options)


@pytest.mark.parametrize("make", [openai, anthropic])
def test_answers_come_back_in_order_with_usage(server, make):
    backend = make(server, max_concurrency=4)
    assert isinstance(backend, ChatBackend)
    prompts = [f"问题{i}" for i in range(10)]
    completions = backend.generate([chat(p) for p in prompts], PARAMS)
    assert [c.text for c in completions] == [f"收到：{p}" for p in prompts]
    assert all(c.ok and c.finish_reason == "stop" and c.usage["completion_tokens"] > 0 for c in completions)


def test_openai_wire_format(server):
    openai(server).generate([chat("你好")], GenerationParams(max_new_tokens=7, temperature=0.5, seed=3, stop=("。",)))
    path, body, _ = server.requests[0]
    assert path == "/v1/chat/completions"
    assert body == {
        "model": "fake-model",
        "messages": chat("你好"),
        "max_tokens": 7,
        "temperature": 0.5,
        "seed": 3,
        "stop": ["。"],
    }


def test_anthropic_wire_format_and_headers(server, monkeypatch):
    monkeypatch.setenv("MY_CLAUDE_KEY", "sk-ant-secret-123")
    anthropic(server, api_key_env="MY_CLAUDE_KEY").generate([chat("你好")], GenerationParams(temperature=1.5))
    path, body, headers = server.requests[0]
    assert path == "/v1/messages"
    assert body["system"] == "你是麻醉科医生。" and body["messages"] == [{"role": "user", "content": "你好"}]
    assert body["temperature"] == 1.0 and "seed" not in body
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["x-api-key"] == "sk-ant-secret-123" and lowered["anthropic-version"] == "2023-06-01"


@pytest.mark.parametrize("fault", ["429", "500", "malformed", "slow"])
def test_transient_faults_are_retried(server, fault):
    server.slow_s = 0.6
    server.inject(fault, fault)
    completion = openai(server, timeout_s=0.3).generate([chat("重试")], PARAMS)[0]
    assert completion.ok and completion.text == "收到：重试"
    assert server.hits == 3


def test_retry_after_is_honoured(server, monkeypatch):
    waits = []

    async def record(seconds):
        waits.append(seconds)

    monkeypatch.setattr(_http.asyncio, "sleep", record)
    server.retry_after = "0.04"
    server.inject("429")
    backend = openai(server, retry=RetryPolicy(max_retries=2, base_delay_s=0.001, max_delay_s=1.0))
    assert backend.generate([chat("限流")], PARAMS)[0].ok
    assert waits == [pytest.approx(0.04)]


def test_giving_up_returns_an_error_completion_and_keeps_the_others(server):
    server.inject("500", "500", "500")  # the first request's three attempts
    backend = openai(server, retry=RetryPolicy(max_retries=2, base_delay_s=0.001, max_delay_s=0.01), max_concurrency=1)
    first, second = backend.generate([chat("一"), chat("二")], PARAMS)
    assert not first.ok and first.finish_reason == "error" and "HTTP 500" in first.error
    assert "3 attempts" in first.error
    assert second.ok and second.text == "收到：二"


def test_a_client_error_raises_and_is_not_retried(server):
    server.inject("400")
    with pytest.raises(BackendError, match="HTTP 400"):
        openai(server).generate([chat("坏请求")], PARAMS)
    assert server.hits == 1


def test_the_key_never_appears_in_errors_or_logs(monkeypatch, caplog):
    secret = "sk-proj-abcdefgh12345678"
    monkeypatch.setenv("SERVER_KEY", secret)
    with FakeLLMServer(api_key="another-key") as server:
        backend = openai(server, api_key_env="SERVER_KEY")
        caplog.set_level(logging.DEBUG)
        with pytest.raises(BackendError) as raised:
            backend.generate([chat("你好")], PARAMS)
    message = str(raised.value)
    assert "HTTP 401" in message and "api_key_env" in message
    assert secret not in message and secret[:8] not in message and secret[-4:] not in message
    assert "Incorrect API key provided: [api key]" in message
    assert secret not in caplog.text and secret not in repr(backend)


def test_a_masked_echo_sharing_the_keys_ends_is_scrubbed(monkeypatch, caplog):
    secret = "sk-rev-abcdefgh2e1b"
    monkeypatch.setenv("SERVER_KEY", secret)
    with FakeLLMServer(api_key="another-key", mask_prefix=6) as server:  # echoes "sk-rev****2e1b"
        caplog.set_level(logging.DEBUG)
        with pytest.raises(BackendError) as raised:
            openai(server, api_key_env="SERVER_KEY").generate([chat("你好")], PARAMS)
    assert "Incorrect API key provided: [api key]" in str(raised.value)
    assert "2e1b" not in str(raised.value) and "sk-rev" not in caplog.text


def test_the_key_is_sent_and_accepted(monkeypatch):
    monkeypatch.setenv("SERVER_KEY", "good-key-123456")
    with FakeLLMServer(api_key="good-key-123456") as server:
        assert openai(server, api_key_env="SERVER_KEY").generate([chat("你好")], PARAMS)[0].ok


def test_keys_go_only_where_they_belong(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-key")
    openai(server).generate([chat("你好")], PARAMS)
    assert "authorization" not in {k.lower() for k in server.requests[0][2]}
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIBackend("gpt-4o-mini")
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        openai(server, api_key_env="NOT_SET_ANYWHERE")


def test_concurrency_is_bounded_and_used():
    with FakeLLMServer(latency_s=0.3) as server:
        openai(server, max_concurrency=3).generate([chat(str(i)) for i in range(9)], PARAMS)
        assert server.max_in_flight == 3


def test_cache_answers_without_requests_and_skips_failures(server, tmp_path):
    cache = RequestCache(tmp_path / "cache.sqlite")
    backend = openai(server, cache=cache, retry=RetryPolicy(max_retries=0), max_concurrency=1)
    server.inject("500")
    first = backend.generate([chat("甲"), chat("乙")], PARAMS)
    assert [c.ok for c in first] == [False, True] and server.hits == 2
    second = backend.generate([chat("甲"), chat("乙")], PARAMS)
    assert [c.text for c in second] == ["收到：甲", "收到：乙"]
    assert server.hits == 3  # only the failed one was sent again
    assert len(cache) == 2
    other_params = backend.generate([chat("乙")], GenerationParams(max_new_tokens=17))
    assert other_params[0].ok and server.hits == 4  # parameters are part of the key


def test_the_key_is_not_in_the_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("SERVER_KEY", "sk-very-secret-value")
    cache = RequestCache(tmp_path / "cache.sqlite")
    openai(server, cache=cache, api_key_env="SERVER_KEY").generate([chat("你好")], PARAMS)
    cache.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"sk-very-secret-value" not in stored and len(stored) > 0


def test_a_score_less_answer_is_an_answer(server):
    server.inject("noscore")
    assert openai(server).generate([chat("评分")], PARAMS)[0].text == NO_SCORE


def test_generate_works_inside_a_running_event_loop(server):
    async def notebook_cell():
        return openai(server).generate([chat("笔记本")], PARAMS)

    assert asyncio.run(notebook_cell())[0].text == "收到：笔记本"


def test_retry_delays_back_off_with_jitter_and_respect_the_cap():
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0)
    rng = random.Random(0)
    for attempt, (low, high) in enumerate([(0.5, 1), (1, 2), (2, 4), (4, 8), (5, 10), (5, 10)]):
        waits = {policy.delay(attempt, rng=rng) for _ in range(20)}
        assert all(low <= w <= high for w in waits) and len(waits) > 1
    assert policy.delay(0, retry_after=7.0, rng=rng) == 7.0
    assert policy.delay(0, retry_after=99.0, rng=rng) == 10.0
    with pytest.raises(ConfigError, match="retry_base_delay_s"):
        RetryPolicy(base_delay_s=5, max_delay_s=1)


def test_retry_after_parsing():
    assert retry_after_seconds({"Retry-After": "12"}) == 12.0
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after_seconds({"Retry-After": "Thu, 01 Jan 1970 00:01:00 GMT"}, now=30.0) == 30.0
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({}) is None
