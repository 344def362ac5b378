"""Files in the shapes public datasets are published in, written from the project's own items.

``tests/assets/published/items.json`` holds exam questions, questions and answers, consultations and cases written
for medspec. Each writer here pours them into one published shape, quirks included (a literal ``\\n`` between
CMExam options, an unnamed index column in CMMLU, CRLF line ends and indentation in CMB, one-element lists in
Zhongjing's Huatuo-26M copy, CMtMedQA's ``instruct`` rows and ``nan`` department, a BOM), and returns what a loader
must find in it.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ITEMS = json.loads((Path(__file__).parents[2] / "assets" / "published" / "items.json").read_text(encoding="utf-8"))
CMEXAM_COLUMNS = [
    "Question",
    "Options",
    "Answer",
    "Explanation",
    "Disease Group",
    "Area of Competency",
    "Clinical Department",
    "Medical Discipline",
    "Difficulty level",
]


@dataclass(frozen=True)
class Published:
    """A written file and what reading it must give.

    Attributes:
        path: The file.
        format: The format medspec must detect.
        records: How many records it holds.
        kind: The record type (``choice``, ``instruction``, ``case``, ``preference``).
        meta: A kept field every record must carry (``level``, ``cate1`` ...), or None.
    """

    path: Path
    format: str
    records: int
    kind: str
    meta: str | None = None


def single_answer(language: str = "zh", *, letters: str = "ABCDE") -> list[dict[str, Any]]:
    """The single-answer items in ``language``, cut to the option ``letters`` by dropping wrong options."""
    items = []
    for item in ITEMS["choice"]:
        if len(item["answer"]) != 1:
            continue
        version = item[language]
        texts = [version["options"][k] for k in sorted(version["options"])]
        correct = texts[ord(item["answer"]) - ord("A")]
        while len(texts) > len(letters):  # drop the last wrong option, as MedQA's 4-option files do
            texts.pop(max(i for i, t in enumerate(texts) if t != correct))
        items.append(
            {
                "question": version["question"],
                "options": dict(zip(letters, texts, strict=False)),
                "answer": letters[texts.index(correct)],
                "explanation": version["explanation"],
                "level": item["level"],
                "department": item["department"],
            }
        )
    return items


def _lines(options: dict[str, str]) -> str:
    return "\n".join(f"{letter} {text}" for letter, text in options.items())


def _csv(path: Path, header: list[str], rows: list[list[Any]], *, bom: bool = False, crlf: bool = False) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n" if crlf else "\n").writerows([header, *rows])
    path.write_text(("\ufeff" if bom else "") + buffer.getvalue(), encoding="utf-8", newline="")


def cmexam_rows(*, literal_breaks: bool) -> list[list[Any]]:
    rows = []
    for item in ITEMS["choice"]:
        options = _lines(item["zh"]["options"])
        rows.append(
            [
                item["zh"]["question"],
                options.replace("\n", "\\n") if literal_breaks else options,
                item["answer"],
                item["zh"]["explanation"],
                "不符合",
                "疾病治疗",
                item["department"],
                "临床医学",
                item["level"],
            ]
        )
    return rows


def cmexam_csv(folder: Path) -> Published:
    """``test_with_annotations.csv``: options on real line breaks inside the quoted cell, annotation columns."""
    path = folder / "test_with_annotations.csv"
    _csv(path, CMEXAM_COLUMNS, cmexam_rows(literal_breaks=False))
    return Published(path, "cmexam", len(ITEMS["choice"]), "choice", "Clinical Department")


def cmexam_literal(folder: Path) -> Published:
    """``val.csv`` as the issue saw it: options separated by the two characters ``\\n``, a BOM, CRLF line ends."""
    path = folder / "val.csv"
    rows = [row[:4] for row in cmexam_rows(literal_breaks=True)]
    _csv(path, CMEXAM_COLUMNS[:4], rows, bom=True, crlf=True)
    return Published(path, "cmexam", len(rows), "choice")


def cmexam_xlsx(folder: Path) -> Published:
    """The ``.xlsx`` some mirrors ship: the annotated test sheet."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(CMEXAM_COLUMNS)
    for row in cmexam_rows(literal_breaks=False):
        sheet.append(row)
    path = folder / "CMExam_test.xlsx"
    book.save(path)
    return Published(path, "cmexam", len(ITEMS["choice"]), "choice", "Difficulty level")


