"""Raw row reading of data sets as published: XLSX mirrors, broken CSV quoting, absurd JSON nesting, streamed JSON
arrays, directories."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from openpyxl import Workbook

from medspec.crossfilter.self_instruct import parse_tasks
from medspec.data import _json_stream
from medspec.data.io import read_records
from medspec.data.json_text import parse_json, parse_json_prefix
from medspec.data.rows import iter_rows
from medspec.errors import InvalidDataError
from medspec.rubric import default_criteria, default_rubric, parse_scores

DEEP_ARRAY = "[" * 100_000
DEEP_OBJECT = '{"a": ' * 100_000 + "1" + "}" * 100_000
GOOD = json.dumps({"instruction": "什么是MAC？", "output": "最低肺泡有效浓度。"}, ensure_ascii=False)


def _rows(path):
    _, rows = iter_rows(path, None)
    return list(rows)


def _good(rows):
    return [(row.line, row.data) for row in rows if row.error is None]


def _errors(rows):
    return [row.error for row in rows if row.error is not None]


# XLSX


def _workbook(path, rows, *, at=None):
    """Write ``rows`` from the first sheet row, then ``at``'s {sheet row: cells}, and a second sheet to be ignored."""
    book = Workbook()
    sheet = book.active
    for cells in rows:
        sheet.append(cells)
    for number, cells in (at or {}).items():
        for column, value in enumerate(cells, start=1):
            sheet.cell(row=number, column=column, value=value)
    book.create_sheet("notes").append(["instruction", "output"])
    book.save(path)
    return path


def test_xlsx_rows_keep_their_sheet_row_numbers_and_read_like_csv(tmp_path):
    path = _workbook(
        tmp_path / "cmexam.xlsx",
        [
            ["id", "score", "ratio", "options", "note", "flag"],
            ["q1", 3.0, 0.1 + 0.2, '{"A": "丙泊酚", "B": "氯胺酮"}', None, None],
            [None, None, None, None, None, None],  # a whole-empty row
            ["q2", 7, 1e16, "", "第二题", True],
        ],
        at={17: ["q3", 1, None, "not json"]},
    )
    rows = _rows(path)
    assert _good(rows) == [
        (2, {"id": "q1", "score": "3", "ratio": "0.3", "options": {"A": "丙泊酚", "B": "氯胺酮"}}),
        (4, {"id": "q2", "score": "7", "ratio": "1e+16", "note": "第二题", "flag": "TRUE"}),
    ]
    (error,) = _errors(rows)
    assert (error.line, error.field) == (17, "options")
    assert error.describe().startswith(f"{path}:17: field 'options': expected JSON in this column")


def test_xlsx_cell_beyond_the_header_is_an_error(tmp_path):
    path = _workbook(tmp_path / "extra.xlsx", [["instruction", "output"], ["问", "答", "多余"], ["问二", "答二"]])
    rows = _rows(path)
    assert _good(rows) == [(3, {"instruction": "问二", "output": "答二"})]
    assert [(e.line, "more cells than the header" in e.message) for e in _errors(rows)] == [(2, True)]


def test_xlsx_cmexam_mirror_reads_as_records(tmp_path):
    path = _workbook(
        tmp_path / "cmexam.xlsx",
        [
            ["Question", "Options", "Answer"],
            ["局麻药中毒首先表现为？", "A 中枢神经系统症状\nB 心血管抑制\nC 呼吸抑制\nD 过敏", "A"],
        ],
    )
    (record,) = read_records(path)
    assert record.answer == ("A",)
    assert record.options["B"] == "心血管抑制"


# CSV quoting

HEADER = "instruction,input,output\n"
ROWS = [f"问题{n},,回答{n}\n" for n in range(1, 7)]


@pytest.mark.parametrize(
    ("fifth", "reach", "read_after"),
    [
        (ROWS[4], "the end of the file", []),  # nothing closes the quote: the field would run to the end
        ('问题5,"有引号",回答5\n', "line 6, where", [7]),  # a later quoted field closes it, and text follows
        ('问题5,,"\n', "line 6 and the row has 2 cells for 3 columns", [7]),  # a later lone quote closes it cleanly
    ],
    ids=["runs-to-the-end", "closed-by-a-later-quoted-field", "closed-by-a-later-lone-quote"],
)
def test_csv_unclosed_quote_is_reported_on_its_row(tmp_path, fifth, reach, read_after):
    path = tmp_path / "exam.csv"
    path.write_text(HEADER + "".join([*ROWS[:2], '问题3,"没有闭合,回答3\n', ROWS[3], fifth, ROWS[5]]), encoding="utf-8")
    rows = _rows(path)
    (error,) = _errors(rows)
    assert error.line == 4  # data row 3; the header is line 1
    assert error.message.startswith(f"unclosed quote: a quoted field on this row runs on to {reach}")
    good = _good(rows)
    assert [line for line, _ in good] == [2, 3, *read_after]
    assert good[0][1] == {"instruction": "问题1", "input": "", "output": "回答1"}
    assert all("\n" not in value for _, data in good for value in data.values())


