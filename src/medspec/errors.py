"""The exceptions medspec raises.

Every error says where the problem is, what is wrong and, where one exists, how to fix it. Problems found in
one file are collected and raised together as :class:`InvalidDataError`, so a user fixes them in one pass.

Example:
    >>> err = DataError("seeds.jsonl", 17, "answer", "expected one of A-E, got 'F'")
    >>> str(err)
    "seeds.jsonl:17: field 'answer': expected one of A-E, got 'F'"
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "BackendError",
    "ConfigError",
    "DataError",
    "InvalidDataError",
    "MedspecError",
]


class MedspecError(Exception):
    """Base class of every error medspec raises on purpose."""


class ConfigError(MedspecError):
    """A configuration value is missing, unknown or impossible.

    Args:
        key: Dotted path of the offending key, e.g. ``"training.stages[1].lr"``; empty for the whole file.
        message: What is wrong and what is expected.
        source: The config file, when the value came from one.
    """

    def __init__(self, key: str, message: str, *, source: str | Path | None = None) -> None:
        self.key = key
        self.message = message
        self.source = str(source) if source is not None else None
        where = f"{self.source}: " if self.source else ""
        what = f"key '{key}': " if key else ""
        super().__init__(f"{where}{what}{message}")


class DataError(MedspecError):
    """One problem in one record of a data file.

    Args:
        path: The file (or another description of the source).
        line: 1-based line of a text file, or row of a table; ``None`` when the problem concerns the whole file.
        field: The field at fault, dotted for nested fields (``"options.B"``); ``None`` for the whole record.
        message: What is wrong and what is expected.
    """

    def __init__(self, path: str | Path, line: int | None, field: str | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return the one-line form ``file:line: field 'x': message``."""
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}: {what}{self.message}"

    def to_dict(self) -> dict[str, object]:
        """Return the problem as a JSON-ready dict (used for reject files and reports)."""
        return {"path": self.path, "line": self.line, "field": self.field, "message": self.message}


class InvalidDataError(MedspecError):
    """All the problems found in one or more data files, raised together.

    Args:
        errors: The individual problems, in file order.
        shown: How many to spell out in the message; the rest are counted.
    """

    def __init__(self, errors: list[DataError], *, shown: int = 20) -> None:
        if not errors:
            raise ValueError("InvalidDataError needs at least one DataError")
        self.errors = list(errors)
        files = sorted({e.path for e in self.errors})
        head = f"{len(self.errors)} problem{'s' if len(self.errors) != 1 else ''} in {', '.join(files)}:"
        lines = [f"  {e.describe()}" for e in self.errors[:shown]]
        if len(self.errors) > shown:
            lines.append(f"  ... and {len(self.errors) - shown} more (use `medspec validate` to list them all)")
        super().__init__("\n".join([head, *lines]))


class BackendError(MedspecError):
    """An LLM backend failed in a way that retrying cannot fix (bad key, bad request, unknown model)."""
