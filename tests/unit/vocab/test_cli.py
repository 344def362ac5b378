from __future__ import annotations

import json

from transformers import AutoModelForCausalLM, AutoTokenizer

from medspec.cli import main
from tests.conftest import tiny_llama


def test_vocab_extend_command(tmp_path, byte_level_tokenizer_dir, corpus_lines, capsys):
    base = tmp_path / "base"
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    tokenizer.save_pretrained(base)
    tiny_llama(len(tokenizer)).save_pretrained(base)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(corpus_lines[:60]), encoding="utf-8")
    heldout = tmp_path / "heldout.txt"
    heldout.write_text("\n".join(corpus_lines[60:70]), encoding="utf-8")
    out = tmp_path / "extended"
    code = main(
        [
            "vocab",
            "extend",
            "--base",
            str(base),
            "--corpus",
            str(corpus),
            "--add",
            "200",
            "--out",
            str(out),
            "--specialty",
            "anesthesiology",
            "--heldout",
            str(heldout),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "tokens per character on held-out text" in printed and "lexicon terms that are one token" in printed
    record = json.loads((out / "medspec_vocab.json").read_text(encoding="utf-8"))
    assert record["vocab_size"] == len(tokenizer) + len(record["new_tokens"]) and 0 < len(record["new_tokens"]) <= 200
    model = AutoModelForCausalLM.from_pretrained(out)
    assert model.get_input_embeddings().weight.shape[0] == record["embedding_rows"] >= record["vocab_size"]
    assert len(AutoTokenizer.from_pretrained(out)) == record["vocab_size"]


def test_vocab_extend_reports_a_missing_model(tmp_path, capsys):
    code = main(["vocab", "extend", "--base", str(tmp_path / "nope"), "--corpus", "x.txt", "--out", str(tmp_path)])
    assert code == 2 and "model folder not found" in capsys.readouterr().err
