from __future__ import annotations

import pytest

from medspec.config import from_dict
from medspec.errors import ConfigError
from medspec.llm.anthropic import AnthropicBackend
from medspec.llm.base import Completion
from medspec.llm.cache import CachedBackend, RequestCache
from medspec.llm.openai import OpenAIBackend
from medspec.llm.registry import BACKENDS, BackendConfig, build_backend, register_backend


def test_configs_from_yaml_data_build_http_backends(tmp_path, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-x")
    cache = RequestCache(tmp_path / "c.sqlite")
    a = build_backend(from_dict(BackendConfig, {"kind": "openai", "model": "qwen", "base_url": "http://h/v1"}))
    b = build_backend(BackendConfig(kind="anthropic", model="claude", max_concurrency=3, max_retries=1), cache=cache)
    assert isinstance(a, OpenAIBackend) and a.name == "openai:qwen" and a.base_url == "http://h/v1"
    assert isinstance(b, AnthropicBackend) and b.max_concurrency == 3 and b.retry.max_retries == 1
    assert b.cache is cache and a.cache is None


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"kind": "openai", "model": " "}, "model"),
        ({"kind": "openai", "model": "m", "max_concurrency": 0}, "max_concurrency"),
        ({"kind": "openai", "model": "m", "timeout_s": 0}, "timeout_s"),
        ({"kind": "openai", "model": "m", "retry_base_delay_s": 9, "retry_max_delay_s": 1}, "retry_base_delay_s"),
        ({"kind": "openai", "model": "m", "colour": "red"}, "colour"),
    ],
)
def test_invalid_configs_name_the_key(data, key):
    with pytest.raises(ConfigError, match=f"key 'backends.x.{key}'"):
        from_dict(BackendConfig, data, path="backends.x")


def test_unknown_kinds_list_the_known_ones():
    with pytest.raises(ConfigError, match="anthropic, openai, transformers"):
        BackendConfig(kind="bard", model="m")


def test_registering_a_kind(tmp_path):
    class Fixed:
        def __init__(self, name):
            self.name = name

        def generate(self, chats, params):
            return [Completion(text="固定") for _ in chats]

    register_backend("fixed-test", lambda config, cache: Fixed(config.display_name))
    try:
        backend = build_backend(BackendConfig(kind="fixed-test", model="x", name="mine"))
        assert backend.name == "mine" and backend.generate([[]], None)[0].text == "固定"
        with pytest.raises(ValueError, match="already registered"):
            register_backend("fixed-test", lambda config, cache: Fixed("x"))
    finally:
        del BACKENDS["fixed-test"]
    with pytest.raises(ValueError, match="lower-case"):
        register_backend("Bad Kind", lambda config, cache: None)
    with pytest.raises(ValueError, match="callable"):
        register_backend("not-callable", "nope")


def test_transformers_kind_loads_a_local_model_behind_the_cache(tmp_path, byte_level_tokenizer_dir):
    from transformers import AutoTokenizer

    from tests.conftest import tiny_llama

    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    tiny_llama(len(tokenizer)).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    config = BackendConfig(kind="transformers", model=str(tmp_path / "model"), batch_size=2)
    backend = build_backend(config, cache=RequestCache(tmp_path / "c.sqlite"))
    assert isinstance(backend, CachedBackend) and backend.name == f"transformers:{tmp_path / 'model'}"
    assert backend.backend.batch_size == 2 and callable(backend.continuation_logprobs)
