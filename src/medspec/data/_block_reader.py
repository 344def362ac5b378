"""Reading a CSV or JSONL file a block at a time: column-wise where every row is plain, row by row where one is not.

Each block (:mod:`medspec.data._blocks`) is parsed by pyarrow and converted on worker threads while the ones before
it are written (:mod:`medspec.data._prefetch`). A block takes the column-wise path (:mod:`medspec.data.columnar`)
when pyarrow parses it into text columns, its columns are a format that has a column-wise converter, and nothing in
it could read differently in Python: in CSV a quote out of place (where Python's strict reader stops) or a U+FFFD
(an undecodable byte there); in JSONL a blank line or two objects on one line. Rows the converter does not vouch
for, and every block that cannot take that path, go through :class:`~medspec.data.io.RecordReader`'s row path with
their true line and ordinal, so the output, the ids and the errors are the row path's.

Example:
    >>> import pathlib, tempfile
    >>> from medspec.data.io import RecordReader
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "huatuo.jsonl"
    >>> _ = path.write_text('{"questions": "腰麻后头痛如何处理？", "answers": "平卧、补液。"}\\n', encoding="utf-8")
    >>> b"".join(RecordReader(path).jsonl()).decode()[:48]
    '{"type": "instruction", "id": "huatuo-1", "instr'
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json

from medspec.data import _blocks
from medspec.data._blocks import Block, blocks, csv_facts
from medspec.data._prefetch import prefetched
from medspec.data._row import Row
from medspec.data._tables import STRUCTURED_COLUMNS, csv_text_rows
from medspec.data.columnar import ColumnarFormat, Converted, columnar_format
from medspec.data.formats import detect_format
from medspec.data.rows import jsonl_rows
from medspec.data.schema import Record, record_to_dict

__all__ = ["block_jsonl"]

# a line that is empty or spaces only: pyarrow skips it, and so does the row path, but the lines after it would no
# longer be the rows' lines (the second pattern starts with a literal, so it is searched at memchr speed)
_BLANK_START = re.compile(rb"[ \t\r\f\v]*(?:\n|\Z)")
_BLANK_LINE = re.compile(rb"\n[ \t\r\f\v]*(?:\n|\Z)")


class _Reader(Protocol):
    """What this module needs of :class:`medspec.data.io.RecordReader`: the file, how its rows become records, and
    the bookkeeping of the rows converted column-wise."""

    path: Path
    format: str | None
    _columns: dict[str, str]  # file column -> record key
    _id_prefix: str

    def _take(self, row: Row, ordinal: int) -> Record | None: ...

    def _fast_rows(self, record_type: str, first_ordinal: int, count: int, first_line: int | None) -> None: ...

    def _ids_taken(self, first_ordinal: int, count: int) -> bool: ...


@dataclass
class _Parsed:
    """A block, what pyarrow made of it (``None`` when it must be read row by row), and its rows converted
    column-wise, but for their ids, by the converter of the format its columns make (``None`` when there is none)."""

    block: Block
    table: pa.Table | None = None
    possible: frozenset[int] | None = None  # the bytes JSON escapes that its texts may hold (None: any)
    misaligned: bool = False  # CSV: a quote out of place; this block and the next may not start at rows
    converter: ColumnarFormat | None = None
    converted: Converted | None = None


class _Source(ABC):
    """How one file's blocks are parsed, checked and read row by row."""

    quoted: bool

    def __init__(self, path: Path, encoding: str, columns: dict[str, str]) -> None:
        self.path = path
        self.encoding = encoding
        self.columns = columns  # file column -> record key

    def prepared(self, block: Block) -> _Parsed:
        """The block parsed by pyarrow and converted column-wise, when it can take that path: the work done ahead,
        on a worker thread, of the reader's decision (:func:`_convert_block`)."""
        parsed = _Parsed(block) if block.rest else self.parse(block)
        table = parsed.table
        if table is None or not table.num_rows:
            return parsed
        converter = columnar_format(detect_format(dict.fromkeys(table.column_names, "")), frozenset(table.column_names))
        if converter is None:
            return parsed
        (batch,) = table.to_batches()  # one chunk: see renamed
        converted = converter.convert(batch, parsed.possible)
        extras = [name for name in table.column_names if name not in converter.fields]
        converted = replace(converted, ok=converted.ok & self.in_column_order(parsed, extras))
        return replace(parsed, converter=converter, converted=converted)

    @abstractmethod
    def parse(self, block: Block) -> _Parsed:
        """The block as pyarrow reads it, when it can be read column-wise."""

    @abstractmethod
    def rows(self, block: Block) -> list[Row]:
        """The block's rows as the row path reads them, with their lines."""

    def in_column_order(self, parsed: _Parsed, keys: list[str]) -> np.ndarray:
        """Per row, whether the kept fields ``keys`` come in the table's column order (CSV: always)."""
        assert parsed.table is not None
        return np.ones(parsed.table.num_rows, dtype=bool)

    @abstractmethod
    def rest(self, block: Block) -> Iterator[Row]:
        """The rows of the file from the block's offset to its end, as the row path reads them."""

    def renamed(self, table: pa.Table) -> pa.Table | None:
        """The table in one chunk with the mapped column names; ``None`` when a column is not text (or all null), or
        two share a name. A null is a key the row does not have, or has as ``null``: converters take either as
        missing, as the row converters do."""
        names = [self.columns.get(name, name) for name in table.column_names]
        if len(set(names)) != len(names) or "" in names:
            return None
        if any(column.type not in (pa.string(), pa.null()) for column in table.columns):
            return None
        columns = [column.cast(pa.string()) if column.type == pa.null() else column for column in table.columns]
        return pa.table(columns, names=names).combine_chunks()


