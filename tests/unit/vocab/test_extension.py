"""Extension of the three tokenizer families: byte-level BPE, Llama-2-style metaspace BPE, and SentencePiece."""

from __future__ import annotations

import json

import pytest
import sentencepiece as spm
from transformers import AutoTokenizer

from medspec.vocab import VocabConfig, VocabExtender
from medspec.vocab.report import tokens_per_character

SAMPLES = [
    "患者术前禁食8小时，麻醉诱导采用丙泊酚2 mg/kg和舒芬太尼0.3 μg/kg。",
    "The patient received propofol 2 mg/kg; BIS 40-60 was maintained.",
    "数字 1234567890，标点：；！？「」（）《》……——",
    "emoji 😀🩺💉 and rare characters 𠀀𪚥龘 mixed with 中文 and English",
    "  leading and trailing spaces  ",
    "多行\n文本\t制表符",
]


def extend(tokenizer, corpus_lines, add=600, **config):
    lexicon = ["丙泊酚", "七氟烷", "罗哌卡因", "恶性高热", "局麻药全身毒性"]
    extender = VocabExtender(VocabConfig(add=add, sentencepiece_vocab_size=1200, **config))
    return extender.extend(tokenizer, corpus=corpus_lines[:80], lexicon=lexicon, heldout=corpus_lines[80:100])


@pytest.fixture(scope="module")
def byte_level(byte_level_tokenizer_dir, corpus_lines):
    base = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    return base, extend(base, corpus_lines)


@pytest.fixture(scope="module")
def metaspace(sentencepiece_tokenizer_dir, corpus_lines):
    base = AutoTokenizer.from_pretrained(sentencepiece_tokenizer_dir)  # converted to a metaspace tokenizer.json
    return base, extend(base, corpus_lines, family="bpe")


@pytest.fixture(scope="module")
def sentencepiece(sentencepiece_tokenizer_dir, corpus_lines):
    base = AutoTokenizer.from_pretrained(sentencepiece_tokenizer_dir)
    return base, extend(base, corpus_lines, family="sentencepiece")


FAMILIES = ["byte_level", "metaspace", "sentencepiece"]


@pytest.mark.parametrize("family", FAMILIES)
def test_old_tokens_keep_ids_and_new_ones_follow(family, request):
    base, extension = request.getfixturevalue(family)
    new_vocab = extension.tokenizer.get_vocab()
    assert all(new_vocab[token] == i for token, i in base.get_vocab().items())
    assert extension.new_token_ids == list(range(len(base), len(base) + len(extension.new_tokens)))
    assert len(extension.tokenizer) == len(base) + len(extension.new_tokens)
    assert 0 < len(extension.new_tokens) <= 600
    assert extension.tokenizer.all_special_tokens == base.all_special_tokens
    assert extension.tokenizer.chat_template == base.chat_template
    assert extension.family == {"byte_level": "byte-level", "metaspace": "metaspace"}.get(family, "sentencepiece")


@pytest.mark.parametrize("family", FAMILIES)
def test_decoding_is_lossless(family, request):
    base, extension = request.getfixturevalue(family)
    for text in SAMPLES:
        ids = extension.tokenizer(text, add_special_tokens=False)["input_ids"]
        assert extension.tokenizer.decode(ids) == base.decode(base(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize("family", FAMILIES)
def test_new_tokens_are_produced_and_text_gets_shorter(family, request, corpus_lines):
    base, extension = request.getfixturevalue(family)
    emitted = set()
    for line in corpus_lines[:80]:
        emitted.update(extension.tokenizer(line, add_special_tokens=False)["input_ids"])
    new_ids = set(extension.new_token_ids)
    assert len(new_ids & emitted) / len(new_ids) > 0.5  # the rest are parts that longer tokens are built from
    heldout = corpus_lines[80:100]
    assert tokens_per_character(extension.tokenizer, heldout) < 0.9 * tokens_per_character(base, heldout)
    report = extension.report
    assert report["tokens_per_character"]["after"] < report["tokens_per_character"]["before"]
    assert report["lexicon_coverage"]["after"]["single_token"] > report["lexicon_coverage"]["before"]["single_token"]
    assert len(extension.tokenizer.tokenize("局麻药全身毒性")) < len(base.tokenize("局麻药全身毒性"))


@pytest.mark.parametrize("family", FAMILIES)
def test_text_without_new_vocabulary_tokenises_as_before(family, request):
    base, extension = request.getfixturevalue(family)
    for text in ["The patient received propofol 2 mg/kg; BIS 40-60 was maintained.", "1234567890 !?"]:
        assert extension.tokenizer(text)["input_ids"] == base(text)["input_ids"]


def test_every_added_token_is_reachable(byte_level, corpus_lines):
    _, extension = byte_level
    live = set()
    for line in corpus_lines[:80]:
        live.update(extension.tokenizer(line, add_special_tokens=False)["input_ids"])
    parts = json.loads(extension.tokenizer.backend_tokenizer.to_str())["model"]["merges"]
    by_result = {"".join(m) if isinstance(m, list) else m.replace(" ", ""): m for m in parts}
    vocab = extension.tokenizer.get_vocab()
    frontier = [t.token for t in extension.new_tokens if vocab[t.token] in live]
    reachable = set(frontier)
    while frontier:
        merge = by_result.get(frontier.pop())
        if merge is None:
            continue
        for part in merge if isinstance(merge, list) else merge.split(" "):
            if part not in reachable:
                reachable.add(part)
                frontier.append(part)
    assert {t.token for t in extension.new_tokens} <= reachable


def test_slow_and_fast_sentencepiece_tokenizers_agree(sentencepiece, tmp_path):
    _, extension = sentencepiece
    folder = extension.save_pretrained(tmp_path / "sp")
    slow = spm.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    fast = AutoTokenizer.from_pretrained(folder)
    for text in [s for s in SAMPLES if not s.startswith(" ")]:
        assert fast(text, add_special_tokens=False)["input_ids"] == slow.encode(text), text
    assert slow.get_piece_size() == len(fast)


def test_config_errors_name_the_field():
    with pytest.raises(Exception, match="add"):
        VocabConfig(add=0)
    with pytest.raises(Exception, match="sources"):
        VocabConfig(sources=["lexicon", "lexicon"])
