"""Every file of the malformed corpus gets exactly the errors it should, and its valid rows still come through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medspec.data import rows as data_rows
from medspec.data.io import ReadOptions, RecordReader, read_records
from medspec.errors import InvalidDataError

CORPUS = Path(__file__).parents[2] / "assets" / "malformed"
EXPECTED = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))


def test_corpus_is_large_and_fully_described():
    files = {p.name for p in CORPUS.iterdir() if p.name != "expected.json"}
    assert len(files) >= 30
    assert files == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file(name, monkeypatch):
    case = EXPECTED[name]
    if "max_line_bytes" in case:
        monkeypatch.setattr(data_rows, "MAX_LINE_BYTES", case["max_line_bytes"])
    reader = RecordReader(CORPUS / name, ReadOptions(encoding=case.get("encoding")))
    if case.get("raises"):
        with pytest.raises(InvalidDataError) as info:
            list(reader)
        errors = info.value.errors
        records = []
    else:
        records = list(reader)
        errors = reader.errors
    got = [[e.line, e.field] for e in errors]
    assert got == [[line, field] for line, field, _ in case["errors"]], [e.describe() for e in errors]
    for error, (_, _, fragment) in zip(errors, case["errors"], strict=False):
        assert fragment in error.message, error.describe()
        assert error.describe().startswith(str(CORPUS / name))
    assert len(records) == case["valid"]
    if "text_check" in case:
        assert all(r.output == case["text_check"] for r in records)


def test_read_records_raises_all_problems_together():
    with pytest.raises(InvalidDataError) as info:
        read_records(CORPUS / "many_problems.jsonl")
    message = str(info.value)
    assert "5 problems" in message
    assert "many_problems.jsonl:6: field 'answer'" in message


def test_skip_invalid_keeps_the_valid_records():
    records = read_records(CORPUS / "many_problems.jsonl", skip_invalid=True)
    assert [r.instruction for r in records] == ["什么是ASA分级？"] * 2


def test_rejects_keep_the_raw_row_and_reasons():
    reader = RecordReader(CORPUS / "duplicate_ids.jsonl")
    list(reader)
    (reject,) = reader.rejects
    assert reject.line == 3
    assert reject.raw["instruction"] == "问题三"
    assert reject.to_dict()["errors"][0]["field"] == "id"
