"""Resizing, initialisation, saving, reloading in a fresh process, and LoRA adapters on an extended vocabulary."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoTokenizer

from medspec.vocab import VocabConfig, VocabExtender
from medspec.vocab.adapters import adapter_embedding_rows, load_adapter_model
from medspec.vocab.init import resize_and_initialize
from tests.conftest import tiny_llama


@pytest.fixture(scope="module")
def extension(byte_level_tokenizer_dir, corpus_lines):
    base = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    config = VocabConfig(add=300, sentencepiece_vocab_size=1000)
    return VocabExtender(config).extend(base, corpus=corpus_lines[:60], lexicon=["丙泊酚", "七氟烷"])


@pytest.mark.parametrize("tie", [False, True])
def test_subtoken_mean_rows_and_padding(extension, tie):
    model = tiny_llama(len(extension.base_tokenizer), tie=tie)
    before_in = model.get_input_embeddings().weight.detach().clone()
    before_out = model.get_output_embeddings().weight.detach().clone()
    extension.resize_model(model)
    rows = model.get_input_embeddings().weight.shape[0]
    assert rows % 64 == 0 and rows >= len(extension.tokenizer) and extension.embedding_rows == rows
    weight_in = model.get_input_embeddings().weight
    weight_out = model.get_output_embeddings().weight
    assert torch.equal(weight_in[: before_in.shape[0]], before_in)  # old rows untouched
    for token in extension.new_tokens[:20]:
        expected = before_in[list(token.sub_token_ids)].mean(0)
        assert torch.allclose(weight_in[token.id], expected, atol=1e-6)
        if not tie:
            assert torch.allclose(weight_out[token.id], before_out[list(token.sub_token_ids)].mean(0), atol=1e-6)
    assert (weight_out.data_ptr() == weight_in.data_ptr()) == tie


@pytest.mark.parametrize("method", ["mean", "random"])
def test_other_initialisations(method):
    model = tiny_llama(100)
    old = model.get_input_embeddings().weight.detach().clone()
    resize_and_initialize(
        model, new_ids=list(range(100, 110)), sub_token_ids=[[1]] * 10, method=method, pad_to_multiple_of=None
    )
    new_rows = model.get_input_embeddings().weight[100:110]
    assert model.get_input_embeddings().weight.shape[0] == 110
    if method == "mean":
        assert torch.allclose(new_rows, old.mean(0).expand(10, -1))
    else:
        assert abs(float(new_rows.std()) - float(old.std())) < 0.5 * float(old.std())
        assert not torch.allclose(new_rows[0], new_rows[1])


def test_a_model_padded_past_its_tokenizer_lends_its_unused_rows():
    model = tiny_llama(110)  # 100 tokens in the tokenizer, 10 unused rows, as Qwen's model has
    old = model.get_input_embeddings().weight.detach().clone()
    new_ids = list(range(100, 120))
    rows = resize_and_initialize(
        model, new_ids=new_ids, sub_token_ids=[[1, 2]] * 20, base_vocab_size=100, pad_to_multiple_of=None
    )
    weight = model.get_input_embeddings().weight
    assert rows == 120 and torch.equal(weight[:100], old[:100])
    assert torch.allclose(weight[new_ids], old[[1, 2]].mean(0).expand(20, -1), atol=1e-6)
    with pytest.raises(ValueError, match="at least the base vocabulary size 100"):
        resize_and_initialize(model, new_ids=[99], sub_token_ids=[[1]], base_vocab_size=100)


def test_resize_rejects_bad_input():
    model = tiny_llama(50)
    with pytest.raises(ValueError, match="unknown initialisation"):
        resize_and_initialize(model, new_ids=[50], sub_token_ids=[[1]], method="zeros")
    with pytest.raises(ValueError, match="at least the base vocabulary size"):
        resize_and_initialize(model, new_ids=[10], sub_token_ids=[[1]])


FRESH_PROCESS = """
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
folder, text = sys.argv[1], sys.argv[2]
tokenizer = AutoTokenizer.from_pretrained(folder)
model = AutoModelForCausalLM.from_pretrained(folder)
ids = tokenizer(text, return_tensors="pt")["input_ids"]
with torch.no_grad():
    logits = model(ids).logits
print(json.dumps({"ids": ids[0].tolist(), "rows": model.get_input_embeddings().weight.shape[0],
                  "sum": float(logits.sum()), "len": len(tokenizer)}))
"""


def test_saved_folder_loads_in_a_fresh_process(extension, tmp_path):
    model = tiny_llama(len(extension.base_tokenizer))
    extension.resize_model(model)
    folder = extension.save_pretrained(tmp_path / "extended", model=model)
    record = json.loads((folder / "medspec_vocab.json").read_text(encoding="utf-8"))
    assert record["vocab_size"] == len(extension.tokenizer) and record["embedding_rows"] == extension.embedding_rows
    assert len(record["new_tokens"]) == len(extension.new_tokens) and record["init"] == "subtoken_mean"
    text = "麻醉诱导采用丙泊酚和七氟烷。"
    result = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS, str(folder), text], capture_output=True, text=True, check=True
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    ids = extension.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        expected = float(model(ids).logits.sum())
    assert loaded["ids"] == ids[0].tolist() and loaded["rows"] == extension.embedding_rows
    assert loaded["sum"] == pytest.approx(expected, rel=1e-4) and loaded["len"] == len(extension.tokenizer)


def test_save_refuses_a_model_that_was_not_resized(extension, tmp_path):
    with pytest.raises(ValueError, match="resize_model"):
        extension.save_pretrained(tmp_path / "x", model=tiny_llama(len(extension.base_tokenizer)))


def test_lora_adapter_on_the_extended_vocabulary_merges_and_reloads(extension, tmp_path, byte_level_tokenizer_dir):
    from peft import LoraConfig, get_peft_model

    base_model = tiny_llama(len(extension.base_tokenizer), seed=1)
    base_model.save_pretrained(tmp_path / "original")  # the base before extension, as users have it
    extension.base_tokenizer.save_pretrained(tmp_path / "original")
    extension.resize_model(base_model)
    extended_dir = extension.save_pretrained(tmp_path / "extended", model=base_model)

    new_ids = extension.new_token_ids
    config = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], trainable_token_indices={"embed_tokens": new_ids})
    peft_model = get_peft_model(base_model, config)
    ids = extension.tokenizer("麻醉诱导采用丙泊酚和七氟烷。", return_tensors="pt")["input_ids"]
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    peft_model.save_pretrained(tmp_path / "adapter")
    extension.tokenizer.save_pretrained(tmp_path / "adapter")
    with torch.no_grad():
        expected = peft_model(input_ids=ids).logits

    assert adapter_embedding_rows(tmp_path / "adapter") >= max(new_ids) + 1
    merged, tokenizer = load_adapter_model(tmp_path / "adapter", base=extended_dir, merge=True)
    with torch.no_grad():
        assert torch.allclose(merged(input_ids=ids).logits, expected, atol=1e-4)
    assert len(tokenizer) == len(extension.tokenizer)

    # Onto the original, unextended base: the base is grown first instead of failing with a size mismatch.
    onto_original, _ = load_adapter_model(tmp_path / "adapter", base=tmp_path / "original", merge=True)
    assert onto_original.get_input_embeddings().weight.shape[0] >= max(new_ids) + 1
    with torch.no_grad():
        trained_rows = merged.get_input_embeddings().weight[new_ids]
        assert torch.allclose(onto_original.get_input_embeddings().weight[new_ids], trained_rows, atol=1e-5)
