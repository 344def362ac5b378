"""The record types every medspec step reads and writes.

Five record types cover the method: :class:`Instruction` (SFT pairs, open QA), :class:`ChoiceQuestion`
(multiple-choice exams), :class:`ClinicalCase` (a case text with its questions), :class:`PreferencePair` (DPO-family
training) and :class:`Document` (plain text for continued pre-training and vocabulary mining). Each carries an id,
topic tags, :class:`Provenance` (who wrote and who judged it) and free ``meta`` kept from the source format.

On disk a record is one JSON object with a ``"type"`` key (see :func:`record_to_dict`); :func:`record_from_dict`
validates such an object and raises :class:`RecordProblems` listing every bad field at once.

Example:
    >>> q = record_from_dict({"type": "choice", "id": "q1", "question": "首选的恶性高热治疗药物是？",
    ...                       "options": {"A": "丹曲林", "B": "新斯的明"}, "answer": "A"})
    >>> q.answer, q.is_multiple_answer
    (('A',), False)
    >>> record_to_dict(q)["answer"]
    'A'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "RECORD_TYPES",
    "CaseQuestion",
    "ChoiceQuestion",
    "ClinicalCase",
    "Document",
    "Instruction",
    "PreferencePair",
    "Provenance",
    "Record",
    "RecordProblems",
    "record_from_dict",
    "record_to_dict",
]

OPTION_LETTER = re.compile(r"^[A-Z]$")
# Separators people put between answer letters: "B,D", "B、D", "B D", "B/D".
_ANSWER_SEPARATORS = re.compile(r"[\s,，、/;；]+")


class RecordProblems(ValueError):
    """Every problem found in one record, as ``(field, message)`` pairs; field is ``None`` for the whole record."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in problems))


@dataclass(kw_only=True)
class Provenance:
    """Where a record came from and what judged it.

    Attributes:
        source: The dataset, file or process that produced it (``"cmexam"``, ``"self-instruct"``).
        generator: The model that wrote it, when a model did.
        judge: The model that scored it.
        scores: Per-aspect scores given by the judge (``{"professionalism": 8.0, ...}``).
    """

    source: str | None = None
    generator: str | None = None
    judge: str | None = None
    scores: dict[str, float] = field(default_factory=dict)

    def is_empty(self) -> bool:
        """Return True when nothing is recorded."""
        return not (self.source or self.generator or self.judge or self.scores)


@dataclass(kw_only=True)
class _RecordBase:
    type_name: ClassVar[str] = ""
    text_fields: ClassVar[tuple[str, ...]] = ()

    id: str
    tags: list[str] = field(default_factory=list)
    provenance: Provenance = field(default_factory=Provenance)
    meta: dict[str, Any] = field(default_factory=dict)

    def content(self) -> str:
        """Return all the record's text, one part per line (used for de-duplication and overlap checks)."""
        return "\n".join(part for part in self._texts() if part)

    def _texts(self) -> list[str]:
        return [getattr(self, name) for name in self.text_fields]


@dataclass(kw_only=True)
class Instruction(_RecordBase):
    """An instruction-following pair, optionally the last turn of a dialogue.

    Attributes:
        instruction: The user's request or question (the latest user turn).
        input: Optional supporting material (a case summary, a lab report); empty when absent.
        output: The reference answer.
        history: Earlier ``(user, assistant)`` turns, oldest first.
        system: An optional system prompt.
    """

    type_name: ClassVar[str] = "instruction"
    text_fields: ClassVar[tuple[str, ...]] = ("system", "instruction", "input", "output")

    instruction: str
    output: str
    input: str = ""
    history: list[tuple[str, str]] = field(default_factory=list)
    system: str | None = None

    def prompt_text(self) -> str:
        """Return the user's side of the last turn: instruction and input joined by a newline."""
        return f"{self.instruction}\n{self.input}" if self.input else self.instruction

    def _texts(self) -> list[str]:
        turns = [text for pair in self.history for text in pair]
        return [self.system or "", *turns, self.instruction, self.input, self.output]


