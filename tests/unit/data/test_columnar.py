"""The column-wise path writes what the row path writes, byte for byte, with the same errors, on any file.

Each test reads a file twice: ``RecordReader.jsonl()`` (column-wise where it can) and the row path (every record
through ``record_to_dict``). Files are plain, quirky and broken in the ways published files are, cut into small
blocks so that every block boundary is crossed; random files mix all of it.
"""

from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pytest

from medspec.cli import main
from medspec.data import _blocks
from medspec.data.io import ReadOptions, RecordReader
from medspec.data.schema import record_to_dict
from tests.unit.data.published_shapes import WRITERS


def _row_path(path: Path, options: ReadOptions | None = None) -> tuple[bytes, RecordReader]:
    reader = RecordReader(path, options)
    lines = [json.dumps(record_to_dict(record), ensure_ascii=False) + "\n" for record in reader]
    return "".join(lines).encode(), reader


def _columnar(path: Path, options: ReadOptions | None = None) -> tuple[bytes, RecordReader]:
    reader = RecordReader(path, options)
    return b"".join(reader.jsonl()), reader


def _same(path: Path, options: ReadOptions | None = None) -> RecordReader:
    """Assert both paths agree on the output and on everything the reader reports; return the column-wise reader."""
    expected, row_reader = _row_path(path, options)
    written, reader = _columnar(path, options)
    assert written.decode().splitlines() == expected.decode().splitlines()
    assert written == expected
    assert [e.describe() for e in reader.errors] == [e.describe() for e in row_reader.errors]
    assert [r.to_dict() for r in reader.rejects] == [r.to_dict() for r in row_reader.rejects]
    assert (reader.counts, reader.format, reader.encoding, reader.unselected) == (
        row_reader.counts,
        row_reader.format,
        row_reader.encoding,
        row_reader.unselected,
    )
    return reader


@pytest.fixture(autouse=True)
def column_wise_for_small_files(monkeypatch):
    """The column-wise path for these small files too (it starts at a MiB)."""
    monkeypatch.setattr(_blocks, "MIN_FILE_BYTES", 0)


@pytest.fixture(params=[64, 700, _blocks.BLOCK_BYTES], ids=["64B", "700B", "4MiB"])
def block_bytes(request, monkeypatch):
    """Blocks small enough that rows straddle them, and the real size."""
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", request.param)
    return request.param


EXAM_HEADER = ["Question", "Options", "Answer", "Explanation", "Clinical Department", "Difficulty level"]


def _cmexam_csv(path: Path, rows: list[list[str]], *, line_end: str = "\r\n") -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator=line_end)
        writer.writerow(EXAM_HEADER)
        writer.writerows(rows)
    return path


def _plain_exam(i: int) -> list[str]:
    return [
        f"第{i}题：椎管内麻醉后最常见的并发症是",
        "A 低血压\nB 全脊麻\nC 头痛\nD 尿潴留",
        "A",
        "交感阻滞。",
        "麻醉科",
        "2",
    ]


def test_a_small_file_is_read_row_by_row(tmp_path, monkeypatch):
    monkeypatch.setattr(_blocks, "MIN_FILE_BYTES", 2**20)
    assert _same(_cmexam_csv(tmp_path / "exam.csv", [_plain_exam(i) for i in range(30)])).columnar_rows == 0


def test_plain_files_go_column_wise_and_match(tmp_path, block_bytes):
    exam = _cmexam_csv(tmp_path / "exam.csv", [_plain_exam(i) for i in range(300)])
    qa = tmp_path / "huatuo.jsonl"
    qa.write_text(
        "".join(
            json.dumps(
                {"questions": f"病例{i}：术后恶心怎么办？", "answers": "昂丹司琼，必要时地塞米松。"}, ensure_ascii=False
            )
            + "\n"
            for i in range(300)
        ),
        encoding="utf-8",
    )
    alpaca = tmp_path / "alpaca.jsonl"
    alpaca.write_text(
        "".join(
            json.dumps(
                {"instruction": f"问题{i}", "input": "" if i % 2 else "背景", "output": "回答"}, ensure_ascii=False
            )
            + "\n"
            for i in range(300)
        ),
        encoding="utf-8",
    )
    for path in (exam, qa, alpaca):
        reader = _same(path)
        assert reader.columnar_rows == 299 and not reader.errors  # the first row settles the format, row by row


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_published_shape_reads_the_same(name, tmp_path, block_bytes):
    published = WRITERS[name](tmp_path)
    _same(published.path)


