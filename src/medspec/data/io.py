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

import io
import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medspec.data.formats import FORMATS, DataFormat, detect_format
from medspec.data.rows import Row, iter_rows
from medspec.data.schema import Record, RecordProblems, record_to_dict
from medspec.errors import DataError, InvalidDataError

__all__ = [
    "AppendLog",
    "RecordReader",
    "Reject",
    "atomic_write_text",
    "read_records",
    "read_texts",
    "write_jsonl",
    "write_records",
]

logger = logging.getLogger(__name__)


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
        self.encoding, rows = iter_rows(self.path, self.encoding)
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

    def _convert(self, row: Row, ordinal: int) -> Record | None:
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

    def _format_for(self, row: Row) -> DataFormat | None:
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

    def _reject(self, row: Row, errors: list[DataError]) -> None:
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
