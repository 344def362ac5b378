"""Reading data files into records and writing records out, safely.

Input: JSONL (``.jsonl``, ``.ndjson``, and ``.json`` files that hold one object per line), JSON (an array, an
object holding one array, or one object), CSV/TSV, Parquet and plain text (``.txt``: one :class:`Document` per
non-empty line). Files stream row by row; encodings are detected (UTF-8, UTF-8 with BOM, GB18030). Output is
medspec JSONL, written atomically so a crash never leaves half a file, plus :class:`AppendLog` for the
append-only progress logs that let long steps resume.

Problems never stop a read: :class:`RecordReader` yields the good records and collects every problem with its file,
line and field; :func:`read_records` raises them together unless asked to skip.

Example:
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.jsonl"
    >>> _ = path.write_text(json.dumps({"instruction": "何为ASA分级？", "output": "美国麻醉医师协会的体格状态分级。"},
    ...                                ensure_ascii=False) + "\\n", encoding="utf-8")
    >>> [r.instruction for r in read_records(path)]
    ['何为ASA分级？']
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from medspec.data.formats import FORMATS, DataFormat, detect_format
from medspec.data.schema import Record, RecordProblems, record_to_dict
from medspec.errors import DataError, InvalidDataError

__all__ = [
    "AppendLog",
    "RecordReader",
    "Reject",
    "atomic_write_text",
    "detect_encoding",
    "read_records",
    "read_texts",
    "write_jsonl",
    "write_records",
]

logger = logging.getLogger(__name__)

MAX_LINE_BYTES = 16 * 2**20  # one JSONL record above 16 MiB is almost surely a whole JSON array on one line
_SAMPLE_BYTES = 2**20
_STRUCTURED_COLUMNS = {
    "options",
    "option",
    "history",
    "questions",
    "tags",
    "provenance",
    "meta",
    "conversations",
    "messages",
    "QA_pairs",
}
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".txt": "text",
}


@dataclass
class _Row:
    line: int | None
    data: dict[str, Any] | None = None
    error: DataError | None = None
    raw: Any = None


@dataclass
class Reject:
    """A row that could not become a record, with every reason.

    Attributes:
        line: Line (or row) in the source file.
        errors: What is wrong with it.
        raw: The row as read (parsed object, or the text of a line that is not valid JSON, cut to 2,000 characters).
    """

    line: int | None
    errors: list[DataError]
    raw: Any

    def to_dict(self) -> dict[str, Any]:
        """Return the reject as a JSON-ready dict."""
        return {"line": self.line, "errors": [e.to_dict() for e in self.errors], "raw": self.raw}


def detect_encoding(path: str | Path) -> str:
    """Guess a file's text encoding from its first MiB: ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    A file is taken as GB18030 only when most of its non-ASCII lines are not UTF-8 and all of them are valid GB18030;
    a UTF-8 file with a few corrupt bytes stays UTF-8, so the bad lines are reported instead of garbled.
    """
    with open(path, "rb") as f:
        sample = f.read(_SAMPLE_BYTES)
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    lines = [line for line in sample.split(b"\n")[:-1] or [sample] if not line.isascii()]
    if not lines:
        return "utf-8"
    bad_utf8 = sum(not _decodes(line, "utf-8") for line in lines)
    if bad_utf8 * 2 >= len(lines) and all(_decodes(line, "gb18030") for line in lines):
        return "gb18030"
    return "utf-8"


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _decode_line(raw: bytes, encoding: str, path: Path, number: int) -> tuple[str | None, DataError | None]:
    try:
        return raw.decode(encoding), None
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        message = (
            f"byte 0x{byte:02x} at byte {exc.start + 1} is not valid {encoding}; re-save the file as UTF-8 "
            f"or pass the right encoding (e.g. --encoding gb18030)"
        )
        return None, DataError(path, number, None, message)


def _binary_lines(f: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, bytes), with None for a line over MAX_LINE_BYTES (which is skipped, not loaded)."""
    number = 0
    while True:
        raw = f.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (chunk := f.readline(MAX_LINE_BYTES)) and not chunk.endswith(b"\n"):
                pass
            yield number, None
            continue
        yield number, raw


