"""Reading tables as raw rows: CSV/TSV with their quoting problems located, and the first worksheet of an XLSX file.

Cells are text, as a CSV file holds them: an XLSX number is written the way the sheet shows it, to 15 significant
digits (``3.0`` as ``"3"``, ``0.1 + 0.2`` as ``"0.3"``), so a CSV and an XLSX mirror of one data set give the same
rows. Empty cells are left out; the columns that hold lists or objects (``options``, ``history``, ...) are parsed as
JSON. The first non-empty row is the header; each row is numbered by its first line (CSV) or its sheet row (XLSX).

This module builds :class:`~medspec.data.rows.Row` objects; :func:`medspec.data.rows.iter_rows` is the entry point.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "exam.csv"
    >>> _ = path.write_text('question,options\\n"肌松药拮抗用？","{""A"": ""新斯的明""}"\\n', encoding="utf-8")
    >>> [(row.line, row.data) for row in csv_rows(path, "utf-8")]
    [(2, {'question': '肌松药拮抗用？', 'options': {'A': '新斯的明'}})]
"""

from __future__ import annotations

import csv
import datetime
import json
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medspec.data._row import MAX_LINE_BYTES, Row
from medspec.data.json_text import parse_json
from medspec.errors import DataError

__all__ = ["STRUCTURED_COLUMNS", "csv_rows", "csv_text_rows", "xlsx_rows"]

STRUCTURED_COLUMNS = {
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


class _Lines:
    """A text file's lines for :func:`csv.reader`, noting whether the reader ran into the end of the file."""

    def __init__(self, f: Iterator[str]) -> None:
        self._f = f
        self.ended = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            return next(self._f)
        except StopIteration:
            self.ended = True
            raise


def csv_rows(path: Path, encoding: str) -> Iterator[Row]:
    """The rows of a CSV file (a TSV file when its suffix is ``.tsv``), streamed.

    Args:
        path: The file.
        encoding: Its text encoding; bytes that do not decode make their row an error.

    Returns:
        The rows after the header, each numbered by its first line; a row whose quoting is broken is an error that
        names the lines it swallowed.
    """
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        yield from csv_text_rows(f, path)


def csv_text_rows(f: Iterable[str], path: Path, header: list[str] | None = None, first_line: int = 1) -> Iterator[Row]:
    """The rows of CSV text lines (read with ``newline=""``), the first line numbered ``first_line``.

    Args:
        f: The lines, from a file or a part of one that starts at a row.
        path: The file, for messages; its suffix says the delimiter (tab for ``.tsv``).
        header: The column names when ``f`` starts after the header; else its first non-empty row is the header.
        first_line: The line number of ``f``'s first line.

    Example:
        >>> import io
        >>> rows = csv_text_rows(io.StringIO("B,是\\n", newline=""), Path("x.csv"), ["Answer", "Note"], 12)
        >>> [(row.line, row.data) for row in rows]
        [(12, {'Answer': 'B', 'Note': '是'})]
    """
    csv.field_size_limit(MAX_LINE_BYTES)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    offset = first_line - 1
    lines = _Lines(iter(f))
    # strict: a quote where none belongs is an error, not text, so an unclosed quote cannot swallow later rows
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        start = offset + reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = _csv_problem(exc, start, offset + reader.line_num, ended=lines.ended)
            yield Row(start, error=DataError(path, start, None, message))
            if header is None:
                return  # without its header no row can be read
            continue
        if not cells:
            continue  # a blank line
        if header is None:
            header = cells
            continue
        yield _csv_row(header, cells, start, offset + reader.line_num, path)


def _csv_problem(exc: csv.Error, start: int, end: int, *, ended: bool) -> str:
    """What a CSV parse error means: after a quote that was opened on line ``start``, it is an unclosed quote."""
    if end == start and not ended:
        return f"malformed CSV: {exc}"
    reach = "the end of the file" if ended else f"line {end}, where {exc}"
    lost = f"; lines {start}-{end} could not be read" if end > start else ""
    return (
        f"unclosed quote: a quoted field on this row runs on to {reach}{lost}. Close the quote, "
        'or write a quote inside a quoted field as ""'
    )


def _csv_row(header: list[str], cells: list[str], start: int, end: int, path: Path) -> Row:
    if end > start and len(cells) != len(header):
        # a quoted field ran over several lines and the cells no longer match the header: rows merged
        message = (
            f"unclosed quote: a quoted field on this row runs on to line {end} and the row has {len(cells)} cells "
            f"for {len(header)} columns; lines {start}-{end} could not be read. Close the quote, "
            'or write a quote inside a quoted field as ""'
        )
        return Row(start, error=DataError(path, start, None, message), raw=cells)
    if len(cells) > len(header):
        message = "row has more cells than the header has columns"
        return Row(start, error=DataError(path, start, None, message), raw=cells[len(header) :])
    for column, value in zip(header, cells, strict=False):
        if "\ufffd" in value:
            message = f"contains bytes that are not valid {path.name} text; re-save the file as UTF-8"
            return Row(start, error=DataError(path, start, column, message))
    return _table_row(zip(header, cells, strict=False), start, path)


def _table_row(cells: Iterable[tuple[str, str | None]], number: int, path: Path) -> Row:
    """A CSV or XLSX row from (column, text) pairs: unnamed columns and empty cells left out, JSON columns parsed."""
    data: dict[str, Any] = {}
    for column, text in cells:
        if not column or text is None:
            continue
        value: Any = text
        if column in STRUCTURED_COLUMNS:
            if not text.strip():
                continue
            try:
                value = parse_json(text)
            except json.JSONDecodeError as exc:
                return Row(number, error=DataError(path, number, column, f"expected JSON in this column: {exc.msg}"))
        data[column] = value
    return Row(number, data=data)


def xlsx_rows(path: Path) -> Iterator[Row]:
    """The first worksheet's rows, streamed; its first non-empty row is the header.

    Args:
        path: The workbook.

    Returns:
        The rows after the header, numbered by their sheet row; an unreadable workbook is one error without a line.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, InvalidFileException) as exc:
        message = f"not a readable .xlsx workbook ({exc}); open it in a spreadsheet program and save it again as .xlsx"
        yield Row(None, error=DataError(path, None, None, message))
        return
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()  # the size the file declares may be stale; read every row and cell there is
        header: list[str] | None = None
        # Missing rows come back empty, so the count is the sheet's row number.
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [None if value is None or value == "" else _cell_text(value) for value in values]
            if all(cell is None for cell in cells):
                continue
            if header is None:
                header = [cell or "" for cell in cells]
            elif any(cell is not None for cell in cells[len(header) :]):
                message = "row has more cells than the header has columns"
                yield Row(number, error=DataError(path, number, None, message), raw=cells[len(header) :])
            else:
                yield _table_row(zip(header, cells, strict=False), number, path)
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    """A cell as a CSV file would hold it: ``3.0`` as ``"3"``, booleans as ``TRUE``/``FALSE``, dates in ISO 8601."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.15g}"  # a spreadsheet keeps 15 significant digits: 3.0 shows as 3, 0.1 + 0.2 as 0.3
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return str(value)
