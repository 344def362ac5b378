"""Rating sheets as files: CSV and XLSX out, rows back in.

CSV is written as UTF-8 with a byte-order mark, so Excel shows Chinese correctly, and read in whatever encoding it
comes back in (Excel re-saves CSV as GB18030 on Chinese Windows). XLSX gets a bold, frozen header, wrapped text,
whole-number validation of every score cell with the criterion's range, and an ``instructions`` sheet with the
criteria. Files are written atomically.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "r.csv"
    >>> write_csv(path, ["code", "usefulness"], [["K7Q2XM", None]])
    >>> list(read_rows(path))
    [['code', 'usefulness'], ['K7Q2XM', '']]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from medspec.data.rows import detect_encoding
from medspec.durable import atomic_file, atomic_write_text
from medspec.rubric import Criterion

__all__ = ["SHEET", "read_rows", "write_csv", "write_xlsx"]

SHEET = "ratings"
_WIDTHS = {"code": 10, "rater": 10, "question": 50, "reference": 50, "answer": 70, "comment": 30}


def write_csv(path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Write a header and rows as UTF-8 CSV with a byte-order mark; None becomes an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    atomic_write_text(path, "\ufeff" + buffer.getvalue())


def write_xlsx(
    path: str | Path, columns: Sequence[str], rows: Sequence[Sequence[Any]], criteria: Sequence[Criterion]
) -> None:
    """Write a rating sheet whose criterion columns accept only whole numbers in range, with an instructions sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = SHEET
    sheet.append(list(columns))
    for row in rows:
        sheet.append(list(row))
    for index, name in enumerate(columns, start=1):
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = _WIDTHS.get(name, 14)
        sheet[f"{letter}1"].font = Font(bold=True)
        for cell in sheet[letter][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    for criterion in criteria:
        letter = get_column_letter(list(columns).index(criterion.name) + 1)
        validation = DataValidation(
            type="whole",
            operator="between",
            formula1=str(criterion.low),
            formula2=str(criterion.high),
            showErrorMessage=True,
            errorTitle=criterion.name,
            error=f"请输入 {criterion.low} 到 {criterion.high} 之间的整数",
        )
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}{len(rows) + 1}")
    sheet.freeze_panes = "C2"
    notes = book.create_sheet("instructions")
    notes.append(["请为每个回答按以下标准打分（整数），不要修改 code、rater 列。模型名称已隐藏，回答顺序随机。"])
    for criterion in criteria:
        notes.append([criterion.name, f"{criterion.low}–{criterion.high}", criterion.description])
    notes.column_dimensions["C"].width = 100
    with atomic_file(path, "wb") as f:
        book.save(f)


def read_rows(path: str | Path) -> Iterator[list[Any]]:
    """The rows of a CSV (any detected encoding) or of an XLSX file's ``ratings`` sheet (else its first)."""
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book[SHEET] if SHEET in book.sheetnames else book.worksheets[0]
            yield from (list(row) for row in sheet.iter_rows(values_only=True))
        finally:
            book.close()
    else:
        with open(path, encoding=detect_encoding(path), newline="") as f:
            yield from csv.reader(f)
