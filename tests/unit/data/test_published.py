"""The public datasets load exactly as their authors publish them: a file per published shape, read by
``medspec validate``, ``medspec convert``, :func:`read_records` and as a benchmark task; column mappings, ``where``
selection and kept source fields; source defects reported, never guessed."""

from __future__ import annotations

import json

import pytest

from medspec.bench.tasks import Task, load_tasks
from medspec.cli import main
from medspec.data.io import ReadOptions, RecordReader, read_records
from medspec.data.schema import ChoiceQuestion, ClinicalCase, Instruction, PreferencePair
from medspec.errors import ConfigError, InvalidDataError
from medspec.specialty import load_specialty
from tests.unit.data.published_shapes import CMEXAM_COLUMNS, ITEMS, WRITERS, Published, _csv, cmexam_rows


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= character <= "\u9fff" for character in text)


KINDS = {"choice": ChoiceQuestion, "instruction": Instruction, "case": ClinicalCase, "preference": PreferencePair}


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict[str, Published]:
    folder = tmp_path_factory.mktemp("published")
    return {name: write(folder) for name, write in WRITERS.items()}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_published_shape_reads_whole(name, published, capsys):
    shape = published[name]
    assert shape.records >= 20
    assert main(["validate", str(shape.path)]) == 0
    printed = capsys.readouterr().out
    assert f"format {shape.format}," in printed and f"{shape.records} {shape.kind}" in printed
    assert "0 invalid row(s)" in printed
    records = read_records(shape.path)
    assert len(records) == shape.records and all(isinstance(r, KINDS[shape.kind]) for r in records)
    assert len({r.id for r in records}) == len(records)
    if shape.meta:
        assert all(shape.meta in r.meta for r in records), records[0].meta


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_convert_writes_medspec_jsonl_with_the_kept_fields(name, published, tmp_path):
    shape = published[name]
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(shape.path), str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == shape.records
    again = read_records(out)
    assert [r.meta for r in again] == [r.meta for r in read_records(shape.path)]
    if shape.meta:
        assert all(shape.meta in row["meta"] for row in rows)


@pytest.mark.parametrize("name", [n for n in sorted(WRITERS) if n not in ("medicalgpt-preference", "sharegpt")])
def test_each_benchmark_shape_is_a_task(name, published, capsys):
    shape = published[name]
    task = load_tasks([f"T={shape.path}"])[0]
    assert len(task.records) == shape.records
    assert task.kind == {"choice": "choice", "case": "case"}.get(shape.kind, "qa")


def test_published_quirks_read_as_the_authors_meant(published):
    literal = read_records(published["cmexam-literal-breaks"].path)
    real = read_records(published["cmexam-csv"].path)
    assert [r.options for r in literal] == [r.options for r in real]
    assert real[0].options == ITEMS["choice"][0]["zh"]["options"] and real[0].answer == tuple(
        ITEMS["choice"][0]["answer"]
    )
    xlsx = read_records(published["cmexam-xlsx"].path)
    assert [(r.question, r.options, r.answer) for r in xlsx] == [(r.question, r.options, r.answer) for r in real]
    cmb = read_records(published["cmb-exam"].path)
    four = next(i for i, item in enumerate(ITEMS["choice"]) if len(item["zh"]["options"]) == 4)
    assert list(cmb[four].options) == ["A", "B", "C", "D"]  # the padded empty "E" is dropped
    assert cmb[0].meta["question_type"] in ("单项选择题", "多项选择题") and cmb[0].id == "1"
    solution = read_records(published["cmb-clin-solution"].path)
    answer = read_records(published["cmb-clin-answer"].path)
    assert [c.questions for c in solution] == [c.questions for c in answer]
    assert solution[0].questions[0].answer == ITEMS["cases"][0]["qa"][0][1]
    cmmlu = read_records(published["cmmlu"].path)
    assert {r.meta["subject"] for r in cmmlu} == {"clinical_knowledge"} and all(len(r.options) == 4 for r in cmmlu)
    assert "" not in cmmlu[0].meta
    huatuo = read_records(published["huatuo-zhongjing"].path)
    assert huatuo[0].instruction == ITEMS["qa"][0]["question"] and huatuo[0].output == ITEMS["qa"][0]["answer"]
    assert read_records(published["huatuo-test"].path)[0].instruction == ITEMS["qa"][0]["question"]
    cmtmedqa = read_records(published["cmtmedqa"].path)
    multi_turn = ITEMS["dialogues"][0]["turns"]
    assert cmtmedqa[0].history == [tuple(pair) for pair in multi_turn[:-1]] and cmtmedqa[0].meta["cate2"]
    assert "cate1" not in cmtmedqa[3].meta  # the source's "nan" department is a missing value, not a department
    assert cmtmedqa[-1].instruction == ITEMS["qa"][5]["question"]  # an `instruct` row
    us, mainland = read_records(published["medqa-us"].path), read_records(published["medqa-mainland"].path)
    assert not is_chinese(us[0].question) and is_chinese(mainland[0].question)
    assert us[0].meta["meta_info"] == "step1" and mainland[0].meta["meta_info"]
    four_options = read_records(published["medqa-us-4"].path)
    assert all(len(r.options) == 4 for r in four_options) and "metamap_phrases" in four_options[0].meta