EXAM_CASES = {
    "nan answer": ["题干", "A 甲\nB 乙", "nan", "", "", ""],
    "multiple answer": ["题干", "A 甲\nB 乙\nC 丙", "AC", "", "", ""],
    "unsorted answer": ["题干", "A 甲\nB 乙\nC 丙", "CA", "", "", ""],
    "separated answer": ["题干", "A 甲\nB 乙\nC 丙", "A,C", "", "", ""],
    "answer not an option": ["题干", "A 甲\nB 乙", "E", "", "", ""],
    "lower-case answer": ["题干", "A 甲\nB 乙", "a", "", "", ""],
    "padded answer": ["题干", "A 甲\nB 乙", " B", "", "", ""],
    "repeated answer": ["题干", "A 甲\nB 乙", "AA", "", "", ""],
    "full-width answer": ["题干", "A 甲\nB 乙", "Ｂ", "", "", ""],
    "NaN texts": ["NaN", "A 甲\nB 乙", "NAN", "nAn", "NaN", "nan"],
    "literal backslash n": ["题干", "A 甲\\nB 乙", "B", "", "", ""],
    "full-width separators": ["题干", "A．甲\nB．乙", "B", "", "", ""],
    "ideographic comma": ["题干", "A、甲\nB、乙", "B", "", "", ""],
    "mixed separators": ["题干", "A.甲\nB 乙", "B", "", "", ""],
    "separator and space": ["题干", "A. 甲\nB. 乙", "B", "", "", ""],
    "no separator": ["题干", "A甲\nB乙", "B", "", "", ""],
    "parenthesised": ["题干", "(A) 甲\n(B) 乙", "B", "", "", ""],
    "trailing space": ["题干", "A 甲 \nB 乙", "B", "", "", ""],
    "ideographic space": ["\u3000题干", "A 甲\u3000\nB 乙", "B", "", "", ""],
    "duplicate letter": ["题干", "A 甲\nA 乙", "A", "", "", ""],
    "out of order": ["题干", "B 甲\nA 乙", "A", "", "", ""],
    "one option": ["题干", "A 甲", "A", "", "", ""],
    "blank option line": ["题干", "A 甲\n\nB 乙", "B", "", "", ""],
    "trailing line break": ["题干", "A 甲\nB 乙\n", "B", "", "", ""],
    "crlf in cell": ["题干", "A 甲\r\nB 乙", "B", "", "", ""],
    "lone cr in cell": ["题干", "A 甲\rB 乙", "B", "", "", ""],
    "quote in text": ['题干"引号"', 'A "甲"\nB 乙', "B", '解析"', '科"室', ""],
    "backslash in text": ["题干\\", "A 甲\\\nB 乙", "B", "解析\\t", "", ""],
    "tab in text": ["题\t干", "A 甲\tx\nB 乙", "B", "解\t析", "", ""],
    "control character": ["题\x01干", "A 甲\nB 乙", "B", "", "", ""],
    "replacement character": ["题\ufffd干", "A 甲\nB 乙", "B", "", "", ""],
    "empty question": ["", "A 甲\nB 乙", "B", "", "", ""],
    "nan question": ["nan", "A 甲\nB 乙", "B", "", "", ""],
    "blank question": ["  ", "A 甲\nB 乙", "B", "", "", ""],
    "padded question": [" 题干 ", "A 甲\nB 乙", "B", " 解析 ", " 科室 ", ""],
    "nan explanation": ["题干", "A 甲\nB 乙", "B", "nan", "nan", "NaN"],
    "blank explanation": ["题干", "A 甲\nB 乙", "B", "   ", "\t", ""],
    "multi-line explanation": ["题干", "A 甲\nB 乙", "B", "第一行\n第二行", "", ""],
    "empty options": ["题干", "", "B", "", "", ""],
    "nan options": ["题干", "nan", "B", "", "", ""],
    "padded options": [" 题干", " A 甲\nB 乙 ", "B", "", "", ""],
}


@pytest.mark.parametrize("case", sorted(EXAM_CASES))
def test_each_exam_quirk_reads_as_the_row_path_reads_it(case, tmp_path, block_bytes):
    rows = [_plain_exam(i) for i in range(6)]
    rows.insert(3, EXAM_CASES[case])
    _same(_cmexam_csv(tmp_path / "exam.csv", rows))


RAW_CSV_LINES = {
    "blank line": "\r\n",
    "spaces only": "   \r\n",
    "junk after a closing quote": '"题干"x,"A 甲\nB 乙",B,,,\r\n',
    "quote inside a bare cell": '题"干,"A 甲\nB 乙",B,,,\r\n',
    "short row": "题干,A 甲\r\n",
    "long row": '题干,"A 甲\nB 乙",B,,,,多出一格\r\n',
    "invalid utf-8": '题干\udcff,"A 甲\nB 乙",B,,,\r\n',
}


