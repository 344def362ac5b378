from __future__ import annotations

import csv
import json

import pytest

from medspec.bench.tasks import PromptTemplates, Task, load_tasks, task_items
from medspec.errors import ConfigError, InvalidDataError

PROMPTS = PromptTemplates()


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_the_anesthesiology_tasks_load_with_their_kinds_and_sizes():
    tasks = {t.name: t for t in load_tasks(specialty="anesthesiology")}
    assert {n: (t.kind, len(t.records)) for n, t in tasks.items()} == {
        "AneCQ-sample": ("choice", 133),
        "AneQA-sample": ("qa", 70),
        "AneRC-sample": ("case", 24),
        "AneDoc-sample": ("perplexity", 40),
        "AneQA-bpc": ("perplexity", 70),
        "AneCQ-circular": ("choice", 133),
    }
    assert tasks["AneCQ-circular"].settings == {"choice_mode": "letter", "circular": True}
    cases = task_items(tasks["AneRC-sample"], prompts=PROMPTS)
    assert len(cases) == sum(len(r.questions) for r in tasks["AneRC-sample"].records) > 24
    choices = task_items(tasks["AneCQ-sample"], prompts=PROMPTS)
    assert sum(len(item.reference) > 1 for item in choices) == 26  # the multiple-answer questions


def test_choice_prompts_say_single_or_multiple_and_list_the_options():
    task = load_tasks(["AneCQ-sample"])[0]
    items = {i.id: i for i in task_items(task, prompts=PROMPTS)}
    record = next(r for r in task.records if r.is_multiple_answer)
    multiple = items[record.id].messages[-1]["content"]
    assert multiple.startswith("以下是一道多项选择题") and "A. " in multiple and record.question in multiple
    assert "答案：" in multiple
    single = items[task.records[0].id]
    assert single.messages[-1]["content"].startswith("以下是一道单项选择题") and single.reference == "A"
    likely = task_items(task, prompts=PROMPTS, choice_mode="letter")[0].messages[-1]["content"]
    assert likely.endswith(PROMPTS.choice_letter)


def test_case_questions_see_the_case_and_the_earlier_reference_answers():
    task = load_tasks(["AneRC-sample"])[0]
    record = task.records[0]
    items = task_items(task, prompts=PROMPTS, system="你是麻醉科医生。")
    second = items[1]
    assert second.id == f"{record.id}#2" and second.group == record.id
    roles = [m["role"] for m in second.messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert record.case in second.messages[1]["content"]
    assert second.messages[2]["content"] == record.questions[0].answer  # the reference, not a model answer
    assert second.messages[3]["content"] == record.questions[1].question
    assert second.reference == record.questions[1].answer
    assert record.case in second.question and record.questions[1].question in second.question


def test_open_questions_keep_their_dialogue_history():
    task = load_tasks(["PedDx-sample"], specialty="pediatrics")[0]
    item = task_items(task, prompts=PROMPTS)[0]
    record = task.records[0]
    assert len(item.messages) == 2 * len(record.history) + 1
    assert item.messages[0]["content"] == record.history[0][0]
    assert item.question.startswith("用户：") and record.instruction in item.question


def test_other_benchmark_formats_load_as_tasks(tmp_path):
    cmexam = write_jsonl(
        tmp_path / "cmexam.jsonl",
        [{"Question": "椎管内麻醉最常见的并发症是", "Options": "A 低血压\nB 全脊麻\nC 头痛", "Answer": "A"}],
    )
    cmb_clin = tmp_path / "cmb_clin.json"
    cmb_clin.write_text(
        json.dumps(
            [
                {
                    "id": 1,
                    "description": "男，60岁，拟行全髋置换术。",
                    "QA_pairs": [
                        {"question": "术前评估重点？", "solution": "心肺功能。"},
                        {"question": "麻醉方式？", "solution": "椎管内麻醉。"},
                    ],
                }
            ],
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    medqa = write_jsonl(
        tmp_path / "medqa.jsonl",
        [
            {
                "question": "首选的恶性高热治疗药物是",
                "options": {"A": "丹曲林", "B": "新斯的明"},
                "answer": "丹曲林",
                "answer_idx": "A",
            }
        ],
    )
    cmmlu = tmp_path / "cmmlu.csv"
    with open(cmmlu, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Question", "A", "B", "C", "D", "Answer"])
        writer.writerow(["新斯的明拮抗的是", "非去极化肌松药", "去极化肌松药", "阿片类", "苯二氮䓬类", "A"])
    tasks = load_tasks([str(cmexam), f"Clin={cmb_clin}", str(medqa), str(cmmlu)])
    assert [(t.name, t.kind) for t in tasks] == [
        ("cmexam", "choice"),
        ("Clin", "case"),
        ("medqa", "choice"),
        ("cmmlu", "choice"),
    ]
    case_items = task_items(tasks[1], prompts=PROMPTS)
    assert [i.reference for i in case_items] == ["心肺功能。", "椎管内麻醉。"]
    assert task_items(tasks[3], prompts=PROMPTS)[0].options["A"] == "非去极化肌松药"


def test_unknown_task_names_list_the_known_ones():
    with pytest.raises(ConfigError, match="AneCQ-sample, AneQA-sample, AneRC-sample"):
        load_tasks(["AneXX"])


def test_two_tasks_with_one_name_are_refused(tmp_path):
    path = write_jsonl(tmp_path / "AneQA-sample.jsonl", [{"instruction": "问", "output": "答"}])
    with pytest.raises(ConfigError, match="NAME=PATH"):
        load_tasks(["AneQA-sample", str(path)])


def test_records_of_another_kind_are_refused_with_their_ids(tmp_path):
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"type": "instruction", "id": "q1", "instruction": "问", "output": "答"},
            {"type": "choice", "id": "c1", "question": "题", "options": {"A": "甲", "B": "乙"}, "answer": "A"},
        ],
    )
    with pytest.raises(InvalidDataError, match="record 'c1' is a 'choice' record; a qa task"):
        Task.from_file(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InvalidDataError, match="no records"):
        Task.from_file(empty)


@pytest.mark.parametrize(
    ("field", "template", "message"),
    [
        ("choice_single", "{question}\n{instruction}", "lacks {options}"),
        ("case_first", "{case} {question} {patient}", "bad placeholder"),
        ("case_next", "下一问", "lacks {question}"),
    ],
)
def test_bad_templates_name_the_field(field, template, message):
    with pytest.raises(ConfigError, match=f"key '{field}'.*{message}"):
        PromptTemplates(**{field: template})
