"""Benchmark tasks: open questions, multiple-choice questions and clinical cases, and the prompts they become.

A :class:`Task` is a named list of records of one kind:

======== ============================ ===================================================================
kind     records                      one item per
======== ============================ ===================================================================
qa       :class:`Instruction`          record (its ``history`` turns precede the question)
choice   :class:`ChoiceQuestion`       record, single or multiple answers
case     :class:`ClinicalCase`         question of a case: the case text opens the dialogue, and the earlier
                                       questions of the same case are followed by their reference answers
======== ============================ ===================================================================

Tasks load from a specialty (``load_specialty(name).benchmark``) or from any file :func:`medspec.data.io.read_records`
reads, so CMExam, CMB, CMB-Clin, CMMLU and MedQA files and a hospital's own cases are used as they are.

Case questions see the reference answers of the earlier questions rather than the model's own (as in CMB-Clin's
evaluation): each question is then judged on its own, an early mistake does not spoil the later answers, and every
question can be generated in one batch and resumed on its own.

Example:
    >>> task = load_tasks(["AneCQ-sample"], specialty="anesthesiology")[0]
    >>> task.kind, len(task.records)
    ('choice', 133)
    >>> item = task_items(task, prompts=PromptTemplates())[0]
    >>> item.reference, item.messages[0]["content"].splitlines()[0]
    ('A', '以下是一道单项选择题，只有一个正确答案。')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from medspec.chat import Message, prompt_messages
from medspec.data.io import ReadOptions, read_records
from medspec.data.schema import ChoiceQuestion, ClinicalCase, Instruction, Record
from medspec.data.select import field_values
from medspec.errors import ConfigError, DataError, InvalidDataError
from medspec.specialty import BenchmarkTask, load_specialty

__all__ = ["ChoiceMode", "PromptTemplates", "Task", "TaskItem", "TaskKind", "load_tasks", "task_items"]

TaskKind = Literal["qa", "choice", "case"]
ChoiceMode = Literal["generate", "likelihood"]
_KIND_OF_RECORD: dict[type, TaskKind] = {Instruction: "qa", ChoiceQuestion: "choice", ClinicalCase: "case"}


@dataclass
class PromptTemplates:
    """How benchmark items are asked. Placeholders in braces are filled per item.

    Attributes:
        choice_single: A single-answer question; ``{question}``, ``{options}`` (one ``A. text`` line each) and
            ``{instruction}``.
        choice_multiple: A multiple-answer question; same placeholders.
        choice_generate: The ``{instruction}`` when answers are generated and read by the extractor.
        choice_likelihood: The ``{instruction}`` when options are scored by log-likelihood of their letters.
        case_first: The first question of a case; ``{case}`` and ``{question}``.
        case_next: Each later question of the case; ``{question}``.
    """

    choice_single: str = "以下是一道单项选择题，只有一个正确答案。\n\n{question}\n{options}\n\n{instruction}"
    choice_multiple: str = "以下是一道多项选择题，有两个或两个以上正确答案。\n\n{question}\n{options}\n\n{instruction}"
    choice_generate: str = "请直接给出答案，格式为“答案：选项字母”。"
    choice_likelihood: str = "请只回答正确选项的字母。"
    case_first: str = "以下是一份临床病例资料：\n{case}\n\n请回答：{question}"
    case_next: str = "{question}"

    def __post_init__(self) -> None:
        needed = {
            "choice_single": ("question", "options", "instruction"),
            "choice_multiple": ("question", "options", "instruction"),
            "choice_generate": (),
            "choice_likelihood": (),
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
        kind: ``qa``, ``choice`` or ``case``.
        records: The records, all of the kind's record type.
        description: One line for reports.
        file: The file the records came from, when they came from one.
    """

    name: str
    kind: TaskKind
    records: list[Record]
    description: str = ""
    file: Path | None = None

    def __post_init__(self) -> None:
        if not self.name.strip() or any(ch in self.name for ch in "/\\"):
            raise ConfigError("name", f"a task name must be non-empty and free of slashes, got {self.name!r}")
        if self.kind not in ("qa", "choice", "case"):
            raise ConfigError("kind", f"expected qa, choice or case, got {self.kind!r}")
        source = str(self.file or self.name)
        if not self.records:
            raise InvalidDataError([DataError(source, None, None, "the task has no records")])
        wrong = [r for r in self.records if _KIND_OF_RECORD.get(type(r)) != self.kind]
        if wrong:
            expected = next(cls.__name__ for cls, kind in _KIND_OF_RECORD.items() if kind == self.kind)
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

        Raises:
            InvalidDataError: For unreadable records, or records of another kind.
        """
        path = Path(path)
        records = read_records(path, options)
        for record in records:
            record.tags = [*record.tags, *(f"{f}={v}" for f in breakdown for v in field_values(record, f))]
        if kind is None and records:
            kind = _KIND_OF_RECORD.get(type(records[0]))
            if kind is None:
                problem = (
                    f"'{records[0].type_name}' records are not benchmark items; expected instruction, choice or case"
                )
                raise InvalidDataError([DataError(path, None, "type", problem)])
        return cls(name or path.stem, kind or "qa", records, description=description, file=path)

    @classmethod
    def from_specialty_task(
        cls, task: BenchmarkTask, *, where: Sequence[str] = (), breakdown: Sequence[str] = ()
    ) -> Task:
        """Load one of a specialty's benchmark tasks, with ``where`` conditions and breakdowns added to its own."""
        options = replace(task.read, where=[*task.read.where, *where])
        return cls.from_file(
            task.file,
            name=task.name,
            kind=task.kind,
            options=options,
            breakdown=[*task.breakdown, *breakdown],
            description=task.description,
        )


