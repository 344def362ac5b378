"""Extending a SentencePiece model (``tokenizer.model``: Llama-1/2, Baichuan) by appending pieces to its proto.

This is the Chinese-LLaMA recipe: new pieces are appended after every existing piece, so old ids do not move. A BPE
SentencePiece model merges the adjacent pair whose concatenation is a piece with the highest score, so a new
multi-character piece needs its halves to be pieces too (added first when missing) and a score below every
existing piece, which keeps the segmentation of text the new pieces do not cover unchanged.

A tokenizer can hold added tokens past the proto's last piece (a ``<pad>`` at 32000 in many Llama-2 fine-tunes).
Those ids must not go to new pieces, so each such token becomes a piece at its own id first: a control piece for a
special token (never produced from text), a user-defined piece otherwise (matched whole, as an added token is).

Example:
    >>> import io, sentencepiece as spm
    >>> buffer = io.BytesIO()
    >>> spm.SentencePieceTrainer.train(sentence_iterator=iter(["麻醉诱导", "麻醉维持"] * 10), model_writer=buffer,
    ...     vocab_size=300, model_type="bpe", hard_vocab_limit=False, minloglevel=2, byte_fallback=True)
    >>> vocab = SentencePieceVocabulary(buffer.getvalue())
    >>> vocab.add("苏醒")
    ['苏', '醒', '苏醒']
    >>> processor = spm.SentencePieceProcessor(model_proto=vocab.serialize())
    >>> processor.encode("麻醉苏醒", out_type=str)[-1]
    '苏醒'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sentencepiece import sentencepiece_model_pb2 as model_pb2

from medspec.errors import ConfigError
from medspec.vocab.merges import MergePlanner
from medspec.vocab.mining import SPACE

__all__ = ["SentencePieceVocabulary"]

_BPE = 2  # TrainerSpec.ModelType.BPE
_NORMAL = 1  # SentencePiece.Type.NORMAL
_CONTROL = 3
_USER_DEFINED = 4


class SentencePieceVocabulary:
    """A SentencePiece model proto that grows by reachable pieces.

    Args:
        model_proto: The serialized model (the bytes of ``tokenizer.model``).
        added_tokens: The tokenizer's added tokens (``tokenizer.json``'s ``added_tokens``: ``content``, ``id``,
            ``special``); those past the proto's last piece are pinned to their ids as pieces.

    Raises:
        ConfigError: For a unigram model, whose pieces are scored log-probabilities that appended pieces cannot be
            given without retraining (extend its ``tokenizer.json`` instead, or retrain), or for added tokens whose
            ids leave a gap after the proto's last piece, which a proto cannot express.
    """

    family = "sentencepiece"

    def __init__(self, model_proto: bytes, *, added_tokens: Sequence[Mapping[str, Any]] = ()) -> None:
        self._proto = model_pb2.ModelProto()
        self._proto.ParseFromString(model_proto)
        if self._proto.trainer_spec.model_type != _BPE:
            raise ConfigError("tokenizer.model", "only BPE SentencePiece models can be extended by appending pieces")
        self._pin_added_tokens(added_tokens)
        pieces = {p.piece for p in self._proto.pieces}
        self._lowest_score = min(p.score for p in self._proto.pieces)
        self.first_new_id = len(self._proto.pieces)
        self.planner = MergePlanner(pieces.__contains__)

    def _pin_added_tokens(self, added_tokens: Sequence[Mapping[str, Any]]) -> None:
        for token in sorted((t for t in added_tokens if t["id"] >= len(self._proto.pieces)), key=lambda t: t["id"]):
            if token["id"] != len(self._proto.pieces):
                raise ConfigError(
                    "tokenizer.model",
                    f"added token {token['content']!r} has id {token['id']}, but the proto ends at id "
                    f"{len(self._proto.pieces) - 1}: a SentencePiece model cannot leave a gap; extend the "
                    "tokenizer.json instead (family: bpe)",
                )
            entry = self._proto.pieces.add()
            entry.piece = token["content"]
            entry.type = _CONTROL if token.get("special", True) else _USER_DEFINED
            entry.score = 0.0

    def units(self, surface: str) -> list[str]:
        """The characters of a surface string (SentencePiece notation: ``▁`` for a space)."""
        return list(surface)

    def token(self, surface: str) -> str:
        """The piece a surface string becomes (the same string)."""
        return surface

    def surface(self, token: str) -> str:
        """The text a piece stands for."""
        return token.replace(SPACE, " ")

    def has(self, surface: str) -> bool:
        """True when the surface string is already one piece."""
        return self.planner.known(surface)

    def accepts(self, surface: str) -> bool:
        """Every surface string can be a piece."""
        return True

    def add(self, surface: str) -> list[str]:
        """Add a piece and any missing halves; return the new pieces, halves first."""
        return self.planner.add(self.units(surface))

    @property
    def new_tokens(self) -> list[str]:
        """Every piece added so far, in id order."""
        return self.planner.tokens

    def serialize(self, keep: int | None = None) -> bytes:
        """The extended model proto, keeping the first ``keep`` new pieces (all when None)."""
        proto = model_pb2.ModelProto()
        proto.CopyFrom(self._proto)
        for rank, piece in enumerate(self.planner.tokens[:keep]):
            entry = proto.pieces.add()
            entry.piece = piece
            entry.type = _NORMAL
            # Below every existing score, in the order added, so parts merge before the pieces built from them.
            entry.score = self._lowest_score - 1.0 - rank
        return proto.SerializeToString()
