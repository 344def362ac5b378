"""Mining candidate vocabulary from a domain corpus.

Three sources, merged in priority order by :func:`rank_candidates`:

* a user **lexicon** of domain terms (``丙泊酚``, ``局麻药全身毒性``): the terms a specialist most wants whole;
* a **SentencePiece** model trained on the corpus, the Chinese-LLaMA recipe: its pieces in score order, which for a
  BPE model is the order in which they were merged, so every piece comes after the pieces it is made of;
* **jieba** word counts over the corpus: multi-character words the corpus actually uses, most frequent first.

Candidates are surface strings in SentencePiece notation (``▁`` for a space); each tokenizer family converts them to
its own representation.

Example:
    >>> texts = ["患者术前禁食八小时，麻醉诱导采用丙泊酚。"] * 20 + ["丙泊酚注射痛可用利多卡因预处理。"] * 20
    >>> pieces = train_sentencepiece(texts, vocab_size=300)
    >>> "丙泊酚" in [p.text for p in pieces]
    True
"""

from __future__ import annotations

import io
import logging
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["Candidate", "has_cjk", "jieba_words", "rank_candidates", "train_sentencepiece"]

logger = logging.getLogger(__name__)

SPACE = "▁"
_META_PIECES = {"<unk>", "<s>", "</s>", "<pad>"}


@dataclass(frozen=True)
class Candidate:
    """A candidate vocabulary item.

    Attributes:
        text: Surface string in SentencePiece notation (``▁`` marks a space).
        source: ``"lexicon"``, ``"sentencepiece"`` or ``"jieba"``.
        score: The source's own score: SentencePiece piece score or jieba word count (1 for lexicon terms).
    """

    text: str
    source: str
    score: float = 1.0


def has_cjk(text: str) -> bool:
    """True when the text contains a CJK ideograph.

    Example:
        >>> has_cjk("BIS值"), has_cjk("mg/kg")
        (True, False)
    """
    return any("CJK" in unicodedata.name(ch, "") for ch in text)


def train_sentencepiece(
    texts: Iterable[str],
    *,
    vocab_size: int,
    model_type: Literal["bpe", "unigram"] = "bpe",
    max_piece_chars: int = 8,
    character_coverage: float = 0.9995,
) -> list[Candidate]:
    """Train a SentencePiece model in memory on ``texts`` and return its pieces, best first.

    Args:
        texts: Training sentences (one paragraph each is fine; SentencePiece caps sentence length at 4,192 bytes).
        vocab_size: Upper bound on the model's size; a small corpus yields fewer pieces (the limit is soft), and it
            is raised to the corpus's character count plus the byte pieces when smaller.
        model_type: ``bpe`` (Chinese-LLaMA's choice: pieces come out in merge order) or ``unigram``.
        max_piece_chars: Longest piece, in characters.
        character_coverage: Share of characters the model must cover; rarer characters are left to byte fallback.

    Returns:
        Pieces other than meta and byte pieces, in the model's score order.
    """
    import sentencepiece as spm

    sentences = [t.strip() for t in texts if t.strip()]
    if not sentences:
        raise ValueError("train_sentencepiece needs at least one non-empty text")
    # SentencePiece refuses a vocabulary smaller than its characters plus 256 byte pieces and the meta pieces.
    floor = len(set("".join(sentences))) + 256 + 8
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=max(vocab_size, floor),
        model_type=model_type,
        max_sentencepiece_length=max_piece_chars,
        character_coverage=character_coverage,
        byte_fallback=True,
        split_digits=True,
        hard_vocab_limit=False,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        minloglevel=2,  # SentencePiece logs every trainer step to stderr by default
        num_threads=2,
    )
    processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = []
    for piece_id in range(processor.get_piece_size()):
        piece = processor.id_to_piece(piece_id)
        if piece in _META_PIECES or processor.is_byte(piece_id) or processor.is_control(piece_id):
            continue
        pieces.append(Candidate(piece, "sentencepiece", processor.get_score(piece_id)))
    logger.info("trained a %s SentencePiece model: %d pieces", model_type, len(pieces))
    return sorted(pieces, key=lambda c: -c.score)


def jieba_words(texts: Iterable[str], *, min_count: int = 3, min_chars: int = 2) -> list[Candidate]:
    """Segment texts with jieba and return its multi-character words, most frequent first.

    Args:
        texts: The corpus.
        min_count: Words seen fewer times are left out.
        min_chars: Shortest word kept.
    """
    import jieba

    jieba.setLogLevel(logging.WARNING)
    counts = Counter(word for text in texts for word in jieba.cut(text) if len(word) >= min_chars and has_cjk(word))
    return [Candidate(w, "jieba", n) for w, n in counts.most_common() if n >= min_count]


def rank_candidates(
    *sources: Sequence[Candidate],
    cjk_only: bool = True,
    max_chars: int = 8,
) -> list[Candidate]:
    """Merge candidate lists in priority order, dropping repeats.

    Args:
        sources: Candidate lists, highest priority first (lexicon, then SentencePiece, then jieba).
        cjk_only: Keep only candidates containing a CJK character, so tokenisation of other scripts is unchanged.
        max_chars: Longest candidate kept, in characters (``▁`` counted).

    Example:
        >>> lexicon = [Candidate("丙泊酚", "lexicon")]
        >>> spm_pieces = [Candidate("丙泊", "sentencepiece", -1.0), Candidate("mg", "sentencepiece", -2.0)]
        >>> [c.text for c in rank_candidates(lexicon, spm_pieces)]
        ['丙泊酚', '丙泊']
    """
    seen: set[str] = set()
    ranked = []
    for source in sources:
        for candidate in source:
            text = candidate.text
            if text in seen or not text.strip(SPACE) or len(text) > max_chars or (cjk_only and not has_cjk(text)):
                continue
            seen.add(text)
            ranked.append(candidate)
    return ranked
