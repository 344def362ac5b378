"""Loading a LoRA adapter trained on an extended vocabulary, onto whichever base it is given.

An adapter trained after vocabulary extension carries embedding rows (trainable token rows or a saved copy of
``embed_tokens``/``lm_head``) for ids the original base model does not have. Loading it onto the original base is
the "size mismatch" failure users of other tools know. :func:`load_adapter_model` reads how many rows the adapter
needs (from ``medspec_vocab.json`` when medspec wrote the checkpoint, otherwise from the adapter's own config and
weights), resizes the base first, then applies, and optionally merges, the adapter.

Example:
    >>> model, tokenizer = load_adapter_model("runs/demo/general/adapter", merge=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from medspec.model_loading import load_model_and_tokenizer, load_tokenizer

__all__ = ["VOCAB_RECORD", "adapter_embedding_rows", "load_adapter_model", "read_vocab_record"]

logger = logging.getLogger(__name__)

VOCAB_RECORD = "medspec_vocab.json"


def read_vocab_record(folder: str | Path) -> dict[str, Any] | None:
    """The ``medspec_vocab.json`` of a checkpoint folder, or None when it has none."""
    path = Path(folder) / VOCAB_RECORD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def adapter_embedding_rows(adapter_dir: str | Path) -> int:
    """The fewest embedding rows a base model needs for this adapter (0 when it touches no embedding)."""
    adapter_dir = Path(adapter_dir)
    needed = 0
    record = read_vocab_record(adapter_dir)
    if record and record.get("embedding_rows"):
        needed = int(record["embedding_rows"])
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    indices = config.get("trainable_token_indices") or {}
    if isinstance(indices, list):
        indices = {"embed_tokens": indices}
    for ids in indices.values():
        needed = max(needed, max(ids, default=-1) + 1)
    weights = adapter_dir / "adapter_model.safetensors"
    if weights.is_file():
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as tensors:
            for key in tensors.keys():  # noqa: SIM118 (safe_open is not a mapping)
                if ("embed_tokens" in key or "lm_head" in key) and "lora_" not in key and "token_adapter" not in key:
                    needed = max(needed, tensors.get_slice(key).get_shape()[0])
    return needed


def load_adapter_model(
    adapter_dir: str | Path,
    *,
    base: str | Path | None = None,
    merge: bool = False,
    dtype: Any = None,
) -> tuple[Any, Any]:
    """Load a base model, grow it to the adapter's vocabulary when needed, and apply the adapter.

    Args:
        adapter_dir: A PEFT adapter folder.
        base: The base model (folder, GGUF file or ``"demo"``); the adapter's ``base_model_name_or_path`` when
            omitted.
        merge: Merge the adapter into the weights and return a plain ``PreTrainedModel``.
        dtype: Weight dtype.

    Returns:
        ``(model, tokenizer)``; the tokenizer is the adapter folder's when it has one (an extended vocabulary
        travels with its adapter), else the base's.
    """
    from peft import PeftConfig, PeftModel

    adapter_dir = Path(adapter_dir)
    base_path = base or PeftConfig.from_pretrained(str(adapter_dir)).base_model_name_or_path
    model, tokenizer = load_model_and_tokenizer(base_path, dtype=dtype)
    needed = adapter_embedding_rows(adapter_dir)
    rows = model.get_input_embeddings().weight.shape[0]
    if needed > rows:
        logger.info("growing %s from %d to %d embedding rows for the adapter", base_path, rows, needed)
        model.resize_token_embeddings(needed, mean_resizing=False)
    model = PeftModel.from_pretrained(model, str(adapter_dir))
    if merge:
        model = model.merge_and_unload()
    if any(adapter_dir.glob("tokenizer*")):
        tokenizer = load_tokenizer(adapter_dir)
    return model, tokenizer