@pytest.mark.parametrize("case", sorted(RAW_CSV_LINES))
def test_each_broken_csv_line_reads_as_the_row_path_reads_it(case, tmp_path, block_bytes):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(EXAM_HEADER)
    writer.writerows(_plain_exam(i) for i in range(4))
    buffer.write(RAW_CSV_LINES[case])
    writer.writerows(_plain_exam(i) for i in range(4, 8))
    path = tmp_path / "exam.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8", errors="surrogateescape"))
    _same(path)


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["utf-8", "bom"])
def test_an_unclosed_quote_reads_as_the_row_path_reads_it(bom, tmp_path, block_bytes):
    rows = [_plain_exam(i) for i in range(30)]
    text = io.StringIO(newline="")
    csv.writer(text, lineterminator="\n").writerows([EXAM_HEADER, *rows])
    path = tmp_path / "exam.csv"
    for broken in (
        text.getvalue().replace('"A 低血压', 'A 低"血压', 1).replace("第20题", '"第20题', 1),
        text.getvalue().replace("第20题", '"第20题', 1),  # never closed: the rest is read row by row
        text.getvalue().replace("第12题", '第1"2题', 1),  # a quote in a bare cell: text to Python
    ):
        path.write_bytes(bom + broken.encode())
        _same(path)


def test_a_bom_and_lf_line_ends_read_the_same(tmp_path, block_bytes):
    path = _cmexam_csv(tmp_path / "exam.csv", [_plain_exam(i) for i in range(20)], line_end="\n")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _same(path).columnar_rows == 19


JSONL_LINES = {
    "escapes": json.dumps({"questions": '引号"与\\反斜杠', "answers": "换行\n与\t制表"}, ensure_ascii=False),
    "ascii escapes": json.dumps({"questions": "全用转义", "answers": "中文"}),
    "control escape": json.dumps({"questions": "控制\x01字符", "answers": "答"}),
    "blank": "",
    "spaces": "   ",
    "two objects": '{"questions": "问1", "answers": "答1"} {"questions": "问2", "answers": "答2"}',
    "invalid json": '{"questions": "问", "answers": ',
    "not an object": '["问", "答"]',
    "number": '{"questions": 12, "answers": "答"}',
    "null": '{"questions": null, "answers": "答"}',
    "missing answer": '{"questions": "问"}',
    "nan text": '{"questions": "nan", "answers": "答"}',
    "padded text": '{"questions": " 问 ", "answers": "答\u3000"}',
    "one-element lists": '{"questions": ["问"], "answers": ["答"]}',
    "history": '{"questions": "问", "answers": "答", "history": [["早先", "回答"]]}',
    "own id": '{"id": "huatuo-9", "questions": "问", "answers": "答"}',
    "duplicate key": '{"questions": "问", "questions": "又问", "answers": "答"}',
    "lone surrogate": '{"questions": "\\ud800", "answers": "答"}',
    "deep nesting": "[" * 2000,
    "kept fields": '{"questions": "问", "answers": "答", "科室": "麻醉科", "级别": "nan", "空": ""}',
    "quoted key": '{"questions": "问", "answers": "答", "key\\"q": "值"}',
    "crlf": '{"questions": "问", "answers": "答"}\r',
    "singular keys": '{"question": "问", "answer": "答"}',
    "invalid utf-8": '{"questions": "\udcff", "answers": "答"}',
}


@pytest.mark.parametrize("case", sorted(JSONL_LINES))
def test_each_jsonl_quirk_reads_as_the_row_path_reads_it(case, tmp_path, block_bytes):
    plain = [json.dumps({"questions": f"问{i}", "answers": "答"}, ensure_ascii=False) for i in range(10)]
    lines = [*plain[:5], JSONL_LINES[case], *plain[5:]]
    path = tmp_path / "huatuo.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", errors="surrogateescape"))
    _same(path)


def test_an_own_id_that_takes_a_later_rows_fallback_id_is_a_duplicate(tmp_path, block_bytes):
    lines = [json.dumps({"questions": f"问{i}", "answers": "答"}, ensure_ascii=False) for i in range(40)]
    lines[2] = json.dumps({"id": "huatuo-30", "questions": "问", "answers": "答"}, ensure_ascii=False)
    lines[35] = json.dumps({"id": "huatuo-4", "questions": "问", "answers": "答"}, ensure_ascii=False)
    path = tmp_path / "huatuo.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader = _same(path)
    assert [e.field for e in reader.errors] == ["id", "id"]


