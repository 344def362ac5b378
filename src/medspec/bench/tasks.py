"""Benchmark tasks: open questions, multiple-choice questions, clinical cases and held-out text, and the prompts.

A :class:`Task` is a named list of records of one kind:

========== ============================ ======================================================================
kind       records                      one item per
========== ============================ ======================================================================
qa         :class:`Instruction`         record (its ``history`` turns precede the question)
choice     :class:`ChoiceQuestion`      record, single or multiple answers; with circular evaluation, one
                                        item per rotation of the options
case       :class:`ClinicalCase`        question of a case: the case text opens the dialogue, and the earlier
                                        questions of the same case are followed by their reference answers
perplexity :class:`Document`,           document (scored whole, in windows), or reference answer of an
           :class:`Instruction` or      instruction or case question given its prompt (see
           :class:`ClinicalCase`        :mod:`medspec.bench.perplexity`)
========== ============================ ======================================================================

Tasks load from a specialty (``load_specialty(name).benchmark``) or from any file :func:`medspec.data.io.read_records`
reads, so CMExam, CMB, CMB-Clin, CMMLU and MedQA files and a hospital's own cases are used as they are. A file in a
``test`` or ``val`` folder whose sibling ``dev`` folder holds a file of the same name (CMMLU's and C-Eval's layout)
brings that file along as the task's few-shot examples.

Case questions see the reference answers of the earlier questions rather than the model's own (as in CMB-Clin's
evaluation): each question is then judged on its own, an early mistake does not spoil the later answers, and every
question can be generated in one batch and resumed on its own.

Few-shot examples (``shots``) are drawn per item from the task's examples (its ``dev`` split), or from its other
records when it has none, never the item itself; the draw is seeded by the item's id, so an item sees the same
examples in every run and with any ``limit``. They precede the question as earlier chat turns, answered the way the
mode expects the answer.

Example:
    >>> task = load_tasks(["AneCQ-sample"], specialty="anesthesiology")[0]
    >>> task.kind, len(task.records)
    ('choice', 133)
    >>> item = task_items(task, prompts=PromptTemplates())[0]
    >>> item.reference, item.messages[0]["content"].splitlines()[0]
    ('A', '以下是一道单项选择题，只有一个正确答案。')
    >>> rotated = task_items(task, prompts=PromptTemplates(), choice_mode="letter", circular=True)[:5]
    >>> [(i.id, i.reference) for i in rotated]
    [('ane-mc-001', 'A'), ('ane-mc-001@1', 'E'), ('ane-mc-001@2', 'D'), ('ane-mc-001@3', 'C'), ('ane-mc-001@4', 'B')]
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from medspec.chat import Message, prompt_messages
from medspec.data.io import ReadOptions, read_records
from medspec.data.schema import ChoiceQuestion, ClinicalCase, Document, Instruction, Record
from medspec.data.select import field_values
from medspec.errors import ConfigError, DataError, InvalidDataError
from medspec.specialty import BenchmarkTask, Specialty, TaskKind, load_specialty

__all__ = [
    "CHOICE_MODES",
    "ChoiceMode",
    "PromptTemplates",
    "Task",
    "TaskItem",
    "TaskKind",
    "load_tasks",
    "rotate_options",
    "task_items",
]

ChoiceMode = Literal["letter", "cloze", "generate"]
CHOICE_MODES: tuple[ChoiceMode, ...] = ("letter", "cloze", "generate")
_KIND_OF_RECORD: dict[type, TaskKind] = {
    Instruction: "qa",
    ChoiceQuestion: "choice",
    ClinicalCase: "case",
    Document: "perplexity",
}
_RECORDS_OF_KIND: dict[str, tuple[type, ...]] = {
    "qa": (Instruction,),
    "choice": (ChoiceQuestion,),
    "case": (ClinicalCase,),
    "perplexity": (Document, Instruction, ClinicalCase),
}
_SPLITS_WITH_DEV = ("test", "val", "validation")


@dataclass
class PromptTemplates:
    """How benchmark items are asked. Placeholders in braces are filled per item.

    Attributes:
        choice_single: A single-answer question; ``{question}``, ``{options}`` (one ``A. text`` line each) and
            ``{instruction}``.
        choice_multiple: A multiple-answer question; same placeholders.
        choice_generate: The ``{instruction}`` when answers are generated and read by the extractor.
        choice_letter: The ``{instruction}`` when options are scored by log-likelihood of their letters.
        choice_cloze: A question whose options' texts are scored as the answer (``cloze`` mode, options not
            shown); ``{question}``.
        case_first: The first question of a case; ``{case}`` and ``{question}``.
        case_next: Each later question of the case; ``{question}``.
    """

    choice_single: str = "以下是一道单项选择题，只有一个正确答案。\n\n{question}\n{options}\n\n{instruction}"
    choice_multiple: str = "以下是一道多项选择题，有两个或两个以上正确答案。\n\n{question}\n{options}\n\n{instruction}"
    choice_generate: str = "请直接给出答案，格式为“答案：选项字母”。"
    choice_letter: str = "请只回答正确选项的字母。"
    choice_cloze: str = "{question}\n\n请直接给出答案。"
    case_first: str = "以下是一份临床病例资料：\n{case}\n\n请回答：{question}"
    case_next: str = "{question}"

    def __post_init__(self) -> None:
        needed = {
            "choice_single": ("question", "options", "instruction"),
            "choice_multiple": ("question", "options", "instruction"),
            "choice_generate": (),
            "choice_letter": (),
            "choice_cloze": ("question",),
            "case_first": ("case", "question"),
            "case_next": ("question",),
        }
        for name, fields in needed.items():
            template = getattr(self, name)
            try:
                template.format(**dict.fromkeys(fields, ""))
            except (KeyError, IndexError, ValueError) as exc:
                known = ", ".join(f"{{{f}}}" for f in fields) or "none"
                raise ConfigError(name, f"bad placeholder {exc}; this template may use: {known}") from None
            missing = [f for f in fields if f"{{{f}}}" not in template]
            if missing:
                raise ConfigError(name, f"the template lacks {', '.join(f'{{{f}}}' for f in missing)}")


@dataclass
class Task:
    """A named list of benchmark records of one kind.

    Attributes:
        name: Name in reports (``"AneCQ-sample"``); unique within a benchmark.
        kind: ``qa``, ``choice``, ``case`` or ``perplexity``.
        records: The records, all of the kind's record types.
        description: One line for reports.
        file: The file the records came from, when they came from one.
        examples: Records few-shot examples are drawn from (a ``dev`` split); the task's own records when empty.
        settings: Benchmark settings for this task only, over the benchmark's (``{"choice_mode": "letter",
            "circular": True}`` asks the same questions another way than a sibling task in ``cloze``).
    """

    name: str
    kind: TaskKind
    records: list[Record]
    description: str = ""
    file: Path | None = None
    examples: list[Record] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.strip() or any(ch in self.name for ch in "/\\"):
            raise ConfigError("name", f"a task name must be non-empty and free of slashes, got {self.name!r}")
        if self.kind not in _RECORDS_OF_KIND:
            raise ConfigError("kind", f"expected qa, choice, case or perplexity, got {self.kind!r}")
        source = str(self.file or self.name)
        if not self.records:
            raise InvalidDataError([DataError(source, None, None, "the task has no records")])
        accepted = _RECORDS_OF_KIND[self.kind]
        wrong = [r for r in [*self.records, *self.examples] if not isinstance(r, accepted)]
        if wrong:
            expected = " or ".join(cls.__name__ for cls in accepted)
            raise InvalidDataError(
                [
                    DataError(
                        source,
                        None,
                        "type",
                        f"record {r.id!r} is a '{r.type_name}' record; a {self.kind} task "
                        f"holds {expected} records only",
                    )
                    for r in wrong
                ]
            )

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        name: str | None = None,
        kind: TaskKind | None = None,
        options: ReadOptions | None = None,
        breakdown: Sequence[str] = (),
        description: str = "",
        examples: str | Path | None = None,
    ) -> Task:
        """Load a task from any file :func:`~medspec.data.io.read_records` reads.

        Args:
            path: The file.
            name: Task name; the file's stem by default.
            kind: Task kind; taken from the first record's type by default.
            options: How to read the file: a forced format (``"cmexam"``, ``"cmb-clin"``, ...), a column mapping,
                ``where`` conditions, the language of a bilingual source.
            breakdown: Kept source fields (``level``, ``exam_class``) to break the headline figure down by: each
                record gets a ``FIELD=VALUE`` tag, which reports show beside the topic tags.
            description: One line for reports.
            examples: A file of few-shot examples, read like ``path``; by default the file of the same name in a
                sibling ``dev`` folder when ``path`` lies in a ``test`` or ``val`` folder, else none.

        Raises:
            InvalidDataError: For unreadable records, or records of another kind.
        """
        path = Path(path)
        records = read_records(path, options)
        examples = examples or _dev_split(path)
        pool = read_records(examples, replace(options, where=[]) if options else None) if examples else []
        for record in records:
            record.tags = [*record.tags, *(f"{f}={v}" for f in breakdown for v in field_values(record, f))]
        if kind is None and records:
            kind = _KIND_OF_RECORD.get(type(records[0]))
            if kind is None:
                problem = (
                    f"'{records[0].type_name}' records are not benchmark items; expected instruction, choice or case"
                )
                raise InvalidDataError([DataError(path, None, "type", problem)])
        return cls(name or path.stem, kind or "qa", records, description=description, file=path, examples=pool)

    @classmethod
    def from_specialty_task(
        cls, task: BenchmarkTask, *, where: Sequence[str] = (), breakdown: Sequence[str] = ()
    ) -> Task:
        """Load one of a specialty's benchmark tasks, with ``where`` conditions and breakdowns added to its own."""
        options = replace(task.read, where=[*task.read.where, *where])
        loaded = cls.from_file(
            task.file,
            name=task.name,
            kind=task.kind,
            options=options,
            breakdown=[*task.breakdown, *breakdown],
            description=task.description,
        )
        return replace(loaded, settings=dict(task.settings))


