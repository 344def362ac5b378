"""Reading a data file as raw rows: encoding detection and one streaming reader per file type.

JSONL (``.jsonl``, ``.ndjson``, and ``.json`` files that hold one object per line), JSON (an array, an object holding
one array, or one object), CSV/TSV, XLSX (the first worksheet), Parquet and plain text (``.txt``: one row per
non-empty line). Each row carries its line (or sheet row) number and either the parsed object or the problem that
stopped it; turning rows into records is :mod:`medspec.data.io`'s job.

Files are streamed. A JSON array is read a chunk at a time and each element handed out as soon as it is whole
(:mod:`medspec.data._json_stream`), so memory holds about one chunk and one element whatever the file's size, and a
byte that does not decode stops it after the elements before that byte; JSONL saved as ``.json`` is read line by
line. Only a JSON file holding one object, or an object holding one array, is read whole. Table cells (CSV, TSV,
XLSX) are text, as a CSV file holds them (:mod:`medspec.data._tables`), so a CSV and an XLSX mirror of one data set
give the same rows.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> _ = path.write_text("第一行\\n\\n第二行\\n", encoding="gb18030")
    >>> encoding, rows = iter_rows(path, None)
    >>> encoding, [(row.line, row.data) for row in rows]
    ('gb18030', [(1, {'type': 'document', 'text': '第一行'}), (3, {'type': 'document', 'text': '第二行'})])
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from medspec.data._json_stream import StreamError, array_elements, decoded_chunks
from medspec.data._row import MAX_LINE_BYTES, Row
from medspec.data._tables import csv_rows, xlsx_rows
from medspec.data.json_text import parse_json
from medspec.errors import DataError, InvalidDataError

__all__ = ["MAX_LINE_BYTES", "Row", "detect_encoding", "iter_rows", "jsonl_rows"]

logger = logging.getLogger(__name__)

_SAMPLE_BYTES = 2**20
_SUFFIXES = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".txt": "text",
}
_BINARY_KINDS = {"parquet", "xlsx"}


def detect_encoding(path: str | Path) -> str:
    """Guess a file's text encoding from its first MiB: ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    A file is taken as GB18030 only when most of its non-ASCII lines are not UTF-8 and all of them are valid GB18030;
    a UTF-8 file with a few corrupt bytes stays UTF-8, so the bad lines are reported instead of garbled.
    """
    with open(path, "rb") as f:
        sample = f.read(_SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
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


def _binary_lines(f: IO[bytes], first_number: int = 1) -> Iterator[tuple[int, bytes | None]]:
    """Yield (line number, bytes), with None for a line over MAX_LINE_BYTES (which is skipped, not loaded)."""
    number = first_number - 1
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


def _parse_object(text: str, path: Path, number: int) -> Row:
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        truncated = not text.rstrip().endswith("}") and not isinstance(exc.__cause__, RecursionError)
        hint = " (the line looks truncated)" if truncated else ""
        return Row(
            number,
            error=DataError(path, number, None, f"invalid JSON at column {exc.colno}: {exc.msg}{hint}"),
            raw=text[:2000],
        )
    if not isinstance(data, dict):
        message = f"expected one JSON object per line, got a {type(data).__name__}"
        return Row(number, error=DataError(path, number, None, message), raw=text[:2000])
    return Row(number, data=data)


def _decoded_lines(
    f: IO[bytes], path: Path, encoding: str, first_number: int = 1
) -> Iterator[tuple[int, str | None, DataError | None]]:
    """Yield (line number, text, problem) for every line of ``f`` from its position, the first numbered
    ``first_number``; text is None when the line cannot be decoded."""
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    for number, raw in _binary_lines(f, first_number):
        if raw is None:
            message = f"line is longer than {MAX_LINE_BYTES // 2**20} MiB; is this a whole JSON array on one line?"
            yield number, None, DataError(path, number, None, message)
            continue
        if number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[3:]
        text, error = _decode_line(raw, codec, path, number)
        yield number, text, error


def jsonl_rows(f: IO[bytes], path: Path, encoding: str, first_line: int = 1) -> Iterator[Row]:
    """The rows of JSONL text from ``f``'s position on, its first line numbered ``first_line``; blank lines skipped.

    Example:
        >>> import io
        >>> [(row.line, row.data) for row in jsonl_rows(io.BytesIO(b'\\n{"a": "b"}\\n'), Path("x.jsonl"), "utf-8", 7)]
        [(8, {'a': 'b'})]
    """
    for number, text, error in _decoded_lines(f, path, encoding, first_line):
        if error is not None:
            yield Row(number, error=error)
        elif text is not None and text.strip():
            yield _parse_object(text, path, number)


def _jsonl_rows(path: Path, encoding: str) -> Iterator[Row]:
    with open(path, "rb") as f:
        yield from jsonl_rows(f, path, encoding)


def _text_rows(path: Path, encoding: str) -> Iterator[Row]:
    with open(path, "rb") as f:
        for number, text, error in _decoded_lines(f, path, encoding):
            if error is not None:
                yield Row(number, error=error)
            elif text is not None and text.strip():
                yield Row(number, data={"type": "document", "text": text.strip()})


def _looks_like_jsonl(text: str) -> bool:
    first_line = text.lstrip().split("\n", 1)[0]
    try:
        return isinstance(parse_json(first_line), dict) and len(text.strip().splitlines()) > 1
    except json.JSONDecodeError:
        return False


def _json_rows(path: Path, encoding: str) -> Iterator[Row]:
    kind = _json_layout(path, encoding)
    if kind == "array":
        yield from _json_array_rows(decoded_chunks(path, encoding), path)
    elif kind == "jsonl":
        yield from _jsonl_rows(path, encoding)
    else:
        yield from _json_document_rows(path, encoding)


def _json_layout(path: Path, encoding: str) -> str:
    """``array``, ``jsonl`` or ``document`` (read whole), as the first MiB shows: enough for a ``[`` or a first line."""
    with open(path, "rb") as f:
        head = f.read(_SAMPLE_BYTES)
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        text = codecs.getincrementaldecoder(codec)().decode(
            head.removeprefix(codecs.BOM_UTF8), final=len(head) < _SAMPLE_BYTES
        )
    except UnicodeDecodeError as exc:
        # an array streams up to the byte and reports it there; anything else is read whole, which says where it is
        return "array" if exc.object[: exc.start].decode(codec).lstrip().startswith("[") else "document"
    if text.lstrip().startswith("["):
        return "array"
    return "jsonl" if _looks_like_jsonl(text) else "document"


def _json_document_rows(path: Path, encoding: str) -> Iterator[Row]:
    """A JSON file read whole: one object, an object holding one array, or what the first MiB could not tell."""
    try:
        text = "".join(decoded_chunks(path, encoding))
    except StreamError as exc:
        yield Row(exc.line, error=DataError(path, exc.line, None, exc.message))
        return
    if _looks_like_jsonl(text):
        yield from _jsonl_rows(path, encoding)
        return
    if text.lstrip().startswith("["):
        yield from _json_array_rows([text], path)
        return
    try:
        data = parse_json(text)
    except json.JSONDecodeError as exc:
        yield Row(exc.lineno, error=DataError(path, exc.lineno, None, f"invalid JSON at column {exc.colno}: {exc.msg}"))
        return
    yield from _json_object_rows(data, path)


def _json_object_rows(data: Any, path: Path) -> Iterator[Row]:
    lists = (
        [k for k, v in data.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
        if isinstance(data, dict)
        else []
    )
    if isinstance(data, dict) and len(lists) == 1 and len(data) <= 3:
        for index, item in enumerate(data[lists[0]], start=1):
            yield Row(index, data=item)
    elif isinstance(data, dict):
        yield Row(1, data=data)
    else:
        yield Row(1, error=DataError(path, 1, None, f"expected a JSON array or object, got {type(data).__name__}"))


def _json_array_rows(chunks: Iterable[str], path: Path) -> Iterator[Row]:
    try:
        for line, item in array_elements(chunks):
            if isinstance(item, dict):
                yield Row(line, data=item)
            else:
                message = f"expected an object, got {type(item).__name__}"
                yield Row(line, error=DataError(path, line, None, message), raw=item)
    except StreamError as exc:
        yield Row(exc.line, error=DataError(path, exc.line, None, exc.message))


def _table_rows(path: Path, encoding: str) -> Iterator[Row]:
    return xlsx_rows(path) if path.suffix.lower() == ".xlsx" else csv_rows(path, encoding)


def _parquet_rows(path: Path, encoding: str) -> Iterator[Row]:
    import pyarrow.parquet as pq

    number = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=2048):
        for data in batch.to_pylist():
            number += 1
            yield Row(number, data={k: v for k, v in data.items() if v is not None})


_ROW_READERS = {
    "jsonl": _jsonl_rows,
    "json": _json_rows,
    "csv": _table_rows,
    "xlsx": _table_rows,
    "parquet": _parquet_rows,
    "text": _text_rows,
}


def iter_rows(path: Path, encoding: str | None) -> tuple[str, Iterator[Row]]:
    """The encoding used (``encoding``, or the detected one) and the rows of ``path``, streamed.

    Raises:
        InvalidDataError: When the path is a directory, the file is missing or of an unsupported type.
    """
    if path.is_dir():
        found = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file())
        hint = f" such as {', '.join(found[:3])}" if found else ""
        raise InvalidDataError([DataError(path, None, None, f"is a directory; pass one of the data files in it{hint}")])
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        hint = "; save it as .xlsx or CSV" if path.suffix.lower() == ".xls" else ""
        message = f"unsupported file type {path.suffix!r}{hint}; supported: {', '.join(sorted(_SUFFIXES))}"
        raise InvalidDataError([DataError(path, None, None, message)])
    if not path.is_file():
        raise InvalidDataError([DataError(path, None, None, "no such file")])
    chosen = encoding or ("utf-8" if kind in _BINARY_KINDS else detect_encoding(path))
    if chosen == "gb18030" and encoding is None:
        logger.warning("%s: not UTF-8; reading it as GB18030", path)
    return chosen, _ROW_READERS[kind](path, chosen)