@dataclass(kw_only=True)
class ChoiceQuestion(_RecordBase):
    """A multiple-choice question with one or several correct options.

    Attributes:
        question: The stem.
        options: Option letter to option text, letters ``A``, ``B``, ... in order.
        answer: The correct letters, sorted (``("B",)`` or ``("A", "C", "D")``).
        explanation: Why the answer is right; empty when the source has none.
    """

    type_name: ClassVar[str] = "choice"
    text_fields: ClassVar[tuple[str, ...]] = ("question", "explanation")

    question: str
    options: dict[str, str]
    answer: tuple[str, ...]
    explanation: str = ""

    @property
    def is_multiple_answer(self) -> bool:
        """True when more than one option is correct."""
        return len(self.answer) > 1

    def _texts(self) -> list[str]:
        return [self.question, *(f"{k}. {v}" for k, v in self.options.items()), self.explanation]


@dataclass(kw_only=True)
class CaseQuestion:
    """One question about a clinical case and its reference answer."""

    question: str
    answer: str


@dataclass(kw_only=True)
class ClinicalCase(_RecordBase):
    """A clinical case text with questions about it (the AneRC / CMB-Clin shape).

    Attributes:
        case: The case description.
        questions: The questions asked about the case, in order.
    """

    type_name: ClassVar[str] = "case"

    case: str
    questions: list[CaseQuestion]

    def _texts(self) -> list[str]:
        return [self.case, *(text for q in self.questions for text in (q.question, q.answer))]


@dataclass(kw_only=True)
class PreferencePair(_RecordBase):
    """A prompt with a preferred and a rejected answer.

    Attributes:
        prompt: The user's request.
        chosen: The preferred answer.
        rejected: The dispreferred answer.
        history: Earlier ``(user, assistant)`` turns, oldest first.
        system: An optional system prompt.
    """

    type_name: ClassVar[str] = "preference"
    text_fields: ClassVar[tuple[str, ...]] = ("system", "prompt", "chosen", "rejected")

    prompt: str
    chosen: str
    rejected: str
    history: list[tuple[str, str]] = field(default_factory=list)
    system: str | None = None

    def _texts(self) -> list[str]:
        turns = [text for pair in self.history for text in pair]
        return [self.system or "", *turns, self.prompt, self.chosen, self.rejected]


@dataclass(kw_only=True)
class Document(_RecordBase):
    """Plain text, for continued pre-training and vocabulary mining."""

    type_name: ClassVar[str] = "document"
    text_fields: ClassVar[tuple[str, ...]] = ("text",)

    text: str


Record = Instruction | ChoiceQuestion | ClinicalCase | PreferencePair | Document
RECORD_TYPES: dict[str, type[_RecordBase]] = {
    cls.type_name: cls for cls in (Instruction, ChoiceQuestion, ClinicalCase, PreferencePair, Document)
}
_COMMON_KEYS = {"type", "id", "tags", "provenance", "meta"}
_KEYS = {
    "instruction": {"instruction", "input", "output", "history", "system"},
    "choice": {"question", "options", "answer", "explanation"},
    "case": {"case", "questions"},
    "preference": {"prompt", "chosen", "rejected", "history", "system"},
    "document": {"text"},
}


