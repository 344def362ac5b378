from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from medspec.llm.base import ChatBackend, GenerationParams
from medspec.llm.transformers import TransformersBackend
from tests.conftest import tiny_llama


@pytest.fixture
def backend(byte_level_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    model = tiny_llama(len(tokenizer))
    return TransformersBackend(model, tokenizer, batch_size=3)


def chat(text):
    return [{"role": "user", "content": text}]


def test_is_a_chat_backend(backend):
    assert isinstance(backend, ChatBackend)
    assert backend.name.startswith("transformers:")


def test_batched_generation_matches_one_at_a_time(backend):
    chats = [chat("麻醉"), chat("患者术前禁食多久？请详细说明原因"), chat("丙泊酚"), chat("腰麻后头痛的处理方法")]
    params = GenerationParams(max_new_tokens=8)
    batched = backend.generate(chats, params)
    single = [backend.generate([c], params)[0] for c in chats]
    assert [c.text for c in batched] == [c.text for c in single]
    assert all(c.finish_reason in ("stop", "length") and c.ok for c in batched)
    assert all(c.usage["completion_tokens"] <= 8 for c in batched)


def test_greedy_is_deterministic_and_sampling_uses_the_seed(backend):
    params = GenerationParams(max_new_tokens=6)
    assert backend.generate([chat("监测")], params)[0].text == backend.generate([chat("监测")], params)[0].text
    sampled = GenerationParams(max_new_tokens=6, temperature=1.0, seed=3)
    assert backend.generate([chat("监测")], sampled)[0].text == backend.generate([chat("监测")], sampled)[0].text


def test_stop_strings_cut_the_completion(backend):
    text = backend.generate([chat("气道")], GenerationParams(max_new_tokens=12))[0].text
    assert len(text) > 2  # a random model writes something
    stop = text[1:3]
    cut = backend.generate([chat("气道")], GenerationParams(max_new_tokens=12, stop=(stop,)))[0]
    assert cut.text == text[: text.index(stop)].strip() and cut.finish_reason == "stop"


def test_invalid_params_name_the_field():
    with pytest.raises(Exception, match="temperature"):
        GenerationParams(temperature=-1)


def test_continuation_logprobs_match_a_manual_forward_pass(backend):
    import torch

    chats = [chat("首选药物是？"), chat("答案")]
    options = [["A", "丹曲林"], ["B"]]
    scores = backend.continuation_logprobs(chats, options)
    assert [len(s) for s in scores] == [2, 1]
    prompt = backend.prompts([chats[0]])[0]
    ids = backend.tokenizer(prompt, add_special_tokens=False)["input_ids"]
    cont = backend.tokenizer("丹曲林", add_special_tokens=False)["input_ids"]
    with torch.inference_mode():
        logits = backend.model(input_ids=torch.tensor([ids + cont])).logits[0]
    logprobs = torch.log_softmax(logits, dim=-1)
    manual = sum(float(logprobs[len(ids) - 1 + i, t]) for i, t in enumerate(cont))
    assert scores[0][1] == pytest.approx(manual, abs=1e-4)
    assert all(s < 0 for row in scores for s in row)


def test_shared_prefixes_and_single_tokens_agree_with_full_scoring(backend):
    import torch

    item = "请评审下面这条麻醉学领域指令数据中的回答。问题：丙泊酚注射痛如何预防？回答：可预先注射利多卡因。" * 3
    chats = [chat(item + "评分项：连贯性"), chat(item + "评分项：专业性"), chat("答案是？"), chat("请选择")]
    options = [["0", "5", "10"], ["3", "10"], ["A", "B", "丹曲林"], ["D"]]
    fast = backend.continuation_logprobs(chats, options)
    for chat_messages, opts, row in zip(chats, options, fast, strict=True):
        prompt = backend._encode(backend.prompts([chat_messages])[0])
        for text, value in zip(opts, row, strict=True):
            ids = backend._encode(text)
            with torch.no_grad():
                logits = backend.model(input_ids=torch.tensor([prompt + ids])).logits[0]
            logprobs = torch.log_softmax(logits, dim=-1)
            manual = sum(float(logprobs[len(prompt) - 1 + k, t]) for k, t in enumerate(ids))
            assert value == pytest.approx(manual, abs=1e-3), (text, value, manual)
