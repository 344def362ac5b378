"""Streaming a JSON array out of a file: text decoded a chunk at a time, each element parsed as soon as it is whole.

Memory holds about one chunk and one element, whatever the size of the file. Lines and columns are those a parse
of the whole file would report, so a problem is placed the same way however the file is cut into chunks. A broken
element stops the array (the elements before it are handed out first); an element that may only be cut by the end
of a chunk is parsed again with more text, up to the end of the file.

This module yields plain values; :mod:`medspec.data.rows` makes rows of them.

Example:
    >>> list(array_elements(['[{"q": "麻醉"},\\n {"q": ', '"镇痛"}]']))
    [(1, {'q': '麻醉'}), (2, {'q': '镇痛'})]
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medspec.data.json_text import parse_json_prefix

__all__ = ["StreamError", "array_elements", "decoded_chunks"]

_CHUNK_BYTES = 2**20  # how much of a file is read and decoded at a time
# Within this many characters of the end of the text read so far, a parse may be misled by the text running out:
# "-Infinit" fails 8 characters before its end, and "37918." (of "37918.5") parses as 37918 one character before
# it. A failure earlier has met a fault that more text cannot mend; a value ending earlier is whole.
_LOOKAHEAD = 16
_SPACE = re.compile(r"\s*")  # what str.lstrip() drops
_BETWEEN_ELEMENTS = re.compile(r"[ \t\r\n,]*")


class StreamError(ValueError):
    """Why a streamed file stopped being read.

    Args:
        line: The problem's line in the file.
        message: What is wrong there.
    """

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


def decoded_chunks(path: Path, encoding: str) -> Iterator[str]:
    """A file's text a chunk at a time, its UTF-8 BOM dropped; a character cut by a chunk's end joins its rest.

    Args:
        path: The file.
        encoding: Its text encoding (``utf-8-sig`` reads as UTF-8).

    Returns:
        The text, in pieces of about one MiB.

    Raises:
        StreamError: After the text before the first byte that does not decode, naming that byte's line.

    Example:
        >>> import pathlib, tempfile
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "exam.json"
        >>> _ = path.write_bytes(b'["\\xef\\xbc\\x9f",\\n"\\xff"]')
        >>> chunks = decoded_chunks(path, "utf-8")
        >>> next(chunks)
        '["？",\\n"'
        >>> try:
        ...     next(chunks)
        ... except StreamError as exc:
        ...     print(exc.line, exc.message[:37])
        2 byte 0xff is not valid utf-8; re-save
    """
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    decoder = codecs.getincrementaldecoder(codec)()
    newlines = 0  # in the bytes before this chunk
    with open(path, "rb") as f:
        if f.read(len(codecs.BOM_UTF8)) != codecs.BOM_UTF8:
            f.seek(0)
        while True:
            raw = f.read(_CHUNK_BYTES)
            try:
                text = decoder.decode(raw, final=not raw)
            except UnicodeDecodeError as exc:
                # exc.object is this chunk after what the decoder held back of a character cut by the last one
                yield exc.object[: exc.start].decode(codec)
                line = newlines + raw.count(b"\n") - exc.object.count(b"\n", exc.start) + 1
                message = (
                    f"byte 0x{exc.object[exc.start]:02x} is not valid {encoding}; "
                    "re-save the file as UTF-8 or pass the right encoding"
                )
                raise StreamError(line, message) from None
            if not raw:
                return
            newlines += raw.count(b"\n")
            yield text


def array_elements(chunks: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """Each element of a JSON array, with the line it starts on, parsed as soon as its text has arrived.

    Args:
        chunks: The text, in pieces of any size, whose first non-space character is the array's ``[``.

    Returns:
        (line, value) for each element, in order.

    Raises:
        StreamError: For an element that is not valid JSON (the message names its column), an array that is not
            closed, or a problem raised by ``chunks``; always after the elements before the problem.

    Example:
        >>> list(array_elements(['[1, ', '{"a": 2}', ']']))
        [(1, 1), (1, {'a': 2})]
    """
    window = _Window(iter(chunks))
    window.skip(_SPACE)
    window.advance(window.position + 1)  # the "["
    while True:
        if not window.skip(_BETWEEN_ELEMENTS):
            raise StreamError(window.line, "the JSON array is not closed with ']' (truncated file?)")
        if window.text[window.position] == "]":
            return
        try:
            item, end = window.value()
        except json.JSONDecodeError as exc:
            line, column = window.place(exc)
            message = f"invalid JSON at column {column}: {exc.msg}; the rest of the file cannot be read"
            raise StreamError(line, message) from None
        yield window.line, item
        window.advance(end)


def _may_be_cut(exc: json.JSONDecodeError) -> bool:
    """Whether a value failed to parse only because the text read so far ends inside it."""
    if isinstance(exc.__cause__, RecursionError):
        return False  # already nested too deep; the rest of the value nests no shallower
    return exc.msg.startswith("Unterminated string") or exc.pos >= len(exc.doc) - _LOOKAHEAD


class _Window:
    """The text of a streamed JSON array from the element being parsed to the end of what has been read.

    Text before :attr:`position` is dropped when more is read. The window keeps the line of :attr:`position` and
    where its first character lies in the file, so that a problem in it is placed on the file's line and column.
    """

    def __init__(self, chunks: Iterator[str]) -> None:
        self.text = ""
        self.position = 0
        self.line = 1  # of text[position]
        self._chunks = chunks
        self._first_line = 1  # of text[0]
        self._first_column = 0  # characters before text[0] on its line
        self._ended = False
        self._problem: StreamError | None = None

    def advance(self, end: int) -> None:
        self.line += self.text.count("\n", self.position, end)
        self.position = end

    def skip(self, pattern: re.Pattern[str]) -> bool:
        """Move past what ``pattern`` matches, reading on as needed; False when the text ends first."""
        self.advance(self._match_end(pattern))
        while self.position == len(self.text):
            if not self.read_on():
                self._raise_problem()
                return False
            self.advance(self._match_end(pattern))
        return True

    def _match_end(self, pattern: re.Pattern[str]) -> int:
        match = pattern.match(self.text, self.position)
        return match.end() if match else self.position

    def value(self) -> tuple[Any, int]:
        """The JSON value at :attr:`position` and the index just past it, reading on until it is whole.

        Raises:
            json.JSONDecodeError: When the value is not valid JSON (:meth:`place` finds it in the file).
        """
        while True:
            try:
                item, end = parse_json_prefix(self.text, self.position)
            except json.JSONDecodeError as exc:
                if not _may_be_cut(exc):
                    raise
                if self.read_on():
                    continue
                self._raise_problem()  # the text ran out early, at a byte that does not decode
                raise
            if end <= len(self.text) - _LOOKAHEAD or not self.read_on():
                return item, end

    def place(self, exc: json.JSONDecodeError) -> tuple[int, int]:
        """The line and column in the file of a problem that :meth:`value` found."""
        return self._first_line + exc.lineno - 1, exc.colno + (self._first_column if exc.lineno == 1 else 0)

    def read_on(self) -> bool:
        """Drop the text before :attr:`position` and read until the rest at least doubles; False at the end.

        Doubling, not one chunk at a time, parses an element that spans many chunks a few times, not once a chunk.
        """
        if self._ended:
            return False
        parts: list[str] = []
        size, wanted = 0, max(len(self.text) - self.position, 1)
        try:
            for chunk in self._chunks:
                parts.append(chunk)
                size += len(chunk)
                if size >= wanted:
                    break
            else:
                self._ended = True
        except StreamError as exc:
            self._ended, self._problem = True, exc  # raised once the text before it is used up
        if not parts:
            return False
        newline = self.text.rfind("\n", 0, self.position)
        self._first_column = self.position - newline - 1 if newline >= 0 else self._first_column + self.position
        self._first_line = self.line
        self.text = "".join([self.text[self.position :], *parts])
        self.position = 0
        return True

    def _raise_problem(self) -> None:
        """Raise the problem that stopped the chunks early, if one did."""
        if self._problem is not None:
            raise self._problem
