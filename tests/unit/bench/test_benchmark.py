from __future__ import annotations

import json
import logging
import re

import pytest
from transformers import AutoTokenizer

from medspec.bench.benchmark import AnesthesiaBenchmark, Benchmark, BenchmarkConfig
from medspec.bench.choice.modes import candidate_answers
from medspec.bench.report import Report
from medspec.bench.results import BenchmarkResult
from medspec.bench.tasks import Task
from medspec.config import from_dict
from medspec.data.schema import Instruction
from medspec.errors import ConfigError
from medspec.llm.base import Completion
from medspec.llm.transformers import TransformersBackend
from tests.conftest import tiny_llama
from tests.unit.bench.fakes import RuleBackend, case_task, choice_task, echo_reference, qa_task

CONFIG = BenchmarkConfig(bootstrap_resamples=200)
ANSWERS = {"恶性高热的特效药是": "A", "拮抗阿片类呼吸抑制用": "D", "可用于心动过缓的是": "C", "属于抗胆碱药的是": "C"}


def oracle(prompt: str) -> str:
    """Knows the choice answers (in varied styles) and echoes nothing else."""
    if "以下哪些是拮抗药" in prompt:
        return "正确答案是B和D。"
    for stem, letter in ANSWERS.items():
        if stem in prompt:
            return f"答案：{letter}"
    return "不知道"


def test_choice_figures_from_a_knowing_and_an_echoing_model():
    bench = Benchmark([choice_task()], config=CONFIG)
    knowing = bench.run(RuleBackend(oracle)).tasks["choice"]
    assert knowing.figures["Acc"].value == 100 and knowing.figures["Extracted"].value == 100
    assert knowing.figures["Acc (multiple)"].n == 1 and knowing.figures["Acc (single)"].n == 4
    assert knowing.by_tag["monitoring"].value == 100
    echo = bench.run(RuleBackend(lambda p: "\n".join(line for line in p.splitlines() if re.match("[A-D]\\. ", line))))
    assert echo.tasks["choice"].figures["Extracted"].value == 0 and echo.tasks["choice"].figures["Acc"].value == 0
    assert echo.tasks["choice"].counts["unparseable"] == 5


def test_generation_figures_and_the_run_folder(tmp_path):
    task = qa_task(5)
    result = Benchmark([task, case_task()], config=CONFIG).run(
        RuleBackend(echo_reference(task), name="backend-name"), out=tmp_path
    )
    qa = result.tasks["qa"]
    assert result.model == "backend-name"
    assert list(qa.figures) == ["R-1", "R-2", "R-L", "B-1", "B-2", "B-3", "B-4", "GLEU", "D-1", "D-2"]
    assert qa.figures["R-L"].value == pytest.approx(100) and qa.figures["B-4"].value == pytest.approx(100)
    assert result.tasks["cases"].figures["R-L"].value == 0 and result.tasks["cases"].counts["items"] == 6
    loaded = BenchmarkResult.load(tmp_path)
    assert loaded.tasks["qa"].figures["R-L"] == qa.figures["R-L"]
    rows = loaded.scored_items("cases")
    assert rows[1]["id"] == "case0#2" and rows[1]["group"] == "case0" and rows[1]["prediction"] == "不知道"
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["steps"]["predictions/qa"]["status"] == "complete"


def test_an_interrupted_run_resumes_without_asking_again(tmp_path):
    task = qa_task(7)
    right = echo_reference(task)
    config = BenchmarkConfig(bootstrap_resamples=200, save_every=2)

    class Crashing(RuleBackend):
        def generate(self, chats, params):
            if self.calls == 2:
                raise RuntimeError("power cut")
            return super().generate(chats, params)

    crashing = Crashing(right)
    with pytest.raises(RuntimeError, match="power cut"):
        Benchmark([task], config=config).run(crashing, out=tmp_path, model="m")
    assert crashing.chats_seen == 4
    resumed = RuleBackend(right)
    result = Benchmark([task], config=config).run(resumed, out=tmp_path, model="m")
    assert resumed.chats_seen == 3  # only the items the crash left unanswered
    assert result.tasks["qa"].figures["R-L"].value == pytest.approx(100)
    again = RuleBackend(right)
    Benchmark([task], config=config).run(again, out=tmp_path, model="m")
    assert again.chats_seen == 0


def test_failed_answers_score_zero_and_are_retried_on_the_next_run(tmp_path, caplog):
    task = qa_task(4)
    right = echo_reference(task)

    class Flaky(RuleBackend):
        def generate(self, chats, params):
            self.chats_seen += len(chats)
            return [
                Completion(text="", finish_reason="error", error="timeout")
                if "第1题" in chat[-1]["content"]
                else Completion(text=right(chat[-1]["content"]))
                for chat in chats
            ]

    with caplog.at_level(logging.WARNING, logger="medspec"):
        first = Benchmark([task], config=CONFIG).run(Flaky(right), out=tmp_path, model="m")
    assert first.tasks["qa"].counts["errors"] == 1
    assert first.tasks["qa"].figures["R-L"].value == pytest.approx(75)
    assert "1 answers failed" in caplog.text
    retry = RuleBackend(right)
    second = Benchmark([task], config=CONFIG).run(retry, out=tmp_path, model="m")
    assert retry.chats_seen == 1 and second.tasks["qa"].figures["R-L"].value == pytest.approx(100)


