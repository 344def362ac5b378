"""Loading what training wrote: a stage's model folder, with its LoRA experts applied when it has them.

An experts stage saves the base weights and, in an ``experts`` subfolder, PediatricsGPT's universal-specific LoRA
experts; :func:`load_trained_model` loads both. Any other folder, ``.gguf`` file or ``"demo"`` loads as
:func:`~medspec.model_loading.load_model_and_tokenizer` loads it.

Example:
    >>> model, tokenizer = load_trained_model("runs/ped/train-experts/model")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medspec.model_loading import EXPERTS_FOLDER, load_model_and_tokenizer, place_model, resolve_model_path

__all__ = ["load_trained_model"]


def load_trained_model(
    path: str | Path, *, gguf_file: str | None = None, dtype: Any = None, device: str | None = None
) -> tuple[Any, Any]:
    """Load a model and its tokenizer, applying the LoRA experts an experts stage saved beside it.

    Args:
        path: A stage's model folder, any Hugging Face model folder, a ``.gguf`` file, or ``"demo"``.
        gguf_file: The GGUF file inside ``path`` when ``path`` is a folder holding several.
        dtype: Torch dtype of the weights (float32 by default).
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``; where transformers puts the model when omitted.

    Returns:
        ``(model, tokenizer)``.

    Raises:
        ConfigError: When saved experts do not fit the model.
    """
    folder, _ = resolve_model_path(path, gguf_file)
    model, tokenizer = load_model_and_tokenizer(path, gguf_file=gguf_file, dtype=dtype, base_only=True)
    if (folder / EXPERTS_FOLDER).is_dir():
        from medspec.training.experts import load_experts

        load_experts(model, folder / EXPERTS_FOLDER)
    return place_model(model, device), tokenizer