def test_a_column_mapping_reads_the_same(tmp_path, block_bytes):
    path = tmp_path / "export.jsonl"
    path.write_text(
        "".join(
            json.dumps({"问题": f"问{i}", "回答": "答", "科室": "麻醉科"}, ensure_ascii=False) + "\n" for i in range(50)
        ),
        encoding="utf-8",
    )
    options = ReadOptions(columns={"instruction": "问题", "output": "回答"})
    assert _same(path, options).columnar_rows == 49
    assert _same(path, ReadOptions(columns={"instruction": "问题", "output": "回答"}, where=["科室=麻醉科"]))


_EXAM_CELLS = [list({case[column] for case in EXAM_CASES.values()} | {_plain_exam(0)[column]}) for column in range(6)]


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("COLUMNAR_SEEDS", "12"))))
def test_random_exam_files_read_the_same(seed, tmp_path, monkeypatch):
    rng = random.Random(seed)
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", rng.choice([50, 300, 2000, 2**16]))
    rows = [_plain_exam(i) if rng.random() < 0.6 else [rng.choice(cells) for cells in _EXAM_CELLS] for i in range(200)]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=rng.choice(["\n", "\r\n"]))
    writer.writerow(EXAM_HEADER)
    for row in rows:
        if rng.random() < 0.03:
            buffer.write(rng.choice([line for name, line in RAW_CSV_LINES.items() if name != "invalid utf-8"]))
        writer.writerow(row)
    path = tmp_path / "exam.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    _same(path)


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("COLUMNAR_SEEDS", "12"))))
def test_random_jsonl_files_read_the_same(seed, tmp_path, monkeypatch):
    rng = random.Random(seed)
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", rng.choice([40, 300, 2000, 2**16]))
    quirks = [line for name, line in JSONL_LINES.items() if name != "invalid utf-8"]
    keys = rng.choice([("questions", "answers"), ("instruction", "output"), ("instruct", "output")])
    lines = []
    for i in range(200):
        if rng.random() < 0.1:
            lines.append(rng.choice(quirks))
            continue
        row = {keys[0]: f"问{i}", keys[1]: rng.choice(["答", "nan", "答\n二", ' "引" ', "", None])}
        if rng.random() < 0.05:
            del row[keys[rng.randrange(2)]]
        if rng.random() < 0.3:
            row["input"] = rng.choice(["", "背景", "nan", " ", None])
        if rng.random() < 0.3:
            row["来源"] = rng.choice(["网站", "", "nan", None])
        lines.append(json.dumps(row, ensure_ascii=rng.random() < 0.2))
    lines += [""] * rng.randrange(3)  # blank lines at the end
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _same(path)


def test_kept_fields_keep_each_rows_own_order(tmp_path, block_bytes):
    rows = [{"instruct": f"问{i}", "output": "答", "cate1": "麻醉", "cate2": "术后"} for i in range(30)]
    rows[7] = {"instruct": "问7", "output": "答", "cate2": "术后", "cate1": "麻醉"}  # as a hand-edited line would be
    path = tmp_path / "cmtmedqa.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    reader = _same(path)
    # the first row goes row by row, and so does the one in its own order unless a block holds it alone
    assert reader.columnar_rows == 28 or (block_bytes < 100 and reader.columnar_rows == 29)


@pytest.mark.parametrize("workers", [1, 3])
def test_convert_writes_the_same_file_with_any_number_of_workers(workers, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(_blocks, "BLOCK_BYTES", 300)  # many blocks in flight
    source = _cmexam_csv(tmp_path / "exam.csv", [_plain_exam(i) for i in range(200)])
    expected, _ = _row_path(source)
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(source), str(out), "--workers", str(workers)]) == 0
    assert out.read_bytes() == expected
    assert main(["validate", str(source), "--workers", str(workers)]) == 0
    assert "200 choice; 0 invalid row(s)" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["convert", str(source), str(out), "--workers", "0"])
    assert "from 1 to 64" in capsys.readouterr().err


def test_a_reader_read_twice_checks_its_ids_afresh(tmp_path):
    source = _cmexam_csv(tmp_path / "exam.csv", [_plain_exam(i) for i in range(50)])
    reader = RecordReader(source)
    first = b"".join(reader.jsonl())
    assert b"".join(reader.jsonl()) == first and len(list(reader)) == 50 and not reader.errors
