"""Perplexity tasks: bits per character of documents and of reference answers, for a base and an extended model."""

from __future__ import annotations

import copy
import math

import pytest
from transformers import AutoTokenizer

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.perplexity import score_texts
from medspec.bench.tasks import PromptTemplates, Task, load_tasks, task_items
from medspec.data.schema import Document, Instruction
from medspec.errors import ConfigError
from medspec.llm.transformers import TransformersBackend
from medspec.vocab import VocabConfig, VocabExtender
from tests.conftest import tiny_llama
from tests.unit.bench.fakes import RuleBackend

DOCUMENTS = [
    Document(id="d1", text="椎管内麻醉后低血压常见，可先补液并给予去氧肾上腺素或麻黄碱纠正。", tags=["regional"]),
    Document(id="d2", text="困难气道的识别依赖术前评估：张口度、甲颏距离、Mallampati分级和颈部活动度。" * 3),
    Document(id="d3", text="术后恶心呕吐的高危因素包括女性、不吸烟、既往晕动病史和术后使用阿片类药物。"),
]
ANSWERS = [
    Instruction(id="a1", instruction="丙泊酚的诱导剂量？", output="健康成人约1.5～2.5 mg/kg，老年人减量。"),
    Instruction(id="a2", instruction="恶性高热的特效药？", output="丹曲林，首剂2.5 mg/kg静注。"),
]


@pytest.fixture(scope="module")
def base_and_extended(byte_level_tokenizer_dir, corpus_lines):
    tokenizer = AutoTokenizer.from_pretrained(byte_level_tokenizer_dir)
    base = TransformersBackend(tiny_llama(len(tokenizer), seed=1).eval(), tokenizer, batch_size=4, name="base")
    config = VocabConfig(add=300, sentencepiece_vocab_size=1000)
    extension = VocabExtender(config).extend(tokenizer, corpus=corpus_lines[:60], lexicon=["麻醉", "丙泊酚"])
    model = extension.resize_model(copy.deepcopy(base.model)).eval()
    return base, TransformersBackend(model, extension.tokenizer, batch_size=4, name="extended")


def run(backend, **settings):
    tasks = [Task("docs", "perplexity", DOCUMENTS), Task("answers", "perplexity", ANSWERS)]
    config = BenchmarkConfig(
        **{"bootstrap_resamples": 200, "perplexity_window": 32, "perplexity_stride": 16, **settings}
    )
    return Benchmark(tasks, config=config).run(backend)


def test_a_base_and_an_extended_model_are_scored_on_the_same_characters(base_and_extended):
    base, extended = base_and_extended
    texts = [d.text for d in DOCUMENTS]
    assert sum(map(len, extended.tokenizer(texts)["input_ids"])) < sum(map(len, base.tokenizer(texts)["input_ids"]))
    results = [run(backend) for backend in base_and_extended]
    for result in results:
        docs = result.tasks["docs"]
        assert docs.headline == "BPC" and docs.lower_is_better
        rows = result.items["docs"]
        total = sum(r["bits"] for r in rows) / sum(r["chars"] for r in rows)
        assert docs.figures["BPC"].value == pytest.approx(total)  # total bits over total characters
        assert docs.figures["BPC"].low <= total <= docs.figures["BPC"].high
        assert 0 < total < 3 * math.log2(len(base.tokenizer))  # a random model: a few tokens' worth per character
        assert result.tasks["answers"].figures["BPC"].n == 2
    assert [r["chars"] for r in results[0].items["docs"]] == [len(d.text) for d in DOCUMENTS]
    assert [r["chars"] for r in results[0].items["docs"]] == [r["chars"] for r in results[1].items["docs"]]


def test_windows_and_answer_prompts_are_part_of_the_settings(base_and_extended):
    base, _ = base_and_extended
    result = run(base)
    assert result.tasks["docs"].settings["window"] == 32 and result.tasks["docs"].settings["stride"] == 16
    wide = run(base, perplexity_window=256, perplexity_stride=128).tasks["docs"]
    # longer context can only help a text's second half; on a random model the figures stay close
    assert wide.figures["BPC"].value == pytest.approx(result.tasks["docs"].figures["BPC"].value, rel=0.2)


def test_perplexity_needs_a_local_model_and_every_specialty_ships_a_task():
    api = RuleBackend(lambda prompt: "")
    assert "docs" in Benchmark([Task("docs", "perplexity", DOCUMENTS)]).run(api).skipped
    with pytest.raises(ConfigError, match="cannot score plain text"):
        score_texts(
            api, task_items(Task("docs", "perplexity", DOCUMENTS), prompts=PromptTemplates()), window=8, stride=8
        )
    for specialty in ("anesthesiology", "pediatrics"):
        kinds = {task.kind for task in load_tasks(specialty=specialty)}
        assert "perplexity" in kinds, specialty
