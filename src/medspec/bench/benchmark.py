"""The benchmark: ask a model every item, keep each answer as it comes, and score the tasks.

:class:`Benchmark` runs any tasks (:mod:`medspec.bench.tasks`) against any
:class:`~medspec.llm.base.ChatBackend`: a local Hugging Face model through
:class:`~medspec.llm.transformers.TransformersBackend` (batched, left-padded, chat template, greedy by default) or an
API backend. :class:`AnesthesiaBenchmark` is the Hypnos benchmark: multiple-choice (AneCQ), open questions (AneQA)
and clinical cases (AneRC), the bundled samples by default, with held-out text scored in bits per character.

Multiple-choice questions are answered in one of three modes (:mod:`medspec.bench.choice`): ``letter`` (the likeliest
option letters), ``cloze`` (the likeliest option text, options not shown) or ``generate`` (letters read from a
generated answer); ``circular`` asks each question once per rotation of its options. Perplexity tasks need a local
model (:mod:`medspec.bench.perplexity`).

With an output folder, every answer is appended to ``predictions/<task>/generations.jsonl`` as soon as its chunk is
generated, so an interrupted run resumes where it stopped and nothing is generated (or paid for) twice. Answers that
failed are retried on the next run. The folder is a :class:`~medspec.run_dir.RunDirectory`: resuming it with other
settings is refused.

Example:
    >>> from medspec.llm.base import Completion
    >>> class Parrot:  # answers every question with "答案：A"
    ...     name = "parrot"
    ...     def generate(self, chats, params):
    ...         return [Completion(text="答案：A") for _ in chats]
    >>> bench = AnesthesiaBenchmark(config=BenchmarkConfig(limit=10, bootstrap_resamples=100))
    >>> result = bench.run(Parrot())
    >>> result.tasks["AneCQ-sample"].figures["Extracted"].value
    100.0
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from medspec.bench.choice.modes import choose_by_cloze, choose_by_letter
from medspec.bench.perplexity import score_texts
from medspec.bench.results import BenchmarkResult, Prediction, TaskResult, scored_path
from medspec.bench.scoring import ScoringOptions, score_task
from medspec.bench.tasks import CHOICE_MODES, ChoiceMode, PromptTemplates, Task, TaskItem, load_tasks, task_items
from medspec.config import to_dict
from medspec.data.dedup import Decontaminator
from medspec.data.schema import Record
from medspec.durable import AppendLog, write_jsonl
from medspec.errors import BackendError, ConfigError
from medspec.llm.base import ChatBackend, GenerationParams, LikelihoodBackend, TextLikelihoodBackend
from medspec.run_dir import RunDirectory
from medspec.specialty import Specialty

__all__ = ["AnesthesiaBenchmark", "Benchmark", "BenchmarkConfig"]

logger = logging.getLogger(__name__)


@dataclass
class BenchmarkConfig:
    """How a benchmark is run and scored.

    Attributes:
        choice_mode: ``generate`` (answers read by the extractor), ``letter`` (the most likely option letters) or
            ``cloze`` (the most likely option text, options not shown); ``letter`` and ``cloze`` need a backend
            with ``continuation_logprobs`` (a local model).
        circular: Ask every choice question once per rotation of its options and count it correct only when all
            are answered correctly (``letter`` and ``generate``).
        shots: Few-shot examples before each open or choice question, from the task's ``dev`` split or its other
            records.
        max_new_tokens: Longest answer to an open or case question, in tokens.
        choice_max_new_tokens: Longest answer to a choice question; the prompt asks for the letters first.
        temperature: 0 for greedy decoding (the default, reproducible); positive to sample.
        top_p: Nucleus mass when sampling.
        seed: Sampling seed, and the bootstrap's.
        save_every: Items generated between two saves of the prediction log.
        limit: Use only the first ``limit`` records of each task (a quick look); all when ``None``.
        system_prompt: A system prompt for every item (an instruction record's own ``system`` wins).
        prompts: How items are asked.
        bootstrap_resamples: Resamples per confidence interval.
        confidence: Coverage of the confidence intervals.
        num_proc: Processes for jieba segmentation when scoring large tasks (at least 2,000 new texts); ``None``
            for one per CPU.
        decontamination_ngram: Character n-gram length for the training-data overlap check.
        decontamination_threshold: Overlap coefficient at which a benchmark item counts as seen in training.
        perplexity_window: Longest window of a perplexity document, in tokens.
        perplexity_stride: How far the window moves (less than the window); every later window has at least
            ``window - stride`` tokens of context.
    """

    choice_mode: ChoiceMode = "generate"
    circular: bool = False
    shots: int = 0
    max_new_tokens: int = 512
    choice_max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0
    save_every: int = 32
    limit: int | None = None
    system_prompt: str | None = None
    prompts: PromptTemplates = field(default_factory=PromptTemplates)
    bootstrap_resamples: int = 1000
    confidence: float = 0.95
    num_proc: int | None = None
    decontamination_ngram: int = 10
    decontamination_threshold: float = 0.5
    perplexity_window: int = 1024
    perplexity_stride: int = 512

    def __post_init__(self) -> None:
        if self.choice_mode == "likelihood":
            raise ConfigError(
                "choice_mode", "'likelihood' is now called 'letter' (or use 'cloze'; see docs/benchmark.md)"
            )
        if self.choice_mode not in CHOICE_MODES:
            raise ConfigError("choice_mode", f"expected one of {', '.join(CHOICE_MODES)}, got {self.choice_mode!r}")
        if self.circular and self.choice_mode == "cloze":
            raise ConfigError("circular", "cloze mode shows no options, so there is no order to rotate")
        if self.shots < 0:
            raise ConfigError("shots", f"must be 0 or more, got {self.shots}")
        if not 1 <= self.perplexity_stride < self.perplexity_window:
            raise ConfigError("perplexity_stride", f"must be in 1..perplexity_window - 1, got {self.perplexity_stride}")
        for name in ("max_new_tokens", "choice_max_new_tokens", "save_every", "bootstrap_resamples", "num_proc"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ConfigError(name, f"must be at least 1, got {getattr(self, name)}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError("limit", f"must be at least 1 (or null for all records), got {self.limit}")
        if not 0 < self.confidence < 1:
            raise ConfigError("confidence", f"must be in (0, 1), got {self.confidence}")
        if not 0 < self.decontamination_threshold <= 1:
            raise ConfigError("decontamination_threshold", f"must be in (0, 1], got {self.decontamination_threshold}")
        if self.decontamination_ngram < 2:
            raise ConfigError("decontamination_ngram", f"must be at least 2, got {self.decontamination_ngram}")
        GenerationParams(temperature=self.temperature, top_p=self.top_p)  # same checks as every backend's

    def generation_params(self, kind: str) -> GenerationParams:
        """The generation settings for items of a task kind."""
        limit = self.choice_max_new_tokens if kind == "choice" else self.max_new_tokens
        return GenerationParams(max_new_tokens=limit, temperature=self.temperature, top_p=self.top_p, seed=self.seed)

    def scoring(self) -> ScoringOptions:
        """The scoring settings."""
        return ScoringOptions(self.bootstrap_resamples, self.confidence, self.seed, self.num_proc)

    def task_settings(self, kind: str) -> dict[str, object]:
        """What a task's figures depend on besides the model: runs differing here are not comparable.

        Example:
            >>> BenchmarkConfig(choice_mode="letter", circular=True).task_settings("choice")["mode"]
            'letter'
        """
        prompts = hashlib.sha256(json.dumps([to_dict(self.prompts), self.system_prompt]).encode()).hexdigest()[:12]
        settings: dict[str, object] = {"mode": kind, "prompts": prompts}
        if kind == "choice":
            settings |= {"mode": self.choice_mode, "circular": self.circular, "shots": self.shots}
        if kind == "qa":
            settings["shots"] = self.shots
        if kind == "perplexity":
            settings |= {"window": self.perplexity_window, "stride": self.perplexity_stride}
        elif kind != "choice" or self.choice_mode == "generate":
            params = self.generation_params(kind)
            settings |= {"max_new_tokens": params.max_new_tokens, "temperature": params.temperature}
            settings |= {"top_p": params.top_p} if params.temperature > 0 else {}
        return settings


def _unanswerable(task: Task, backend: ChatBackend) -> str | None:
    """Why a task is skipped for a backend that cannot score log-likelihoods (an API model), or None.

    A perplexity task, and a task whose own settings ask for ``letter`` or ``cloze`` scoring, need one; a run-wide
    ``choice_mode`` that needs one is an error instead (:meth:`Benchmark.predict`), since the user asked for it.
    """
    if task.kind == "perplexity" and not isinstance(backend, LikelihoodBackend | TextLikelihoodBackend):
        return f"{backend.name} cannot score text (perplexity needs a local model)"
    mode = task.settings.get("choice_mode", "generate")
    if task.kind == "choice" and mode != "generate" and not isinstance(backend, LikelihoodBackend):
        return f"{backend.name} cannot score log-likelihoods (the task's choice_mode {mode} needs a local model)"
    return None


class Benchmark:
    """A set of tasks that one or more models are run on.

    Args:
        tasks: The tasks, in report order; names must be unique.
        config: Run and scoring settings.

    Raises:
        ConfigError: For no tasks or two tasks with one name.
    """

    def __init__(self, tasks: Sequence[Task], *, config: BenchmarkConfig | None = None) -> None:
        if not tasks:
            raise ConfigError("tasks", "a benchmark needs at least one task")
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ConfigError("tasks", f"task names must be unique, got {names}")
        self.tasks = list(tasks)
        self.config = config or BenchmarkConfig()

    @classmethod
    def from_specialty(
        cls,
        specialty: str | Path | Specialty = "anesthesiology",
        *,
        tasks: Sequence[str] | None = None,
        config: BenchmarkConfig | None = None,
    ) -> Benchmark:
        """A specialty's benchmark tasks (all, or those named), or files (see :func:`~medspec.bench.tasks.load_tasks`).

        Example:
            >>> [t.name for t in Benchmark.from_specialty("pediatrics").tasks]
            ['PedKQ-sample', 'PedDx-sample', 'PedTx-sample', 'PedDoc-sample', 'PedKQ-bpc']
        """
        return cls(load_tasks(tasks, specialty=specialty), config=config)

    def task_config(self, task: Task) -> BenchmarkConfig:
        """The settings one task is run with: the benchmark's, with the task's own ``settings`` over them.

        Raises:
            ConfigError: Naming the task, for a setting ``BenchmarkConfig`` does not have or a value it refuses.

        Example:
            >>> from medspec.data.schema import ChoiceQuestion
            >>> question = ChoiceQuestion(id="q", question="?", options={"A": "x", "B": "y"}, answer=["A"])
            >>> task = Task("mc", "choice", [question], settings={"choice_mode": "letter", "circular": True})
            >>> Benchmark([task], config=BenchmarkConfig(choice_mode="cloze")).task_config(task).circular
            True
        """
        if not task.settings:
            return self.config
        known = {f.name for f in fields(BenchmarkConfig)}
        unknown = sorted(set(task.settings) - known)
        if unknown:
            raise ConfigError(f"{task.name}.settings", f"unknown setting {unknown[0]!r}")
        try:
            return replace(self.config, **task.settings)
        except ConfigError as error:
            raise ConfigError(f"{task.name}.settings.{error.key}", error.message) from None

    def items(self, task: Task) -> list[TaskItem]:
        """The items of a task as this benchmark asks them (``limit`` applied)."""
        config = self.task_config(task)
        if config.limit is not None:
            # the few-shot pool stays whole, so an item draws the same examples with any limit
            task = replace(task, records=task.records[: config.limit], examples=task.examples or task.records)
        return task_items(
            task,
            prompts=config.prompts,
            choice_mode=config.choice_mode,
            circular=config.circular,
            shots=config.shots,
            seed=config.seed,
            system=config.system_prompt,
        )

    def predict(self, backend: ChatBackend, task: Task, *, log: AppendLog | None = None) -> dict[str, Prediction]:
        """Answer every item of a task, resuming from and appending to ``log``.

        Returns:
            Item id to prediction, for every item.

        Raises:
            ConfigError: In ``letter`` or ``cloze`` mode, or for a perplexity task, with a backend that cannot score
                log-likelihoods.
            BackendError: When the backend returns another number of answers than it was asked for.
        """
        items = self.items(task)
        config = self.task_config(task)
        scoring = task.kind == "choice" and config.choice_mode != "generate"
        if scoring and not isinstance(backend, LikelihoodBackend):
            raise ConfigError(
                "choice_mode",
                f"backend {backend.name} cannot score log-likelihoods; use choice_mode=generate with it",
            )
        done: dict[str, Prediction] = {}
        for entry in log.entries() if log else ():
            prediction = Prediction.from_dict(entry)
            if prediction.error is None:
                done[prediction.id] = prediction
        # Longest prompts first, so each batch holds prompts of similar length and little padding (the backend
        # sorts only within one call), the rotations of one question side by side so their shared beginning is
        # computed once; predictions are keyed by id, so the order is free.
        size = {item.record_id: sum(len(m["content"]) for m in item.messages) + len(item.reference) for item in items}
        todo = sorted((i for i in items if i.id not in done), key=lambda i: (-size[i.record_id], i.record_id))
        if done and todo:
            logger.info("%s: resuming, %d of %d items already answered", task.name, len(items) - len(todo), len(items))
        step = config.save_every
        for start in range(0, len(todo), step):
            chunk = todo[start : start + step]
            fresh = self._answer(backend, chunk, task.kind, config)
            if log:
                log.extend(p.to_dict() for p in fresh)
            done.update((p.id, p) for p in fresh)
            logger.info("%s: %d/%d items answered", task.name, len(items) - len(todo) + start + len(chunk), len(items))
        return {item.id: done[item.id] for item in items}

    def _answer(
        self, backend: ChatBackend, chunk: list[TaskItem], kind: str, config: BenchmarkConfig
    ) -> list[Prediction]:
        mode = config.choice_mode
        if kind == "perplexity":
            window, stride = config.perplexity_window, config.perplexity_stride
            return score_texts(backend, chunk, window=window, stride=stride)
        if kind == "choice" and mode != "generate":
            choose = choose_by_letter if mode == "letter" else choose_by_cloze
            chosen = choose(backend, chunk)  # type: ignore[arg-type]
            return [
                Prediction(id=item.id, text=answer, logprobs=table)
                for item, (answer, table) in zip(chunk, chosen, strict=True)
            ]
        return self._generate(backend, chunk, kind, config)

    @staticmethod
    def _generate(backend: ChatBackend, chunk: list[TaskItem], kind: str, config: BenchmarkConfig) -> list[Prediction]:
        completions = backend.generate([item.messages for item in chunk], config.generation_params(kind))
        if len(completions) != len(chunk):
            raise BackendError(f"backend {backend.name} returned {len(completions)} answers for {len(chunk)} chats")
        return [
            Prediction(id=item.id, text=c.text, finish_reason=c.finish_reason, error=c.error, usage=dict(c.usage))
            for item, c in zip(chunk, completions, strict=True)
        ]

    def contamination(self, training_data: Iterable[Record]) -> dict[str, list[str]]:
        """Items of each task that overlap the training data (see :class:`~medspec.data.dedup.Decontaminator`).

        A warning names every task with overlapping items: their scores measure recall of training data, not skill.
        """
        training = list(training_data)
        found: dict[str, list[str]] = {}
        for task in self.tasks:
            checker = Decontaminator(
                task.records, ngram=self.config.decontamination_ngram, threshold=self.config.decontamination_threshold
            )
            records = {o.benchmark_id for o in checker.check(training).overlaps}
            found[task.name] = [item.id for item in self.items(task) if item.record_id in records]
            if found[task.name]:
                shown = ", ".join(found[task.name][:5])
                logger.warning(
                    "%s: %d items overlap the training data (%s%s); their scores may be inflated",
                    task.name,
                    len(found[task.name]),
                    shown,
                    ", ..." if len(found[task.name]) > 5 else "",
                )
        return found

    def _run_config(self, model: str) -> dict[str, object]:
        tasks = [{"name": t.name, "kind": t.kind, "file": str(t.file) if t.file else None} for t in self.tasks]
        return {"model": model, "tasks": tasks, "benchmark": to_dict(self.config)}

    def run(
        self,
        backend: ChatBackend,
        *,
        out: str | Path | None = None,
        model: str | None = None,
        training_data: Iterable[Record] = (),
    ) -> BenchmarkResult:
        """Run every task and score it.

        Args:
            backend: The model to evaluate.
            out: A run folder: predictions are logged there as they come and the run resumes from them; results
                are kept in memory only when omitted.
            model: The model's name in reports; the backend's name by default.
            training_data: Records the model was trained on, checked for overlap with the benchmark items.

        Returns:
            The results, also written to ``out/results.json`` with the scored items.
        """
        model = model or backend.name
        contaminated = self.contamination(training_data) if training_data else {}
        inputs = sorted({str(t.file) for t in self.tasks if t.file is not None})
        run = RunDirectory(out, config=self._run_config(model), inputs=inputs) if out is not None else None
        results: dict[str, TaskResult] = {}
        scored: dict[str, list[dict[str, object]]] = {}
        skipped = {}
        for task in self.tasks:
            reason = _unanswerable(task, backend)
            if reason:
                skipped[task.name] = reason
                logger.warning("%s skipped: %s", task.name, reason)
                continue
            step = f"predictions/{task.name}"
            log = AppendLog(run.step_dir(step) / "generations.jsonl") if run else None
            predictions = self.predict(backend, task, log=log)
            errors = sum(p.error is not None for p in predictions.values())
            if errors:
                logger.warning("%s: %d answers failed; they score 0. Run again to retry them", task.name, errors)
            elif run:  # every answer is in the step's folder already: record the step as complete
                summary = {"items": len(predictions)}
                run.run_step(step, lambda folder, s=summary: s)
            config = self.task_config(task)
            results[task.name], scored[task.name] = score_task(
                task.name,
                self.items(task),
                predictions,
                options=config.scoring(),
                choice_mode=config.choice_mode,
                circular=config.circular,
                settings=config.task_settings(task.kind),
                contaminated=contaminated.get(task.name, ()),
            )
            if run:
                write_jsonl(scored_path(run.root, task.name), scored[task.name])
        result = BenchmarkResult(
            model,
            results,
            config=to_dict(self.config),
            items=scored,
            run_dir=run.root if run else None,
            skipped=skipped,
        )
        if run:
            result.save(run.root)
        return result


class AnesthesiaBenchmark(Benchmark):
    """The Hypnos benchmark: AneCQ (multiple choice), AneQA (open questions) and AneRC (clinical cases).

    Args:
        tasks: The tasks; the anesthesiology specialty's bundled samples (``AneCQ-sample``, ``AneQA-sample``,
            ``AneRC-sample``) by default. The samples were written for medspec; they are not the paper's benchmark.
        config: Run and scoring settings.
    """

    def __init__(self, tasks: Sequence[Task] | None = None, *, config: BenchmarkConfig | None = None) -> None:
        super().__init__(tasks if tasks is not None else load_tasks(specialty="anesthesiology"), config=config)