def test_anesbench_reads_the_language_asked_for(published):
    path = published["anesbench"].path
    chinese, english = read_records(path), read_records(path, ReadOptions(language="en"))
    assert is_chinese(chinese[0].question) and not is_chinese(english[0].question)
    assert [r.answer for r in chinese] == [r.answer for r in english]
    assert {r.meta["level"] for r in chinese} <= {1, 2, 3} and "en_A" not in chinese[0].meta


def test_a_nan_answer_is_a_named_error_and_the_rest_still_converts(tmp_path, capsys):
    rows = cmexam_rows(literal_breaks=False)
    rows[4][2] = "nan"
    path = tmp_path / "val.csv"
    _csv(path, CMEXAM_COLUMNS, rows)
    line = (
        path.read_text(encoding="utf-8")
        .splitlines()
        .index(f'{rows[4][0]},"A {ITEMS["choice"][4]["zh"]["options"]["A"]}')
        + 1
    )
    assert main(["validate", str(path)]) == 1
    assert f"{path}:{line}: field 'Answer': is 'nan', a missing value" in capsys.readouterr().out
    with pytest.raises(InvalidDataError, match="Answer"):
        read_records(path)
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(path), str(out)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["val.csv"]  # nothing written, no partial file left
    assert main(["convert", str(path), str(out), "--skip-invalid"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(rows) - 1
    assert json.loads(out.with_suffix(".rejects.jsonl").read_text(encoding="utf-8"))["line"] == line


def test_a_hospital_export_loads_through_a_column_mapping(tmp_path, capsys):
    path = tmp_path / "his_export.csv"
    _csv(
        path,
        ["编号", "问题", "回答", "科室"],
        [[i, q["question"], q["answer"], q["department"]] for i, q in enumerate(ITEMS["qa"])],
    )
    assert main(["validate", str(path)]) == 1  # no known format without a mapping
    mapping = ["--map", "id=编号", "--map", "instruction=问题", "--map", "output=回答"]
    assert main(["validate", str(path), *mapping]) == 0
    assert "format alpaca" in capsys.readouterr().out
    records = read_records(path, ReadOptions(columns={"id": "编号", "instruction": "问题", "output": "回答"}))
    assert records[2].id == "2" and records[2].output == ITEMS["qa"][2]["answer"] and records[2].meta["科室"]
    with pytest.raises(ConfigError, match="map"):
        ReadOptions.from_pairs(columns=["instruction"])


def test_where_selects_on_validate_convert_and_the_python_api(published, tmp_path, capsys):
    path = published["anesbench"].path
    level3 = sum(1 for r in read_records(path) if r.meta["level"] == 3)
    assert 0 < level3 < published["anesbench"].records
    assert main(["validate", str(path), "--where", "level=3"]) == 0
    printed = capsys.readouterr().out
    assert f"{level3} choice" in printed and f"{published['anesbench'].records - level3} left out by --where" in printed
    out = tmp_path / "level3.jsonl"
    assert main(["convert", str(path), str(out), "--where", "level=3"]) == 0
    assert len(read_records(out)) == level3
    assert len(read_records(path, ReadOptions(where=["level!=3"]))) == published["anesbench"].records - level3
    assert main(["convert", str(path), str(tmp_path / "none.jsonl"), "--where", "level=9"]) == 1  # empty: non-zero
    nested = tmp_path / "nested.jsonl"
    rows = [
        {"question": q["question"], "answer": q["answer"], "_meta": {"core": i % 2 == 0}}
        for i, q in enumerate(ITEMS["qa"])
    ]
    nested.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert len(read_records(nested, ReadOptions(where=["_meta.core=true"]))) == (len(rows) + 1) // 2


def test_breakdown_tags_each_item_with_its_field(published):
    task = Task.from_file(published["anesbench"].path, options=ReadOptions(where=["level!=1"]), breakdown=["level"])
    assert {t for r in task.records for t in r.tags} <= {"level=2", "level=3"}
    assert all(any(t.startswith("level=") for t in r.tags) for r in task.records)


def test_specialty_yaml_reads_a_mapped_export_and_selects_benchmark_items(published, tmp_path):
    _csv(tmp_path / "export.csv", ["问题", "回答"], [[q["question"], q["answer"]] for q in ITEMS["qa"]])
    (tmp_path / "anesbench.json").write_bytes(published["anesbench"].path.read_bytes())
    (tmp_path / "config.yaml").write_text(
        "name: hospital\ntitle: 本院麻醉\n"
        "data:\n  instructions:\n    - {path: export.csv, columns: {instruction: 问题, output: 回答}}\n"
        "benchmark:\n  - name: AnesBench-L3\n    kind: choice\n    file: anesbench.json\n"
        "    read: {where: [level=3], language: en}\n    breakdown: [level]\n",
        encoding="utf-8",
    )
    spec = load_specialty(tmp_path)
    path = spec.data.instructions[0]
    assert len(read_records(path, spec.data.options(path))) == len(ITEMS["qa"])
    task = load_tasks(specialty=tmp_path)[0]
    assert task.records and all(r.meta["level"] == 3 and not is_chinese(r.question) for r in task.records)
    assert all("level=3" in r.tags for r in task.records)


def test_reader_counts_what_where_left_out(published):
    department = ITEMS["dialogues"][0]["department"]
    expected = sum(1 for i, d in enumerate(ITEMS["dialogues"]) if d["department"] == department and i != 3)
    reader = RecordReader(published["cmtmedqa"].path, ReadOptions(where=[f"cate1={department}"]))
    assert len(list(reader)) == expected
    assert reader.unselected == published["cmtmedqa"].records - expected
