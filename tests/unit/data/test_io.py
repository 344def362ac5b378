from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from medspec.data.io import ReadOptions, RecordReader, read_records, write_records
from medspec.data.rows import detect_encoding
from medspec.data.schema import Document, Instruction
from medspec.durable import AppendLog, atomic_write_text
from medspec.errors import ConfigError

PAIR = {"instruction": "什么是MAC？", "output": "最低肺泡有效浓度。"}


def test_json_array_object_and_jsonl_in_json(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([PAIR, PAIR], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"version": 1, "data": [PAIR]}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "c.json").write_text(
        "\n".join(json.dumps(PAIR, ensure_ascii=False) for _ in range(3)), encoding="utf-8"
    )
    assert [len(read_records(tmp_path / n)) for n in ("a.json", "b.json", "c.json")] == [2, 1, 3]


def test_csv_tsv_parquet_and_text(tmp_path):
    (tmp_path / "a.csv").write_text("instruction,input,output\n什么是MAC？,,最低肺泡有效浓度。\n", encoding="utf-8")
    (tmp_path / "a.tsv").write_text("instruction\tinput\toutput\n什么是MAC？\t\t最低肺泡有效浓度。\n", encoding="utf-8")
    pq.write_table(pa.table({"instruction": ["什么是MAC？"], "output": ["最低肺泡有效浓度。"]}), tmp_path / "a.parquet")
    (tmp_path / "corpus.txt").write_text("第一段。\n\n第二段。\n", encoding="utf-8")
    for name in ("a.csv", "a.tsv", "a.parquet"):
        (record,) = read_records(tmp_path / name)
        assert isinstance(record, Instruction)
        assert record.output == "最低肺泡有效浓度。"
        assert record.input == ""
        assert record.provenance.source == "alpaca"
    docs = read_records(tmp_path / "corpus.txt")
    assert [d.text for d in docs] == ["第一段。", "第二段。"]
    assert all(isinstance(d, Document) for d in docs)
    assert [d.id for d in docs] == ["corpus-1", "corpus-2"]


def test_forced_format_and_unknown_format(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(PAIR, ensure_ascii=False) + "\n", encoding="utf-8")
    reader = RecordReader(path, ReadOptions(format="alpaca"))
    assert len(list(reader)) == 1
    assert reader.format == "alpaca"
    with pytest.raises(ConfigError, match="known formats"):
        ReadOptions(format="nope")


def test_detect_encoding(tmp_path):
    text = json.dumps(PAIR, ensure_ascii=False) + "\n"
    (tmp_path / "u.jsonl").write_bytes(text.encode())
    (tmp_path / "b.jsonl").write_bytes(b"\xef\xbb\xbf" + text.encode())
    (tmp_path / "g.jsonl").write_bytes(text.encode("gb18030"))
    assert [detect_encoding(tmp_path / n) for n in ("u.jsonl", "b.jsonl", "g.jsonl")] == [
        "utf-8",
        "utf-8-sig",
        "gb18030",
    ]


def test_write_records_round_trip_and_atomicity(tmp_path):
    records = [Instruction(id=str(i), instruction="问", output="答") for i in range(3)]
    out = tmp_path / "sub" / "out.jsonl"
    assert write_records(out, records) == 3
    assert read_records(out) == records
    atomic_write_text(out, "replaced")
    assert out.read_text() == "replaced"
    assert not list(out.parent.glob(".*.tmp"))


def test_append_log_drops_a_torn_last_line(tmp_path):
    path = tmp_path / "log.jsonl"
    log = AppendLog(path)
    log.append({"i": 1})
    log.extend([{"i": 2}, {"i": 3}])
    with open(path, "a", encoding="utf-8") as f:
        f.write('{"i": 4, "tru')  # the process died mid-write
    assert [e["i"] for e in AppendLog(path).entries()] == [1, 2, 3]
    assert path.read_text().endswith("}\n")