def _parse_object(text: str, path: Path, number: int) -> _Row:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (the line looks truncated)" if not text.rstrip().endswith("}") else ""
        return _Row(
            number,
            error=DataError(path, number, None, f"invalid JSON at column {exc.colno}: {exc.msg}{hint}"),
            raw=text[:2000],
        )
    if not isinstance(data, dict):
        message = f"expected one JSON object per line, got a {type(data).__name__}"
        return _Row(number, error=DataError(path, number, None, message), raw=text[:2000])
    return _Row(number, data=data)


def _decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str | None, DataError | None]]:
    """Yield (line number, text, problem) for every line; text is None when the line cannot be decoded."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    with open(path, "rb") as f:
        for number, raw in _binary_lines(f):
            if raw is None:
                message = f"line is longer than {MAX_LINE_BYTES // 2**20} MiB; is this a whole JSON array on one line?"
                yield number, None, DataError(path, number, None, message)
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            text, error = _decode_line(raw, codec, path, number)
            yield number, text, error


def _jsonl_rows(path: Path, encoding: str) -> Iterator[_Row]:
    for number, text, error in _decoded_lines(path, encoding):
        if error is not None:
            yield _Row(number, error=error)
        elif text is not None and text.strip():
            yield _parse_object(text, path, number)


def _text_rows(path: Path, encoding: str) -> Iterator[_Row]:
    for number, text, error in _decoded_lines(path, encoding):
        if error is not None:
            yield _Row(number, error=error)
        elif text is not None and text.strip():
            yield _Row(number, data={"type": "document", "text": text.strip()})


def _looks_like_jsonl(text: str) -> bool:
    first_line = text.lstrip().split("\n", 1)[0]
    try:
        return isinstance(json.loads(first_line), dict) and len(text.strip().splitlines()) > 1
    except json.JSONDecodeError:
        return False


def _json_rows(path: Path, encoding: str) -> Iterator[_Row]:
    data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
    try:
        text = data.decode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        yield _Row(
            line,
            error=DataError(
                path,
                line,
                None,
                f"byte 0x{data[exc.start]:02x} is not valid {encoding}; "
                "re-save the file as UTF-8 or pass the right encoding",
            ),
        )
        return
    if _looks_like_jsonl(text):
        yield from _jsonl_rows(path, encoding)
        return
    start = len(text) - len(text.lstrip())
    if text[start : start + 1] == "[":
        yield from _json_array_rows(text, start + 1, path)
        return
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        yield _Row(
            exc.lineno, error=DataError(path, exc.lineno, None, f"invalid JSON at column {exc.colno}: {exc.msg}")
        )
        return
    yield from _json_object_rows(data, path)


def _json_object_rows(data: Any, path: Path) -> Iterator[_Row]:
    lists = (
        [k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
        if isinstance(data, dict)
        else []
    )
    if isinstance(data, dict) and len(lists) == 1 and len(data) <= 3:
        for index, item in enumerate(data[lists[0]], start=1):
            yield _Row(index, data=item)
    elif isinstance(data, dict):
        yield _Row(1, data=data)
    else:
        yield _Row(1, error=DataError(path, 1, None, f"expected a JSON array or object, got {type(data).__name__}"))


def _json_array_rows(text: str, position: int, path: Path) -> Iterator[_Row]:
    """Parse a top-level array element by element, so a broken element is located and the rest still read."""
    decoder = json.JSONDecoder()
    line = text.count("\n", 0, position) + 1
    while True:
        skipped_to = _skip(text, position, " \t\r\n,")
        line += text.count("\n", position, skipped_to)
        position = skipped_to
        if position >= len(text):
            yield _Row(
                line, error=DataError(path, line, None, "the JSON array is not closed with ']' (truncated file?)")
            )
            return
        if text[position] == "]":
            return
        try:
            item, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            yield _Row(
                exc.lineno,
                error=DataError(
                    path,
                    exc.lineno,
                    None,
                    f"invalid JSON at column {exc.colno}: {exc.msg}; the rest of the file cannot be read",
                ),
            )
            return
        if isinstance(item, dict):
            yield _Row(line, data=item)
        else:
            yield _Row(
                line, error=DataError(path, line, None, f"expected an object, got {type(item).__name__}"), raw=item
            )
        line += text.count("\n", position, end)
        position = end


def _skip(text: str, position: int, characters: str) -> int:
    while position < len(text) and text[position] in characters:
        position += 1
    return position


def _csv_rows(path: Path, encoding: str) -> Iterator[_Row]:
    csv.field_size_limit(MAX_LINE_BYTES)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield _Row(reader.line_num, error=DataError(path, reader.line_num, None, f"malformed CSV: {exc}"))
                continue
            yield _csv_row(cells, reader.line_num, path)


def _csv_row(cells: dict[str | None, Any], number: int, path: Path) -> _Row:
    if None in cells:
        return _Row(
            number,
            error=DataError(path, number, None, "row has more cells than the header has columns"),
            raw=cells[None],
        )
    data: dict[str, Any] = {}
    for column, value in cells.items():
        if column is None or column == "" or value is None:
            continue
        if "\ufffd" in value:
            return _Row(
                number,
                error=DataError(
                    path,
                    number,
                    column,
                    f"contains bytes that are not valid {path.name} text; re-save the file as UTF-8",
                ),
            )
        if column in _STRUCTURED_COLUMNS:
            if not value.strip():
                continue
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                return _Row(number, error=DataError(path, number, column, f"expected JSON in this column: {exc.msg}"))
        data[column] = value
    return _Row(number, data=data)


def _parquet_rows(path: Path, encoding: str) -> Iterator[_Row]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=2048):
        for data in batch.to_pylist():
            number += 1
            yield _Row(number, data={k: v for k, v in data.items() if v is not None})


_ROW_READERS = {
    "jsonl": _jsonl_rows,
    "json": _json_rows,
    "csv": _csv_rows,
    "parquet": _parquet_rows,
    "text": _text_rows,
}


def _iter_rows(path: Path, encoding: str | None) -> tuple[str, Iterator[_Row]]:
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidDataError(
            [
                DataError(
                    path,
                    None,
                    None,
                    f"unsupported file type {path.suffix!r}; supported: {', '.join(sorted(_SUFFIXES))}",
                )
            ]
        )
    if not path.is_file():
        raise InvalidDataError([DataError(path, None, None, "no such file")])
    chosen = encoding or ("utf-8" if kind == "parquet" else detect_encoding(path))
    if chosen == "gb18030" and encoding is None:
        logger.warning("%s: not UTF-8; reading it as GB18030", path)
    return chosen, _ROW_READERS[kind](path, chosen)


class RecordReader:
    """Stream the records of one file, collecting problems instead of stopping at the first.

    Args:
        path: The file.
        format: Force a format from :data:`~medspec.data.formats.FORMATS`; detected from the first row otherwise.
        encoding: Force a text encoding; detected otherwise.
        allow_empty: Text fields that may be empty (raw generated candidates that cleaning rules will judge).

    After iteration, :attr:`errors` lists every problem, :attr:`rejects` the rows they belong to, :attr:`counts`
    the records by type, and :attr:`format` and :attr:`encoding` what was used.

    Example:
        >>> reader = RecordReader("data.jsonl")  # doctest: +SKIP
        >>> records = list(reader)  # doctest: +SKIP
        >>> reader.errors  # doctest: +SKIP
        []
    """

    def __init__(
        self,
        path: str | Path,
        *,
        format: str | None = None,
        encoding: str | None = None,
        allow_empty: frozenset[str] = frozenset(),
    ) -> None:
        if format is not None and format not in FORMATS:
            raise ValueError(f"unknown format {format!r}; known formats: {', '.join(FORMATS)}")
        self.path = Path(path)
        self.format = format
        self.encoding = encoding
        self.allow_empty = allow_empty
        self.errors: list[DataError] = []
        self.rejects: list[Reject] = []
        self.counts: Counter[str] = Counter()
        self._format_line: int | None = None

    def __iter__(self) -> Iterator[Record]:
        self.encoding, rows = _iter_rows(self.path, self.encoding)
        seen_ids: dict[str, int | None] = {}
        for ordinal, row in enumerate(rows, start=1):
            record = self._convert(row, ordinal)
            if record is None:
                continue
            if record.id in seen_ids:
                first = seen_ids[record.id]
                self._reject(
                    row,
                    [
                        DataError(
                            self.path,
                            row.line,
                            "id",
                            f"duplicate id {record.id!r} (first on line {first}); ids must be unique in a file",
                        )
                    ],
                )
                continue
            seen_ids[record.id] = row.line
            self.counts[record.type_name] += 1
            yield record

    def _convert(self, row: _Row, ordinal: int) -> Record | None:
        if row.error is not None:
            self._reject(row, [row.error])
            return None
        assert row.data is not None
        data_format = self._format_for(row)
        if data_format is None:
            return None
        try:
            # Rows without an id get "<file stem>-<row number>".
            record = data_format.convert(row.data, f"{self.path.stem}-{ordinal}", self.allow_empty)
        except RecordProblems as problems:
            self._reject(row, [DataError(self.path, row.line, f, m) for f, m in problems.problems])
            return None
        if data_format.name != "medspec" and record.provenance.source is None:
            record.provenance.source = data_format.name
        return record

    def _format_for(self, row: _Row) -> DataFormat | None:
        assert row.data is not None
        detected = detect_format(row.data)
        if self.format is None and detected is not None:
            self.format, self._format_line = detected, row.line
        if detected is None:
            keys = ", ".join(sorted(map(str, row.data))) or "none"
            known = "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
            self._reject(
                row,
                [
                    DataError(
                        self.path, row.line, None, f"unrecognised record with fields [{keys}]; expected one of: {known}"
                    )
                ],
            )
            return None
        if detected != self.format and not (self.format in FORMATS and FORMATS[self.format].signature(row.data)):
            origin = f"detected on line {self._format_line}" if self._format_line else "forced"
            message = (
                f"record is in '{detected}' format but this file is '{self.format}' ({origin}); "
                "keep one format per file or pass the right --format"
            )
            self._reject(row, [DataError(self.path, row.line, None, message)])
            return None
        return FORMATS[self.format]  # type: ignore[index]

    def _reject(self, row: _Row, errors: list[DataError]) -> None:
        self.errors.extend(errors)
        self.rejects.append(Reject(row.line, errors, row.data if row.data is not None else row.raw))


def read_records(
    path: str | Path,
    *,
    format: str | None = None,
    encoding: str | None = None,
    skip_invalid: bool = False,
    allow_empty: frozenset[str] = frozenset(),
) -> list[Record]:
    """Read every record of a file.

    Args:
        path: A JSONL, JSON, CSV/TSV, Parquet or text file.
        format: Force a source format (see :mod:`medspec.data.formats`); detected otherwise.
        encoding: Force a text encoding; detected otherwise.
        skip_invalid: Keep the good records and log how many rows were skipped, instead of raising.
        allow_empty: Text fields that may be empty.

    Returns:
        The valid records, in file order.

    Raises:
        InvalidDataError: With every problem in the file, unless ``skip_invalid``.
    """
    reader = RecordReader(path, format=format, encoding=encoding, allow_empty=allow_empty)
    records = list(reader)
    if reader.errors and not skip_invalid:
        raise InvalidDataError(reader.errors)
    if reader.rejects:
        logger.warning("%s: skipped %d invalid rows", path, len(reader.rejects))
    return records


def read_texts(paths: Iterable[str | Path]) -> list[str]:
    """The text of every record in the files, one string per record (for corpora and vocabulary mining).

    Raises:
        InvalidDataError: With every problem in the files.
    """
    return [record.content() for path in paths for record in read_records(path)]


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to a file so that readers see either the old file or the whole new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write dicts as JSONL atomically and return how many were written."""
    buffer = io.StringIO()
    count = 0
    for row in rows:
        buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    atomic_write_text(path, buffer.getvalue())
    return count


def write_records(path: str | Path, records: Iterable[Record]) -> int:
    """Write records as medspec JSONL atomically and return how many were written."""
    return write_jsonl(path, (record_to_dict(r) for r in records))


class AppendLog:
    """An append-only JSONL log that survives crashes: the basis of every resumable step.

    Each :meth:`append` writes one whole line and flushes it. On opening, a last line cut short by a crash is
    removed, so the log always holds complete entries.

    Args:
        path: The log file; created with its folder when missing.

    Example:
        >>> import pathlib, tempfile
        >>> log = AppendLog(pathlib.Path(tempfile.mkdtemp()) / "progress.jsonl")
        >>> log.append({"id": "q1", "answer": "B"})
        >>> [entry["id"] for entry in log.entries()]
        ['q1']
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._drop_partial_tail()

    def _drop_partial_tail(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            logger.warning("%s: dropping an incomplete last entry left by an interrupted run", self.path)
            with open(self.path, "r+b") as f:
                f.truncate(keep)

    def entries(self) -> Iterator[dict[str, Any]]:
        """Yield the logged entries in order."""
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)

    def append(self, entry: dict[str, Any]) -> None:
        """Append one entry and flush it to disk."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def extend(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append several entries with one flush."""
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
        if lines:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
