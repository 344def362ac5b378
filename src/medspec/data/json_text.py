"""Parsing JSON text from files and model answers without letting deep nesting crash the caller.

Python's JSON parser recurses once per nesting level, so a line of 100,000 ``[`` raises :class:`RecursionError`,
which is not a :class:`ValueError` and escapes every ``except json.JSONDecodeError``. These helpers turn it into a
:class:`json.JSONDecodeError` placed at the start of the value, with the :class:`RecursionError` as its
``__cause__``, so callers keep a single ``except`` clause.

Example:
    >>> parse_json('{"answer": "B"}')
    {'answer': 'B'}
    >>> try:
    ...     parse_json("[" * 100_000)
    ... except json.JSONDecodeError as exc:
    ...     print(exc.msg[:18], "at column", exc.colno)
    nested deeper than at column 1
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

__all__ = ["parse_json", "parse_json_prefix"]

_DECODER = json.JSONDecoder()
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def parse_json(text: str) -> Any:
    """Parse ``text`` as one JSON value, like :func:`json.loads`.

    Args:
        text: The JSON text.

    Returns:
        The parsed value.

    Raises:
        json.JSONDecodeError: When the text is not JSON, or is nested too deeply for the parser.

    Example:
        >>> parse_json('[1, {"a": null}]')
        [1, {'a': None}]
    """
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise _too_deep(text, 0) from exc
    _check_characters(value, text, 0, len(text))
    return value


def parse_json_prefix(text: str, start: int = 0) -> tuple[Any, int]:
    """Parse the JSON value that begins at ``text[start]``, like :meth:`json.JSONDecoder.raw_decode`.

    Args:
        text: Text holding JSON values, e.g. an array read element by element or a model answer.
        start: Where the value begins.

    Returns:
        The value and the index just past it.

    Raises:
        json.JSONDecodeError: When no JSON value begins at ``start``, or it is nested too deeply for the parser.

    Example:
        >>> parse_json_prefix('分数：{"score": 4} 理由……', 3)
        ({'score': 4}, 15)
    """
    try:
        value, end = _DECODER.raw_decode(text, start)
    except RecursionError as exc:
        raise _too_deep(text, start) from exc
    _check_characters(value, text, start, end)
    return value, end


def _check_characters(value: Any, text: str, start: int, end: int) -> None:
    """Refuse an escaped lone surrogate (``"\\ud800"``): Python's parser lets it through as a string that no file
    can hold, and writing it would fail far from here."""
    found = _SURROGATE_ESCAPE.search(text, start, end)
    if found is None:
        return
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        message = f"{found.group()} is half of a UTF-16 surrogate pair, not a character"
        raise json.JSONDecodeError(message, text, found.start()) from None


def _too_deep(text: str, start: int) -> json.JSONDecodeError:
    # The value's start, not the spot that overflowed: finding that would mean walking the text once per failure,
    # and callers that retry at each "{" of a model answer would walk it quadratically.
    message = f"nested deeper than the JSON parser's limit of about {sys.getrecursionlimit()} levels"
    return json.JSONDecodeError(message, text, start)
