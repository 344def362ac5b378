"""What the vocabulary check feeds both tokenizers and models, and what it reads of a model.

The probe texts cover what an extension must not disturb: English, code, mixed whitespace, emoji (with a skin-tone
sequence and flags), rare CJK and compatibility ideographs, full-width punctuation and Chinese clinical text. Two
probe chats (one in old words, one in Chinese) exercise the chat template. A :class:`ModelSide` holds what the check
compares of a model: the special ids its ``config.json`` and ``generation_config.json`` name, its rows, and its logits
on the base tokenizer's encodings of the probes.

Example:
    >>> import json, pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "config.json").write_text(json.dumps({"vocab_size": 54208, "eos_token_id": [2, 54207]}))
    >>> side = ModelSide.read(folder=folder)
    >>> side.special_ids, side.vocab_size
    ({'config.eos_token_id': (2, 54207)}, 54208)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CHATS", "PROBE_TEXTS", "ModelSide", "encode", "probe_inputs", "render"]

PROBE_TEXTS: tuple[str, ...] = (
    "The patient received propofol 2 mg/kg; BIS 40-60 was maintained.",
    "def dose(weight_kg: float) -> float:\n    return 2.0 * weight_kg  # mg, {'max': 200}\n",
    "  two leading spaces,\ttab, trailing spaces  ",
    "line one\r\nline two\n\n\nafter three breaks",
    "emoji 😀🩺💉 👩🏽‍⚕️ flags 🇨🇳🇬🇧",
    "rare CJK 𠀀𪚥龘𬌗 and compatibility ideographs 﨎﨏",
    "全角标点：；！？「」（）《》……——，半角,.;",
    "患者术前禁食8小时，麻醉诱导采用丙泊酚2 mg/kg和舒芬太尼0.3 μg/kg。",
    "数字 1234567890 与 ½ ¾ ° ± µ ℃ 符号",
)
CHATS: dict[str, list[dict[str, str]]] = {
    "old words": [
        {"role": "system", "content": "You are a careful anesthesiologist."},
        {"role": "user", "content": "What is the usual induction dose of propofol?"},
        {"role": "assistant", "content": "About 1.5-2.5 mg/kg IV, less in the elderly."},
        {"role": "user", "content": "And for a frail 80-year-old?"},
    ],
    "Chinese": [
        {"role": "user", "content": "丙泊酚诱导剂量一般是多少？"},
        {"role": "assistant", "content": "成人常用1.5～2.5 mg/kg静脉注射，老年人应减量。"},
    ],
}
_SPECIAL_ID_FIELDS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")
_PROBE_TOKENS = 64  # tokens of each probe fed to the models: enough to cover the chat template's special tokens


@dataclass(frozen=True)
class ModelSide:
    """What the check compares of a model: special-token ids of its configs, its rows, its logits on the probes.

    Attributes:
        special_ids: ``"config.eos_token_id"``, ``"generation_config.eos_token_id"``, ... -> ids.
        vocab_size: The model's ``config.vocab_size`` (its embedding rows), when known.
        logits: The logits on each of :func:`probe_inputs`, ``(T, V)`` each; empty without a model.
    """

    special_ids: dict[str, tuple[int, ...]]
    vocab_size: int | None
    logits: tuple[Any, ...] = field(default=(), repr=False)

    @classmethod
    def read(
        cls, *, folder: str | Path | None = None, model: Any = None, inputs: Sequence[Sequence[int]] = ()
    ) -> ModelSide:
        """Special ids from the folder's ``config.json`` and ``generation_config.json`` when it has them (else from
        the model's configs), logits of the model on ``inputs``.
        """
        configs: dict[str, dict[str, Any]] = {}
        if folder is not None and (Path(folder) / "config.json").is_file():
            for name in ("config", "generation_config"):
                path = Path(folder) / f"{name}.json"
                if path.is_file():
                    configs[name] = json.loads(path.read_text(encoding="utf-8"))
        elif model is not None:
            configs["config"] = model.config.to_dict()
            if getattr(model, "generation_config", None) is not None:
                configs["generation_config"] = model.generation_config.to_dict()
        special_ids = {
            f"{name}.{key}": _as_ids(values[key])
            for name, values in configs.items()
            for key in _SPECIAL_ID_FIELDS
            if values.get(key) is not None
        }
        vocab_size = configs.get("config", {}).get("vocab_size")
        if vocab_size is None and "text_config" in configs.get("config", {}):
            vocab_size = configs["config"]["text_config"].get("vocab_size")
        logits = _logits(model, inputs) if model is not None else ()
        return cls(special_ids=special_ids, vocab_size=vocab_size, logits=logits)


def _as_ids(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value) if isinstance(value, list | tuple) else (int(value),)


def _logits(model: Any, inputs: Sequence[Sequence[int]]) -> tuple[Any, ...]:
    import torch

    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = tuple(model(torch.tensor([list(ids)], device=device)).logits[0].float().cpu() for ids in inputs)
    model.train(was_training)
    return logits


def encode(tokenizer: Any, text: str) -> list[int]:
    """The tokenizer's ids for ``text`` without special tokens."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def render(tokenizer: Any, messages: list[dict[str, str]]) -> str | None:
    """The chat rendered by the tokenizer's template; without the system turn if the template refuses one."""
    if not tokenizer.chat_template:
        return None
    from jinja2 import TemplateError

    try:
        return tokenizer.apply_chat_template(messages, tokenize=False)
    except TemplateError:  # e.g. "System role not supported"
        return tokenizer.apply_chat_template([m for m in messages if m["role"] != "system"], tokenize=False)


def probe_inputs(base: Any) -> list[list[int]]:
    """The base tokenizer's ids of the probe texts and of a chat in old words: what both models are fed."""
    texts = [*PROBE_TEXTS]
    rendered = render(base, CHATS["old words"])
    if rendered is not None:
        texts.insert(0, rendered)
    return [ids[:_PROBE_TOKENS] for ids in (encode(base, t) for t in texts) if ids]
