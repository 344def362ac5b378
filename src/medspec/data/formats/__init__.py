"""Adapters from the formats medical data is published in to medspec records.

Each :class:`DataFormat` recognises its rows by their keys (its *signature*) and converts one row to a record,
raising :class:`~medspec.data.schema.RecordProblems` with field names as the source format spells them; keys it
does not read are kept in the record's ``meta``. Detection tries the formats in this order; :func:`register_format`
adds a user's own, and a column mapping (``--map instruction=question``) renames a file's columns to these keys.

==========  ==========================================================  ==============  ========================
name        recognised by                                               becomes         published as
==========  ==========================================================  ==============  ========================
medspec     ``type``                                                    any record      medspec JSONL
sharegpt    ``conversations`` (``from``/``value`` turns)                Instruction     ShareGPT, MedicalGPT
messages    ``messages`` (``role``/``content`` turns)                   Instruction     OpenAI chat
cmb-clin    ``description`` + ``QA_pairs``                              ClinicalCase    CMB-Clin
cmexam      ``Question`` + ``Options`` (lettered lines)                 ChoiceQuestion  CMExam CSV and XLSX
cmmlu       ``Question`` + ``A`` .. ``D`` + ``Answer``                  ChoiceQuestion  CMMLU, CSV per subject
cmb         ``question`` + ``option`` object + ``answer``               ChoiceQuestion  CMB-Exam
medqa       ``question`` + ``options`` object + ``answer_idx``          ChoiceQuestion  MedQA US and mainland
anesbench   ``choice_num`` or ``zh_question`` / ``en_question``         ChoiceQuestion  AnesBench
preference  ``response_chosen`` or ``chosen`` (with ``question``)       PreferencePair  MedicalGPT, Alpaca DPO
case-qa     ``case`` + ``question`` + ``answer``                        ClinicalCase    case files
qa          ``answer`` or ``answers`` (with ``question(s)``)            Instruction     Huatuo-26M, plain QA
alpaca      ``instruction`` (or ``instruct``) + ``output``              Instruction     Alpaca, Huatuo, CMtMedQA
==========  ==========================================================  ==============  ========================

Example:
    >>> row = {"Question": "椎管内麻醉最常见的并发症是", "Options": "A 低血压\\nB 全脊麻", "Answer": "A"}
    >>> detect_format(row)
    'cmexam'
    >>> FORMATS["cmexam"].convert(row, "exam-1", ConvertOptions()).options
    {'A': '低血压', 'B': '全脊麻'}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from medspec.data.formats.cases import case_qa, cmb_clin
from medspec.data.formats.dialogues import ALPACA_FIELDS, alpaca, messages, preference, qa, sharegpt
from medspec.data.formats.exams import (
    ANESBENCH_FIELDS,
    ANESBENCH_QUESTIONS,
    CMB_FIELDS,
    CMEXAM_FIELDS,
    MEDQA_FIELDS,
    anesbench,
    cmb,
    cmexam,
    cmmlu,
    medqa,
)
from medspec.data.formats.registry import FORMATS, ConvertOptions, DataFormat, detect_format, register_format
from medspec.data.schema import Record, record_from_dict

__all__ = ["FORMATS", "ConvertOptions", "DataFormat", "detect_format", "register_format"]


def _medspec(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> Record:
    return record_from_dict({"id": fallback_id, **row} if "id" not in row else row, allow_empty=options.allow_empty)


def _has(*keys: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: all(key in row for key in keys)


def _has_any(*keys: str) -> Callable[[dict[str, Any]], bool]:
    return lambda row: any(key in row for key in keys)


_DIALOGUE = {"system", "system_prompt", "chosen", "rejected"}
_PREFERENCE = {"question", "instruction", "input", "history", "system", "chosen", "rejected"}
_BUILT_IN = [  # (name, signature, converter, description, fields), in detection order
    ("sharegpt", _has("conversations"), sharegpt, "ShareGPT conversations (from/value)", {"conversations", *_DIALOGUE}),
    ("messages", _has("messages"), messages, "OpenAI-style messages (role/content)", {"messages", *_DIALOGUE}),
    ("cmb-clin", _has("QA_pairs"), cmb_clin, "CMB-Clin cases (description + QA_pairs)", {"description", "QA_pairs"}),
    ("cmexam", _has("Question", "Options"), cmexam, "CMExam (Question/Options/Answer)", CMEXAM_FIELDS),
    ("cmmlu", _has("Question", "A"), cmmlu, "CMMLU (Question, A-D, Answer)", {"Question", "Answer", *"ABCDEF"}),
    ("cmb", _has("question", "option"), cmb, "CMB exam (question/option/answer)", CMB_FIELDS),
    ("medqa", _has("question", "options"), medqa, "MedQA (question/options/answer_idx)", MEDQA_FIELDS),
    (
        "anesbench",
        _has_any("choice_num", *ANESBENCH_QUESTIONS),
        anesbench,
        "AnesBench (zh_/en_ fields)",
        ANESBENCH_FIELDS,
    ),
    (
        "preference",
        _has_any("response_chosen", "chosen"),
        preference,
        "preference pairs (question/chosen/rejected)",
        _PREFERENCE | {"response_chosen", "response_rejected"},
    ),
    (
        "case-qa",
        _has("case", "question"),
        case_qa,
        "a case with one question (case/question/answer)",
        {"case", "question", "answer"},
    ),
    (
        "qa",
        _has_any("answer", "answers"),
        qa,
        "questions and answers (question/answer, questions/answers)",
        {"question", "answer", "questions", "answers", "history", "system"},
    ),
    (
        "alpaca",
        _has_any("instruction", "instruct"),
        alpaca,
        "Alpaca (instruction/input/output; Huatuo, CMtMedQA)",
        ALPACA_FIELDS,
    ),
]

register_format(
    DataFormat("medspec", _has("type"), _medspec, "medspec JSONL records with a 'type' key", keep_extra=False)
)
for _name, _signature, _convert, _description, _fields in _BUILT_IN:
    register_format(DataFormat(_name, _signature, _convert, _description, frozenset({"id", *_fields})))
