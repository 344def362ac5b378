"""Extension never renumbers what the base had, in every tokenizer layout in use, and the check proves it.

Layouts, each a tiny tokenizer built here with a chat template and a tiny random model with its generation config:
special tokens inside the vocabulary (SmolLM2, byte-level), special and reserved tokens added after it (Llama-3 and
Qwen, byte-level, the model padded past the tokenizer as Qwen's is), metaspace BPE (Llama-2's tokenizer.json) and a
SentencePiece model with an added ``<pad>`` past its last piece (many Llama-2 fine-tunes).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig, PreTrainedTokenizerFast

from medspec.chat import DEFAULT_CHAT_TEMPLATE
from medspec.cli import main
from medspec.vocab import VocabConfig
from medspec.vocab.bpe import BYTE_SYMBOLS
from medspec.vocab.check import Finding, VocabCheck, VocabCheckError, check_extension, check_folders
from medspec.vocab.checkpoint import extend_checkpoint
from tests.conftest import tiny_llama

LLAMA3_TEMPLATE = (
    "{{ '<|begin_of_text|>' }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
NO_SYSTEM_TEMPLATE = (  # refuses a system turn, as Gemma's and Mistral's templates do
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% else %}{{ message['content'] + eos_token }}{% endif %}{% endfor %}"
)
LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
RESERVED = [f"<|reserved_special_token_{i}|>" for i in range(8)]
NOT_SPECIAL = ["<think>", "</think>"]  # Qwen3's added tokens that are not special
LAYOUTS = ["inside", "after", "metaspace", "sentencepiece"]


def _byte_level(corpus_lines: list[str], special_tokens: list[str]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=1200, special_tokens=special_tokens, initial_alphabet=alphabet)
    backend.train_from_iterator(corpus_lines[:60], trainer=trainer)
    return backend


def _layout(name: str, corpus_lines: list[str], sentencepiece_dir: Path, folder: Path) -> tuple[Path, str]:
    """A base folder (tokenizer, tiny model, generation config) in one layout, and the family to extend."""
    rows = None
    if name == "inside":  # SmolLM2: <|endoftext|>, <|im_start|>, <|im_end|> are ids 0-2 of the vocabulary
        backend = _byte_level(corpus_lines, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])
        tokenizer = PreTrainedTokenizerFast(
            tokenizer_object=backend, bos_token="<|im_start|>", eos_token="<|im_end|>", pad_token="<|endoftext|>"
        )
        tokenizer.chat_template, family = DEFAULT_CHAT_TEMPLATE, "auto"
    elif name == "after":  # Llama-3 and Qwen: the vocabulary first, then special and reserved tokens after it
        tokenizer = PreTrainedTokenizerFast(tokenizer_object=_byte_level(corpus_lines, []))
        tokenizer.add_special_tokens(
            {"bos_token": LLAMA3_SPECIALS[0], "eos_token": LLAMA3_SPECIALS[1], "pad_token": LLAMA3_SPECIALS[1]}
        )
        tokenizer.add_tokens([*LLAMA3_SPECIALS[2:], *RESERVED], special_tokens=True)
        tokenizer.add_tokens(NOT_SPECIAL)
        tokenizer.chat_template, family = LLAMA3_TEMPLATE, "auto"
        rows = len(tokenizer) + 37  # Qwen's model has more rows than its tokenizer has tokens
    else:  # Llama-2: tokenizer.model, with a <pad> and a plain token added past its last piece
        tokenizer = AutoTokenizer.from_pretrained(sentencepiece_dir)
        tokenizer.add_special_tokens({"pad_token": "<pad>"})
        tokenizer.add_tokens(NOT_SPECIAL)
        tokenizer.chat_template = NO_SYSTEM_TEMPLATE
        family = "bpe" if name == "metaspace" else "sentencepiece"
        if name == "sentencepiece":
            (folder / "tokenizer.model").parent.mkdir(parents=True, exist_ok=True)
            (folder / "tokenizer.model").write_bytes((sentencepiece_dir / "tokenizer.model").read_bytes())
    tokenizer.save_pretrained(folder)
    model = tiny_llama(rows or len(tokenizer))
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=[tokenizer.eos_token_id, *([tokenizer.convert_tokens_to_ids("<|eot_id|>")] * (name == "after"))],
        pad_token_id=tokenizer.pad_token_id,
    )
    model.config.bos_token_id, model.config.eos_token_id = tokenizer.bos_token_id, tokenizer.eos_token_id
    model.save_pretrained(folder)
    return folder, family


@pytest.fixture(scope="module")
def corpus_file(tmp_path_factory, corpus_lines) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text("\n".join(corpus_lines[:80]), encoding="utf-8")
    return path


@pytest.fixture(scope="module", params=LAYOUTS)
def extended(request, tmp_path_factory, corpus_lines, sentencepiece_tokenizer_dir, corpus_file):
    """(base folder, extended folder, extension) for one layout."""
    root = tmp_path_factory.mktemp(request.param)
    base, family = _layout(request.param, corpus_lines, sentencepiece_tokenizer_dir, root / "base")
    config = VocabConfig(add=300, sentencepiece_vocab_size=1200, family=family)
    extension = extend_checkpoint(base, corpus=[corpus_file], out=root / "extended", config=config)
    return base, root / "extended", extension


def test_every_base_id_keeps_its_token_after_a_plain_reload(extended):
    base_dir, out, extension = extended
    base, reloaded = AutoTokenizer.from_pretrained(base_dir), AutoTokenizer.from_pretrained(out)
    assert extension.check.passed, extension.check.describe()
    vocab = reloaded.get_vocab()
    assert all(vocab[token] == i for token, i in base.get_vocab().items())
    assert len(set(vocab.values())) == len(vocab) == len(base) + len(extension.new_tokens)
    assert min(extension.new_token_ids) > max(base.get_vocab().values())
    assert {i: t.content for i, t in reloaded.added_tokens_decoder.items()} == {
        i: t.content for i, t in base.added_tokens_decoder.items()
    }
    for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
        assert getattr(reloaded, name) == getattr(base, name)


def test_the_saved_json_states_the_ids_the_library_uses(extended):
    _, out, extension = extended
    data = json.loads((out / "tokenizer.json").read_text(encoding="utf-8"))
    reloaded = AutoTokenizer.from_pretrained(out)
    new_ids = set(extension.new_token_ids)
    for added in data["added_tokens"]:
        assert reloaded.convert_tokens_to_ids(added["content"]) == added["id"] and added["id"] not in new_ids
    names: dict[int, set[str]] = {}
    for token, token_id in [*data["model"]["vocab"].items(), *((a["content"], a["id"]) for a in data["added_tokens"])]:
        names.setdefault(token_id, set()).add(token)
    assert all(len(n) == 1 for n in names.values())


def test_chat_template_and_generation_config_survive(extended):
    base_dir, out, _ = extended
    base, reloaded = AutoTokenizer.from_pretrained(base_dir), AutoTokenizer.from_pretrained(out)
    chat = [{"role": "user", "content": "Propofol dose?"}, {"role": "assistant", "content": "1.5-2.5 mg/kg."}]
    assert reloaded.apply_chat_template(chat, tokenize=False) == base.apply_chat_template(chat, tokenize=False)
    assert reloaded.apply_chat_template(chat)["input_ids"] == base.apply_chat_template(chat)["input_ids"]
    before = json.loads((base_dir / "generation_config.json").read_text(encoding="utf-8"))
    after = json.loads((out / "generation_config.json").read_text(encoding="utf-8"))
    for key in ("bos_token_id", "eos_token_id", "pad_token_id"):
        assert after.get(key) == before.get(key)
    eos = after["eos_token_id"]
    assert [reloaded.convert_ids_to_tokens(i) for i in eos] == [base.convert_ids_to_tokens(i) for i in eos]


def test_the_extended_model_computes_the_base_function_on_old_text(extended):
    base_dir, out, _ = extended
    base_tokenizer = AutoTokenizer.from_pretrained(base_dir)
    chat = [{"role": "user", "content": "What is the usual dose of sugammadex?"}]
    ids = torch.tensor([base_tokenizer.apply_chat_template(chat)["input_ids"]])
    assert ids.tolist() == [AutoTokenizer.from_pretrained(out).apply_chat_template(chat)["input_ids"]]
    base_model = AutoModelForCausalLM.from_pretrained(base_dir)
    extended_model = AutoModelForCausalLM.from_pretrained(out)
    old = len(base_tokenizer)
    assert torch.equal(
        extended_model.get_input_embeddings().weight[:old], base_model.get_input_embeddings().weight[:old]
    )
    with torch.no_grad():
        before, after = base_model(ids).logits[..., :old], extended_model(ids).logits[..., :old]
    assert torch.allclose(before, after, atol=1e-5)


def test_sentencepiece_proto_holds_the_added_tokens_at_their_ids(
    tmp_path, corpus_lines, sentencepiece_tokenizer_dir, corpus_file
):
    base_dir, family = _layout("sentencepiece", corpus_lines, sentencepiece_tokenizer_dir, tmp_path / "base")
    config = VocabConfig(add=100, sentencepiece_vocab_size=1200, family=family)
    extension = extend_checkpoint(base_dir, corpus=[corpus_file], out=tmp_path / "out", config=config, with_model=False)
    base = AutoTokenizer.from_pretrained(base_dir)
    slow = spm.SentencePieceProcessor(model_file=str(tmp_path / "out" / "tokenizer.model"))
    pad_id, think_id = base.pad_token_id, base.convert_tokens_to_ids("<think>")
    assert slow.id_to_piece(pad_id) == "<pad>" and slow.is_control(pad_id)
    assert slow.id_to_piece(think_id) == "<think>" and not slow.is_control(think_id)
    assert min(extension.new_token_ids) == max(base.get_vocab().values()) + 1 == len(base)
    assert slow.get_piece_size() == len(extension.tokenizer)


def _renumbering_tokenizer(base_dir: Path, tmp_path: Path) -> Path:
    """The failure this guards against: new tokens listed in the vocabulary, the added tokens not pinned there, so
    ``tokenizers`` renumbers the special tokens from the vocabulary's entry count onto new tokens' ids."""
    data = json.loads((base_dir / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = data["model"]["vocab"]
    first = max([*vocab.values(), *(a["id"] for a in data["added_tokens"])]) + 1
    for offset, text in enumerate(["龘龘", "𪚥𪚥", "𠀀𠀀", "龘𪚥"]):  # texts the base vocabulary has no token for
        token = "".join(BYTE_SYMBOLS[b] for b in text.encode("utf-8"))
        assert token not in vocab
        vocab[token] = first + offset
    folder = tmp_path / "renumbered"
    folder.mkdir()
    for path in base_dir.iterdir():
        if path.name != "tokenizer.json":
            (folder / path.name).write_bytes(path.read_bytes())
    (folder / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return folder


@pytest.fixture
def after_layout(tmp_path, corpus_lines, sentencepiece_tokenizer_dir) -> Path:
    return _layout("after", corpus_lines, sentencepiece_tokenizer_dir, tmp_path / "base")[0]


def test_the_check_catches_special_tokens_renumbered_onto_new_tokens(after_layout, tmp_path, capsys):
    broken = _renumbering_tokenizer(after_layout, tmp_path)
    base, extended = AutoTokenizer.from_pretrained(after_layout), AutoTokenizer.from_pretrained(broken)
    assert extended.convert_tokens_to_ids("<|begin_of_text|>") != base.convert_tokens_to_ids("<|begin_of_text|>")
    check = check_extension(base, extended)
    failed = {f.name for f in check.findings if not f.passed}
    assert {"ids", "clashes", "special_tokens", "chat_template"} <= failed and not check.passed
    assert main(["vocab", "check", str(broken), "--base", str(after_layout), "--tokenizer-only"]) == 1
    assert "FAIL  ids" in capsys.readouterr().out


def test_the_check_command_passes_a_good_extension_and_reads_model_breaches(extended, tmp_path, capsys):
    base_dir, out, _ = extended
    assert main(["vocab", "check", str(out), "--base", str(base_dir), "--json", str(tmp_path / "c.json")]) == 0
    printed = capsys.readouterr().out
    assert "ok    logits" in printed and "ok    model_config" in printed and "every guarantee holds" in printed
    assert json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))["passed"] is True

    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for path in out.iterdir():
        (tampered / path.name).write_bytes(path.read_bytes())
    generation = json.loads((out / "generation_config.json").read_text(encoding="utf-8"))
    generation["eos_token_id"] = json.loads((out / "medspec_vocab.json").read_text())["new_tokens"][0]["id"]
    (tampered / "generation_config.json").write_text(json.dumps(generation), encoding="utf-8")
    model = AutoModelForCausalLM.from_pretrained(tampered)
    with torch.no_grad():
        model.get_output_embeddings().weight[3] += 1.0  # an old token's output row: no longer the same function
    model.save_pretrained(tampered)
    check = check_folders(tampered, base=base_dir)
    failed = {f.name for f in check.findings if not f.passed}
    assert failed == {"model_config", "logits"}, check.describe()


def test_extend_keeps_the_output_it_cannot_vouch_for_aside(extended, corpus_file, tmp_path, monkeypatch):
    base_dir, _, _ = extended
    breach = VocabCheck((Finding("ids", False, "planted breach"),))
    monkeypatch.setattr("medspec.vocab.checkpoint.check_extension", lambda *args, **kwargs: breach)
    out = tmp_path / "out"
    with pytest.raises(VocabCheckError, match="planted breach"):
        extend_checkpoint(base_dir, corpus=[corpus_file], out=out, config=VocabConfig(add=50), with_model=False)
    assert not out.exists()
    kept = tmp_path / "out.unchecked"
    assert json.loads((kept / "vocab_check.json").read_text(encoding="utf-8"))["passed"] is False


def test_extend_refuses_to_replace_a_folder_of_other_files(extended, corpus_file, tmp_path):
    base_dir, _, _ = extended
    (tmp_path / "notes.txt").write_text("a clinician's notes", encoding="utf-8")
    with pytest.raises(Exception, match="not an extended vocabulary"):
        extend_checkpoint(base_dir, corpus=[corpus_file], out=tmp_path, config=VocabConfig(add=50), with_model=False)
    assert (tmp_path / "notes.txt").is_file()
