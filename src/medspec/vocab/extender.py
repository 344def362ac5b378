"""``VocabExtender``: grow a base tokenizer with Chinese and domain vocabulary, then the model with it.

One call mines candidates from a corpus (SentencePiece, jieba, a lexicon), adds them to the tokenizer as real
vocabulary (pieces of a SentencePiece model, or tokens and merges of a ``tokenizers`` BPE model), drops any added
token the tokenizer never produces, and reports tokens per character before and after. The result resizes a model
and initialises the new rows, and saves a folder that ``AutoTokenizer`` and ``AutoModelForCausalLM`` load.

Example:
    >>> from medspec import VocabExtender
    >>> extender = VocabExtender(VocabConfig(add=5000))
    >>> extension = extender.extend(tokenizer, corpus=texts, lexicon=terms)  # doctest: +SKIP
    >>> model = extension.resize_model(model)  # doctest: +SKIP
    >>> extension.save_pretrained("out/extended", model=model)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from medspec.config import to_dict
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError
from medspec.vocab.adapters import VOCAB_RECORD
from medspec.vocab.bpe import BpeVocabulary
from medspec.vocab.check import VocabCheck
from medspec.vocab.init import InitMethod, resize_and_initialize
from medspec.vocab.mining import Candidate, jieba_words, rank_candidates, train_sentencepiece
from medspec.vocab.report import vocabulary_report
from medspec.vocab.sentencepiece import SentencePieceVocabulary

__all__ = ["NewToken", "VocabConfig", "VocabExtender", "VocabExtension"]

logger = logging.getLogger(__name__)

_MAX_ROUNDS = 3


@dataclass
class VocabConfig:
    """How to extend a vocabulary.

    Attributes:
        add: Most tokens to add, intermediate tokens included (Chinese-LLaMA added about 20,000 to Llama's 32,000).
        sentencepiece_vocab_size: Size of the SentencePiece model trained on the corpus; ``None`` for ``2 * add``
            (a soft limit: a small corpus yields fewer pieces).
        sentencepiece_model_type: ``bpe`` (Chinese-LLaMA) or ``unigram``.
        sources: Candidate sources in priority order: ``lexicon`` (the user's terms, whole), ``sentencepiece``
            (pieces of a model trained on the corpus, in merge order) and ``jieba`` (the corpus's words by count).
            Lexicon first guarantees domain terms; with a small ``add``, ``sentencepiece`` first compresses more.
        jieba_min_count: Least corpus count of a jieba word.
        max_piece_chars: Longest candidate, in characters.
        cjk_only: Add only candidates containing CJK characters, so other scripts tokenise exactly as before.
        family: ``auto`` extends ``tokenizer.model`` when the tokenizer was built from one, else ``tokenizer.json``;
            ``sentencepiece`` or ``bpe`` forces one.
        init: Initialisation of new embedding rows: ``subtoken_mean``, ``mean`` or ``random``.
        pad_to_multiple_of: Round embedding rows up to a multiple of this (None: no padding).
        seed: Seed of the random initialisation.
    """

    add: int = 20000
    sentencepiece_vocab_size: int | None = None
    sentencepiece_model_type: Literal["bpe", "unigram"] = "bpe"
    sources: list[Literal["lexicon", "sentencepiece", "jieba"]] = field(
        default_factory=lambda: ["lexicon", "sentencepiece", "jieba"]
    )
    jieba_min_count: int = 3
    max_piece_chars: int = 8
    cjk_only: bool = True
    family: Literal["auto", "sentencepiece", "bpe"] = "auto"
    init: InitMethod = "subtoken_mean"
    pad_to_multiple_of: int | None = 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.add < 1:
            raise ConfigError("add", f"must be at least 1, got {self.add}")
        if self.sentencepiece_vocab_size is not None and self.sentencepiece_vocab_size < 100:
            raise ConfigError("sentencepiece_vocab_size", f"must be at least 100, got {self.sentencepiece_vocab_size}")
        if not self.sources or len(set(self.sources)) != len(self.sources):
            raise ConfigError("sources", f"must name each source at most once and at least one, got {self.sources}")
        if self.max_piece_chars < 2:
            raise ConfigError("max_piece_chars", f"must be at least 2, got {self.max_piece_chars}")
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ConfigError("pad_to_multiple_of", f"must be positive or null, got {self.pad_to_multiple_of}")


@dataclass(frozen=True)
class NewToken:
    """A token the extension added.

    Attributes:
        id: Its id in the extended tokenizer.
        token: Its string in the vocabulary (byte symbols for byte-level BPE).
        text: The text it stands for.
        source: Where it came from: ``lexicon``, ``sentencepiece``, ``jieba``, or ``intermediate`` (added only so
            that a longer token is reachable).
        sub_token_ids: The base tokenizer's ids for the same text (used to initialise its embedding).
    """

    id: int
    token: str
    text: str
    source: str
    sub_token_ids: tuple[int, ...]


@dataclass
class VocabExtension:
    """An extended tokenizer and what it takes to bring a model along.

    Attributes:
        tokenizer: The extended tokenizer (a ``PreTrainedTokenizerBase``).
        base_tokenizer: The tokenizer it was extended from.
        new_tokens: The added tokens, in id order.
        dropped: Texts of added tokens that the tokenizer never produced on the corpus, which were removed.
        report: Tokens per character before and after, counts, lexicon coverage and example segmentations.
        config: The configuration used.
        family: ``sentencepiece``, ``byte-level``, ``metaspace`` or ``character``.
        sentencepiece_model: The extended ``tokenizer.model`` bytes, for the SentencePiece family.
        embedding_rows: The model's embedding rows after :meth:`resize_model`.
        check: The guarantees checked on the saved output, when :func:`~medspec.vocab.checkpoint.extend_checkpoint`
            wrote it.
    """

    tokenizer: Any
    base_tokenizer: Any
    new_tokens: list[NewToken]
    dropped: list[str]
    report: dict[str, Any]
    config: VocabConfig
    family: str
    sentencepiece_model: bytes | None = None
    embedding_rows: int | None = field(default=None, init=False)
    check: VocabCheck | None = field(default=None, init=False)

    @property
    def new_token_ids(self) -> list[int]:
        """Ids of the added tokens: the embedding rows a LoRA stage should train."""
        return [t.id for t in self.new_tokens]

    def resize_model(self, model: Any) -> Any:
        """Resize the model's embeddings (and untied ``lm_head``) and initialise the new rows; returns the model."""
        self.embedding_rows = resize_and_initialize(
            model,
            new_ids=self.new_token_ids,
            sub_token_ids=[t.sub_token_ids for t in self.new_tokens],
            method=self.config.init,
            pad_to_multiple_of=self.config.pad_to_multiple_of,
            seed=self.config.seed,
            base_vocab_size=min(self.new_token_ids, default=len(self.base_tokenizer)),
        )
        return model

    def record(self) -> dict[str, Any]:
        """What :meth:`save_pretrained` writes to ``medspec_vocab.json``: sizes, initialisation and the new tokens."""
        return {
            "family": self.family,
            "base_vocab_size": len(self.base_tokenizer),
            "vocab_size": len(self.tokenizer),
            "embedding_rows": self.embedding_rows,
            "init": self.config.init,
            "new_tokens": [{"id": t.id, "token": t.token, "text": t.text, "source": t.source} for t in self.new_tokens],
            "dropped": self.dropped,
            "config": to_dict(self.config),
        }

    def save_pretrained(self, folder: str | Path, *, model: Any = None) -> Path:
        """Write the tokenizer (and model) so that ``AutoTokenizer`` / ``AutoModelForCausalLM`` load them.

        Raises:
            ValueError: When a model is given that was not resized with :meth:`resize_model`.
        """
        folder = Path(folder)
        if model is not None and model.get_input_embeddings().weight.shape[0] < len(self.tokenizer):
            raise ValueError(
                "the model has fewer embedding rows than the tokenizer has tokens; call resize_model first"
            )
        self.tokenizer.save_pretrained(folder)
        if self.sentencepiece_model is not None:
            (folder / "tokenizer.model").write_bytes(self.sentencepiece_model)
        if model is not None:
            model.save_pretrained(folder)
        atomic_write_text(folder / VOCAB_RECORD, json.dumps(self.record(), ensure_ascii=False, indent=1))
        atomic_write_text(folder / "vocab_report.json", json.dumps(self.report, ensure_ascii=False, indent=1))
        return folder


def _sentencepiece_bytes(tokenizer: Any) -> bytes | None:
    vocab_file = getattr(tokenizer, "vocab_file", None)
    if vocab_file and Path(vocab_file).suffix == ".model" and Path(vocab_file).is_file():
        return Path(vocab_file).read_bytes()
    return None


class VocabExtender:
    """Extends tokenizers with mined vocabulary.

    Args:
        config: The settings; defaults to :class:`VocabConfig` ().
    """

    def __init__(self, config: VocabConfig | None = None) -> None:
        self.config = config or VocabConfig()

    def mine(self, corpus: Sequence[str], *, lexicon: Sequence[str] = ()) -> list[Candidate]:
        """Candidates from the configured sources, in their priority order, best first within each."""
        config = self.config
        mined: dict[str, list[Candidate]] = {"lexicon": [Candidate(t.strip(), "lexicon") for t in lexicon if t.strip()]}
        if "sentencepiece" in config.sources:
            mined["sentencepiece"] = train_sentencepiece(
                corpus,
                vocab_size=config.sentencepiece_vocab_size or 2 * config.add,
                model_type=config.sentencepiece_model_type,
                max_piece_chars=config.max_piece_chars,
            )
        if "jieba" in config.sources:
            mined["jieba"] = jieba_words(corpus, min_count=config.jieba_min_count)
        ordered = [mined[name] for name in config.sources]
        return rank_candidates(*ordered, cjk_only=config.cjk_only, max_chars=config.max_piece_chars)

    def extend(
        self,
        tokenizer: Any,
        *,
        corpus: Sequence[str],
        lexicon: Sequence[str] = (),
        heldout: Sequence[str] = (),
    ) -> VocabExtension:
        """Extend ``tokenizer`` with vocabulary mined from ``corpus`` (and ``lexicon``).

        Args:
            tokenizer: A Hugging Face tokenizer (fast), SentencePiece-based or ``tokenizers`` BPE.
            corpus: Domain text to mine; also the text on which every added token must be produced.
            lexicon: Domain terms to add first.
            heldout: Text not in the corpus, for the tokens-per-character report.

        Returns:
            The extension: new tokenizer, new tokens, report.
        """
        started = time.perf_counter()
        candidates = self.mine(corpus, lexicon=lexicon)
        sp_model = _sentencepiece_bytes(tokenizer) if self.config.family != "bpe" else None
        if self.config.family == "sentencepiece" and sp_model is None:
            raise ConfigError("family", "the tokenizer was not built from a SentencePiece tokenizer.model")
        check_texts = [*corpus, *lexicon]
        with _Builder(tokenizer, sp_model) as builder:
            excluded: set[str] = set()
            limit = self.config.add
            for round_number in range(_MAX_ROUNDS + 1):
                vocab, sources = builder.plan(candidates, limit=limit, excluded=excluded)
                limit = min(limit, len(vocab.new_tokens))
                new_tokenizer = builder.build(vocab, limit)
                dead = _dead_tokens(new_tokenizer, vocab, limit, check_texts)
                if not dead:
                    break
                logger.info("round %d: %d added tokens never produced on the corpus", round_number + 1, len(dead))
                excluded.update(dead)
                if round_number == _MAX_ROUNDS - 1:
                    limit -= len(dead)  # last round: keep only the live tokens instead of adding more
            new_tokens = builder.describe(vocab, vocab.new_tokens[:limit], sources)
        dropped = sorted(vocab.surface(t) for t in excluded)
        report = vocabulary_report(tokenizer, new_tokenizer, vocab, new_tokens, lexicon=lexicon, heldout=heldout)
        report.update(candidates=len(candidates), dropped=len(dropped), seconds=round(time.perf_counter() - started, 2))
        return VocabExtension(
            tokenizer=new_tokenizer,
            base_tokenizer=tokenizer,
            new_tokens=new_tokens,
            dropped=dropped,
            report=report,
            config=self.config,
            family=vocab.family,
            sentencepiece_model=vocab.serialize(limit) if isinstance(vocab, SentencePieceVocabulary) else None,
        )


class _Builder:
    """Plans vocabularies and turns them into Hugging Face tokenizers, for one base tokenizer."""

    def __init__(self, tokenizer: Any, sp_model: bytes | None) -> None:
        self.tokenizer = tokenizer
        self.sp_model = sp_model
        self.base_json = json.loads(tokenizer.backend_tokenizer.to_str())
        self._scratch = tempfile.TemporaryDirectory(prefix="medspec-vocab-")
        self._base_folder = Path(self._scratch.name) / "base"
        tokenizer.save_pretrained(self._base_folder)

    def __enter__(self) -> _Builder:
        return self

    def __exit__(self, *exc: object) -> None:
        self._scratch.cleanup()

    def plan(
        self, candidates: Sequence[Candidate], *, limit: int, excluded: set[str]
    ) -> tuple[BpeVocabulary | SentencePieceVocabulary, dict[str, str]]:
        """Add candidates in order until ``limit`` new tokens, skipping excluded tokens and known ones."""
        vocab = (
            SentencePieceVocabulary(self.sp_model, added_tokens=self.base_json.get("added_tokens", []))
            if self.sp_model
            else BpeVocabulary(self.base_json)
        )
        sources: dict[str, str] = {}
        for candidate in candidates:
            if len(vocab.new_tokens) >= limit:
                break
            token = vocab.token(candidate.text)
            if token in excluded or vocab.has(candidate.text) or not vocab.accepts(candidate.text):
                continue
            vocab.add(candidate.text)
            sources.setdefault(token, candidate.source)
        return vocab, sources

    def build(self, vocab: BpeVocabulary | SentencePieceVocabulary, keep: int) -> Any:
        """A Hugging Face tokenizer with the first ``keep`` new tokens, sharing the base's config and template."""
        from transformers import AutoTokenizer

        with tempfile.TemporaryDirectory(dir=self._scratch.name) as scratch:
            folder = Path(scratch)
            for path in self._base_folder.iterdir():
                if path.name not in ("tokenizer.json", "tokenizer.model"):
                    (folder / path.name).write_bytes(path.read_bytes())
            if isinstance(vocab, SentencePieceVocabulary):
                # transformers converts the extended tokenizer.model into a fast BPE model; the rest of the base
                # pipeline (normalizer, special-token post-processor, decoder) is kept as it was.
                (folder / "tokenizer.model").write_bytes(vocab.serialize(keep))
                converted = json.loads(AutoTokenizer.from_pretrained(folder).backend_tokenizer.to_str())
                data = {**self.base_json, "model": converted["model"]}
            else:
                data = vocab.to_json(keep)
            (folder / "tokenizer.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
            return AutoTokenizer.from_pretrained(folder)

    def describe(self, vocab: Any, tokens: list[str], sources: dict[str, str]) -> list[NewToken]:
        """The new tokens with their ids, texts, sources and the base tokenizer's ids for the same text."""
        base_model = self.tokenizer.backend_tokenizer.model
        new = []
        for offset, token in enumerate(tokens):
            sub_ids = tuple(t.id for t in base_model.tokenize(token))
            source = sources.get(token, "intermediate")
            new.append(NewToken(vocab.first_new_id + offset, token, vocab.surface(token), source, sub_ids))
        return new


def _dead_tokens(tokenizer: Any, vocab: Any, keep: int, texts: Sequence[str]) -> list[str]:
    """New tokens the tokenizer never emits on ``texts`` and that no emitted new token is built from."""
    tokens = vocab.new_tokens[:keep]
    first = vocab.first_new_id
    emitted: set[int] = set()
    for encoding in tokenizer.backend_tokenizer.encode_batch(list(texts), add_special_tokens=False):
        emitted.update(i for i in encoding.ids if i >= first)
    live = {tokens[i - first] for i in emitted if i - first < len(tokens)}
    parts = {m.result: (m.left, m.right) for m in vocab.planner.merges}
    stack = list(live)
    while stack:
        for part in parts.get(stack.pop(), ()):
            if part not in live:
                live.add(part)
                stack.append(part)
    return [t for t in tokens if t not in live]
