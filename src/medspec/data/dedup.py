"""Exact and near-duplicate removal, and decontamination of training data against a benchmark.

Texts are compared after normalisation (NFKC, lower case, no whitespace or punctuation) as sets of character
n-grams, which suits Chinese, where words are not delimited.

* :func:`deduplicate` removes exact duplicates by hash and near duplicates by MinHash locality-sensitive hashing,
  confirming each candidate pair with its true Jaccard similarity, so the cost stays near linear in the data size.
* :class:`Decontaminator` indexes the n-grams of each *unit* of each benchmark item (a question with its options, a
  reference answer, a case text, one case question with its answer) and flags training records whose overlap
  coefficient (shared n-grams over the n-grams of the smaller of the two) with any unit reaches a threshold: a record
  that contains a benchmark question, or is contained in a benchmark answer, is caught either way. Units under 20
  characters are not indexed: a short shared phrase is common medical language, not a leaked item.

Example:
    >>> from medspec.data.schema import Instruction
    >>> a = Instruction(id="a", instruction="丙泊酚的常用诱导剂量是多少？", output="成人一般为1.5～2.5 mg/kg。")
    >>> b = Instruction(id="b", instruction="丙泊酚常用的诱导剂量是多少?", output="成人一般为1.5～2.5 mg/kg。")
    >>> [r.id for r in deduplicate([a, b], threshold=0.5).kept]
    ['a']
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from medspec.data.schema import ChoiceQuestion, ClinicalCase, Document, Instruction, PreferencePair, Record

__all__ = ["DecontaminationReport", "Decontaminator", "DedupResult", "Overlap", "deduplicate", "normalize_text"]


_MIN_UNIT_CHARS = 20


def _units(record: Record) -> list[str]:
    """The texts of a benchmark item that can leak into training data on their own."""
    if isinstance(record, ChoiceQuestion):
        options = "\n".join(record.options.values())
        return [f"{record.question}\n{options}", record.explanation]
    if isinstance(record, Instruction):
        return [record.prompt_text(), record.output]
    if isinstance(record, ClinicalCase):
        return [record.case, *(f"{q.question}\n{q.answer}" for q in record.questions)]
    if isinstance(record, PreferencePair):
        return [record.prompt, record.chosen, record.rejected]
    assert isinstance(record, Document)
    return [record.text]


def normalize_text(text: str) -> str:
    """NFKC-normalise, lower-case and drop whitespace and punctuation.

    Example:
        >>> normalize_text("ＡＳＡ Ⅲ级， 患者！")
        'asaiii级患者'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch).startswith("P")))


def _ngrams(text: str, n: int) -> set[str]:
    if len(text) <= n:
        return {text} if text else set()
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def _stable_hashes(grams: Iterable[str]) -> np.ndarray:
    # blake2b rather than hash(): identical across processes, so results do not depend on PYTHONHASHSEED.
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "little") >> 4 for g in grams),
        dtype=np.uint64,
    )


@dataclass
class DedupResult:
    """What :func:`deduplicate` kept and removed.

    Attributes:
        kept: Records kept, in input order.
        removed: ``(removed record, id of the kept record it duplicates, Jaccard similarity)``.
    """

    kept: list[Record]
    removed: list[tuple[Record, str, float]] = field(default_factory=list)