class _JsonlSource(_Source):
    quoted = False

    def parse(self, block: Block) -> _Parsed:
        data = _json_bytes(block)
        end = len(data.rstrip(b" \t\r\n"))  # blank lines at the end shift no row's line
        if _BLANK_START.match(data) or _BLANK_LINE.search(data, 0, end):
            return _Parsed(block)
        try:
            table = pa_json.read_json(io.BytesIO(data))
            table.validate(full=True)  # pyarrow's JSON parser passes bytes that are not UTF-8 on; Python does not
        except (pa.ArrowInvalid, UnicodeDecodeError):
            return _Parsed(block)
        if table.num_rows != data.count(b"\n", 0, end) + 1:  # one object per line, no line skipped
            return _Parsed(block)
        # escapes are the only way a quote, a backslash or a control character gets into a JSON text
        return _Parsed(block, self.renamed(table), frozenset() if b"\\" not in data else None)

    def rows(self, block: Block) -> list[Row]:
        return list(jsonl_rows(io.BytesIO(block.data), self.path, self.encoding, block.first_line))

    def in_column_order(self, parsed: _Parsed, keys: list[str]) -> np.ndarray:
        """Per row, whether ``keys`` appear on its line in the table's column order, where it has them.

        The row path keeps a row's fields in the row's own key order, while pyarrow gives one column order to the
        block; with two kept fields or more, a row that wrote them the other way round is left to the row path.
        """
        table = parsed.table
        assert table is not None
        ok = np.ones(table.num_rows, dtype=bool)
        if len(keys) < 2:
            return ok
        data = _json_bytes(parsed.block)
        if b"\\" in data:  # an escaped quote could make a key's text appear inside another key
            return ~ok
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0x0A)[: table.num_rows]
        bounds = np.concatenate([[0], ends + 1, [len(data)]])[: table.num_rows + 1].astype(np.int32)
        lines = pa.StringArray.from_buffers(table.num_rows, pa.py_buffer(bounds), pa.py_buffer(data))
        files = {key: column for column, key in self.columns.items()}
        last = np.full(table.num_rows, -1)
        for key in keys:
            found = pc.find_substring(lines, json.dumps(files.get(key, key), ensure_ascii=False) + ":").to_numpy()
            present = found >= 0
            ok &= (present == table.column(key).is_valid().to_numpy(zero_copy_only=False)) & (~present | (found > last))
            last = np.where(present, found, last)
        return ok

    def rest(self, block: Block) -> Iterator[Row]:
        with open(self.path, "rb") as f:
            f.seek(block.offset)
            yield from jsonl_rows(f, self.path, self.encoding, block.first_line)


def _json_bytes(block: Block) -> bytes:
    """A JSONL block's bytes, without the BOM the file may start with."""
    return block.data.removeprefix(codecs.BOM_UTF8) if block.offset == 0 else block.data


