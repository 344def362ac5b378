from __future__ import annotations

import json
from pathlib import Path

import pytest

from medspec.cli import main

MALFORMED = Path(__file__).parents[1] / "assets" / "malformed"


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("medspec ")


def test_validate_reports_counts_and_errors(capsys):
    assert main(["validate", str(MALFORMED / "many_problems.jsonl")]) == 1
    out = capsys.readouterr().out
    assert "format medspec" in out
    assert "2 instruction" in out
    assert "5 invalid row(s)" not in out
    assert "many_problems.jsonl:6: field 'answer'" in out


def test_validate_a_good_file(tmp_path, capsys):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps({"instruction": "问", "output": "答"}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    assert "format alpaca, encoding utf-8: 1 instruction; 0 invalid row(s)" in capsys.readouterr().out


def test_convert_refuses_then_skips_invalid(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    assert main(["convert", str(MALFORMED / "duplicate_ids.jsonl"), str(out)]) == 1
    assert not out.exists()
    assert "nothing written" in capsys.readouterr().err
    assert main(["convert", str(MALFORMED / "duplicate_ids.jsonl"), str(out), "--skip-invalid"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rejects[0]["line"] == 3
    assert "duplicate id" in rejects[0]["errors"][0]["message"]


def test_convert_cmexam_to_medspec(tmp_path):
    src = tmp_path / "exam.jsonl"
    src.write_text(
        json.dumps({"Question": "题", "Options": "A 甲\nB 乙", "Answer": "B"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    assert main(["convert", str(src), str(tmp_path / "out.jsonl")]) == 0
    row = json.loads((tmp_path / "out.jsonl").read_text(encoding="utf-8"))
    assert row == {
        "type": "choice",
        "id": "exam-1",
        "question": "题",
        "options": {"A": "甲", "B": "乙"},
        "answer": "B",
        "provenance": {"source": "cmexam"},
    }


def test_specialties_dedup_decontaminate_deidentify(tmp_path, capsys):
    assert main(["specialties"]) == 0
    assert "anesthesiology" in capsys.readouterr().out
    train = tmp_path / "train.jsonl"
    question = "恶性高热发作时的首选治疗药物是什么？请说明剂量和用法"
    rows = [{"instruction": question, "output": "丹曲林。"}] * 2
    rows.append({"instruction": "患者王建国的电话是13812345678", "output": "好的"})
    train.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    bench = tmp_path / "bench.jsonl"
    bench.write_text(json.dumps({"instruction": question, "output": "丹曲林"}, ensure_ascii=False) + "\n", "utf-8")
    assert main(["dedup", str(train), str(tmp_path / "d.jsonl")]) == 0
    assert "kept 2 of 3" in capsys.readouterr().out
    assert (
        main(
            [
                "decontaminate",
                "--train",
                str(tmp_path / "d.jsonl"),
                "--benchmark",
                str(bench),
                "--out",
                str(tmp_path / "c.jsonl"),
            ]
        )
        == 0
    )
    assert "1 of 2 records overlap" in capsys.readouterr().out
    assert main(["deidentify", str(tmp_path / "c.jsonl"), str(tmp_path / "p.jsonl")]) == 0
    assert "NAME 1, PHONE 1" in capsys.readouterr().out
    assert "[姓名]" in (tmp_path / "p.jsonl").read_text(encoding="utf-8")


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["convert", str(tmp_path / "nope.jsonl"), str(tmp_path / "o.jsonl")]) == 1
    assert "nope.jsonl: no such file" in capsys.readouterr().err


def test_import_and_the_light_commands_never_import_torch(tmp_path):
    import subprocess
    import sys

    data = tmp_path / "one.jsonl"
    data.write_text(
        '{"instruction": "什么是全身麻醉？", "input": "", "output": "药物引起的可逆性意识消失。"}\n', "utf-8"
    )
    script = (
        "import sys, medspec\n"
        "assert 'torch' not in sys.modules, 'import medspec'\n"
        "from medspec.cli import main\n"
        f"assert main(['validate', {str(data)!r}]) == 0\n"
        f"assert main(['convert', {str(data)!r}, {str(tmp_path / 'out.jsonl')!r}]) == 0\n"
        "assert 'torch' not in sys.modules, 'validate or convert'\n"
        "import medspec.llm\n"
        "assert 'torch' not in sys.modules, 'the API backends'\n"
        "assert all(getattr(medspec, name) for name in medspec.__all__)  # resolved on first use\n"
        "assert medspec.llm.TransformersBackend.__name__ == 'TransformersBackend'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)