def load_tasks(
    specs: Sequence[str | Path] | None = None,
    *,
    specialty: str | Path | Specialty = "anesthesiology",
    options: ReadOptions | None = None,
    breakdown: Sequence[str] = (),
    examples: str | Path | None = None,
) -> list[Task]:
    """Load tasks named by the specialty, or from files.

    Args:
        specs: Each a task name of ``specialty``, a file path, or ``NAME=PATH`` to name a file's task; all of the
            specialty's tasks when ``None``.
        specialty: A built-in specialty name or a specialty folder.
        options: How to read the files named in ``specs``; its ``where`` conditions also select the items of the
            specialty's tasks.
        breakdown: Kept source fields to break every task's headline figure down by.
        examples: A file of few-shot examples for the tasks read from files (default: their ``dev`` splits).

    Raises:
        ConfigError: For a spec that is neither a task name nor an existing file (the message lists the names), or
            two tasks with one name.
    """
    spec = load_specialty(specialty)
    named = {task.name: task for task in spec.benchmark}
    options = options or ReadOptions()

    def specialty_task(task: BenchmarkTask) -> Task:
        return Task.from_specialty_task(task, where=options.where, breakdown=breakdown)

    if specs is None:
        return [specialty_task(task) for task in spec.benchmark]
    tasks = []
    for item in map(str, specs):
        label, sep, path = item.partition("=")
        if item in named:
            tasks.append(specialty_task(named[item]))
        elif sep and Path(path).is_file():
            tasks.append(Task.from_file(path, name=label, options=options, breakdown=breakdown, examples=examples))
        elif Path(item).is_file():
            tasks.append(Task.from_file(item, options=options, breakdown=breakdown, examples=examples))
        else:
            known = ", ".join(named) or "none"
            raise ConfigError("tasks", f"{item!r} is neither a task of {spec.name} ({known}) nor an existing file")
    names = [task.name for task in tasks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError("tasks", f"two tasks are named {duplicates[0]!r}; name files with NAME=PATH")
    return tasks


@dataclass(frozen=True)
class TaskItem:
    """One question as the model sees it.

    Attributes:
        id: Unique within the task (``"ane-case-001#2"`` for a case's second question, ``"ane-mc-001@2"`` for a
            choice question's second rotation).
        task: The task's name.
        kind: The task's kind.
        messages: The chat sent to the model (empty for a perplexity document, which is scored as plain text).
        reference: The reference answer, the correct letters of a choice question (``"AC"``), or the text a
            perplexity item scores.
        question: The question as a judge or a human rater reads it (with the options, or the case text).
        options: Letter to option text (choice items), in the order shown.
        tags: Topic tags of the record.
        group: Items of one group are resampled together by the bootstrap (the questions of one case).
        record_id: The record the item comes from.
        rotation: For circular evaluation, how many places the options were rotated (0: as published).
    """

    id: str
    task: str
    kind: TaskKind
    messages: list[Message]
    reference: str
    question: str
    options: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    group: str = ""
    record_id: str = ""
    rotation: int = 0


def _dev_split(path: Path) -> Path | None:
    """The file of the same name in a sibling ``dev`` folder of a ``test``/``val`` folder (CMMLU, C-Eval)."""
    if path.parent.name.lower() not in _SPLITS_WITH_DEV:
        return None
    candidate = path.parent.parent / "dev" / path.name
    return candidate if candidate.is_file() else None


def _dialogue_text(record: Instruction) -> str:
    turns = [f"用户：{user}\n助手：{assistant}" for user, assistant in record.history]
    return "\n".join([*turns, f"用户：{record.prompt_text()}"]) if turns else record.prompt_text()


def rotate_options(options: dict[str, str], answer: Sequence[str], shift: int) -> tuple[dict[str, str], str]:
    """The options moved ``shift`` places up (the text under B goes under A), and the answer's new letters.

    Example:
        >>> rotate_options({"A": "x", "B": "y", "C": "z"}, ["A"], 1)
        ({'A': 'y', 'B': 'z', 'C': 'x'}, 'C')
    """
    letters = list(options)
    moved = {letter: options[letters[(k + shift) % len(letters)]] for k, letter in enumerate(letters)}
    new_letter = {old: letters[(k - shift) % len(letters)] for k, old in enumerate(letters)}
    return moved, "".join(sorted(new_letter[letter] for letter in answer))


def _choice_prompt(
    record: ChoiceQuestion, options: dict[str, str], prompts: PromptTemplates, mode: ChoiceMode
) -> tuple[str, str]:
    """The user turn for a choice question in a mode, and the question as a rater reads it."""
    listed = "\n".join(f"{letter}. {text}" for letter, text in options.items())
    if mode == "cloze":
        return prompts.choice_cloze.format(question=record.question), f"{record.question}\n{listed}"
    template = prompts.choice_multiple if record.is_multiple_answer else prompts.choice_single
    instruction = prompts.choice_generate if mode == "generate" else prompts.choice_letter
    return template.format(
        question=record.question, options=listed, instruction=instruction
    ), f"{record.question}\n{listed}"


def _choice_reply(record: ChoiceQuestion, mode: ChoiceMode) -> str:
    """How a few-shot example's answer is written in a mode."""
    if mode == "cloze":
        return "、".join(record.options[letter] for letter in record.answer)
    letters = "".join(record.answer)
    return f"答案：{letters}" if mode == "generate" else letters


class _Shots:
    """Draws each item's few-shot examples from a task's pool, seeded by the item's id."""

    def __init__(self, task: Task, count: int, seed: int) -> None:
        self.pool = task.examples or task.records
        self.count = count
        self.seed = seed
        if count and task.kind not in ("qa", "choice"):
            raise ConfigError("shots", f"few-shot prompting is for qa and choice tasks; {task.name} is {task.kind}")
        if count and len(self.pool) < count + (0 if task.examples else 1):
            raise ConfigError("shots", f"{task.name}: {count} shots need more examples than its {len(self.pool)}")

    def turns(self, record: Record, reply: Callable[[Record], tuple[str, str]]) -> list[tuple[str, str]]:
        """The examples as (question, answer) turns, ``reply(example) -> (question, answer)``."""
        if not self.count:
            return []
        question = _question_text(record)
        eligible = [r for r in self.pool if r is not record and _question_text(r) != question]
        drawn = random.Random(f"{self.seed}:{record.id}").sample(eligible, min(self.count, len(eligible)))
        return [reply(example) for example in drawn]


def _question_text(record: Record) -> str:
    return record.question if isinstance(record, ChoiceQuestion) else getattr(record, "instruction", "")


def _choice_items(
    task: Task,
    record: ChoiceQuestion,
    prompts: PromptTemplates,
    mode: ChoiceMode,
    circular: bool,
    shots: _Shots,
    system: str | None,
) -> list[TaskItem]:
    def reply(example: Record) -> tuple[str, str]:
        assert isinstance(example, ChoiceQuestion)
        return _choice_prompt(example, dict(example.options), prompts, mode)[0], _choice_reply(example, mode)

    turns = shots.turns(record, reply)
    items = []
    for shift in range(len(record.options) if circular else 1):
        options, reference = rotate_options(dict(record.options), record.answer, shift)
        content, question = _choice_prompt(record, options, prompts, mode)
        items.append(
            TaskItem(
                id=record.id if shift == 0 else f"{record.id}@{shift}",
                task=task.name,
                kind="choice",
                messages=prompt_messages(content, history=turns, system=system),
                reference=reference,
                question=question,
                options=options,
                tags=tuple(record.tags),
                group=record.id,
                record_id=record.id,
                rotation=shift,
            )
        )
    return items


def _case_items(
    task: Task, record: ClinicalCase, prompts: PromptTemplates, system: str | None, kind: TaskKind = "case"
) -> list[TaskItem]:
    items = []
    messages: list[Message] = [{"role": "system", "content": system}] if system else []
    for number, question in enumerate(record.questions, start=1):
        if number == 1:
            text = prompts.case_first.format(case=record.case, question=question.question)
        else:
            text = prompts.case_next.format(question=question.question)
        messages = [*messages, {"role": "user", "content": text}]
        items.append(
            TaskItem(
                id=f"{record.id}#{number}",
                task=task.name,
                kind=kind,
                messages=messages,
                reference=question.answer,
                question=f"病例：{record.case}\n\n问题：{question.question}",
                tags=tuple(record.tags),
                group=record.id,
                record_id=record.id,
            )
        )
        messages = [*messages, {"role": "assistant", "content": question.answer}]
    return items


def _instruction_item(
    task: Task, record: Instruction, shots: _Shots, system: str | None, kind: TaskKind = "qa"
) -> TaskItem:
    def reply(example: Record) -> tuple[str, str]:
        assert isinstance(example, Instruction)
        return example.prompt_text(), example.output

    history = [*shots.turns(record, reply), *record.history]
    return TaskItem(
        id=record.id,
        task=task.name,
        kind=kind,
        messages=prompt_messages(record.prompt_text(), history=history, system=record.system or system),
        reference=record.output,
        question=_dialogue_text(record),
        tags=tuple(record.tags),
        group=record.id,
        record_id=record.id,
    )


def _document_item(task: Task, record: Document) -> TaskItem:
    return TaskItem(
        id=record.id,
        task=task.name,
        kind="perplexity",
        messages=[],
        reference=record.text,
        question="",
        tags=tuple(record.tags),
        group=record.id,
        record_id=record.id,
    )


def task_items(
    task: Task,
    *,
    prompts: PromptTemplates,
    choice_mode: ChoiceMode = "generate",
    circular: bool = False,
    shots: int = 0,
    seed: int = 0,
    system: str | None = None,
) -> list[TaskItem]:
    """The items of a task, in record order, with the chats the model is asked.

    Args:
        task: The task.
        prompts: The templates.
        choice_mode: ``letter`` (the letters scored), ``cloze`` (the option texts scored, options not shown) or
            ``generate`` (answers read by the extractor).
        circular: Ask each choice question once per rotation of its options (``letter`` and ``generate``).
        shots: Few-shot examples before each qa or choice question.
        seed: Seeds the few-shot draw.
        system: A system prompt for every item; an instruction record's own ``system`` takes precedence.

    Raises:
        ConfigError: For circular cloze, or shots on a task kind that has none or with too few examples.
    """
    if circular and choice_mode == "cloze":
        raise ConfigError("circular", "cloze scores option texts, not letters: there is no order to rotate")
    drawer = _Shots(task, shots, seed)
    items: list[TaskItem] = []
    for record in task.records:
        if isinstance(record, ChoiceQuestion):
            items += _choice_items(task, record, prompts, choice_mode, circular, drawer, system)
        elif isinstance(record, ClinicalCase):
            items += _case_items(task, record, prompts, system, task.kind)
        elif isinstance(record, Document):
            items.append(_document_item(task, record))
        else:
            assert isinstance(record, Instruction)
            items.append(_instruction_item(task, record, drawer, system, task.kind))
    return items
