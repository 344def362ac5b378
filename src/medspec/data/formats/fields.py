"""Reading one field of a source row, with the quirks public datasets are published with.

Spreadsheets exported through pandas write a missing cell as the text ``nan``; Huatuo-26M wraps each string in a
one-element list. Converters read fields through :func:`text` so that both are handled in one place, and collect
problems as ``(field, message)`` pairs that :func:`raise_if` raises together.

Example:
    >>> problems = []
    >>> text({"instruction": ["小儿发热如何物理降温？"]}, "instruction", problems), problems
    ('小儿发热如何物理降温？', [])
    >>> text({"Answer": "nan"}, "Answer", problems), problems
    ('', [('Answer', "is 'nan', a missing value in the source file")])
"""

from __future__ import annotations

import math
from typing import Any

from medspec.data.schema import RecordProblems

__all__ = ["Problems", "is_missing", "raise_if", "row_id", "text", "unwrap"]

Problems = list[tuple[str | None, str]]
_MISSING_TEXTS = {"nan", "NaN", "NAN"}


def is_missing(value: Any) -> bool:
    """True for ``None``, an empty or blank string, a float NaN, or the text ``nan`` of a pandas export."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and (not value.strip() or value.strip() in _MISSING_TEXTS)


def unwrap(value: Any) -> Any:
    """The string inside a one-element list (Huatuo-26M's ``["text"]``); any other value as it is."""
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    return value


def text(
    row: dict[str, Any],
    key: str,
    problems: Problems,
    *,
    required: bool = True,
    allow_empty: frozenset[str] = frozenset(),
) -> str:
    """The string in ``row[key]``; numbers become text; a missing value is a problem when ``required``."""
    value = unwrap(row.get(key))
    if isinstance(value, str) and value.strip() in _MISSING_TEXTS:
        if required:
            problems.append((key, f"is {value.strip()!r}, a missing value in the source file"))
        return ""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required and not (value is not None and key in allow_empty):
            problems.append((key, "missing or empty; expected a non-empty string"))
        return "" if value is None else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            if required:
                problems.append((key, "is NaN, a missing value in the source file"))
            return ""
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if not isinstance(value, str):
        problems.append((key, f"expected a string, got {type(value).__name__}"))
        return ""
    return value


def row_id(row: dict[str, Any], fallback: str) -> str:
    """The row's ``id`` when it has a usable one, else ``fallback``."""
    value = row.get("id")
    return str(value) if isinstance(value, str | int) and str(value).strip() else fallback


def raise_if(problems: Problems) -> None:
    """Raise every collected problem together.

    Raises:
        RecordProblems: When there is any.
    """
    if problems:
        raise RecordProblems(problems)
