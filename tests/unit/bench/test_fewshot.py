"""Few-shot prompting: examples from a dev split or the task's other records, never the item, fixed by a seed."""

from __future__ import annotations

import pytest

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.tasks import PromptTemplates, Task, load_tasks, task_items
from medspec.errors import ConfigError
from tests.unit.bench.fakes import RuleBackend, case_task, qa_task
from tests.unit.data.published_shapes import cmmlu


def test_cmmlu_runs_5_shot_from_its_published_dev_files(tmp_path):
    published = cmmlu(tmp_path, dev=5)
    (task,) = load_tasks([str(published.path)])
    assert len(task.records) == published.records and len(task.examples) == 5
    dev_questions = {r.question for r in task.examples}
    items = task_items(task, prompts=PromptTemplates(), choice_mode="letter", shots=5)
    for item in items:
        turns = item.messages[:-1]
        assert [m["role"] for m in turns] == ["user", "assistant"] * 5
        assert {q for q in dev_questions if any(q in m["content"] for m in turns)} == dev_questions
        assert all(m["content"] in "ABCD" and len(m["content"]) == 1 for m in turns[1::2])
    seen = []
    result = Benchmark([task], config=BenchmarkConfig(shots=5, bootstrap_resamples=50)).run(
        RuleBackend(lambda prompt: seen.append(prompt) or "答案：A")
    )
    assert result.tasks[task.name].settings["shots"] == 5 and len(seen) == published.records


def test_examples_from_the_task_itself_never_include_the_item_and_are_stable():
    task = qa_task(12)
    first = task_items(task, prompts=PromptTemplates(), shots=3, seed=1)
    again = task_items(
        Task(task.name, "qa", task.records[:4], examples=task.records), prompts=PromptTemplates(), shots=3, seed=1
    )
    for item, record in zip(first, task.records, strict=False):
        asked = [m["content"] for m in item.messages[:-1:2]]
        assert len(asked) == 3 and record.instruction not in asked
        assert [m["content"] for m in item.messages[1:-1:2]] == [
            next(r.output for r in task.records if r.instruction == q) for q in asked
        ]
    assert [i.messages for i in first[:4]] == [i.messages for i in again]
    assert first[0].messages != task_items(task, prompts=PromptTemplates(), shots=3, seed=2)[0].messages


def test_shots_need_a_kind_that_takes_them_and_enough_examples():
    with pytest.raises(ConfigError, match="qa and choice"):
        task_items(case_task(), prompts=PromptTemplates(), shots=1)
    with pytest.raises(ConfigError, match="more examples"):
        task_items(qa_task(3), prompts=PromptTemplates(), shots=3)
    with pytest.raises(ConfigError, match="key 'shots'"):
        BenchmarkConfig(shots=-1)
