"""Reading data files into records and writing records out, safely.

Input: JSONL (``.jsonl``, ``.ndjson``, and ``.json`` files that hold one object per line), JSON (an array, an
object holding one array, or one object), CSV/TSV, XLSX (the first sheet), Parquet and plain text (``.txt``: one
:class:`Document` per non-empty line). Files stream row by row; encodings are detected (UTF-8, UTF-8 with BOM,
GB18030). Output is medspec JSONL, written atomically (:mod:`medspec.durable`) so a crash never leaves half a file.

Problems never stop a read: :class:`RecordReader` yields the good records and collects every problem with its file,
line and field; :func:`read_records` raises them together unless asked to skip. :class:`ReadOptions` says how to
read a source: its format, encoding, a column mapping for files whose columns have other names, the language of a
bilingual source, and ``where`` conditions that select records.

Example:
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.jsonl"
    >>> _ = path.write_text(json.dumps({"instruction": "何为ASA分级？", "output": "美国麻醉医师协会的体格状态分级。"},
    ...                                ensure_ascii=False) + "\\n", encoding="utf-8")
    >>> [r.instruction for r in read_records(path)]
    ['何为ASA分级？']
"""

from __future__ import annotations

import bisect
import json
import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medspec.data.formats import FORMATS, ConvertOptions, DataFormat, detect_format
from medspec.data.formats.fields import is_missing
from medspec.data.formats.registry import Language
from medspec.data.rows import Row, iter_rows
from medspec.data.schema import Record, RecordProblems, record_to_dict
from medspec.data.select import parse_where
from medspec.durable import write_jsonl
from medspec.errors import ConfigError, DataError, InvalidDataError

__all__ = ["ReadOptions", "RecordReader", "Reject", "read_records", "read_texts", "write_records"]

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


@dataclass
class ReadOptions:
    """How to read a source file; every field has a command-line flag and a YAML key of the same name.

    Attributes:
        format: The source format (see :mod:`medspec.data.formats`); detected from the first row when omitted.
        encoding: The text encoding; detected when omitted (UTF-8, UTF-8 with BOM, GB18030).
        columns: Record keys to the file's own column names (``{"instruction": "问题", "output": "回答"}``),
            applied before detection, so a hospital's export reads as the format its renamed columns make.
        where: ``FIELD=VALUE`` / ``FIELD!=VALUE`` conditions a record must meet to be read (see
            :mod:`medspec.data.select`).
        language: The language to take from a bilingual source (AnesBench): ``zh`` or ``en``.

    Raises:
        ConfigError: For an unknown format or language, or a malformed condition, naming the field.
    """

    format: str | None = None
    encoding: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    where: list[str] = field(default_factory=list)
    language: Language = "zh"

    def __post_init__(self) -> None:
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError("format", f"unknown format {self.format!r}; known formats: {', '.join(FORMATS)}")
        if self.language not in ("zh", "en"):
            raise ConfigError("language", f"expected 'zh' or 'en', got {self.language!r}")
        sources = list(self.columns.values())
        if len(set(sources)) != len(sources):
            raise ConfigError("columns", f"a file column is mapped twice: {self.columns}")
        parse_where(self.where)

    @classmethod
    def from_pairs(cls, *, columns: Sequence[str] = (), **fields: Any) -> ReadOptions:
        """Options from command-line ``KEY=COLUMN`` pairs (``--map instruction=question``).

        Raises:
            ConfigError: For a pair without ``=``.
        """
        mapping = {}
        for pair in columns:
            key, sep, column = pair.partition("=")
            if not sep or not key.strip() or not column.strip():
                raise ConfigError("map", f"expected RECORD_KEY=FILE_COLUMN, got {pair!r}")
            mapping[key.strip()] = column.strip()
        return cls(columns=mapping, **fields)


