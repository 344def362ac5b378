"""Tests on the UTF-8 bytes of a pyarrow string array, with numpy: what its texts start or end with, and whether
any byte is a control character.

pyarrow's string kernels read every byte of every text; these look at a few bytes per text, or scan the buffer at
memory speed, which is what column-wise conversion (:mod:`medspec.data.columnar`) needs to stay ahead of parsing.

Example:
    >>> import pyarrow as pa
    >>> texts = pa.array(["　全麻", "腰麻 ", "A"])
    >>> starts_with_any(texts, "\\u3000 ").tolist(), ends_with_any(texts, " ").tolist()
    ([True, False, False], [False, True, False])
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

__all__ = [
    "Lines",
    "Spans",
    "char_in",
    "ends_with_any",
    "has_byte_below",
    "lines_of",
    "special_bytes",
    "starts_with_any",
    "utf8_bytes",
]


def utf8_bytes(texts: pa.StringArray) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of the texts, and the bounds of each (``bounds[i]`` to ``bounds[i + 1]``), without copying."""
    _, offsets, values = texts.buffers()
    bounds = np.frombuffer(offsets, dtype=np.int32, count=len(texts) + 1, offset=texts.offset * 4)
    data = np.frombuffer(values, dtype=np.uint8) if values is not None else np.zeros(0, dtype=np.uint8)
    return data, bounds.astype(np.int64)


class _CharSet:
    """A set of characters as the byte tables that find them: the one-byte ones by their byte, the longer ones by
    their first (or last) byte first, then by their whole encoding."""

    def __init__(self, chars: str) -> None:
        encoded = {c.encode() for c in chars}
        self.single = np.zeros(256, dtype=bool)
        self.single[[e[0] for e in encoded if len(e) == 1]] = True
        self.longer = sorted({int.from_bytes(e, "big") for e in encoded if len(e) > 1})
        self.widths = sorted({len(e) for e in encoded if len(e) > 1})
        self.first = np.zeros(256, dtype=bool)
        self.first[[e[0] for e in encoded if len(e) > 1]] = True
        self.last = np.zeros(256, dtype=bool)
        self.last[[e[-1] for e in encoded if len(e) > 1]] = True


@functools.lru_cache(maxsize=32)
def _char_set(chars: str) -> _CharSet:
    return _CharSet(chars)


def char_in(
    data: np.ndarray, starts: np.ndarray, lengths: np.ndarray, chars: str, *, at_end: bool = False
) -> np.ndarray:
    """Per span of ``data`` (``starts``, ``lengths``), whether the character at its start (or end) is one of
    ``chars``."""
    if not data.size or not len(starts):
        return np.zeros(len(starts), dtype=bool)
    table = _char_set(chars)
    top = data.size - 1
    edge = np.minimum(np.maximum(starts + lengths - 1 if at_end else starts, 0), top)
    edge_bytes = data[edge]
    found = table.single[edge_bytes] & (lengths >= 1)
    if not table.widths:
        return found
    # a longer character: only where the edge byte can be one's, read its whole encoding
    candidates = np.flatnonzero((table.last if at_end else table.first)[edge_bytes] & (lengths >= 2))
    for width in table.widths:
        spans = candidates[lengths[candidates] >= width]
        begin = edge[spans] - (width - 1) if at_end else edge[spans]
        code = np.zeros(spans.size, dtype=np.int64)
        for j in range(width):
            code = (code << 8) | data[np.minimum(begin + j, top)]
        found[spans] |= np.isin(code, table.longer)
    return found


def starts_with_any(texts: pa.StringArray, chars: str, skip: int = 0) -> np.ndarray:
    """Per text, whether its first character after ``skip`` bytes is one of ``chars``."""
    data, bounds = utf8_bytes(texts)
    starts = bounds[:-1] + skip
    return char_in(data, starts, bounds[1:] - starts, chars)


def ends_with_any(texts: pa.StringArray, chars: str) -> np.ndarray:
    """Per text, whether its last character is one of ``chars``."""
    data, bounds = utf8_bytes(texts)
    return char_in(data, bounds[:-1], np.diff(bounds), chars, at_end=True)


def _used(texts: pa.StringArray) -> np.ndarray:
    data, bounds = utf8_bytes(texts)
    return data[bounds[0] : bounds[-1]]