def cmb_exam(folder: Path) -> Published:
    """``CMB-val-merge.json``: one JSON array, CRLF, indent 4, options padded with empty letters."""
    rows = []
    for number, item in enumerate(ITEMS["choice"], start=1):
        options = {letter: item["zh"]["options"].get(letter, "") for letter in "ABCDE"}
        rows.append(
            {
                "id": number,
                "exam_type": "医师考试",
                "exam_class": "执业医师",
                "exam_subject": item["department"],
                "question": item["zh"]["question"],
                "answer": item["answer"],
                "question_type": "多项选择题" if len(item["answer"]) > 1 else "单项选择题",
                "option": options,
                "explanation": item["zh"]["explanation"],
            }
        )
    path = folder / "CMB-val-merge.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=4).replace("\n", "\r\n"), encoding="utf-8")
    return Published(path, "cmb", len(rows), "choice", "exam_class")


def cmb_clin(folder: Path, *, answer_key: str = "solution") -> Published:
    """``CMB-Clin-qa.json`` (``solution``, int ids) or ``CMB-test-qa.json`` (``answer``, string ids)."""
    rows = [
        {
            "id": number if answer_key == "solution" else str(number),
            "title": case["title"],
            "description": case["description"],
            "QA_pairs": [{"question": q, answer_key: a} for q, a in case["qa"]],
        }
        for number, case in enumerate(ITEMS["cases"])
    ]
    path = folder / ("CMB-Clin-qa.json" if answer_key == "solution" else "CMB-test-qa.json")
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return Published(path, "cmb-clin", len(rows), "case", "title")


def cmmlu(folder: Path, *, dev: int = 0) -> Published:
    """``test/clinical_knowledge.csv``: an unnamed pandas index column, four options, the subject in the name.

    With ``dev``, the last ``dev`` items go to ``dev/clinical_knowledge.csv`` instead, the few-shot examples.
    """
    items = single_answer(letters="ABCD")
    split = {"test": items[: len(items) - dev], "dev": items[len(items) - dev :]} if dev else {"test": items}
    for name, chosen in split.items():
        rows = [[i, it["question"], *it["options"].values(), it["answer"]] for i, it in enumerate(chosen)]
        (folder / name).mkdir(exist_ok=True)
        _csv(folder / name / "clinical_knowledge.csv", ["", "Question", "A", "B", "C", "D", "Answer"], rows)
    return Published(folder / "test" / "clinical_knowledge.csv", "cmmlu", len(split["test"]), "choice", "subject")


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def medqa(folder: Path, *, region: str = "US", letters: str = "ABCDE") -> Published:
    """MedQA JSONL: ``US/test.jsonl`` (English, 5 options), ``US/4_options/...`` (with ``metamap_phrases``),
    ``Mainland/test.jsonl`` (Chinese); the answer as text and as ``answer_idx``, no id."""
    items = single_answer("en" if region == "US" else "zh", letters=letters)
    rows = []
    for item in items:
        row = {"question": item["question"], "answer": item["options"][item["answer"]], "options": item["options"]}
        row["meta_info"] = "step1" if region == "US" else item["department"]
        row["answer_idx"] = item["answer"]
        if letters == "ABCD":
            row["metamap_phrases"] = item["question"].split()[:5]
        rows.append(row)
    path = folder / f"medqa_{region}_{len(letters)}.jsonl"
    _jsonl(path, rows)
    return Published(path, "medqa", len(rows), "choice", "meta_info")


def anesbench(folder: Path) -> Published:
    """``anesbench.json``: one array; ``choice_num``, a single-letter ``answer``, ``level``, ``en_*`` and ``zh_*``."""
    rows = []
    for zh, en in zip(single_answer("zh"), single_answer("en"), strict=True):
        row: dict[str, Any] = {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, zh["question"])),
            "choice_num": len(zh["options"]),
        }
        row.update(answer=zh["answer"], level=zh["level"], en_question=en["question"])
        row.update({f"en_{k}": v for k, v in en["options"].items()})
        row["zh_question"] = zh["question"]
        row.update({f"zh_{k}": v for k, v in zh["options"].items()})
        rows.append(row)
    path = folder / "anesbench.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return Published(path, "anesbench", len(rows), "choice", "level")


def huatuo_zhongjing(folder: Path) -> Published:
    """Zhongjing's ``huatuo26M_test.json``: one array, empty ids, ``instruction``/``output`` as one-element lists."""
    rows = [{"id": "", "instruction": [q["question"]], "input": "", "output": [q["answer"]]} for q in ITEMS["qa"]]
    path = folder / "huatuo26M_test.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return Published(path, "alpaca", len(rows), "instruction")


def huatuo_test(folder: Path) -> Published:
    """The official ``test_datasets.jsonl``: ``questions`` and ``answers``."""
    path = folder / "test_datasets.jsonl"
    _jsonl(path, [{"questions": q["question"], "answers": q["answer"]} for q in ITEMS["qa"]])
    return Published(path, "qa", len(ITEMS["qa"]), "instruction")