class RecordReader:
    """Stream the records of one file, collecting problems instead of stopping at the first.

    Args:
        path: The file.
        options: How to read it (format, encoding, column mapping, selection, language).
        allow_empty: Text fields that may be empty (raw generated candidates that cleaning rules will judge).

    After iteration, :attr:`errors` lists every problem, :attr:`rejects` the rows they belong to, :attr:`counts`
    the records by type, :attr:`unselected` the valid records the ``where`` conditions left out, and
    :attr:`format` and :attr:`encoding` what was used; after :meth:`jsonl`, :attr:`columnar_rows` says how many
    rows were converted column-wise.

    Example:
        >>> reader = RecordReader("data.jsonl")  # doctest: +SKIP
        >>> records = list(reader)  # doctest: +SKIP
        >>> reader.errors  # doctest: +SKIP
        []
    """

    def __init__(
        self,
        path: str | Path,
        options: ReadOptions | None = None,
        *,
        allow_empty: frozenset[str] = frozenset(),
    ) -> None:
        options = options or ReadOptions()
        self.path = Path(path)
        self.format = options.format
        self.encoding = options.encoding
        self.errors: list[DataError] = []
        self.rejects: list[Reject] = []
        self.counts: Counter[str] = Counter()
        self.unselected = 0
        self._columns = {column: key for key, column in options.columns.items()}  # file column -> record key
        self._where = parse_where(options.where)
        self._convert_options = ConvertOptions(allow_empty, options.language, self.path.stem)
        self._format_line: int | None = None
        self._id_prefix = self.path.stem  # rows without an id get "<file stem>-<ordinal>"
        self.columnar_rows = 0
        self._start()

    def _start(self) -> None:
        """Forget the ids of an earlier reading: each reading checks the file's ids afresh."""
        self._seen_ids: dict[str, int | None] = {}
        self._taken_ordinals: set[int] = set()  # fallback-shaped ids that rows gave themselves
        self._fast_spans: list[tuple[int, int, int | None]] = []  # (first ordinal, count, first line) column-wise

    def __iter__(self) -> Iterator[Record]:
        self.encoding, rows = iter_rows(self.path, self.encoding)
        self._start()
        for ordinal, row in enumerate(rows, start=1):
            record = self._take(row, ordinal)
            if record is not None:
                yield record

    def jsonl(self, workers: int | None = None) -> Iterator[bytes | memoryview]:
        """The medspec JSONL of the selected records, as UTF-8 pieces of whole lines, in file order.

        The same bytes as ``json.dumps(record_to_dict(record), ensure_ascii=False) + "\\n"`` for each record, and
        the same :attr:`errors`, :attr:`rejects` and :attr:`counts`, sooner: a CSV or JSONL file (of a MiB or more)
        of CMExam, question/answer or Alpaca rows is converted a block of plain rows at a time
        (:mod:`medspec.data.columnar`), about ten times faster on two cores; every other row and file goes through
        the row path.

        Args:
            workers: Threads that parse and convert blocks; by default one per CPU core, at most 8.

        Example:
            >>> reader = RecordReader("cmexam_test.csv")  # doctest: +SKIP
            >>> with open("cmexam_test.jsonl", "wb") as f:  # doctest: +SKIP
            ...     f.writelines(reader.jsonl())
        """
        self.encoding, rows = iter_rows(self.path, self.encoding)
        self._start()
        from medspec.data import _blocks

        pieces = None
        if (
            not (self._where or self._convert_options.allow_empty)
            and self.path.stat().st_size >= _blocks.MIN_FILE_BYTES
        ):
            from medspec.data._block_reader import block_jsonl  # pyarrow's readers: only for files worth them

            pieces = block_jsonl(self, self.encoding, workers or min(os.cpu_count() or 1, 8))
        if pieces is None:
            for ordinal, row in enumerate(rows, start=1):
                record = self._take(row, ordinal)
                if record is not None:
                    yield (json.dumps(record_to_dict(record), ensure_ascii=False) + "\n").encode()
            return
        rows.close()
        yield from pieces

    def _take(self, row: Row, ordinal: int) -> Record | None:
        """The record of one row when it is valid, new and selected; otherwise note why not."""
        record = self._convert(row, ordinal)
        if record is None:
            return None
        first = self._first_line_of(record.id, ordinal)
        if first is not False:
            where = "an earlier row" if first is None else f"line {first}"
            message = f"duplicate id {record.id!r} (first on {where}); ids must be unique in a file"
            self._reject(row, [DataError(self.path, row.line, "id", message)])
            return None
        self._seen_ids[record.id] = row.line
        ordinal_of_id = self._fallback_ordinal(record.id)
        if ordinal_of_id is not None and ordinal_of_id != ordinal:
            self._taken_ordinals.add(ordinal_of_id)
        if not all(condition.matches(record) for condition in self._where):
            self.unselected += 1
            return None
        self.counts[record.type_name] += 1
        return record

    def _fallback_ordinal(self, record_id: str) -> int | None:
        """The ordinal in an id shaped like the fallback ids (``<file stem>-<ordinal>``)."""
        prefix, _, number = record_id.rpartition("-")
        return int(number) if prefix == self._id_prefix and number.isdigit() and str(int(number)) == number else None

    def _first_line_of(self, record_id: str, ordinal: int) -> int | bool | None:
        """The line where the id of row ``ordinal`` was first seen (``None`` when unknown), or ``False`` when it is
        new: among the rows read row by row, and among the fallback ids of the rows converted column-wise."""
        if record_id in self._seen_ids:
            return self._seen_ids[record_id]
        taken = self._fallback_ordinal(record_id)
        if taken is None or taken == ordinal:
            return False
        index = bisect.bisect_right(self._fast_spans, taken, key=lambda span: span[0]) - 1
        if index < 0 or taken >= self._fast_spans[index][0] + self._fast_spans[index][1]:
            return False
        first_ordinal, _, first_line = self._fast_spans[index]
        return None if first_line is None else first_line + taken - first_ordinal

    def _ids_taken(self, first_ordinal: int, count: int) -> bool:
        """Whether a row's own id has taken a fallback id of the rows ``first_ordinal`` .. ``+ count``."""
        return any(first_ordinal <= ordinal < first_ordinal + count for ordinal in self._taken_ordinals)

    def _fast_rows(self, record_type: str, first_ordinal: int, count: int, first_line: int | None) -> None:
        """Count rows converted column-wise, whose ids are their fallback ids."""
        self.counts[record_type] += count
        self.columnar_rows += count
        self._fast_spans.append((first_ordinal, count, first_line))

    def _convert(self, row: Row, ordinal: int) -> Record | None:
        if row.error is not None:
            self._reject(row, [row.error])
            return None
        assert row.data is not None
        if self._columns:
            row.data = {self._columns.get(key, key): value for key, value in row.data.items()}
        data_format = self._format_for(row)
        if data_format is None:
            return None
        try:
            record = data_format.convert(row.data, f"{self._id_prefix}-{ordinal}", self._convert_options)
        except RecordProblems as problems:
            self._reject(row, [DataError(self.path, row.line, f, m) for f, m in problems.problems])
            return None
        if data_format.keep_extra:
            kept = {k: v for k, v in row.data.items() if k and k not in data_format.fields and not is_missing(v)}
            record.meta = {**kept, **record.meta}
            if record.provenance.source is None:
                record.provenance.source = data_format.name
        return record

    def _format_for(self, row: Row) -> DataFormat | None:
        assert row.data is not None
        if self.format is not None and FORMATS[self.format].signature(row.data):
            return FORMATS[self.format]  # the file's format: no need to try every other one
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
    options: ReadOptions | None = None,
    *,
    skip_invalid: bool = False,
    allow_empty: frozenset[str] = frozenset(),
) -> list[Record]:
    """Read every (selected) record of a file.

    Args:
        path: A JSONL, JSON, CSV/TSV, XLSX, Parquet or text file.
        options: How to read it: format, encoding, column mapping, ``where`` conditions, language.
        skip_invalid: Keep the good records and log how many rows were skipped, instead of raising.
        allow_empty: Text fields that may be empty.

    Returns:
        The valid records, in file order.

    Raises:
        InvalidDataError: With every problem in the file, unless ``skip_invalid``.
    """
    reader = RecordReader(path, options, allow_empty=allow_empty)
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


def write_records(path: str | Path, records: Iterable[Record]) -> int:
    """Write records as medspec JSONL atomically, streaming; return how many were written."""
    return write_jsonl(path, (record_to_dict(r) for r in records))
