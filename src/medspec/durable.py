"""Files that survive a crash: atomic replacement, and append-only logs that resumable steps are built on.

:func:`atomic_file` writes into a temporary file beside the target, syncs it to disk and only then puts it in
place, so a reader sees the old file or the whole new one, never a part; :func:`atomic_write_text` and
:func:`write_jsonl` are built on it. :class:`AppendLog` appends one whole JSON line at a time and, on opening, drops
a last line cut short by a crash.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> write_jsonl(path, [{"id": "q1"}, {"id": "q2"}])
    2
    >>> log = AppendLog(path)
    >>> log.append({"id": "q3"})
    >>> [entry["id"] for entry in log.entries()]
    ['q1', 'q2', 'q3']
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

__all__ = ["AppendLog", "atomic_file", "atomic_write_lines", "atomic_write_text", "write_jsonl"]

logger = logging.getLogger(__name__)


@contextmanager
def atomic_file(path: str | Path, mode: Literal["w", "wb"] = "w") -> Iterator[IO[Any]]:
    """Yield a temporary file beside ``path`` that replaces it, synced to disk, when the block ends without error.

    When the block raises, the temporary file is removed and ``path`` is untouched. Text mode writes UTF-8.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    encoding = "utf-8" if mode == "w" else None
    with tempfile.NamedTemporaryFile(
        mode, encoding=encoding, dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    ) as tmp:
        try:
            yield tmp
            tmp.flush()
            os.fsync(tmp.fileno())
        except BaseException:
            tmp.close()
            os.unlink(tmp.name)
            raise
    os.replace(tmp.name, path)


def atomic_write_lines(path: str | Path, lines: Iterable[str]) -> int:
    """Stream lines into ``path`` atomically (one line in memory at a time); returns how many were written."""
    count = 0
    with atomic_file(path) as f:
        for line in lines:
            f.write(line)
            count += 1
    return count


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write text to a file so that readers see either the old file or the whole new one, never a part."""
    atomic_write_lines(path, [text])


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write dicts as JSONL atomically, streaming (one row in memory at a time); return how many were written."""
    return atomic_write_lines(path, (json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


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
        self.extend([entry])

    def extend(self, entries: Iterable[dict[str, Any]]) -> None:
        """Append several entries with one flush."""
        lines = "".join(json.dumps(e, ensure_ascii=False) + "\n" for e in entries)
        if lines:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(lines)
                f.flush()
                os.fsync(f.fileno())