def deduplicate(
    records: Sequence[Record],
    *,
    threshold: float = 0.7,
    ngram: int = 5,
    num_perm: int = 128,
    bands: int = 32,
    seed: int = 0,
) -> DedupResult:
    """Remove exact and near-duplicate records, keeping the first of each group.

    Args:
        records: Records of any type; compared on :meth:`content`.
        threshold: Jaccard similarity of character n-gram sets at or above which two records are duplicates.
        ngram: Character n-gram length.
        num_perm: MinHash permutations; more gives fewer missed pairs.
        bands: LSH bands (``num_perm`` must divide evenly); with 128/32 a pair at Jaccard 0.7 is found with
            probability above 0.999.
        seed: Seed of the MinHash permutations.

    Returns:
        The kept records and the removed ones with the reason.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if num_perm % bands:
        raise ValueError(f"num_perm ({num_perm}) must be a multiple of bands ({bands})")
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # odd multipliers
    b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
    rows = num_perm // bands
    # One dict per band, keyed by the hash of the band's values (a collision only adds a candidate, which the exact
    # Jaccard check then rejects): a small int key instead of a (band, bytes) tuple per record and band.
    buckets: list[dict[int, list[int]]] = [defaultdict(list) for _ in range(bands)]
    exact: dict[bytes, int] = {}  # digest of the normalised text -> first record with it
    grams: dict[int, np.ndarray] = {}  # kept record -> its sorted n-gram hashes: 8 bytes an n-gram, not a string
    result = DedupResult(kept=[])
    kept_index: list[int] = []
    for i, record in enumerate(records):
        text = normalize_text(record.content())
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        twin = exact.get(digest)
        if twin is not None:
            result.removed.append((record, records[twin].id, 1.0))
            continue
        hashes = np.unique(_stable_hashes(_ngrams(text, ngram)))  # (G,) sorted
        signature = _minhash(hashes, a, b)
        match = _best_match(hashes, signature, rows, buckets, grams, threshold)
        if match is not None:
            result.removed.append((record, records[match[0]].id, match[1]))
            continue
        exact[digest] = i
        grams[i] = hashes
        kept_index.append(i)
        for band, keys in enumerate(buckets):
            keys[hash(signature[band * rows : (band + 1) * rows].tobytes())].append(i)
    result.kept = [records[i] for i in kept_index]
    return result


def _minhash(hashes: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if not hashes.size:
        return np.zeros(len(a), dtype=np.uint64)
    # (P, G): one multiply-add hash per permutation, in uint64 arithmetic that wraps modulo 2**64.
    products = np.multiply.outer(a, hashes) + b[:, None]
    return products.min(axis=1)  # (P,)


def _best_match(
    hashes: np.ndarray,
    signature: np.ndarray,
    rows: int,
    buckets: list[dict[int, list[int]]],
    grams: dict[int, np.ndarray],
    threshold: float,
) -> tuple[int, float] | None:
    candidates = {
        j
        for band, keys in enumerate(buckets)
        for j in keys.get(hash(signature[band * rows : (band + 1) * rows].tobytes()), ())
    }
    best: tuple[int, float] | None = None
    for j in sorted(candidates):
        shared = np.intersect1d(hashes, grams[j], assume_unique=True).size
        union = hashes.size + grams[j].size - shared
        similarity = shared / union if union else 1.0
        if similarity >= threshold and (best is None or similarity > best[1]):
            best = (j, similarity)
    return best


@dataclass(frozen=True)
class Overlap:
    """A training record that overlaps a benchmark item.

    Attributes:
        record_id: The training record.
        benchmark_id: The benchmark item it overlaps most.
        score: Shared n-grams divided by the n-grams of the smaller of the two.
    """

    record_id: str
    benchmark_id: str
    score: float


@dataclass
class DecontaminationReport:
    """The result of :meth:`Decontaminator.check`.

    Attributes:
        clean: Training records below the threshold, in input order.
        overlaps: One :class:`Overlap` per flagged training record.
    """

    clean: list[Record]
    overlaps: list[Overlap]

    def summary(self) -> dict[str, object]:
        """Counts and the flagged pairs, JSON-ready."""
        return {"clean": len(self.clean), "flagged": len(self.overlaps), "overlaps": [vars(o) for o in self.overlaps]}


class Decontaminator:
    """Flags training records that overlap benchmark items.

    Args:
        benchmark: The benchmark items (any record types).
        ngram: Character n-gram length; 10 characters is about four or five Chinese words.
        threshold: Overlap coefficient at or above which a record is contaminated.

    Example:
        >>> from medspec.data.schema import Instruction
        >>> question = "简述恶性高热发作时的首选治疗药物、剂量及其用法。"
        >>> bench = [Instruction(id="q1", instruction=question, output="丹曲林……")]
        >>> train = [Instruction(id="t1", instruction="请" + question, output="丹曲林"),
        ...          Instruction(id="t2", instruction="腰麻后头痛如何处理？", output="卧床、补液、血补丁。")]
        >>> [o.record_id for o in Decontaminator(bench).check(train).overlaps]
        ['t1']
    """

    def __init__(self, benchmark: Iterable[Record], *, ngram: int = 10, threshold: float = 0.5) -> None:
        if ngram < 2:
            raise ValueError(f"ngram must be at least 2, got {ngram}")
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        self.ngram = ngram
        self.threshold = threshold
        self._ids: list[str] = []  # benchmark id of each indexed unit
        self._sizes: list[int] = []  # n-grams in each indexed unit
        self._index: dict[str, list[int]] = defaultdict(list)
        for item in benchmark:
            for unit in _units(item):
                text = normalize_text(unit)
                if len(text) < max(ngram, _MIN_UNIT_CHARS):
                    continue
                grams = _ngrams(text, ngram)
                for gram in grams:
                    self._index[gram].append(len(self._ids))
                self._ids.append(item.id)
                self._sizes.append(len(grams))

    def best_overlap(self, record: Record) -> Overlap | None:
        """Return the record's largest overlap with any benchmark unit, or None when it shares no n-gram."""
        grams = _ngrams(normalize_text(record.content()), self.ngram)
        shared: Counter[int] = Counter()
        index = self._index
        for gram in grams & index.keys():  # most n-grams of a training record are in no benchmark unit
            shared.update(index[gram])
        if not shared:
            return None
        scores = ((count / max(1, min(len(grams), self._sizes[j])), j) for j, count in shared.items())
        score, j = max(scores)
        return Overlap(record_id=record.id, benchmark_id=self._ids[j], score=round(score, 4))

    def check(self, records: Iterable[Record]) -> DecontaminationReport:
        """Split training records into clean ones and those at or above the threshold."""
        clean, overlaps = [], []
        for record in records:
            overlap = self.best_overlap(record)
            if overlap is not None and overlap.score >= self.threshold:
                overlaps.append(overlap)
            else:
                clean.append(record)
        return DecontaminationReport(clean=clean, overlaps=overlaps)
