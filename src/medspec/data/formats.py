"""Adapters from the formats medical data already comes in to medspec records.

Each :class:`DataFormat` recognises its rows by their keys (its *signature*) and converts one row to a record,
raising :class:`~medspec.data.schema.RecordProblems` with field names as the source format spells them. Detection
tries the formats in registration order; :func:`register_format` adds a user's own.

============  ==========================================================  ==================
name          recognised by                                               becomes
============  ==========================================================  ==================
medspec       ``type``                                                    any record
sharegpt      ``conversations`` (``from``/``value`` turns)                Instruction
messages      ``messages`` (``role``/``content`` turns)                   Instruction
cmb-clin      ``description`` + ``QA_pairs``                              ClinicalCase
cmexam        ``Question`` + ``Options`` ("A ...\\nB ..." lines)           ChoiceQuestion
cmmlu         ``Question`` + ``A`` .. ``D`` + ``Answer``                  ChoiceQuestion
cmb           ``question`` + ``option`` dict + ``answer``                 ChoiceQuestion
medqa         ``question`` + ``options`` dict + ``answer_idx``            ChoiceQuestion
alpaca        ``instruction`` + ``output`` (``input``, ``history``)       Instruction
============  ==========================================================  ==================

Example:
    >>> row = {"Question": "椎管内麻醉最常见的并发症是", "Options": "A 低血压\\nB 全脊麻", "Answer": "A"}
    >>> detect_format(row)
    'cmexam'
    >>> FORMATS["cmexam"].convert(row, "exam-1", frozenset()).options
    {'A': '低血压', 'B': '全脊麻'}
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from medspec.data.schema import (
    CaseQuestion,
    ChoiceQuestion,
    ClinicalCase,
    Instruction,
    Record,
    RecordProblems,
    parse_answer_letters,
    record_from_dict,
)

__all__ = ["FORMATS", "DataFormat", "detect_format", "register_format"]

# "A 低血压", "A. 低血压", "A、低血压", "A：低血压", "(A) 低血压"
_OPTION_LINE = re.compile(r"^\s*[(（]?([A-Z])[)）]?\s*[.．、:：)）]?\s*(.*?)\s*$")
_USER_ROLES = {"human", "user"}
_ASSISTANT_ROLES = {"gpt", "assistant", "chatgpt", "model", "bot"}


@dataclass(frozen=True)
class DataFormat:
    """A source data format.

    Attributes:
        name: The name users pass as ``--format``.
        signature: Returns True when a row is in this format (checks keys only, so that a broken row of a known
            format is still recognised and gets a precise error).
        convert: Builds a record from a row, the id to use when the row has none, and the names of text fields
            that may be empty (raw generated candidates); raises ``RecordProblems``.
        description: One line for ``medspec validate --help`` and the docs.
    """

    name: str
    signature: Callable[[dict[str, Any]], bool]
    convert: Callable[[dict[str, Any], str, frozenset[str]], Record]
    description: str = ""


FORMATS: dict[str, DataFormat] = {}


def register_format(data_format: DataFormat) -> DataFormat:
    """Add a data format; it is tried after the built-in ones during detection.

    Raises:
        ValueError: When the name is taken or empty.
    """
    if not data_format.name or data_format.name in FORMATS:
        raise ValueError(f"format name {data_format.name!r} is empty or already registered; known: {sorted(FORMATS)}")
    FORMATS[data_format.name] = data_format
    return data_format


def detect_format(row: dict[str, Any]) -> str | None:
    """Return the name of the first format whose signature matches the row, or ``None``."""
    for data_format in FORMATS.values():
        if data_format.signature(row):
            return data_format.name
    return None


def _text(
    row: dict[str, Any],
    key: str,
    problems: list[tuple[str | None, str]],
    *,
    required: bool = True,
    allow_empty: frozenset[str] = frozenset(),
) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required and not (value is not None and key in allow_empty):
            problems.append((key, "missing or empty; expected a non-empty string"))
        return "" if value is None else value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        problems.append((key, f"expected a string, got {type(value).__name__}"))
        return ""
    return value


def _row_id(row: dict[str, Any], fallback: str) -> str:
    value = row.get("id")
    return str(value) if isinstance(value, (str, int)) and str(value).strip() else fallback


def _raise_if(problems: list[tuple[str | None, str]]) -> None:
    if problems:
        raise RecordProblems(problems)


def _medspec(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    return record_from_dict({"id": fallback_id, **row} if "id" not in row else row, allow_empty=allow_empty)


def _choice(
    row: dict[str, Any],
    fallback_id: str,
    *,
    question_key: str,
    options: dict[str, str],
    answer_key: str,
    problems: list[tuple[str | None, str]],
    explanation_key: str | None = None,
    meta_keys: tuple[str, ...] = (),
) -> ChoiceQuestion:
    question = _text(row, question_key, problems)
    if len(options) < 2:
        problems.append((None, f"expected at least two options, found {len(options)}"))
    letters = parse_answer_letters(row.get(answer_key))
    if letters is None:
        problems.append((answer_key, f"expected option letters like 'B' or 'ACD', got {row.get(answer_key)!r}"))
    elif options and not set(letters) <= set(options):
        missing = "".join(sorted(set(letters) - set(options)))
        problems.append((answer_key, f"{missing!r} is not among the options {''.join(options)!r}"))
    explanation = _text(row, explanation_key, problems, required=False) if explanation_key else ""
    _raise_if(problems)
    meta = {k: row[k] for k in meta_keys if row.get(k) not in (None, "")}
    return ChoiceQuestion(
        id=_row_id(row, fallback_id),
        question=question,
        options=options,
        answer=letters or (),
        explanation=explanation,
        meta=meta,
    )


def _options_from_lines(text: Any, key: str, problems: list[tuple[str | None, str]]) -> dict[str, str]:
    if not isinstance(text, str) or not text.strip():
        problems.append((key, "missing or empty; expected lines like 'A 选项内容'"))
        return {}
    options: dict[str, str] = {}
    for number, line in enumerate(text.strip().splitlines(), start=1):
        if not line.strip():
            continue
        match = _OPTION_LINE.match(line)
        if not match or not match.group(2):
            problems.append((key, f"option line {number} {line!r} does not start with a letter and its text"))
            continue
        if match.group(1) in options:
            problems.append((key, f"option {match.group(1)} appears twice"))
        options[match.group(1)] = match.group(2)
    return options


def _options_from_dict(value: Any, key: str, problems: list[tuple[str | None, str]]) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append((key, f"expected an object of lettered options, got {type(value).__name__}"))
        return {}
    options = {}
    for letter, text in sorted(value.items()):
        if not isinstance(letter, str) or len(letter) != 1 or not letter.isupper():
            problems.append((key, f"option key {letter!r} is not a capital letter"))
        elif not isinstance(text, (str, int, float)) or isinstance(text, bool):
            problems.append((f"{key}.{letter}", f"expected option text, got {type(text).__name__}"))
        else:
            options[letter] = str(text)
    # CMB pads four-option questions with an empty "E": drop empty options at the end only.
    while options and not options[max(options)].strip():
        del options[max(options)]
    empty = [letter for letter, text in options.items() if not text.strip()]
    if empty:
        problems.append((key, f"options {''.join(empty)} are empty"))
    return options


def _cmexam(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    problems: list[tuple[str | None, str]] = []
    options = _options_from_lines(row.get("Options"), "Options", problems)
    meta = ("Clinical Department", "Disease Group", "Medical Discipline", "Competency Area", "Difficulty level")
    return _choice(
        row,
        fallback_id,
        question_key="Question",
        options=options,
        answer_key="Answer",
        problems=problems,
        explanation_key="Explanation",
        meta_keys=meta,
    )


def _cmmlu(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    problems: list[tuple[str | None, str]] = []
    options = {}
    for letter in "ABCDEF":
        if letter in row:
            options[letter] = _text(row, letter, problems)
    return _choice(row, fallback_id, question_key="Question", options=options, answer_key="Answer", problems=problems)


def _cmb(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    problems: list[tuple[str | None, str]] = []
    options = _options_from_dict(row.get("option"), "option", problems)
    meta = ("exam_type", "exam_class", "exam_subject", "question_type")
    return _choice(
        row,
        fallback_id,
        question_key="question",
        options=options,
        answer_key="answer",
        problems=problems,
        explanation_key="explanation",
        meta_keys=meta,
    )


def _medqa(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    problems: list[tuple[str | None, str]] = []
    options = _options_from_dict(row.get("options"), "options", problems)
    answer_text = row.get("answer")
    letters = parse_answer_letters(row.get("answer_idx"))
    answer_letter = letters[0] if letters and len(letters) == 1 and letters[0] in options else None
    if isinstance(answer_text, str) and answer_letter and answer_text.strip() != options[answer_letter].strip():
        problems.append(("answer", f"{answer_text!r} does not match option {letters[0]} {options[letters[0]]!r}"))
    return _choice(
        row,
        fallback_id,
        question_key="question",
        options=options,
        answer_key="answer_idx",
        problems=problems,
        meta_keys=("meta_info",),
    )


def _cmb_clin(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    problems: list[tuple[str | None, str]] = []
    case = _text(row, "description", problems)
    pairs = row.get("QA_pairs")
    questions = []
    if not isinstance(pairs, list) or not pairs:
        problems.append(("QA_pairs", "expected a non-empty list of {question, solution} objects"))
        pairs = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, dict):
            problems.append((f"QA_pairs[{i}]", f"expected an object, got {type(pair).__name__}"))
            continue
        sub: list[tuple[str | None, str]] = []
        question = _text(pair, "question", sub)
        answer = _text(pair, "solution", sub)
        problems.extend((f"QA_pairs[{i}].{f}", m) for f, m in sub)
        questions.append(CaseQuestion(question=question, answer=answer))
    _raise_if(problems)
    meta = {"title": row["title"]} if row.get("title") else {}
    return ClinicalCase(id=_row_id(row, fallback_id), case=case, questions=questions, meta=meta)


def _alpaca(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    problems: list[tuple[str | None, str]] = []
    instruction = _text(row, "instruction", problems)
    output = _text(row, "output", problems, allow_empty=allow_empty)
    input_text = _text(row, "input", problems, required=False)
    system = row.get("system") if isinstance(row.get("system"), str) and row.get("system") else None
    history: list[tuple[str, str]] = []
    raw_history = row.get("history") or []
    if not isinstance(raw_history, list):
        problems.append(("history", "expected a list of [user, assistant] pairs"))
        raw_history = []
    for i, pair in enumerate(raw_history):
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(t, str) and t.strip() for t in pair):
            history.append((pair[0], pair[1]))
        else:
            problems.append((f"history[{i}]", "expected a [user, assistant] pair of non-empty strings"))
    _raise_if(problems)
    return Instruction(
        id=_row_id(row, fallback_id),
        instruction=instruction,
        input=input_text,
        output=output,
        history=history,
        system=system,
    )


def _dialogue(
    row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str], *, key: str, role_key: str, text_key: str
) -> Record:
    turns = row.get(key)
    problems: list[tuple[str | None, str]] = []
    if not isinstance(turns, list) or not turns:
        raise RecordProblems([(key, "expected a non-empty list of turns")])
    system = row.get("system") if isinstance(row.get("system"), str) and row.get("system") else None
    dialogue: list[str] = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            problems.append((f"{key}[{i}]", f"expected an object with '{role_key}' and '{text_key}'"))
            continue
        role, text = turn.get(role_key), turn.get(text_key)
        is_last = i == len(turns) - 1
        if not isinstance(text, str) or not (text.strip() or (is_last and "output" in allow_empty)):
            problems.append((f"{key}[{i}].{text_key}", "missing or empty; expected the turn's text"))
            continue
        if role == "system" and i == 0:
            system = text
            continue
        expected = _USER_ROLES if len(dialogue) % 2 == 0 else _ASSISTANT_ROLES
        if role not in expected:
            problems.append(
                (
                    f"{key}[{i}].{role_key}",
                    f"expected one of {sorted(expected)} (turns must alternate "
                    f"user/assistant, starting with the user), got {role!r}",
                )
            )
            continue
        dialogue.append(text)
    if not problems and (len(dialogue) < 2 or len(dialogue) % 2):
        problems.append(
            (key, f"expected user/assistant pairs ending with an assistant turn, got {len(dialogue)} turns")
        )
    _raise_if(problems)
    history = [(dialogue[i], dialogue[i + 1]) for i in range(0, len(dialogue) - 2, 2)]
    return Instruction(
        id=_row_id(row, fallback_id), instruction=dialogue[-2], output=dialogue[-1], history=history, system=system
    )


def _sharegpt(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    return _dialogue(row, fallback_id, allow_empty, key="conversations", role_key="from", text_key="value")


def _messages(row: dict[str, Any], fallback_id: str, allow_empty: frozenset[str]) -> Record:
    return _dialogue(row, fallback_id, allow_empty, key="messages", role_key="role", text_key="content")


for _format in (
    DataFormat("medspec", lambda r: "type" in r, _medspec, "medspec JSONL records with a 'type' key"),
    DataFormat("sharegpt", lambda r: "conversations" in r, _sharegpt, "ShareGPT conversations (from/value)"),
    DataFormat("messages", lambda r: "messages" in r, _messages, "OpenAI-style messages (role/content)"),
    DataFormat("cmb-clin", lambda r: "QA_pairs" in r, _cmb_clin, "CMB-Clin cases (description + QA_pairs)"),
    DataFormat("cmexam", lambda r: "Question" in r and "Options" in r, _cmexam, "CMExam (Question/Options/Answer)"),
    DataFormat("cmmlu", lambda r: "Question" in r and "A" in r, _cmmlu, "CMMLU (Question, A-D, Answer)"),
    DataFormat("cmb", lambda r: "question" in r and "option" in r, _cmb, "CMB exam (question/option/answer)"),
    DataFormat("medqa", lambda r: "question" in r and "options" in r, _medqa, "MedQA (question/options/answer_idx)"),
    DataFormat("alpaca", lambda r: "instruction" in r, _alpaca, "Alpaca (instruction/input/output)"),
):
    register_format(_format)
