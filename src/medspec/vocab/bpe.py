"""Extending a ``tokenizers`` BPE model (``tokenizer.json``) with real vocabulary: tokens and the merges that make them.

Two families are handled:

* **byte-level** BPE (GPT-2, Llama-3, Qwen, SmolLM2): tokens are strings of byte symbols (each of the 256 bytes is
  mapped to a printable character); a Chinese character is three byte symbols, merged up to the character and then
  to words;
* **character-level** BPE, with or without SentencePiece's ``▁`` for spaces and byte fallback (Llama-2's
  ``tokenizer.json``): characters are the base symbols; a new character needs no merge, words need merges.

New tokens get ids after every existing id (special tokens included), so every old token keeps its id; new merges
come after the old ones, so text that the new tokens do not cover is tokenised exactly as before.

Added tokens (special tokens such as ``<|im_start|>``) need care. ``tokenizers`` does not honour the ``id`` an added
token has in ``tokenizer.json``: one its model's vocabulary does not hold is numbered from the *count* of vocabulary
entries. Llama-3 and Qwen keep their special tokens outside the vocabulary, right after it, so growing the vocabulary
would renumber every special token onto a new token's id. The extended ``tokenizer.json`` therefore also lists each
such added token in the model's vocabulary at its own id, which is where ``tokenizers`` then finds it; the added
tokens are still matched before the model runs, and no merge produces them.

Example:
    >>> import json
    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> base = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(BYTE_SYMBOLS)}, merges=[]))
    >>> base.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    >>> vocab = BpeVocabulary(json.loads(base.to_str()))
    >>> len(vocab.add("麻醉"))  # 2 characters of 3 bytes: 2 + 2 merges to the characters, 1 to the word
    5
    >>> extended = Tokenizer.from_str(json.dumps(vocab.to_json()))
    >>> extended.encode("麻醉").tokens == [vocab.token("麻醉")]
    True
"""

from __future__ import annotations

import copy
from typing import Any

from medspec.vocab.merges import MergePlanner
from medspec.vocab.mining import SPACE

__all__ = ["BYTE_SYMBOLS", "BpeVocabulary"]


def _byte_symbols() -> list[str]:
    """The byte-to-character table of byte-level BPE: printable bytes map to themselves, the rest above U+0100."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table, shifted = {}, 0
    for byte in range(256):
        if byte in printable:
            table[byte] = chr(byte)
        else:
            table[byte] = chr(256 + shifted)
            shifted += 1
    return [table[b] for b in range(256)]


BYTE_SYMBOLS = _byte_symbols()
_SYMBOL_TO_BYTE = {symbol: byte for byte, symbol in enumerate(BYTE_SYMBOLS)}


def _components(node: Any) -> list[dict[str, Any]]:
    """A normalizer, pre-tokenizer or decoder and everything nested in it, flattened."""
    if not isinstance(node, dict):
        return []
    found = [node]
    for key in ("normalizers", "pretokenizers", "decoders"):
        for child in node.get(key) or []:
            found += _components(child)
    return found


class BpeVocabulary:
    """A ``tokenizer.json`` BPE model that grows by whole, reachable tokens.

    Args:
        tokenizer_json: The parsed ``tokenizer.json`` of the base tokenizer (not modified).

    Raises:
        ValueError: When the model is not BPE.
    """

    def __init__(self, tokenizer_json: dict[str, Any]) -> None:
        model = tokenizer_json.get("model") or {}
        if model.get("type") != "BPE":
            raise ValueError(f"only BPE tokenizer models can be extended this way, got {model.get('type')!r}")
        self._json = tokenizer_json
        self._vocab: dict[str, int] = model["vocab"]
        parts = [
            *_components(tokenizer_json.get("normalizer")),
            *_components(tokenizer_json.get("pre_tokenizer")),
            *_components(tokenizer_json.get("decoder")),
        ]
        self.byte_level = any(p.get("type") == "ByteLevel" for p in parts)
        self.metaspace = not self.byte_level and any(
            p.get("type") == "Metaspace" or p.get("content") == SPACE or p.get("prepend") == SPACE for p in parts
        )
        self._added = {t["content"]: t["id"] for t in tokenizer_json.get("added_tokens", [])}
        self.first_new_id = max([*self._vocab.values(), *self._added.values()]) + 1
        atoms = (lambda token: list(token)) if self.byte_level else None
        self.planner = MergePlanner(lambda token: token in self._vocab or token in self._added, atoms=atoms)

    @property
    def family(self) -> str:
        """``"byte-level"``, ``"metaspace"`` or ``"character"``."""
        return "byte-level" if self.byte_level else "metaspace" if self.metaspace else "character"

    def units(self, surface: str) -> list[str]:
        """A surface string (``▁`` for spaces) as this vocabulary's per-character units."""
        text = surface if self.metaspace else surface.replace(SPACE, " ")
        if self.byte_level:
            return ["".join(BYTE_SYMBOLS[b] for b in ch.encode("utf-8")) for ch in text]
        return list(text)

    def token(self, surface: str) -> str:
        """The token string a surface string becomes in this vocabulary."""
        return "".join(self.units(surface))

    def surface(self, token: str) -> str:
        """The text a token stands for (inverse of :meth:`token`; ``▁`` becomes a space)."""
        if self.byte_level:
            return bytes(_SYMBOL_TO_BYTE[s] for s in token).decode("utf-8", errors="replace")
        return token.replace(SPACE, " ")

    def has(self, surface: str) -> bool:
        """True when the surface string is already one token."""
        return self.planner.known(self.token(surface))

    def accepts(self, surface: str) -> bool:
        """False for a character-level token with a space inside, which a ``"left right"`` merge cannot express."""
        return self.byte_level or self.metaspace or " " not in self.token(surface)

    def add(self, surface: str) -> list[str]:
        """Add a surface string as a reachable token; return the new tokens, intermediates first."""
        return self.planner.add(self.units(surface))

    @property
    def new_tokens(self) -> list[str]:
        """Every token added so far, in id order."""
        return self.planner.tokens

    def to_json(self, keep: int | None = None) -> dict[str, Any]:
        """The extended ``tokenizer.json``.

        Args:
            keep: Keep only the first ``keep`` new tokens (a prefix is always closed: every token's parts come first).
        """
        tokens = self.planner.tokens[:keep]
        kept = set(tokens)
        data = copy.deepcopy(self._json)
        model = data["model"]
        for content, token_id in self._added.items():
            model["vocab"].setdefault(content, token_id)  # pins the id (see the module docstring)
        for offset, token in enumerate(tokens):
            model["vocab"][token] = self.first_new_id + offset
        merges = [m for m in self.planner.merges if m.result in kept]
        as_lists = bool(model["merges"]) and isinstance(model["merges"][0], list)
        model["merges"] += [[m.left, m.right] if as_lists else f"{m.left} {m.right}" for m in merges]
        return data