class _Parser:
    """Reads fields out of one dict, collecting every problem instead of stopping at the first."""

    def __init__(self, data: dict[str, Any], allow_empty: frozenset[str]) -> None:
        self.data = data
        self.allow_empty = allow_empty
        self.problems: list[tuple[str | None, str]] = []

    def text(self, key: str, *, required: bool = True, default: str = "") -> str:
        value = self.data.get(key)
        if value is None:
            if required:
                self.problems.append((key, "missing; expected a non-empty string"))
            return default
        return self.text_value(key, value, required=required)

    def text_value(self, where: str, value: Any, *, required: bool = True) -> str:
        if not isinstance(value, str):
            self.problems.append((where, f"expected a string, got {type(value).__name__} {_short(value)}"))
            return ""
        if required and not value.strip() and where.split(".")[-1] not in self.allow_empty:
            self.problems.append((where, "is empty; expected a non-empty string"))
        return value

    def optional_text(self, key: str) -> str | None:
        value = self.data.get(key)
        return None if value is None else self.text_value(key, value, required=False)

    def string_list(self, key: str) -> list[str]:
        value = self.data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append((key, f"expected a list of strings, got {_short(value)}"))
            return []
        return list(value)

    def history(self) -> list[tuple[str, str]]:
        value = self.data.get("history") or []
        if not isinstance(value, list):
            self.problems.append(("history", f"expected a list of [user, assistant] pairs, got {_short(value)}"))
            return []
        turns = []
        for i, pair in enumerate(value):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                self.problems.append((f"history[{i}]", f"expected a [user, assistant] pair, got {_short(pair)}"))
                continue
            user = self.text_value(f"history[{i}][0]", pair[0])
            assistant = self.text_value(f"history[{i}][1]", pair[1])
            turns.append((user, assistant))
        return turns

    def options(self) -> dict[str, str]:
        value = self.data.get("options")
        if not isinstance(value, dict) or len(value) < 2:
            self.problems.append(
                ("options", f"expected an object of at least two lettered options, got {_short(value)}")
            )
            return {}
        options = {}
        for letter, text in value.items():
            if not isinstance(letter, str) or not OPTION_LETTER.match(letter):
                self.problems.append(("options", f"option key {letter!r} is not a capital letter A-Z"))
                continue
            options[letter] = self.text_value(f"options.{letter}", text)
        return dict(sorted(options.items()))

    def answer(self, options: dict[str, str]) -> tuple[str, ...]:
        letters = parse_answer_letters(self.data.get("answer"))
        if letters is None:
            self.problems.append(
                ("answer", f"expected option letters like 'B' or 'ACD', got {_short(self.data.get('answer'))}")
            )
            return ()
        unknown = [letter for letter in letters if options and letter not in options]
        if unknown:
            known = "".join(options)
            self.problems.append(("answer", f"{''.join(unknown)!r} is not among the options {known!r}"))
        return letters

    def provenance(self) -> Provenance:
        value = self.data.get("provenance") or {}
        if not isinstance(value, dict):
            self.problems.append(("provenance", f"expected an object, got {_short(value)}"))
            return Provenance()
        unknown = set(value) - {"source", "generator", "judge", "scores"}
        if unknown:
            self.problems.append(
                ("provenance", f"unknown keys {sorted(unknown)}; known: source, generator, judge, scores")
            )
        scores = value.get("scores") or {}
        if not isinstance(scores, dict) or not all(_is_number(v) for v in scores.values()):
            self.problems.append(("provenance.scores", f"expected an object of numbers, got {_short(scores)}"))
            scores = {}
        names = {}
        for key in ("source", "generator", "judge"):
            item = value.get(key)
            if item is not None and not isinstance(item, str):
                self.problems.append((f"provenance.{key}", f"expected a string, got {_short(item)}"))
                item = None
            names[key] = item
        return Provenance(**names, scores={str(k): float(v) for k, v in scores.items()})


def parse_answer_letters(value: Any) -> tuple[str, ...] | None:
    """Parse an answer key such as ``"B"``, ``"ACD"``, ``"A,C"`` or ``["A", "C"]`` into sorted letters.

    Returns ``None`` when the value is not a set of capital letters.

    Example:
        >>> parse_answer_letters("D、B")
        ('B', 'D')
    """
    if isinstance(value, list):
        parts = value
    elif isinstance(value, str):
        compact = _ANSWER_SEPARATORS.sub("", value.strip())
        parts = list(compact)
    else:
        return None
    if not parts or not all(isinstance(p, str) and OPTION_LETTER.match(p) for p in parts):
        return None
    if len(set(parts)) != len(parts):
        return None
    return tuple(sorted(parts))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_fields(type_name: str, p: _Parser) -> dict[str, Any]:
    if type_name == "instruction":
        return {
            "instruction": p.text("instruction"),
            "output": p.text("output"),
            "input": p.text("input", required=False),
            "history": p.history(),
            "system": p.optional_text("system"),
        }
    if type_name == "choice":
        options = p.options()
        return {
            "question": p.text("question"),
            "options": options,
            "answer": p.answer(options),
            "explanation": p.text("explanation", required=False),
        }
    if type_name == "case":
        return {"case": p.text("case"), "questions": _case_questions(p)}
    if type_name == "preference":
        return {
            "prompt": p.text("prompt"),
            "chosen": p.text("chosen"),
            "rejected": p.text("rejected"),
            "history": p.history(),
            "system": p.optional_text("system"),
        }
    return {"text": p.text("text")}


