"""Data files cut into blocks of whole rows, for the column-wise path of :mod:`medspec.data.columnar`.

A block is a few MiB of the file that ends at a line break. In a CSV file only a line break outside quotes ends a
block (an even number of ``"`` before it), so every block starts at a row and is read on its own. Each block knows
its first line number, counted the way the row readers count (``\\n`` in JSONL; ``\\n``, ``\\r\\n`` and ``\\r`` in
CSV), so a row read from a block carries the line it has in the file.

A CSV block ends where the quotes before it are even; :func:`csv_facts`, one pass over its special bytes, tells
whether that holds (every quote in its place) and whether pyarrow reads its cells as Python's strict reader does.

A file whose rows cannot be cut (a quote that is never closed, a line of more than ``MAX_BLOCK_BYTES``) ends in a
block marked ``rest``: its data is empty and the row readers take the file from its offset to the end.

Example:
    >>> import io
    >>> data = b'Question,Options\\n"q1","A x\\nB y"\\nq2,"A x\\nB y"\\n'
    >>> [(b.first_line, b.data) for b in blocks(io.BytesIO(data), quoted=True, size=20)]
    [(1, b'Question,Options\\n'), (2, b'"q1","A x\\nB y"\\n'), (4, b'q2,"A x\\nB y"\\n')]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

import numpy as np

__all__ = ["BLOCK_BYTES", "MAX_BLOCK_BYTES", "MIN_FILE_BYTES", "Block", "CsvFacts", "blocks", "csv_facts"]

BLOCK_BYTES = 4 * 2**20
MAX_BLOCK_BYTES = 64 * 2**20
# below this a file is read row by row: quicker than loading pyarrow's readers (a fifth of a second) to save little
MIN_FILE_BYTES = 2**20
_QUOTE, _LF, _CR = ord('"'), ord("\n"), ord("\r")
_AROUND_QUOTE = np.array([ord(c) for c in ',\n\r"'], dtype=np.uint8)  # what may stand beside a quote of a field


@dataclass(frozen=True)
class Block:
    """Whole rows of a file.

    Attributes:
        data: The bytes, ending at a line break (or at the end of the file).
        first_line: The line number of its first line in the file.
        offset: Its byte offset in the file.
        rest: True for a file whose remaining rows cannot be cut: ``data`` is empty and the rows from ``offset`` on
            are read row by row.
    """

    data: bytes
    first_line: int
    offset: int
    rest: bool = False


def blocks(
    f: IO[bytes], *, quoted: bool, first_line: int = 1, offset: int = 0, size: int = BLOCK_BYTES
) -> Iterator[Block]:
    """Cut a file into blocks of about ``size`` bytes, from ``offset``.

    Args:
        f: The file, opened in binary mode.
        quoted: CSV: cut only at line breaks outside quotes.
        first_line: The line number at ``offset``.
        offset: Where to start, in bytes.
        size: How many bytes to read at a time.

    Returns:
        The blocks in file order; the last is a ``rest`` block when the remaining rows cannot be cut.
    """
    reading = size
    while True:
        f.seek(offset)  # the part after the last cut is read again: cheaper than keeping and joining it
        data = f.read(reading)
        if not data:
            return
        end = len(data) < reading  # a short read: the end of the file
        if quoted:
            found = _csv_block(data, first_line, offset, end=end)
        else:
            found = _line_block(data, first_line, offset, end=end)
        if found is None:  # no row ends in what was read
            if end or reading > MAX_BLOCK_BYTES:  # a quote never closed, or a row too long to cut
                yield Block(b"", first_line, offset, rest=True)
                return
            reading *= 2
            continue
        block, lines = found
        yield block
        if block.rest or (end and len(block.data) == len(data)):
            return
        reading = size
        first_line += lines
        offset += len(block.data)


def _line_block(data: bytes, first_line: int, offset: int, *, end: bool) -> tuple[Block, int] | None:
    """The lines of ``data`` up to its last ``\\n`` (all of it at the end of the file), and how many there are;
    ``None`` when no line ends in ``data``."""
    cut = len(data) if end else data.rfind(b"\n") + 1
    if not cut:
        return None
    return Block(data[:cut], first_line, offset), data.count(b"\n", 0, cut)


def _csv_block(data: bytes, first_line: int, offset: int, *, end: bool) -> tuple[Block, int] | None:
    """The rows of ``data`` up to its last line break outside quotes (all of it at the end of the file), and how many
    lines they are; ``None`` when no row ends in ``data``. Outside quotes means after an even number of them, which
    holds while every quote is in its place: :func:`csv_facts` checks that for the block."""
    array = np.frombuffer(data, dtype=np.uint8)
    if end:
        if np.count_nonzero(array == _QUOTE) % 2:
            return None  # a quote is never closed
        cut = len(data)
    else:
        cut = data.rfind(b"\n") + 1
        quotes = np.count_nonzero(array[:cut] == _QUOTE)
        while cut and quotes % 2:  # that line break is inside quotes: try the one before
            before = data.rfind(b"\n", 0, cut - 1) + 1
            quotes -= np.count_nonzero(array[before:cut] == _QUOTE)
            cut = before
        if not cut:
            return None
    lines = int(np.count_nonzero(array[:cut] == _LF))
    if data.find(b"\r", 0, cut) >= 0:  # a lone \r ends a line too; \r\n is one line end
        returns = np.flatnonzero(array[:cut] == _CR)
        lines += int(np.count_nonzero(array[np.minimum(returns + 1, array.size - 1)] != _LF))  # the last: itself
    return Block(data[:cut], first_line, offset), lines


@dataclass(frozen=True)
class CsvFacts:
    """What one pass over a CSV block's special bytes tells.

    Attributes:
        in_place: Every quote opens a field (after a comma, a line break or the quote it escapes) or closes one
            (before a comma, a line break or an escaped quote), as Python's strict reader wants them; where not,
            Python and pyarrow part ways, and so may the rows of this block and the next.
        readable: No U+FFFD stands where Python would report a byte that did not decode.
        special: The bytes JSON escapes that its cells may hold: the control characters in the block (line breaks
            among them), a quote where one is escaped (``""``), a backslash where there is one.
    """

    in_place: bool
    readable: bool
    special: frozenset[int]


def csv_facts(data: bytes) -> CsvFacts:
    """Look at the quotes, control characters and U+FFFD of a CSV block.

    Example:
        >>> csv_facts(b'q,"A x\\nB y"\\n'), csv_facts(b'"q"x,y\\n').in_place
        (CsvFacts(in_place=True, readable=True, special=frozenset({10})), False)
    """
    array = np.frombuffer(data, dtype=np.uint8)
    special, match = _masks(array.size)
    np.less(array, 0x20, out=special)
    for byte in (_QUOTE, 0xBD):  # 0xBD: the last byte of U+FFFD
        np.equal(array, byte, out=match)
        special |= match
    positions = np.flatnonzero(special)
    values = array[positions]
    quotes = positions[values == _QUOTE]
    replacement = positions[(values == 0xBD) & (positions >= 2)]
    readable = not ((array[replacement - 1] == 0xBF) & (array[replacement - 2] == 0xEF)).any()
    escapes = set(np.flatnonzero(np.bincount(values[values < 0x20], minlength=0x20)).tolist())
    if (np.diff(quotes) == 1).any():
        escapes.add(_QUOTE)
    if b"\\" in data:
        escapes.add(ord("\\"))
    return CsvFacts(_quotes_in_place(array, quotes), readable, frozenset(escapes))


_SCRATCH = threading.local()


def _masks(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Two byte-sized masks, kept by each thread from block to block: fresh ones of a few MiB would cost a page fault
    every 4 KiB."""
    masks = getattr(_SCRATCH, "masks", None)
    if masks is None or masks[0].size < size:
        masks = _SCRATCH.masks = (np.empty(size, dtype=bool), np.empty(size, dtype=bool))
    return masks[0][:size], masks[1][:size]


def _quotes_in_place(array: np.ndarray, quotes: np.ndarray) -> bool:
    if quotes.size % 2:
        return False
    opening, closing = quotes[0::2], quotes[1::2]
    after = np.where(closing + 1 < array.size, array[np.minimum(closing + 1, array.size - 1)], _LF)
    before = np.where(opening > 0, array[opening - 1], _LF)
    return bool(np.isin(after, _AROUND_QUOTE).all() and np.isin(before, _AROUND_QUOTE).all())
