"""One raw row of a data file, as every row reader yields it.

Example:
    >>> Row(3, data={"question": "腰麻后头痛的特点？", "answer": "直立时加重。"}).line
    3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from medspec.errors import DataError

__all__ = ["MAX_LINE_BYTES", "Row"]

MAX_LINE_BYTES = 16 * 2**20  # one JSONL record above 16 MiB is almost surely a whole JSON array on one line


@dataclass
class Row:
    """One row of a file as read: its line (or row) number, and the parsed object or the problem that stopped it.

    Attributes:
        line: Line (or row) in the source file; ``None`` for a whole-file problem.
        data: The parsed object.
        error: Why the row could not be parsed.
        raw: The row as read, for the rejects file.
    """

    line: int | None
    data: dict[str, Any] | None = None
    error: DataError | None = None
    raw: Any = None
