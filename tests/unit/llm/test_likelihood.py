"""Batched, prefix-cached and windowed log-probabilities equal the plain one-sequence-at-a-time definitions."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from medspec.llm._likelihood import continuation_logprobs, text_logprobs, windows
from medspec.llm.transformers import TransformersBackend
from tests.conftest import tiny_llama


@pytest.fixture(scope="module")
def model_and_tokenizer(byte_level_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    return tiny_llama(len(tokenizer), seed=3).eval(), tokenizer


def plain_logprob(model, context: list[int], continuation: list[int]) -> float:
    """log p(continuation | context) from one forward pass over the whole sequence."""
    ids = torch.tensor([context + continuation])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    return sum(float(logprobs[len(context) - 1 + k, t]) for k, t in enumerate(continuation))


def test_cloze_options_scored_on_a_cached_prompt_equal_full_passes(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    encode = lambda text: tokenizer(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    prompts = [encode("下列药物中起效最快的肌松药是"), encode("恶性高热的特效治疗药物为")]
    options = [[encode(t) for t in ("罗库溴铵", "顺阿曲库铵", "琥珀胆碱")], [encode(t) for t in ("丹曲林", "新斯的明")]]
    scores = continuation_logprobs(model, prompts, options, pad_token_id=0, batch_size=2)
    for prompt, opts, got in zip(prompts, options, scores, strict=True):
        assert got == pytest.approx([plain_logprob(model, prompt, o) for o in opts], abs=1e-4)


def test_windows_score_every_position_once():
    for length, window, stride in [(10, 6, 3), (10, 20, 5), (7, 5, 4), (2, 4, 2), (100, 16, 5), (700, 257, 256)]:
        spans = windows(length, window=window, stride=stride)
        scored = [p for _, end, first in spans for p in range(first, end)]
        assert scored == list(range(1, length)), (length, window, stride)
        assert all(end - start <= window and start < first for start, end, first in spans)
    with pytest.raises(ValueError, match="stride"):
        windows(10, window=4, stride=4)


def test_text_logprobs_equal_the_plain_sliding_window_definition(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    texts = ["丙泊酚是最常用的静脉全麻药。" * 4, "七氟烷适合吸入诱导", "术后镇痛"]
    ids = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    start = tokenizer.eos_token_id
    got = text_logprobs(model, ids, start_token_id=start, window=24, stride=8, pad_token_id=0, token_budget=40)
    for tokens, value in zip(ids, got, strict=True):
        sequence = [start, *tokens]
        expected = 0.0
        for begin, end, first in windows(len(sequence), window=24, stride=8):
            context = sequence[begin:first]
            expected += plain_logprob(model, context, sequence[first:end])
        assert value == pytest.approx(expected, abs=1e-4)
    whole = text_logprobs(model, ids, start_token_id=start, window=512, stride=256, pad_token_id=0)
    assert whole[1] == pytest.approx(plain_logprob(model, [start], ids[1]), abs=1e-4)


def test_backend_scores_text_capped_at_the_model_context(model_and_tokenizer):
    model, tokenizer = model_and_tokenizer
    backend = TransformersBackend(model, tokenizer, batch_size=2)
    long = "麻醉深度监测" * 200
    (value,) = backend.text_logprobs([long], window=10**6, stride=10**6)
    assert value < 0 and value == pytest.approx(
        backend.text_logprobs([long], window=model.config.max_position_embeddings)[0]
    )
