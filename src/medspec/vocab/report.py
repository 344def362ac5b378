"""What a vocabulary extension bought: tokens per character, lexicon coverage, and example segmentations.

Example:
    >>> tokens_per_character(tokenizer, ["患者术前禁食8小时。"])  # doctest: +SKIP
    1.49
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

__all__ = ["segment", "tokens_per_character", "vocabulary_report"]

_EXAMPLES = 3


def tokens_per_character(tokenizer: Any, texts: Sequence[str]) -> float:
    """Tokens (without special tokens) per non-space character over ``texts``."""
    characters = sum(len("".join(t.split())) for t in texts)
    if not characters:
        raise ValueError("tokens_per_character needs non-empty texts")
    encodings = tokenizer.backend_tokenizer.encode_batch(list(texts), add_special_tokens=False)
    return sum(len(e.ids) for e in encodings) / characters


def segment(tokenizer: Any, text: str) -> list[str]:
    """The pieces of text a tokenizer cuts ``text`` into (byte pieces of one character are shown together)."""
    encoding = tokenizer.backend_tokenizer.encode(text, add_special_tokens=False)
    pieces, last_end = [], 0
    for start, end in encoding.offsets:
        if end > last_end:  # byte-level pieces of one character share its offsets: show the character once
            pieces.append(text[max(start, last_end) : end])
            last_end = end
    return [p for p in pieces if p]


def _lexicon_coverage(tokenizer: Any, vocab: Any, lexicon: Sequence[str]) -> dict[str, float]:
    model = tokenizer.backend_tokenizer.model
    lengths = [len(model.tokenize(vocab.token(term))) for term in lexicon]
    return {
        "terms": len(lengths),
        "single_token": sum(n == 1 for n in lengths) / len(lengths),
        "tokens_per_term": sum(lengths) / len(lengths),
    }


def vocabulary_report(
    base: Any,
    extended: Any,
    vocab: Any,
    new_tokens: Sequence[Any],
    *,
    lexicon: Sequence[str] = (),
    heldout: Sequence[str] = (),
) -> dict[str, Any]:
    """Compare a base and an extended tokenizer.

    Args:
        base: The base tokenizer.
        extended: The extended tokenizer.
        vocab: The vocabulary planner that built it (converts lexicon terms to token strings).
        new_tokens: The added tokens (with ``source``).
        lexicon: Domain terms whose coverage is reported.
        heldout: Text not used for mining, for tokens per character and example segmentations.

    Returns:
        A JSON-ready dict.
    """
    terms = [t.strip() for t in lexicon if t.strip()]
    report: dict[str, Any] = {
        "family": vocab.family,
        "base_vocab_size": len(base),
        "vocab_size": len(extended),
        "added": len(new_tokens),
        "added_by_source": dict(Counter(t.source for t in new_tokens)),
        "longest_added": sorted((t.text for t in new_tokens), key=len, reverse=True)[:10],
    }
    if terms:
        report["lexicon_coverage"] = {
            "before": _lexicon_coverage(base, vocab, terms),
            "after": _lexicon_coverage(extended, vocab, terms),
        }
    if heldout:
        report["tokens_per_character"] = {
            "before": round(tokens_per_character(base, heldout), 4),
            "after": round(tokens_per_character(extended, heldout), 4),
        }
        report["examples"] = [
            {"text": text, "before": segment(base, text), "after": segment(extended, text)}
            for text in heldout[:_EXAMPLES]
        ]
    return report
