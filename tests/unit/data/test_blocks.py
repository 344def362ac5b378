"""Cutting files into blocks of whole rows, the byte-level text tests, and the prefetching of block work."""

from __future__ import annotations

import io
import random

import numpy as np
import pyarrow as pa
import pytest

from medspec.data._blocks import blocks, csv_facts
from medspec.data._prefetch import prefetched
from medspec.data._utf8 import Spans, char_in, ends_with_any, lines_of, special_bytes, starts_with_any


def _csv_rows(line_end: str) -> bytes:
    rows = [f'第{i}题,"A 甲{line_end}B 乙",B' for i in range(40)]
    return (line_end.join(["Question,Options,Answer", *rows]) + line_end).encode()


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("size", [16, 100, 4096])
def test_csv_blocks_end_at_rows_and_know_their_lines(line_end, size):
    data = _csv_rows(line_end)
    cut = list(blocks(io.BytesIO(data), quoted=True, size=size))
    if not cut[-1].rest:
        assert b"".join(block.data for block in cut) == data
    for block in cut:
        if block.rest:
            assert line_end == "\r" or size == 16  # no \n to cut at, or a row longer than the read
            continue
        assert block.data.count(b'"') % 2 == 0  # never inside a quoted cell
        assert (
            block.first_line
            == data[: block.offset].decode().count("\n")
            + data[: block.offset].decode().count("\r")
            - data[: block.offset].decode().count("\r\n")
            + 1
        )


def test_a_quote_never_closed_leaves_the_rest_to_the_row_path():
    data = b'Question,Answer\nq1,A\n"q2,B\nq3,C\n'
    cut = list(blocks(io.BytesIO(data), quoted=True, size=8))
    assert [block.data for block in cut[:-1]] == [b"Question,Answer\n", b"q1,A\n"]
    assert cut[-1].rest and cut[-1].offset == data.index(b'"q2') and cut[-1].first_line == 3


def test_jsonl_blocks_keep_every_line_whole():
    data = b"".join(b'{"questions": "\xe9\x97\xae%d"}\n' % i for i in range(50)) + b'{"questions": "last"}'
    cut = list(blocks(io.BytesIO(data), quoted=False, size=64))
    assert b"".join(block.data for block in cut) == data
    assert [block.first_line for block in cut] == [data[: block.offset].count(b"\n") + 1 for block in cut]
    assert all(block.data.endswith(b"\n") for block in cut[:-1])


def test_csv_facts_find_quotes_out_of_place_and_replacement_characters():
    assert csv_facts(b'a,"b ""c"""\n').in_place and 0x22 in csv_facts(b'a,"b ""c"""\n').special
    assert not csv_facts(b'"a"b,c\n').in_place  # text after a closing quote: an error to Python
    assert not csv_facts(b'a"b,c\n').in_place  # a quote in a bare cell: text to Python, parity lost to us
    assert not csv_facts("甲\ufffd,b\n".encode()).readable
    assert csv_facts(b"a\tb,c\r\n").special == frozenset({0x09, 0x0A, 0x0D})


WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())


@pytest.mark.parametrize("seed", range(4))
def test_char_tests_agree_with_python(seed):
    rng = random.Random(seed)
    chars = WHITESPACE + ".．、:：)）"
    pool = [*chars, *"中文A。b，丙\x85"]
    texts = ["".join(rng.choice(pool) for _ in range(rng.randint(0, 4))) for _ in range(3000)]
    array = pa.array(texts).slice(5)  # an offset into the buffers, as a table's column may have
    texts = texts[5:]
    assert starts_with_any(array, chars).tolist() == [bool(t) and t[0] in chars for t in texts]
    assert ends_with_any(array, chars).tolist() == [bool(t) and t[-1] in chars for t in texts]
    lines = lines_of(array)
    pieces = [bytes(lines.data[s : s + n]).decode() for s, n in zip(lines.starts, lines.lengths, strict=True)]
    assert pieces == [line for t in texts for line in t.split("\n")]
    found = char_in(lines.data, lines.starts, lines.lengths, "\u3000 ", at_end=True)
    assert found.tolist() == [bool(p) and p[-1] in "\u3000 " for p in pieces]


def test_special_bytes_and_spans():
    texts = pa.array(['引号"', "反斜杠\\", "换行\n", "制表\t", "控制\x01", "平常"])
    assert special_bytes(texts) == frozenset(b'"\\\n\t\x01')
    assert special_bytes(texts, frozenset(b"\t\r")) == frozenset(b"\t")
    long = pa.array(["A 短\nB 一段超过十二个字节的选项文字"])
    lines = lines_of(long)
    taken = Spans(long).take(lines.starts + 2, lines.lengths - 2, np.array([True, False]))
    assert taken.to_pylist() == ["短", None]
    taken = Spans(long).take(lines.starts + 2, lines.lengths - 2, np.array([True, True]))
    assert taken.to_pylist() == ["短", "一段超过十二个字节的选项文字"]


def test_prefetched_keeps_order_and_raises_where_the_work_failed():
    assert list(prefetched(iter(range(20)), lambda n: n * 2, depth=3)) == list(range(0, 40, 2))

    def work(n: int) -> int:
        if n == 5:
            raise ValueError("block 5 is broken")
        return n

    results = prefetched(iter(range(10)), work, depth=2)
    assert [next(results) for _ in range(5)] == [0, 1, 2, 3, 4]
    with pytest.raises(ValueError, match="block 5"):
        next(results)


def test_a_consumer_that_stops_early_stops_reading_the_source():
    read = []

    def source():
        for n in range(1000):
            read.append(n)
            yield n

    results = prefetched(source(), lambda n: n, depth=3)
    assert next(results) == 0
    results.close()
    assert len(read) <= 4