class _CsvSource(_Source):
    quoted = True

    def __init__(self, path: Path, encoding: str, columns: dict[str, str], header: list[str]) -> None:
        super().__init__(path, encoding, columns)
        self.header = header

    def parse(self, block: Block) -> _Parsed:
        facts = csv_facts(block.data)
        if not facts.in_place:
            return _Parsed(block, misaligned=True)
        if not facts.readable:
            return _Parsed(block)
        try:
            table = pa_csv.read_csv(
                io.BytesIO(block.data),
                read_options=pa_csv.ReadOptions(
                    column_names=self.header,
                    use_threads=False,  # one thread and one chunk: blocks are parsed two at a time already
                    block_size=len(block.data) + 1,
                ),
                parse_options=pa_csv.ParseOptions(newlines_in_values=True),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(self.header, pa.string()),
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid:
            return _Parsed(block)
        return _Parsed(block, self.renamed(table), facts.special)

    def rows(self, block: Block) -> list[Row]:
        text = io.StringIO(block.data.decode(self.encoding, errors="replace"), newline="")
        return list(csv_text_rows(text, self.path, self.header, block.first_line))

    def rest(self, block: Block) -> Iterator[Row]:
        with open(self.path, encoding=self.encoding, errors="replace", newline="") as f:
            f.seek(block.offset)
            yield from csv_text_rows(f, self.path, self.header, block.first_line)


def _csv_header(path: Path, encoding: str) -> tuple[list[str], int] | None:
    """The header of a CSV file on its first line, and the byte offset after it; ``None`` when the header is not one
    plain line (quoted, after blank lines, or a file of ``\\r`` line ends), which the row path reads."""
    with open(path, "rb") as f:
        first = f.readline(2**20)
    skip = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" and first.startswith(codecs.BOM_UTF8) else 0
    line = first[skip:]
    if not line.endswith(b"\n") or b'"' in line or b"\r" in line.rstrip(b"\r\n") or codecs.BOM_UTF8 in line:
        return None
    try:
        (header,) = list(csv.reader([line.decode("utf-8").rstrip("\r\n")]))
    except (UnicodeDecodeError, ValueError, csv.Error):
        return None
    if not header or "" in header or len(set(header)) != len(header) or set(header) & STRUCTURED_COLUMNS:
        return None
    return header, len(first)


def _source(reader: _Reader, encoding: str) -> tuple[_Source, int, int] | None:
    """The block source of the reader's file, the byte offset and line where its rows start; ``None`` when the whole
    file is for the row path."""
    suffix = reader.path.suffix.lower()
    if suffix == ".csv":
        found = _csv_header(reader.path, encoding)
        if found is None:
            return None
        header, offset = found
        return _CsvSource(reader.path, encoding, reader._columns, header), offset, 2
    if suffix in (".jsonl", ".ndjson"):
        return _JsonlSource(reader.path, encoding, reader._columns), 0, 1
    return None


def block_jsonl(reader: _Reader, encoding: str, workers: int) -> Iterator[bytes | memoryview] | None:
    """The medspec JSONL of the reader's file a block at a time, ``workers`` blocks parsed and converted at once, or
    ``None`` when the file is for the row path alone (another file type or encoding). Row-path rows go through
    ``reader``, which keeps its counts and errors."""
    if encoding not in ("utf-8", "utf-8-sig"):
        return None
    found = _source(reader, encoding)
    if found is None:
        return None
    source, offset, first_line = found
    return _read(reader, source, offset, first_line, workers)


def _read(reader: _Reader, source: _Source, offset: int, first_line: int, workers: int) -> Iterator[bytes | memoryview]:
    ordinal = 1
    with open(source.path, "rb") as f:
        cut = blocks(f, quoted=source.quoted, first_line=first_line, offset=offset, size=_blocks.BLOCK_BYTES)
        for parsed in prefetched(cut, source.prepared, depth=workers + 1, workers=workers):
            block, converter, converted = parsed.block, parsed.converter, parsed.converted
            if block.rest or parsed.misaligned:  # the rest of the file, row by row
                yield from _rows_lines(reader, source.rest(block), ordinal)
                return
            if (
                converter is None
                or converted is None
                or reader.format not in (None, converter.name)  # the file is in another format: its errors say so
                or reader._ids_taken(ordinal, len(converted.tails))
            ):
                rows = source.rows(block)
                yield from _rows_lines(reader, rows, ordinal)
                ordinal += len(rows)
                continue
            yield from _convert_block(reader, source, parsed, ordinal)
            ordinal += len(converted.tails)


def _convert_block(
    reader: _Reader, source: _Source, parsed: _Parsed, first_ordinal: int
) -> Iterator[bytes | memoryview]:
    block, converter, converted = parsed.block, parsed.converter, parsed.converted
    assert converter is not None and converted is not None
    ok = converted.ok.copy()
    if reader.format is None:
        ok[0] = False  # the first row of the file says its format, on the row path, as it always does
    rows = None if ok.all() else source.rows(block)
    if rows is not None and len(rows) != len(ok):  # pyarrow and Python read the block differently
        yield from _rows_lines(reader, rows, first_ordinal)
        return
    # a JSONL block has one row per line; a CSV row's line is not known without Python's reading
    line = None if source.quoted else block.first_line
    lines = converted.lines(f"{reader._id_prefix}-", first_ordinal)
    _, offsets_buffer, values = lines.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[lines.offset : lines.offset + len(lines) + 1]
    start = 0
    for end in [*np.flatnonzero(~ok).tolist(), len(lines)]:  # runs of vouched rows between the others
        if end > start:
            if reader.format != converter.name:  # the first row was not in this format: its rows are the row path's
                assert rows is not None
                yield from _rows_lines(reader, rows[start:], first_ordinal + start)
                return
            first_line = None if line is None else line + start
            reader._fast_rows(converter.record_type, first_ordinal + start, end - start, first_line)
            yield memoryview(values)[offsets[start] : offsets[end]]
        if end < len(lines):
            assert rows is not None
            yield from _row_line(reader, rows[end], first_ordinal + end)
        start = end + 1


def _rows_lines(reader: _Reader, rows: Iterable[Row], first_ordinal: int) -> Iterator[bytes]:
    for ordinal, row in enumerate(rows, start=first_ordinal):
        yield from _row_line(reader, row, ordinal)


def _row_line(reader: _Reader, row: Row, ordinal: int) -> Iterator[bytes]:
    record = reader._take(row, ordinal)
    if record is not None:
        yield (json.dumps(record_to_dict(record), ensure_ascii=False) + "\n").encode()
