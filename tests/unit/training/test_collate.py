from __future__ import annotations

import random

import torch
from transformers import AutoTokenizer

from medspec.chat import ensure_chat_template
from medspec.training.collate import (
    IGNORE_INDEX,
    Example,
    PackedCollator,
    conversation_example,
    document_examples,
    pack,
)
from tests.conftest import tiny_llama


def tokenizer_for(folder):
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ensure_chat_template(tokenizer)
    return tokenizer


def trained_text(tokenizer, example):
    return tokenizer.decode([t for t, label in zip(example.input_ids, example.labels, strict=True) if label >= 0])


def test_only_assistant_turns_carry_a_loss(byte_level_tokenizer_dir):
    tokenizer = tokenizer_for(byte_level_tokenizer_dir)
    messages = [
        {"role": "system", "content": "你是麻醉科医生。"},
        {"role": "user", "content": "腰麻后头痛怎么办？"},
        {"role": "assistant", "content": "平卧休息并补液。"},
        {"role": "user", "content": "还需要什么？"},
        {"role": "assistant", "content": "必要时硬膜外血补丁。"},
    ]
    example = conversation_example(tokenizer, messages, max_length=512)
    assert trained_text(tokenizer, example) == "平卧休息并补液。<|im_end|>\n必要时硬膜外血补丁。<|im_end|>\n"
    prompt_ids = tokenizer(
        tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True),
        add_special_tokens=False,
    )["input_ids"]
    assert all(label == IGNORE_INDEX for label in example.labels[: len(prompt_ids)])
    assert conversation_example(tokenizer, messages, max_length=10).input_ids == example.input_ids[:10]


def test_documents_are_chunked_with_every_token_trained(byte_level_tokenizer_dir, corpus_lines):
    tokenizer = tokenizer_for(byte_level_tokenizer_dir)
    chunks = document_examples(tokenizer, corpus_lines[0], max_length=32)
    assert len(chunks) > 1 and all(len(c) <= 32 for c in chunks)
    assert chunks[-1].input_ids[-1] == tokenizer.eos_token_id
    assert all(c.labels == c.input_ids for c in chunks)


def test_packing_is_tight_and_keeps_every_example():
    rng = random.Random(0)
    examples = [Example(list(range(n)), list(range(n))) for n in (rng.randint(20, 300) for _ in range(400))]
    rows = pack(examples, max_length=1024)
    assert sum(len(r) for r in rows) == sum(len(e) for e in examples)
    assert all(len(r) <= 1024 for r in rows)
    assert sum(len(r) for r in rows) / (1024 * len(rows)) >= 0.95
    starts = sum(r.position_ids.count(0) for r in rows)
    assert starts == len(examples) and sum(r.labels.count(IGNORE_INDEX) for r in rows) == len(examples)


def test_packed_examples_do_not_attend_to_each_other(byte_level_tokenizer_dir):
    tokenizer = tokenizer_for(byte_level_tokenizer_dir)
    model = tiny_llama(len(tokenizer)).eval()
    first = tokenizer("麻醉诱导采用丙泊酚", add_special_tokens=False)["input_ids"]
    second = tokenizer("术后镇痛与恶心呕吐的预防", add_special_tokens=False)["input_ids"]
    (row,) = pack([Example(first, first), Example(second, second)], max_length=64)
    batch = PackedCollator(pad_token_id=0)(
        [{"input_ids": row.input_ids, "labels": row.labels, "position_ids": row.position_ids}]
    )
    assert "attention_mask" not in batch
    with torch.no_grad():
        packed = model(**{k: v for k, v in batch.items() if k != "labels"}).logits[0]
        alone = [model(input_ids=torch.tensor([ids])).logits[0] for ids in (first, second)]
    starts = [i for i, position in enumerate(row.position_ids) if position == 0] + [len(row.input_ids)]
    segments = [(starts[i], starts[i + 1]) for i in range(len(starts) - 1)]
    assert len(segments) == 2
    for start, end in segments:
        expected = alone[0] if row.input_ids[start:end] == first else alone[1]
        assert torch.allclose(packed[start:end], expected, atol=1e-5)


def test_collator_counts_padding():
    collator = PackedCollator(pad_token_id=0)
    collator(
        [
            {"input_ids": [1, 2, 3, 4], "labels": [1, 2, 3, 4], "position_ids": [0, 1, 2, 3]},
            {"input_ids": [5, 6], "labels": [5, 6], "position_ids": [0, 1]},
        ]
    )
    collator.counter.confirm()
    assert collator.counter.fraction == 6 / 8