def huatuo_lite(folder: Path) -> Published:
    """Huatuo26M-Lite's ``format_data.jsonl``: ``question``/``answer``, ``score``, ``label``, ``related_diseases``."""
    rows = [
        {"id": i, "question": q["question"], "answer": q["answer"], "score": 4, "label": q["department"]}
        | {"related_diseases": ""}
        for i, q in enumerate(ITEMS["qa"])
    ]
    path = folder / "format_data.jsonl"
    _jsonl(path, rows)
    return Published(path, "qa", len(rows), "instruction", "label")


def cmtmedqa(folder: Path) -> Published:
    """``CMtMedQA_test.json``: multi-turn rows with ``cate1``/``cate2``/``history`` (one ``cate1`` is ``"nan"``),
    then single-turn safety rows with only ``instruct`` and ``output``."""
    rows: list[dict[str, Any]] = []
    for i, dialogue in enumerate(ITEMS["dialogues"]):
        *history, (last_question, last_answer) = dialogue["turns"]
        rows.append(
            {
                "id": f"j{1000 + i}",
                "cate1": "nan" if i == 3 else dialogue["department"],
                "cate2": dialogue["subdepartment"],
                "instruction": last_question,
                "input": "",
                "output": last_answer,
                "history": [list(pair) for pair in history],
            }
        )
    rows += [{"instruct": q["question"], "output": q["answer"]} for q in ITEMS["qa"][:6]]
    path = folder / "CMtMedQA_test.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=4), encoding="utf-8")
    return Published(path, "alpaca", len(rows), "instruction")


def sharegpt(folder: Path) -> Published:
    """MedicalGPT's SFT JSONL: ``conversations`` of ``human``/``gpt`` turns."""
    roles = ("human", "gpt")
    rows = [
        {"conversations": [{"from": r, "value": t} for pair in d["turns"] for r, t in zip(roles, pair, strict=True)]}
        for d in ITEMS["dialogues"]
    ]
    path = folder / "medical_sft.jsonl"
    _jsonl(path, rows)
    return Published(path, "sharegpt", len(rows), "instruction")


def alpaca(folder: Path) -> Published:
    """An Alpaca JSON array: ``instruction``, ``input``, ``output``."""
    rows = [{"instruction": q["question"], "input": "", "output": q["answer"]} for q in ITEMS["qa"]]
    path = folder / "alpaca_zh.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    return Published(path, "alpaca", len(rows), "instruction")


def plain_qa(folder: Path) -> Published:
    """A hospital's CSV of questions and answers, with a department column."""
    path = folder / "qa.csv"
    _csv(path, ["question", "answer", "科室"], [[q["question"], q["answer"], q["department"]] for q in ITEMS["qa"]])
    return Published(path, "qa", len(ITEMS["qa"]), "instruction", "科室")


def case_qa(folder: Path) -> Published:
    """Cases with one question each: ``case``, ``question``, ``answer``."""
    rows = [{"case": c["description"], "question": c["qa"][0][0], "answer": c["qa"][0][1]} for c in ITEMS["cases"]]
    path = folder / "cases.jsonl"
    _jsonl(path, rows)
    return Published(path, "case-qa", len(rows), "case")


def medicalgpt_preference(folder: Path) -> Published:
    """MedicalGPT's DPO JSONL: ``conversations`` ending with the user, ``chosen`` and ``rejected`` strings (the
    rejected answer is another question's answer)."""
    qa = ITEMS["qa"]
    rows = [
        {
            "conversations": [{"from": "human", "value": q["question"]}],
            "chosen": q["answer"],
            "rejected": qa[(i + 1) % len(qa)]["answer"],
        }
        for i, q in enumerate(qa)
    ]
    path = folder / "dpo_zh.jsonl"
    _jsonl(path, rows)
    return Published(path, "sharegpt", len(rows), "preference")


WRITERS: dict[str, Callable[[Path], Published]] = {
    "cmexam-csv": cmexam_csv,
    "cmexam-literal-breaks": cmexam_literal,
    "cmexam-xlsx": cmexam_xlsx,
    "cmb-exam": cmb_exam,
    "cmb-clin-solution": cmb_clin,
    "cmb-clin-answer": lambda folder: cmb_clin(folder, answer_key="answer"),
    "cmmlu": cmmlu,
    "medqa-us": medqa,
    "medqa-us-4": lambda folder: medqa(folder, letters="ABCD"),
    "medqa-mainland": lambda folder: medqa(folder, region="Mainland"),
    "anesbench": anesbench,
    "huatuo-zhongjing": huatuo_zhongjing,
    "huatuo-test": huatuo_test,
    "huatuo-lite": huatuo_lite,
    "cmtmedqa": cmtmedqa,
    "sharegpt": sharegpt,
    "alpaca": alpaca,
    "plain-qa": plain_qa,
    "case-qa": case_qa,
    "medicalgpt-preference": medicalgpt_preference,
}
