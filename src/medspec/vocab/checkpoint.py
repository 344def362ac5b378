"""Extending a whole checkpoint: load, extend the tokenizer, resize the model, save, all in one call.

This is what ``medspec vocab extend`` and the recipe's vocabulary step run.

Example:
    >>> extend_checkpoint("demo", corpus=["corpus.txt"], out="runs/x/vocab", config=VocabConfig(add=5000))
    ... # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from medspec.data.io import read_texts
from medspec.model_loading import load_model_and_tokenizer, load_tokenizer, resolve_model_path
from medspec.vocab.extender import VocabConfig, VocabExtender, VocabExtension

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
        The extension (its ``report`` is also written to ``out/vocab_report.json``).
    """
    resolve_model_path(base, gguf_file)  # a wrong model path fails before minutes of mining
    texts = read_texts(corpus)
    heldout_texts = read_texts(heldout)
    if with_model:
        model, tokenizer = load_model_and_tokenizer(base, gguf_file=gguf_file)
    else:
        model, tokenizer = None, load_tokenizer(base, gguf_file=gguf_file)
    extension = VocabExtender(config).extend(tokenizer, corpus=texts, lexicon=lexicon, heldout=heldout_texts)
    if model is not None:
        extension.resize_model(model)
    extension.save_pretrained(out, model=model)
    logger.info("extended %s by %d tokens into %s", base, len(extension.new_tokens), out)
    return extension