def _case_questions(p: _Parser) -> list[CaseQuestion]:
    value = p.data.get("questions")
    if not isinstance(value, list) or not value:
        p.problems.append(
            ("questions", f"expected a non-empty list of {{question, answer}} objects, got {_short(value)}")
        )
        return []
    questions = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            p.problems.append((f"questions[{i}]", f"expected an object with question and answer, got {_short(item)}"))
            continue
        question = p.text_value(f"questions[{i}].question", item.get("question", ""))
        answer = p.text_value(f"questions[{i}].answer", item.get("answer", ""))
        questions.append(CaseQuestion(question=question, answer=answer))
    return questions


def record_from_dict(data: dict[str, Any], *, allow_empty: frozenset[str] = frozenset()) -> Record:
    """Validate a medspec JSON object and build its record.

    Args:
        data: One object with a ``"type"`` key naming a record type.
        allow_empty: Names of text fields that may be empty (e.g. ``{"output"}`` for raw generated candidates
            that a cleaning rule will judge).

    Returns:
        The record.

    Raises:
        RecordProblems: Listing every missing, empty, mistyped or unknown field.
    """
    type_name = data.get("type")
    if type_name not in RECORD_TYPES:
        raise RecordProblems([("type", f"expected one of {sorted(RECORD_TYPES)}, got {_short(type_name)}")])
    p = _Parser(data, allow_empty)
    unknown = set(data) - _COMMON_KEYS - _KEYS[type_name]
    if unknown:
        known = ", ".join(sorted(_KEYS[type_name] | _COMMON_KEYS))
        p.problems.extend(
            (key, f"unknown field for a '{type_name}' record; known fields: {known}") for key in sorted(unknown)
        )
    record_id = data.get("id")
    if not isinstance(record_id, (str, int)) or isinstance(record_id, bool) or str(record_id).strip() == "":
        p.problems.append(("id", f"expected a non-empty string, got {_short(record_id)}"))
    fields = _parse_fields(type_name, p)
    tags = p.string_list("tags")
    provenance = p.provenance()
    meta = data.get("meta") or {}
    if not isinstance(meta, dict):
        p.problems.append(("meta", f"expected an object, got {_short(meta)}"))
        meta = {}
    if p.problems:
        raise RecordProblems(p.problems)
    cls = RECORD_TYPES[type_name]
    return cls(id=str(record_id), tags=tags, provenance=provenance, meta=dict(meta), **fields)  # type: ignore[return-value]


def record_to_dict(record: Record) -> dict[str, Any]:
    """Return the canonical JSON object of a record, leaving out empty optional fields.

    The result round-trips through :func:`record_from_dict`.
    """
    data: dict[str, Any] = {"type": record.type_name, "id": record.id}
    if isinstance(record, Instruction):
        data.update(instruction=record.instruction, input=record.input, output=record.output)
    elif isinstance(record, ChoiceQuestion):
        data.update(question=record.question, options=dict(record.options), answer="".join(record.answer))
        data["explanation"] = record.explanation
    elif isinstance(record, ClinicalCase):
        data.update(
            case=record.case, questions=[{"question": q.question, "answer": q.answer} for q in record.questions]
        )
    elif isinstance(record, PreferencePair):
        data.update(prompt=record.prompt, chosen=record.chosen, rejected=record.rejected)
    else:
        data["text"] = record.text
    if isinstance(record, (Instruction, PreferencePair)):
        if record.history:
            data["history"] = [list(pair) for pair in record.history]
        if record.system is not None:
            data["system"] = record.system
    for key in ("input", "explanation"):
        if data.get(key) == "":
            del data[key]
    if record.tags:
        data["tags"] = list(record.tags)
    if not record.provenance.is_empty():
        prov = {k: v for k, v in vars(record.provenance).items() if v}
        data["provenance"] = prov
    if record.meta:
        data["meta"] = dict(record.meta)
    return data