def has_byte_below(texts: pa.StringArray, value: int) -> bool:
    """Whether any byte of the texts is below ``value`` (``0x20``: a control character, tab and line breaks)."""
    used = _used(texts)
    return bool(used.size) and int(used.min()) < value


def special_bytes(texts: pa.StringArray, among: frozenset[int] | None = None) -> frozenset[int]:
    """The bytes of the texts that JSON escapes: control characters, the quote and the backslash; only those
    ``among`` a few, when the caller knows no other can be there."""
    used = _used(texts)
    if among is not None and len(among) <= 3:
        return frozenset(byte for byte in among if (used == byte).any())
    special = used < 0x20
    special |= used == 0x22
    special |= used == 0x5C
    return frozenset(np.unique(used[special]).tolist())


@dataclass(frozen=True)
class Lines:
    """The lines of each text (split at ``\\n``, as ``str.split("\\n")`` splits), as spans of its bytes.

    Attributes:
        data: The texts' bytes.
        starts: Where each line starts in ``data``, text by text.
        lengths: Each line's length in bytes.
        counts: How many lines each text has (an empty text has one, empty).
        place: Each line's place in its text, from 0.
    """

    data: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray
    counts: np.ndarray
    place: np.ndarray


def lines_of(texts: pa.StringArray) -> Lines:
    """Split every text into lines, reading only the line breaks.

    Example:
        >>> lines = lines_of(pa.array(["A 甲\\nB 乙", "C"]))
        >>> lines.counts.tolist(), lines.lengths.tolist(), lines.place.tolist()
        ([2, 1], [5, 5, 1], [0, 1, 0])
    """
    data, bounds = utf8_bytes(texts)
    used = data[bounds[0] : bounds[-1]]
    breaks = np.flatnonzero(used == 0x0A) + bounds[0]
    counts = np.diff(np.searchsorted(breaks, bounds)) + 1
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)  # each text's first line
    total = int(counts.sum())
    starts, ends = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    later = np.ones(total, dtype=bool)
    later[first] = False
    starts[first], starts[later] = bounds[:-1], breaks + 1
    earlier = np.ones(total, dtype=bool)
    earlier[first + counts - 1] = False
    ends[first + counts - 1], ends[earlier] = bounds[1:], breaks
    place = np.arange(total) - np.repeat(first, counts)
    return Lines(data, starts, ends - starts, counts, place)


class Spans:
    """Pieces of the bytes of ``texts`` as string arrays (:meth:`take`), with what every call would redo done once.

    A piece becomes a string view over the texts' bytes, and the view is cast: one copy of the bytes, where a string
    kernel would decode every character to find them.

    Example:
        >>> texts = pa.array(["A 甲\\nB 乙丙"])
        >>> Spans(texts).take(np.array([2, 8]), np.array([3, 6]), np.array([True, True])).to_pylist()
        ['甲', '乙丙']
    """

    def __init__(self, texts: pa.StringArray) -> None:
        _, _, self._values = texts.buffers()
        data = np.frombuffer(self._values, dtype=np.uint8) if self._values is not None else np.zeros(0, np.uint8)
        self._size = data.size
        self._windows = np.lib.stride_tricks.sliding_window_view(np.concatenate([data, np.zeros(12, np.uint8)]), 12)

    def take(self, starts: np.ndarray, lengths: np.ndarray, present: np.ndarray) -> pa.StringArray:
        """The pieces ``starts``/``lengths`` (byte offsets into the texts' buffer), null where not ``present``."""
        count = len(starts)
        starts = np.where(present, np.minimum(starts, self._size), 0).astype(np.int32)
        lengths = np.where(present, lengths, 0).astype(np.int32)
        # a view: the length, then up to 12 bytes inline, or the first 4 bytes, buffer 0 and the offset
        inline = (self._windows[starts] * (np.arange(12) < lengths[:, None])).view(np.int32)
        long = lengths > 12
        views = np.empty((count, 4), dtype=np.int32)
        views[:, 0] = lengths
        views[:, 1] = inline[:, 0]
        views[:, 2] = np.where(long, 0, inline[:, 1])
        views[:, 3] = np.where(long, starts, inline[:, 2])
        validity = pa.py_buffer(np.packbits(present, bitorder="little"))
        view = pa.Array.from_buffers(pa.string_view(), count, [validity, pa.py_buffer(views), self._values])
        return view.cast(pa.string())