def test_resuming_with_other_settings_is_refused(tmp_path):
    task = qa_task(2)
    Benchmark([task], config=CONFIG).run(RuleBackend(echo_reference(task)), out=tmp_path, model="m")
    other = BenchmarkConfig(bootstrap_resamples=200, max_new_tokens=8)
    with pytest.raises(ConfigError, match="max_new_tokens"):
        Benchmark([task], config=other).run(RuleBackend(echo_reference(task)), out=tmp_path, model="m")


def test_items_that_overlap_training_data_are_flagged(caplog):
    questions = ["简述恶性高热发作时的首选治疗药物、剂量及其用法。", "椎管内麻醉后出现严重低血压时应当如何处理和预防？"]
    task = Task("qa", "qa", [Instruction(id=f"q{i}", instruction=q, output="……") for i, q in enumerate(questions)])
    leaked = Instruction(id="t1", instruction="请回答：" + questions[1], output="补液、升压药。")
    clean = Instruction(id="t2", instruction="腰麻后头痛如何处理？", output="平卧、补液。")
    with caplog.at_level(logging.WARNING, logger="medspec"):
        result = Benchmark([task], config=CONFIG).run(RuleBackend(lambda p: "x"), training_data=[leaked, clean])
    assert result.tasks["qa"].contaminated == ["q1"]
    assert "1 items overlap the training data (q1)" in caplog.text


@pytest.fixture(scope="module")
def tiny_backend(byte_level_tokenizer_dir):
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    return TransformersBackend(tiny_llama(len(tokenizer)), tokenizer, batch_size=4, name="tiny")


def test_letter_mode_takes_the_most_likely_allowed_answer(tiny_backend):
    task = choice_task()
    config = BenchmarkConfig(bootstrap_resamples=200, choice_mode="letter")
    bench = Benchmark([task], config=config)
    predictions = bench.predict(tiny_backend, task)
    multiple = predictions["m1"]
    assert set(multiple.logprobs) == set(candidate_answers(task.records[-1].options, multiple=True))
    assert all(len(answer) >= 2 for answer in multiple.logprobs)
    for prediction in predictions.values():
        assert prediction.text == max(prediction.logprobs, key=prediction.logprobs.get)
    result = bench.run(tiny_backend).tasks["choice"]
    assert "Extracted" not in result.figures  # every question gets an answer
    with pytest.raises(ConfigError, match="cannot score log-likelihoods"):
        bench.run(RuleBackend(oracle))


def test_batched_generation_gives_the_one_at_a_time_answers(tiny_backend, byte_level_tokenizer_dir):
    config = BenchmarkConfig(bootstrap_resamples=200, max_new_tokens=6, limit=1)
    bench = Benchmark([qa_task(5), case_task()], config=config)
    batched = bench.run(tiny_backend, model="tiny")
    single_backend = TransformersBackend(tiny_backend.model, tiny_backend.tokenizer, batch_size=1, name="tiny")
    single = bench.run(single_backend, model="tiny")
    for task in ("qa", "cases"):
        assert [r["prediction"] for r in batched.items[task]] == [r["prediction"] for r in single.items[task]]


def test_config_errors_name_the_field():
    with pytest.raises(ConfigError, match="key 'choice_mode'"):
        BenchmarkConfig(choice_mode="guess")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="key 'limit'"):
        BenchmarkConfig(limit=0)
    with pytest.raises(ConfigError, match=r"key 'prompts\.case_next'"):
        from_dict(BenchmarkConfig, {"prompts": {"case_next": "没有占位符"}})
    with pytest.raises(ConfigError, match="tasks"):
        Benchmark([])


def test_the_anesthesia_benchmark_defaults_to_the_bundled_samples():
    bench = AnesthesiaBenchmark(config=BenchmarkConfig(limit=2))
    names = ["AneCQ-sample", "AneQA-sample", "AneRC-sample", "AneDoc-sample", "AneQA-bpc", "AneCQ-circular"]
    assert [t.name for t in bench.tasks] == names
    assert [len(bench.items(t)) for t in bench.tasks][:2] == [2, 2]
    result = bench.run(RuleBackend(lambda prompt: "答案：A", name="api"))  # an API model cannot score text
    assert list(result.tasks) == names[:3] and set(result.skipped) == {"AneDoc-sample", "AneQA-bpc", "AneCQ-circular"}
    assert "> Skipped: AneDoc-sample for api (api cannot score text" in Report([result]).markdown()
