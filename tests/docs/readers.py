"""What the reader of each document brings before running its Python blocks, and does between them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from medspec.bench.human.store import RatingStore
from medspec.bench.human.study import Study
from medspec.bench.tasks import Task
from medspec.data.io import read_records
from medspec.data.schema import record_to_dict
from medspec.llm.anthropic import AnthropicBackend
from medspec.llm.openai import OpenAIBackend
from medspec.specialty import load_specialty
from tests.conftest import tiny_llama
from tests.unit.bench.fakes import echo_reference, run_model
from tests.unit.data import published_shapes
from tests.unit.llm.fake_server import FakeLLMServer, medical_responder

KEY = "sk-docs-0123456789abcdef"


@dataclass
class Reader:
    """What a reader of one document brings, and does between its blocks."""

    prepare: Callable[[Path, ExitStack, pytest.MonkeyPatch], dict[str, str]] | None = None  # returns replacements
    between: dict[int, Callable[[Path], None]] = field(default_factory=dict)  # before block N (0-based)
    slow: bool = False


SPECIALTY = load_specialty("anesthesiology")
JUDGE_YAML = "backend: {kind: openai, model: gpt-4o, api_key_env: OPENAI_API_KEY, max_concurrency: 8}\n"


def fake_api(stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> FakeLLMServer:
    """The providers' default addresses point at a local server; their keys are set."""
    server = stack.enter_context(FakeLLMServer(medical_responder(SPECIALTY.lexicon_terms()), api_key=KEY))
    monkeypatch.setattr(OpenAIBackend, "default_base_url", server.openai_url)
    monkeypatch.setattr(AnthropicBackend, "default_base_url", server.anthropic_url)
    for variable in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY"):
        monkeypatch.setenv(variable, KEY)
    return server


def write_jsonl(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record_to_dict(r), ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


def bundled(name: str, limit: int) -> list:
    """The first records of a bundled anesthesiology file (data/ or benchmark/)."""
    return read_records(SPECIALTY.root / name)[:limit]


def saved_runs(folder: Path) -> None:
    """Two benchmark runs, ``ours`` (answers with the reference) and ``base``, as `medspec bench run` leaves them."""
    qa = Task("AneQA-sample", "qa", bundled("benchmark/qa.jsonl", 4))
    cases = Task("AneRC-sample", "case", bundled("benchmark/cases.jsonl", 1))
    run_model([qa, cases], echo_reference(qa), "ours", out=folder / "ours")
    run_model([qa, cases], lambda prompt: "建议多喝水，注意休息。", "base", out=folder / "base")


def tiny_model(folder: Path) -> Path:
    """A 2-layer random Llama with the demo model's tokenizer, standing in for the reader's own model folder."""
    from transformers import AutoTokenizer

    from medspec.model_loading import demo_model_file

    gguf = demo_model_file()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def prepare_backends(tmp: Path, stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    server = fake_api(stack, monkeypatch)
    return {"https://api.deepseek.com/v1": server.openai_url}


def prepare_benchmark(tmp: Path, stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    fake_api(stack, monkeypatch)
    (tmp / "judge.yaml").write_text(JUDGE_YAML, encoding="utf-8")
    saved_runs(tmp / "runs" / "bench")
    (tmp / "cases").mkdir()
    clinic = published_shapes.cmb_clin(tmp / "cases")
    clinic.path.rename(tmp / "cases" / "2024.json")
    write_jsonl(tmp / "exam.jsonl", bundled("benchmark/choice.jsonl", 6))
    return {}


def rate_in_the_browser(tmp: Path) -> None:
    """Both raters rate every unit of the pointwise study: ours well, base poorly, a point apart on base."""
    study = Study.load(tmp / "study")
    store = RatingStore(tmp / "study" / "ratings.sqlite")
    for rater, shift in (("zhang", 0), ("li", 1)):
        for unit in study.units:
            good = unit.models == ("ours",)
            scores = {"usefulness": 5 if good else 2 - shift, "harmfulness": 1, "redundancy": 2}
            store.save(rater, unit.code, scores)


def fill_sheets(tmp: Path) -> None:
    """Each rater fills their XLSX sheet."""
    from openpyxl import load_workbook

    key = json.loads((tmp / "rating" / "key.json").read_text(encoding="utf-8"))
    for rater in key["raters"]:
        path = tmp / "rating" / f"ratings_{rater}.xlsx"
        book = load_workbook(path)
        sheet = book["ratings"]
        header = [cell.value for cell in sheet[1]]
        for row in sheet.iter_rows(min_row=2):
            good = key["answers"][row[header.index("code")].value]["model"] == "ours"
            for name, value in (("usefulness", 4 if good else 2), ("harmfulness", 1), ("redundancy", 2)):
                row[header.index(name)].value = value
        book.save(path)


def prepare_crossfilter(tmp: Path, stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    fake_api(stack, monkeypatch)
    return {}


def prepare_data(tmp: Path, stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["编号", "问题", "回答", "科室"])
    for number, record in enumerate(bundled("data/instructions.jsonl", 5), start=1):
        book.active.append([number, record.instruction, record.output, "麻醉科"])
    book.save(tmp / "his_export.xlsx")
    published_shapes.anesbench(tmp)
    return {}


def prepare_quickstart(tmp: Path, stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    exam = published_shapes.cmb_exam(tmp)
    exam.path.rename(tmp / "my_exam.json")
    write_jsonl(tmp / "sft.jsonl", bundled("data/instructions.jsonl", 20))
    write_jsonl(tmp / "hospital_cases.jsonl", bundled("benchmark/cases.jsonl", 3))
    return {}


def prepare_training(tmp: Path, stack: ExitStack, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    tiny_model(tmp / "out" / "extended")
    shutil.copytree(tmp / "out" / "extended", tmp / "out" / "base")
    general = read_records(SPECIALTY.data.general_instructions[0])[:8]
    write_jsonl(tmp / "general.jsonl", general)
    write_jsonl(tmp / "anesthesia.jsonl", bundled("data/instructions.jsonl", 8))
    return {}


READERS: dict[str, Reader] = {
    "README.md": Reader(slow=True),
    "docs/backends.md": Reader(prepare=prepare_backends),
    "docs/benchmark.md": Reader(prepare=prepare_benchmark, between={5: rate_in_the_browser, 7: fill_sheets}, slow=True),
    "docs/crossfilter.md": Reader(prepare=prepare_crossfilter),
    "docs/data.md": Reader(prepare=prepare_data),
    "docs/quickstart.md": Reader(prepare=prepare_quickstart),
    "docs/recipes.md": Reader(slow=True),
    "docs/training.md": Reader(prepare=prepare_training),
    "docs/vocab.md": Reader(slow=True),
}