def test_csv_multiline_quoted_field_is_one_row_numbered_by_its_first_line(tmp_path):
    path = tmp_path / "exam.csv"
    path.write_text(HEADER + '问题1,,"第一行\n第二行"\n\n问题2,,回答2\n', encoding="utf-8")
    rows = _rows(path)
    assert _good(rows) == [
        (2, {"instruction": "问题1", "input": "", "output": "第一行\n第二行"}),
        (5, {"instruction": "问题2", "input": "", "output": "回答2"}),
    ]


# Deep JSON


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_jsonl_deep_line_is_an_error_between_good_lines(tmp_path, deep):
    path = tmp_path / "pairs.jsonl"
    path.write_text(f"{GOOD}\n{deep}\n{GOOD}\n", encoding="utf-8")
    rows = _rows(path)
    assert [line for line, _ in _good(rows)] == [1, 3]
    (error,) = _errors(rows)
    assert error.line == 2
    assert error.describe().startswith(f"{path}:2: invalid JSON")
    assert "nested deeper than" in error.message and "truncated" not in error.message


def test_json_array_with_a_deep_element_keeps_the_elements_before_it(tmp_path):
    path = tmp_path / "pairs.json"
    path.write_text(f"[\n{GOOD},\n{DEEP_ARRAY}\n", encoding="utf-8")
    rows = _rows(path)
    assert [line for line, _ in _good(rows)] == [2]
    (error,) = _errors(rows)
    assert error.line == 3 and "nested deeper than" in error.message


@pytest.mark.parametrize("deep", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deep_json_object_file_is_an_error(tmp_path, deep):
    path = tmp_path / "data.json"
    path.write_text('{"data":\n' + deep + "}\n", encoding="utf-8")
    (error,) = _errors(_rows(path))
    assert error.line == 1 and "nested deeper than" in error.message


def test_deep_json_in_a_csv_column_is_an_error(tmp_path):
    path = tmp_path / "exam.csv"
    path.write_text(f'question,options\n甲,{DEEP_ARRAY}\n乙,"{{""A"": ""是""}}"\n', encoding="utf-8")
    rows = _rows(path)
    assert _good(rows) == [(3, {"question": "乙", "options": {"A": "是"}})]
    (error,) = _errors(rows)
    assert (error.line, error.field) == (2, "options") and "nested deeper than" in error.message


def test_json_text_helpers_raise_decode_errors_for_deep_text():
    for parse in (parse_json, lambda text: parse_json_prefix("答：" + text, 2)):
        with pytest.raises(json.JSONDecodeError, match="nested deeper than") as info:
            parse(DEEP_OBJECT)
        assert isinstance(info.value.__cause__, RecursionError)


def test_an_escaped_lone_surrogate_is_an_error_naming_the_line(tmp_path):
    path = tmp_path / "pairs.jsonl"
    paired = json.dumps({"instruction": "表情😀", "output": "好"})  # ASCII escapes: a whole surrogate pair
    path.write_text(f'{GOOD}\n{{"instruction": "\\ud800", "output": "x"}}\n{paired}\n', encoding="utf-8")
    rows = _rows(path)
    assert [line for line, _ in _good(rows)] == [1, 3] and _good(rows)[1][1]["instruction"] == "表情😀"
    (error,) = _errors(rows)
    assert error.line == 2 and "\\ud800 is half of a UTF-16 surrogate pair" in error.message


@pytest.mark.parametrize(
    "deep", [DEEP_ARRAY, DEEP_OBJECT, '{"usefulness": ' + DEEP_ARRAY], ids=["array", "object", "array-in-object"]
)
def test_deep_model_answers_are_unparseable_not_a_crash(deep):
    answer = f"评分如下：{deep}"
    assert parse_scores(answer, default_rubric()) is None
    assert parse_scores(answer, default_criteria()) is None
    assert parse_tasks('{"instruction": "列举常用局麻药。"}\n' + answer)[0]["instruction"] == "列举常用局麻药。"


# Streamed JSON arrays

ARRAY_ITEMS = [
    {"instruction": "椎管内麻醉后头痛的特点是？", "output": "直立时加重，平卧后缓解。", "score": 37918.5},
    {"instruction": "什么是MAC？", "input": "", "output": ["最低肺泡有效浓度。"], "n": -1.25e-3},
]


def _streamed(path):
    return [(row.line, row.data, row.raw, row.error and row.error.describe()) for row in _rows(path)]


def _array_text():
    """Pretty-printed elements, a minified one, non-object elements and a truncated last element."""
    pretty = ",\n".join(json.dumps(item, ensure_ascii=False, indent=2) for item in ARRAY_ITEMS)
    minified = json.dumps(ARRAY_ITEMS[0], ensure_ascii=False, separators=(",", ":"))
    return f'\n  [{pretty},\n{minified}, 37918.50099, "文本",\n  {minified},{{"instruction": "未完的题目'


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 7, 64, 1000])
def test_json_array_elements_straddling_chunks_read_like_the_whole_file(tmp_path, monkeypatch, chunk_bytes):
    path = tmp_path / "cmb.json"
    path.write_text(_array_text(), encoding="utf-8")
    whole = _streamed(path)  # the file is one chunk
    assert [data for _, data, _, _ in whole if data] == [*ARRAY_ITEMS, ARRAY_ITEMS[0], ARRAY_ITEMS[0]]
    assert [line for line, *_ in whole] == [2, 7, 15, 15, 15, 16, 16]
    assert whole[-1][3].startswith(f"{path}:16: invalid JSON at column ")  # the truncated element
    monkeypatch.setattr(_json_stream, "_CHUNK_BYTES", chunk_bytes)
    assert _streamed(path) == whole


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_json_array_character_split_across_chunks_is_decoded_whole(tmp_path, monkeypatch, encoding):
    text = "丙泊酚𠮷"  # 2- and 4-byte GB18030 characters, 3- and 4-byte UTF-8 ones
    path = tmp_path / "cmtmedqa.json"
    path.write_bytes(json.dumps([{"instruction": text, "output": text}], ensure_ascii=False).encode(encoding))
    for chunk_bytes in (1, 2, 3, 17):  # byte 17 falls inside a character in both encodings
        monkeypatch.setattr(_json_stream, "_CHUNK_BYTES", chunk_bytes)
        _, rows = iter_rows(path, encoding)
        assert [(row.line, row.data) for row in rows] == [(1, {"instruction": text, "output": text})]


