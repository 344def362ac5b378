"""Column-wise conversion: whole blocks of CMExam, question/answer and Alpaca rows to medspec JSONL with pyarrow.

Converting a row at a time costs tens of microseconds in Python; a 1,000,000-row CMExam file would take half a
minute. For the formats most files come in, a :class:`ColumnarFormat` turns a block of rows, parsed by pyarrow,
into their medspec JSONL lines with compute kernels, and says for each row whether its line is exactly the one the
row converter writes (``json.dumps(record_to_dict(record), ensure_ascii=False)``). It vouches only for rows in the
plainest shape: every text non-empty and not ``nan``, option lines ``A 文本`` / ``A.文本`` / ``A、文本`` with the
letters in order, a one-letter or ascending answer key, no control characters. Any other row, and every problem, is
left to the row converter, which reads it and names the file, line and field as always, so the output and the
errors are those of the row path, only sooner. :meth:`medspec.data.io.RecordReader.jsonl` decides which path each
block takes.

Example:
    >>> import pyarrow as pa
    >>> batch = pa.RecordBatch.from_pydict({"questions": ["腰麻后头痛如何处理？"], "answers": ["平卧、补液。"]})
    >>> converted = COLUMNAR_FORMATS["qa"].convert(batch)
    >>> converted.ok.tolist(), converted.lines("huatuo-", first_ordinal=1)[0].as_py()
    ([True], '{"type": "instruction", "id": "huatuo-1", "instruction": "腰麻后头痛如何处理？", \
"output": "平卧、补液。", "provenance": {"source": "qa"}}\\n')
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from medspec.data._utf8 import (
    Spans,
    char_in,
    ends_with_any,
    has_byte_below,
    lines_of,
    special_bytes,
    starts_with_any,
    utf8_bytes,
)
from medspec.data.formats import FORMATS

__all__ = ["COLUMNAR_FORMATS", "ColumnarFormat", "Converted", "columnar_format"]

Part = str | pa.Array  # a constant, or one text per row
Members = tuple[list[Part], np.ndarray]  # a record's JSON members as parts, and the rows they are right for

# what str.strip() removes: "".join(c for c in map(chr, range(0x110000)) if c.isspace())
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
_NULL = pa.scalar(None, pa.string())
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # the row path writes these as \u00XX, \b, \f: left to it
_LINE_CONTROLS = frozenset(b"\t\n\r")
_ESCAPED_BYTES = frozenset(b'\t\n\r"\\')  # what the row path writes as \t, \n, \r, \", \\
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ASCENDING_LETTERS = "^" + "".join(f"{letter}?" for letter in _LETTERS) + "$"
_OPTION_SEPARATORS = " .．、:：)）"  # one of these between an option's letter and its text
_NOT_OPTION_START = _WHITESPACE + ".．、:：)）"  # where the option pattern would read on


@dataclass(frozen=True)
class Converted:
    """A block's rows as medspec JSONL, but for their ids, which depend on where the block starts in the file.

    Attributes:
        head: What each line starts with, up to the id (``{"type": "choice", "id": "``).
        tails: What follows the id on each line, to its ``\\n``; only those of ``ok`` rows are meaningful.
        ok: True where the line is exactly what the row converter writes; the other rows go through it.
    """

    head: str
    tails: pa.StringArray
    ok: np.ndarray

    def lines(self, id_prefix: str, first_ordinal: int) -> pa.StringArray:
        """The whole lines, the rows getting the ids ``id_prefix + ordinal`` from ``first_ordinal`` on."""
        ordinals = pc.cast(pa.array(np.arange(first_ordinal, first_ordinal + len(self.tails))), pa.string())
        return _join_strict([self.head + _dumps(id_prefix)[1:-1], ordinals, self.tails])


@dataclass(frozen=True)
class _Rows:
    """A block's rows as text columns, and the bytes JSON escapes that its texts may hold (``None``: any of them),
    which the reader knows from the raw block at little cost and saves a scan of each column."""

    batch: pa.RecordBatch
    possible: frozenset[int] | None = None

    @property
    def names(self) -> list[str]:
        return self.batch.schema.names

    def column(self, name: str) -> pa.Array:
        return self.batch.column(name)

    def special(self, column: pa.Array) -> frozenset[int]:
        """The bytes JSON escapes (control characters, quote, backslash) in ``column``."""
        if self.possible is not None and self.possible <= _LINE_CONTROLS:
            return special_bytes(column, self.possible) if has_byte_below(column, 0x20) else frozenset()
        return special_bytes(column)

    def escaped(self, column: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """Each text escaped for a JSON string, and where that is the row path's: everywhere but at a control
        character other than tab and line breaks (written as ``\\u00XX`` there; left to it)."""
        special = self.special(column)
        ok = np.ones(len(column), dtype=bool)
        if special - _ESCAPED_BYTES:
            ok = ~_mask(pc.fill_null(pc.match_substring_regex(column, _CONTROL), False))
        for text, escaped in _ESCAPES:  # the backslash first, so that no escape is escaped again
            if ord(text) in special:
                column = pc.replace_substring(column, text, escaped)
        return column, ok

    def required(self, key: str, name: str) -> Members:
        """A required text member: its parts, and the rows where the text is present."""
        column = self.column(name)
        value, ok = self.escaped(column)
        return [f', {_dumps(key)}: "', value, '"'], ok & _present(column)

    def optional(self, key: str, name: str) -> Members:
        """An optional text member (``input``, ``explanation``), left out where the text is empty; a blank or
        ``nan`` text is left to the row path, which keeps the one and drops the other."""
        column = self.column(name)
        empty = (np.diff(utf8_bytes(column)[1]) == 0) | ~_mask(pc.is_valid(column))  # a null is a missing key
        value, ok = self.escaped(column)
        ok &= empty | _present(column)
        return _member_where(~empty, [f', {_dumps(key)}: "', value, '"']), ok

    def meta(self, extras: list[str]) -> Members:
        """The ``meta`` member: the kept columns (the row path keeps a text that is not blank or ``nan``), left out
        where a row keeps none."""
        ok = np.ones(self.batch.num_rows, dtype=bool)
        entries, everywhere = [], True
        for name in extras:
            column = self.column(name)
            value, value_ok = self.escaped(column)
            present = _present(column)
            ok &= value_ok | ~present
            everywhere &= bool(present.all())
            entries.append((present, [f"{_dumps(name)}: " + '"', value, '"']))
        if everywhere:  # the usual case: one run of parts, no joins in between
            parts: list[Part] = [', "meta": {']
            for index, (_, entry) in enumerate(entries):
                parts += [", " if index else "", *entry]
            return [*parts, "}"], ok
        # each kept entry with its ", " (pyarrow's null_handling="skip" drops the rows where every part is null)
        kept = [pc.if_else(pa.array(present), _join_strict([", ", *entry]), "") for present, entry in entries]
        members = pc.utf8_slice_codeunits(_join_strict(kept), 2)
        any_kept = np.logical_or.reduce([present for present, _ in entries])
        return _member_where(any_kept, [', "meta": {', members, "}"]), ok


@dataclass(frozen=True)
class ColumnarFormat:
    """A source format some of whose blocks convert column-wise.

    Attributes:
        name: The :data:`~medspec.data.formats.FORMATS` name it speeds up.
        accepts: Whether a block with these columns (every one a string in every row) can take this path.
        build: The record's JSON members from the block, after its id, as ``(parts, ok)``: constants and text arrays
            that joined row by row make the members (a null part drops out, for a member a row leaves out), and the
            rows it vouches for.
        record_type: The record's ``type``.
        fields: The columns it reads; the others are kept in ``meta``.
    """

    name: str
    accepts: Callable[[frozenset[str]], bool]
    build: Callable[[_Rows], Members]
    record_type: str
    fields: frozenset[str]

    def convert(self, batch: pa.RecordBatch, possible: frozenset[int] | None = None) -> Converted:
        """The JSONL lines of ``batch``'s rows, but for their ids.

        Args:
            batch: The rows, every column a string (a null is a key the row lacks).
            possible: The bytes JSON escapes that the texts may hold, when the caller knows (from the raw bytes:
                no backslash in a JSONL block means none); ``None`` has each column scanned.
        """
        rows = _Rows(batch, possible)
        members, ok = self.build(rows)
        parts: list[Part] = ['"', *members, f', "provenance": {{"source": {_dumps(self.name)}}}']
        extras = [name for name in batch.schema.names if name not in self.fields]
        if extras:
            meta, meta_ok = rows.meta(extras)
            parts += meta
            ok &= meta_ok
        parts.append("}\n")
        tails = pc.binary_join_element_wise(*_merged(parts), "", null_handling="skip")
        return Converted(f'{{"type": {_dumps(self.record_type)}, "id": "', tails, ok)


COLUMNAR_FORMATS: dict[str, ColumnarFormat] = {}


def columnar_format(name: str | None, columns: frozenset[str]) -> ColumnarFormat | None:
    """The column-wise converter for blocks of format ``name`` with these columns, if there is one."""
    candidate = COLUMNAR_FORMATS.get(name or "")
    if candidate is None or columns & _ROW_PATH_ONLY or not candidate.accepts(columns):
        return None
    return candidate


def _dumps(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _join_strict(parts: list[Part]) -> pa.Array:
    """Concatenate text arrays and constants row by row; null where a part is null."""
    return pc.binary_join_element_wise(*parts, "", null_handling="emit_null")


def _merged(parts: list[Part]) -> list[Part]:
    """The parts with neighbouring constants joined: fewer arguments for the kernel."""
    merged: list[Part] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "" or not isinstance(part, str):
            merged.append(part)
    return merged


def _member_where(present: np.ndarray, parts: list[Part]) -> list[Part]:
    """A member's parts for rows that have it: as they are when every row does, as one array null elsewhere."""
    if present.all():
        return parts
    if not present.any():
        return []
    return [pc.if_else(pa.array(present), _join_strict(parts), _NULL)]


def _mask(array: pa.Array) -> np.ndarray:
    return array.to_numpy(zero_copy_only=False)


def _present(column: pa.Array) -> np.ndarray:
    """Where a text is present: not null, blank or ``nan`` once stripped as Python strips."""
    valid = _mask(pc.is_valid(column))
    if (starts_with_any(column, _WHITESPACE) | ends_with_any(column, _WHITESPACE)).any():
        column = pc.utf8_trim(column, _WHITESPACE)
    data, bounds = utf8_bytes(column)
    lengths = np.diff(bounds)
    missing = lengths == 0
    three = np.flatnonzero(lengths == 3)  # only these can be nan, NaN or NAN
    if three.size:
        first, middle, end = (data[bounds[three] + k] for k in range(3))
        lower = (first == ord("n")) & (middle == ord("a"))  # nan
        upper = (first == ord("N")) & ((middle == ord("a")) | (middle == ord("A")))  # NaN, NAN
        missing[three] = (first == end) & (lower | upper)
    return ~missing & valid


def _rows_all(line_ok: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per row, whether every one of its lines (``offsets`` into ``line_ok``) is fine."""
    bad = np.concatenate([[0], np.cumsum(~line_ok)])
    return bad[offsets[1:]] == bad[offsets[:-1]]


def _option_lines(rows: _Rows) -> tuple[list[Part], np.ndarray, np.ndarray]:
    """CMExam's ``Options`` cell as the members of a JSON object per row, the rows whose lines are ``A 文本``,
    ``A.文本``... with the letters ``A``, ``B``, ... in order and at least two of them, and each row's number of
    options."""
    column = rows.column("Options")
    special = rows.special(column)
    if 0x0D in special:
        column = pc.replace_substring(pc.replace_substring(column, "\r\n", "\n"), "\r", "\n")
    if 0x5C in special:
        column = pc.replace_substring(column, "\\n", "\n")  # the two characters CMExam's CSV files separate with
    if special & {0x0D, 0x5C}:
        special = special_bytes(column)
    lines = lines_of(column)
    data, starts, lengths = lines.data, lines.starts, lines.lengths
    top = max(data.size - 1, 0)
    in_order = (lengths > 0) & (data[np.minimum(starts, top)] == ord("A") + lines.place) if data.size else lengths > 0
    # the text starts after the letter and a separator of one byte (" .:)") or three ("、．：）")
    width = 1 + np.where(data[np.minimum(starts + 1, top)] < 0x80, 1, 3) if data.size else lengths
    text_ok = rows.escaped(column)[1] if special - _ESCAPED_BYTES else True
    line_ok = (
        in_order
        & (lengths > width)
        & char_in(data, starts + 1, lengths - 1, _OPTION_SEPARATORS)
        & ~char_in(data, starts + width, lengths - width, _NOT_OPTION_START)
        & ~char_in(data, starts, lengths, _WHITESPACE, at_end=True)
    )
    ok = _rows_all(line_ok, np.concatenate([[0], np.cumsum(lines.counts)])) & (lines.counts >= 2) & text_ok
    separator = _usual_separator(data, starts, line_ok)
    if special - {0x09, 0x0A} or separator is None:  # escapes, or separators that differ from row to row
        return [_option_pairs(column, rows)], ok, lines.counts
    ok &= _rows_all(char_in(data, starts + 1, lengths - 1, separator), np.concatenate([[0], np.cumsum(lines.counts)]))
    # "A 甲\nB 乙" -> "A": "甲", "B": "乙": for each place, the key (in the rows that have that many options) and the
    # text after letter and separator, read straight from the cell's bytes
    width = 1 + len(separator.encode())
    first = np.concatenate([[0], np.cumsum(lines.counts)[:-1]])
    pieces = Spans(column)
    parts: list[Part] = []
    for place in range(int(lines.counts.max(initial=0))):
        has = lines.counts > place
        line = np.minimum(first + place, len(starts) - 1)
        text = pieces.take(starts[line] + width, np.maximum(lengths[line] - width, 0), has)
        if 0x09 in special:
            text = pc.replace_substring(text, "\t", "\\t")
        key = f'"{_LETTERS[place]}": "' if place == 0 else f'", "{_LETTERS[place]}": "'
        parts += [key if has.all() else pc.if_else(pa.array(has), key, _NULL), text]
    return [*parts, '"'], ok, lines.counts


def _usual_separator(data: np.ndarray, starts: np.ndarray, line_ok: np.ndarray) -> str | None:
    """The separator most good option lines put between letter and text."""
    usable = np.flatnonzero(line_ok)
    if not usable.size:
        return None
    at = starts[usable] + 1
    top = data.size - 1
    code = data[at].astype(np.int64)
    wide = code >= 0x80  # a three-byte separator (、．：）)
    code[wide] = (
        (code[wide] << 16)
        | (data[np.minimum(at[wide] + 1, top)].astype(np.int64) << 8)
        | data[np.minimum(at[wide] + 2, top)]
    )
    values, frequency = np.unique(code, return_counts=True)
    best = int(values[np.argmax(frequency)])
    return chr(best) if best < 0x80 else best.to_bytes(3, "big").decode("utf-8")


def _option_pairs(column: pa.Array, rows: _Rows) -> pa.Array:
    """The ``"A": "文本", ...`` members of each row, a line at a time: for blocks with escapes or mixed separators."""
    lines = pc.split_pattern(column, "\n")
    flat = pc.list_flatten(lines)
    escaped, _ = rows.escaped(pc.utf8_slice_codeunits(flat, 2))
    pairs = _join_strict(['"', pc.utf8_slice_codeunits(flat, 0, 1), '": "', escaped, '"'])
    return _per_row(lines.offsets, pairs, ", ")


def _per_row(offsets: pa.Array, values: pa.Array, separator: str) -> pa.Array:
    """The values of each row's lines joined."""
    return pc.binary_join(pa.ListArray.from_arrays(offsets, values), separator)


def _answer_key(column: pa.Array, option_count: np.ndarray) -> np.ndarray:
    """Where an answer key is ascending letters (``B``, ``ACD``) that all name options."""
    data, bounds = utf8_bytes(column)
    lengths = np.diff(bounds)
    last = data[np.maximum(bounds[1:] - 1, 0)].astype(np.int64) - ord("A") if data.size else lengths
    ok = (lengths > 0) & (last >= 0) & (last < option_count) & _mask(pc.is_valid(column))
    if (lengths > 1).any():  # several letters: ascending, each once
        ok &= _mask(pc.fill_null(pc.match_substring_regex(column, _ASCENDING_LETTERS), False))
    else:
        ok &= last < len(_LETTERS)
    return ok


def _cmexam(rows: _Rows) -> Members:
    members, ok = rows.required("question", "Question")
    options, options_ok, option_count = _option_lines(rows)
    answer = rows.column("Answer")
    ok &= options_ok & _answer_key(answer, option_count)
    members += [', "options": {', *options, '}, "answer": "', answer, '"']
    if "Explanation" in rows.names:
        explanation, explanation_ok = rows.optional("explanation", "Explanation")
        members += explanation
        ok &= explanation_ok
    return members, ok


def _instruction(rows: _Rows, question_key: str, answer_key: str, input_key: str | None) -> Members:
    members, ok = rows.required("instruction", question_key)
    if input_key is not None and input_key in rows.names:
        input_text, input_ok = rows.optional("input", input_key)
        members += input_text
        ok &= input_ok
    output, output_ok = rows.required("output", answer_key)
    return [*members, *output], ok & output_ok


def _qa(rows: _Rows) -> Members:
    plural = "questions" in rows.names
    return _instruction(rows, "questions" if plural else "question", "answers" if plural else "answer", None)


def _alpaca(rows: _Rows) -> Members:
    key = "instruction" if "instruction" in rows.names else "instruct"
    return _instruction(rows, key, "output", "input")


def _one_of(columns: frozenset[str], *keys: str) -> bool:
    return sum(key in columns for key in keys) == 1


# Columns these converters leave to the row path: an id may repeat, history and system are not text columns.
_ROW_PATH_ONLY = frozenset({"id", "history", "system"})

for _columnar in (
    ColumnarFormat(
        "cmexam", lambda c: {"Question", "Options", "Answer"} <= c, _cmexam, "choice", FORMATS["cmexam"].fields
    ),
    ColumnarFormat(
        "qa",
        lambda c: (
            _one_of(c, "question", "questions")
            and _one_of(c, "answer", "answers")
            and (("questions" in c) == ("answers" in c))
        ),
        _qa,
        "instruction",
        FORMATS["qa"].fields,
    ),
    ColumnarFormat(
        "alpaca",
        lambda c: "output" in c and _one_of(c, "instruction", "instruct"),
        _alpaca,
        "instruction",
        FORMATS["alpaca"].fields,
    ),
):
    COLUMNAR_FORMATS[_columnar.name] = _columnar
