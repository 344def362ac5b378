"""Extending a whole checkpoint: load, extend the tokenizer, resize the model, check, save, all in one call.

This is what ``medspec vocab extend`` and the recipe's vocabulary step run. The output is first written beside
``out``, reloaded with ``AutoTokenizer`` and checked against the base (:mod:`medspec.vocab.check`): only an output
that keeps every guarantee takes the place of ``out``; one that breaks any is left beside it for inspection and
an error names the breaches.

Example:
    >>> extend_checkpoint("demo", corpus=["corpus.txt"], out="runs/x/vocab", config=VocabConfig(add=5000))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

from medspec.data.io import read_texts
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError
from medspec.model_loading import load_model_and_tokenizer, load_tokenizer, resolve_model_path
from medspec.vocab.adapters import VOCAB_RECORD
from medspec.vocab.check import VocabCheckError, check_extension
from medspec.vocab.extender import VocabConfig, VocabExtender, VocabExtension
from medspec.vocab.probes import ModelSide, probe_inputs

__all__ = ["extend_checkpoint"]

logger = logging.getLogger(__name__)


def extend_checkpoint(
    base: str | Path,
    *,
    corpus: Sequence[str | Path],
    out: str | Path,
    config: VocabConfig,
    gguf_file: str | None = None,
    lexicon: Sequence[str] = (),
    heldout: Sequence[str | Path] = (),
    with_model: bool = True,
) -> VocabExtension:
    """Extend a base model's vocabulary and save the extended tokenizer (and model) to ``out``.

    Args:
        base: A model folder, a ``.gguf`` file, or ``"demo"``.
        corpus: Data files whose text is mined (any format :func:`medspec.data.io.read_records` reads).
        out: The folder to write.
        config: How to extend.
        gguf_file: The GGUF file inside ``base`` when it is a folder holding one.
        lexicon: Domain terms to add first.
        heldout: Data files for the before/after report (not mined).
        with_model: Also load, resize, initialise and save the model; False extends the tokenizer only.

    Returns:
        The extension (its ``report`` is also written to ``out/vocab_report.json``, its check to
        ``out/vocab_check.json``).

    Raises:
        ConfigError: When ``out`` holds files other than an earlier extension's, which replacing it would lose.
        VocabCheckError: When the extended output breaks a guarantee; ``out`` is left as it was.
    """
    base_folder, gguf = resolve_model_path(base, gguf_file)  # a wrong model path fails before minutes of mining
    out = Path(out)
    if out.is_dir() and any(out.iterdir()) and not (out / VOCAB_RECORD).is_file():
        raise ConfigError("out", f"{out} holds files that are not an extended vocabulary; choose an empty folder")
    texts = read_texts(corpus)
    heldout_texts = read_texts(heldout)
    if with_model:
        model, tokenizer = load_model_and_tokenizer(base, gguf_file=gguf_file)
    else:
        model, tokenizer = None, load_tokenizer(base, gguf_file=gguf_file)
    inputs = probe_inputs(tokenizer) if model is not None else []
    base_side = ModelSide.read(folder=None if gguf or model is not None else base_folder, model=model, inputs=inputs)
    extension = VocabExtender(config).extend(tokenizer, corpus=texts, lexicon=lexicon, heldout=heldout_texts)
    if model is not None:
        extension.resize_model(model)
    staging = out.with_name(f"{out.name}.unchecked")
    shutil.rmtree(staging, ignore_errors=True)
    extension.save_pretrained(staging, model=model)
    extended_side = ModelSide.read(folder=staging, model=model, inputs=inputs)
    extension.check = check_extension(
        tokenizer, load_tokenizer(staging), base_side=base_side, extended_side=extended_side
    )
    atomic_write_text(staging / "vocab_check.json", json.dumps(extension.check.to_dict(), ensure_ascii=False, indent=1))
    if not extension.check.passed:
        raise VocabCheckError(extension.check, staging)
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    logger.info("extended %s by %d tokens into %s", base, len(extension.new_tokens), out)
    return extension