@pytest.mark.parametrize(
    ("tail", "byte"),
    [(b'{"instruction": "\xff"}]', "0xff"), ('{"instruction": "麻'.encode()[:-1], "0xe9")],
    ids=["bad", "cut"],
)
def test_json_array_undecodable_byte_stops_after_the_elements_before_it(tmp_path, monkeypatch, tail, byte):
    path = tmp_path / "anesbench.json"
    path.write_bytes(f"[\n{GOOD},\n{GOOD},\n".encode() + tail)
    for chunk_bytes in (5, 2**20):
        monkeypatch.setattr(_json_stream, "_CHUNK_BYTES", chunk_bytes)
        rows = _rows(path)
        assert [line for line, _ in _good(rows)] == [2, 3]
        (error,) = _errors(rows)
        assert error.describe().startswith(f"{path}:4: byte {byte} is not valid utf-8")


def test_json_array_is_read_in_memory_far_below_its_size(tmp_path):
    path = tmp_path / "zhongjing.json"
    element = {"id": "", "instruction": ["患者术后恶心呕吐，如何处理？" * 8], "input": "", "output": ["止吐。" * 80]}
    block = ",\n".join(json.dumps({**element, "id": str(n)}, ensure_ascii=False) for n in range(1000))
    blocks = 0
    with open(path, "w", encoding="utf-8") as f:
        while f.tell() < 50 * 2**20:
            f.write(("[\n" if not blocks else ",\n") + block)
            blocks += 1
        f.write("\n]\n")
    tracemalloc.start()
    try:
        count = sum(row.error is None for row in iter_rows(path, None)[1])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 1000 * blocks
    assert peak < path.stat().st_size / 5, f"peak {peak / 2**20:.1f} MiB for {path.stat().st_size / 2**20:.0f} MiB"


# Directories


@pytest.mark.parametrize("name", ["data.jsonl", "corpus"])
def test_a_directory_is_refused_as_such(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "train.jsonl").write_text(GOOD + "\n", encoding="utf-8")
    with pytest.raises(InvalidDataError) as info:
        iter_rows(folder, None)
    (error,) = info.value.errors
    assert error.line is None and "is a directory" in error.message and "train.jsonl" in error.message