def load_tasks(
    specs: Sequence[str | Path] | None = None,
    *,
    specialty: str | Path = "anesthesiology",
    options: ReadOptions | None = None,
    breakdown: Sequence[str] = (),
) -> list[Task]:
    """Load tasks named by the specialty, or from files.

    Args:
        specs: Each a task name of ``specialty``, a file path, or ``NAME=PATH`` to name a file's task; all of the
            specialty's tasks when ``None``.
        specialty: A built-in specialty name or a specialty folder.
        options: How to read the files named in ``specs``; its ``where`` conditions also select the items of the
            specialty's tasks.
        breakdown: Kept source fields to break every task's headline figure down by.

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
            tasks.append(Task.from_file(path, name=label, options=options, breakdown=breakdown))
        elif Path(item).is_file():
            tasks.append(Task.from_file(item, options=options, breakdown=breakdown))
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
        id: Unique within the task (``"ane-case-001#2"`` for a case's second question).
        task: The task's name.
        kind: The task's kind.
        messages: The chat sent to the model.
        reference: The reference answer, or the correct letters of a choice question (``"AC"``).
        question: The question as a judge or a human rater reads it (with the options, or the case text).
        options: Letter to option text (choice items).
        tags: Topic tags of the record.
        group: Items of one group are resampled together by the bootstrap (the questions of one case).
        record_id: The record the item comes from.
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


def _dialogue_text(record: Instruction) -> str:
    turns = [f"用户：{user}\n助手：{assistant}" for user, assistant in record.history]
    return "\n".join([*turns, f"用户：{record.prompt_text()}"]) if turns else record.prompt_text()


def _choice_item(
    task: Task, record: ChoiceQuestion, prompts: PromptTemplates, mode: ChoiceMode, system: str | None
) -> TaskItem:
    options = "\n".join(f"{letter}. {text}" for letter, text in record.options.items())
    template = prompts.choice_multiple if record.is_multiple_answer else prompts.choice_single
    instruction = prompts.choice_generate if mode == "generate" else prompts.choice_likelihood
    content = template.format(question=record.question, options=options, instruction=instruction)
    return TaskItem(
        id=record.id,
        task=task.name,
        kind="choice",
        messages=prompt_messages(content, system=system),
        reference="".join(record.answer),
        question=f"{record.question}\n{options}",
        options=dict(record.options),
        tags=tuple(record.tags),
        group=record.id,
        record_id=record.id,
    )


def _case_items(task: Task, record: ClinicalCase, prompts: PromptTemplates, system: str | None) -> list[TaskItem]:
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
                kind="case",
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


def task_items(
    task: Task, *, prompts: PromptTemplates, choice_mode: ChoiceMode = "generate", system: str | None = None
) -> list[TaskItem]:
    """The items of a task, in record order, with the chats the model is asked.

    Args:
        task: The task.
        prompts: The templates.
        choice_mode: ``generate`` (answers read by the extractor) or ``likelihood`` (letters scored).
        system: A system prompt for every item; an instruction record's own ``system`` takes precedence.
    """
    items: list[TaskItem] = []
    for record in task.records:
        if isinstance(record, ChoiceQuestion):
            items.append(_choice_item(task, record, prompts, choice_mode, system))
        elif isinstance(record, ClinicalCase):
            items += _case_items(task, record, prompts, system)
        else:
            assert isinstance(record, Instruction)
            messages = prompt_messages(record.prompt_text(), history=record.history, system=record.system or system)
            items.append(
                TaskItem(
                    id=record.id,
                    task=task.name,
                    kind="qa",
                    messages=messages,
                    reference=record.output,
                    question=_dialogue_text(record),
                    tags=tuple(record.tags),
                    group=record.id,
                    record_id=record.id,
                )
            )
    return items
