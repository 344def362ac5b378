"""Shared fixtures: tiny tokenizers trained in the test session and tiny random Llama models.

Nothing is downloaded: tokenizers are trained on the bundled anesthesiology corpus (package data written for
medspec) and models are built from a small ``LlamaConfig`` with random weights.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from medspec.chat import DEFAULT_CHAT_TEMPLATE
from medspec.data.io import read_records
from medspec.data.schema import record_to_dict
from medspec.specialty import load_specialty

ASSETS = Path(__file__).parent / "assets"
CHATML = ["<|im_start|>", "<|im_end|>"]


@pytest.fixture
def assets() -> Path:
    return ASSETS


@pytest.fixture(scope="session")
def corpus_lines() -> list[str]:
    """Chinese medical paragraphs from the bundled corpus, plus a little English for mixed-script checks."""
    text = load_specialty("anesthesiology").data.corpus[0].read_text(encoding="utf-8")
    english = ["The patient received propofol 2 mg/kg and fentanyl 2 ug/kg for induction of general anesthesia."] * 5
    return [line for line in text.splitlines() if line.strip()] + english


@pytest.fixture(scope="session")
def byte_level_tokenizer_dir(tmp_path_factory, corpus_lines) -> Path:
    """A byte-level BPE tokenizer (the Llama-3 / Qwen / SmolLM2 family) with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200, special_tokens=["<|endoftext|>", *CHATML], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    backend.train_from_iterator(corpus_lines[:60], trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token=None
    )
    tokenizer.chat_template = DEFAULT_CHAT_TEMPLATE
    folder = tmp_path_factory.mktemp("byte_level_tokenizer")
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def sentencepiece_tokenizer_dir(tmp_path_factory, corpus_lines) -> Path:
    """A SentencePiece BPE ``tokenizer.model`` with byte fallback (the Llama-1/2 and Baichuan family)."""
    import sentencepiece as spm

    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus_lines[:60]),
        model_writer=model,
        vocab_size=1500,
        model_type="bpe",
        byte_fallback=True,
        character_coverage=0.98,
        unk_id=0,
        bos_id=1,
        eos_id=2,
        pad_id=-1,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        hard_vocab_limit=False,
        minloglevel=2,
        num_threads=1,
    )
    folder = tmp_path_factory.mktemp("sentencepiece_tokenizer")
    (folder / "tokenizer.model").write_bytes(model.getvalue())
    config = {
        "tokenizer_class": "LlamaTokenizer",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "add_bos_token": True,
        "legacy": False,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def tiny_llama(vocab_size: int, *, tie: bool = False, seed: int = 0):
    """A 2-layer Llama with random weights (about 0.2M parameters plus embeddings)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=tie,
    )
    return LlamaForCausalLM(config)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, byte_level_tokenizer_dir) -> Path:
    folder = tmp_path_factory.mktemp("tiny_model")
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    tokenizer.save_pretrained(folder)
    tiny_llama(len(tokenizer), seed=0).save_pretrained(folder)
    return folder


def write_records(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(record_to_dict(r), ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> dict[str, Path]:
    """Short real records: 12 general, 12 anesthesia (outputs cut short so the tiny model can memorise them)."""
    folder = tmp_path_factory.mktemp("tiny_data")
    spec = load_specialty("anesthesiology")
    general = read_records(spec.data.general_instructions[0])[:12]
    specialty = read_records(spec.data.instructions[0])[:12]
    for record in [*general, *specialty]:
        record.output = record.output[:24]
        record.history = record.history[:1]
    return {
        "general": write_records(folder / "general.jsonl", general),
        "specialty": write_records(folder / "specialty.jsonl", specialty),
    }
