"""What a benchmark run produces: per-item predictions and scores, and per-task figures with their intervals.

A run folder holds, per task, ``predictions/<task>/generations.jsonl`` (the append-only log of raw answers, which is
what makes a run resumable) and ``predictions/<task>/scored.jsonl`` (each item with its question, reference, answer
and per-item scores), and ``results.json`` (:class:`BenchmarkResult`). :meth:`BenchmarkResult.load` reads a run
folder back, which is what ``medspec bench compare`` and the human evaluation kit do.

Example:
    >>> from medspec.bench.bootstrap import Estimate
    >>> task = TaskResult(name="AneCQ-sample", kind="choice", headline="Acc",
    ...                   figures={"Acc": Estimate(61.0, 52.0, 69.0, 133)})
    >>> BenchmarkResult(model="demo", tasks={"AneCQ-sample": task}).headlines()
    {'AneCQ-sample': 'Acc 61.00 [52.00, 69.00]'}
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medspec.bench.bootstrap import Estimate
from medspec.durable import atomic_write_text
from medspec.errors import ConfigError

__all__ = ["LOWER_IS_BETTER", "BenchmarkResult", "Prediction", "TaskResult", "scored_path"]

RESULTS_FILE = "results.json"
LOWER_IS_BETTER = frozenset({"BPC"})
"""Figures where a lower value is the better one (bits per character); every other figure is better higher."""


def scored_path(run_dir: str | Path, task: str) -> Path:
    """Where a run keeps a task's scored items."""
    return Path(run_dir) / "predictions" / task / "scored.jsonl"


@dataclass
class Prediction:
    """A model's answer to one item.

    Attributes:
        id: The item.
        text: The answer ("" when generation failed).
        finish_reason: ``stop``, ``length`` or ``error``.
        error: Why generation failed, when it did.
        usage: Token counts reported by the backend.
        logprobs: In ``letter`` and ``cloze`` mode, the log-probability of each candidate answer.
        logprob: For a perplexity item, the natural-log probability of its text.
    """

    id: str
    text: str
    finish_reason: str = "stop"
    error: str | None = None
    usage: dict[str, int] = field(default_factory=dict)
    logprobs: dict[str, float] | None = None
    logprob: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the log entry)."""
        data = {"id": self.id, "text": self.text, "finish_reason": self.finish_reason, "usage": self.usage}
        if self.error is not None:
            data["error"] = self.error
        if self.logprobs is not None:
            data["logprobs"] = self.logprobs
        if self.logprob is not None:
            data["logprob"] = self.logprob
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Prediction:
        """Inverse of :meth:`to_dict`."""
        return cls(
            id=str(data["id"]),
            text=data.get("text", ""),
            finish_reason=data.get("finish_reason", "stop"),
            error=data.get("error"),
            usage=dict(data.get("usage") or {}),
            logprobs=data.get("logprobs"),
            logprob=data.get("logprob"),
        )


@dataclass
class TaskResult:
    """The figures of one task for one model.

    Attributes:
        name: The task.
        kind: ``qa``, ``choice``, ``case`` or ``perplexity``.
        headline: The figure that sums the task up (``"Acc"``, ``"Acc (norm)"``, ``"R-L"`` or ``"BPC"``).
        figures: Each figure with its bootstrap interval, in report order.
        by_tag: The headline figure per topic tag.
        counts: ``items``, ``errors`` (generation failed), ``empty`` answers, ``truncated`` (hit the token limit)
            and, for choice tasks, ``unparseable``.
        contaminated: Items that overlap the training data given to the run.
        settings: What makes two runs' figures comparable: the scoring mode, circular evaluation, shots, the
            prompts and the decoding or window settings (see :meth:`describe`).
        letters: For choice tasks, the letters chosen for single-answer items beside the key's.
    """

    name: str
    kind: str
    headline: str
    figures: dict[str, Estimate]
    by_tag: dict[str, Estimate] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    contaminated: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    letters: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def lower_is_better(self) -> bool:
        """True when a lower headline figure is better (bits per character)."""
        return self.headline in LOWER_IS_BETTER

    def describe(self) -> str:
        """The settings in a few words: ``"letter, circular, 5-shot"``.

        Example:
            >>> settings = {"mode": "letter", "circular": True, "shots": 5}
            >>> TaskResult("t", "choice", "Acc", {}, settings=settings).describe()
            'letter, circular, 5-shot'
        """
        words = [str(self.settings.get("mode", self.kind))]
        if self.settings.get("circular"):
            words.append("circular")
        if self.settings.get("shots"):
            words.append(f"{self.settings['shots']}-shot")
        return ", ".join(words)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "headline": self.headline,
            "figures": {k: v.to_dict() for k, v in self.figures.items()},
            "by_tag": {k: v.to_dict() for k, v in self.by_tag.items()},
            "counts": dict(self.counts),
            "contaminated": list(self.contaminated),
            "settings": dict(self.settings),
            "letters": dict(self.letters),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            name=data["name"],
            kind=data["kind"],
            headline=data["headline"],
            figures={k: Estimate.from_dict(v) for k, v in data["figures"].items()},
            by_tag={k: Estimate.from_dict(v) for k, v in data.get("by_tag", {}).items()},
            counts=dict(data.get("counts", {})),
            contaminated=list(data.get("contaminated", [])),
            settings=dict(data.get("settings", {})),
            letters=dict(data.get("letters", {})),
        )


@dataclass
class BenchmarkResult:
    """One model's results on a benchmark.

    Attributes:
        model: The model's name in reports.
        tasks: Task name to its result, in benchmark order.
        config: The benchmark settings the run used.
        items: Per task, the scored items (question, reference, answer and per-item scores) that the judge and the
            human evaluation kit read; kept in ``predictions/<task>/scored.jsonl``, not in ``results.json``.
        run_dir: The run folder, when the run had one.
        skipped: Tasks the backend could not run, with the reason (perplexity tasks with an API backend).
    """

    model: str
    tasks: dict[str, TaskResult]
    config: dict[str, Any] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict, repr=False)
    run_dir: Path | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    def headlines(self) -> dict[str, str]:
        """Each task's headline figure, formatted."""
        return {name: f"{t.headline} {t.figures[t.headline].format()}" for name, t in self.tasks.items()}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "model": self.model,
            "tasks": {name: task.to_dict() for name, task in self.tasks.items()},
            "config": self.config,
            "skipped": dict(self.skipped),
        }

    def save(self, run_dir: str | Path) -> Path:
        """Write ``results.json`` into the run folder and return its path."""
        path = Path(run_dir) / RESULTS_FILE
        atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=2))
        return path

    @classmethod
    def load(cls, run_dir: str | Path) -> BenchmarkResult:
        """Read a run folder written by :meth:`medspec.bench.Benchmark.run`.

        Raises:
            ConfigError: When the folder holds no finished benchmark run.
        """
        path = Path(run_dir) / RESULTS_FILE
        if not path.is_file():
            raise ConfigError("", f"{run_dir} holds no {RESULTS_FILE}; is it a finished `medspec bench run` folder?")
        data = json.loads(path.read_text(encoding="utf-8"))
        tasks = {name: TaskResult.from_dict(task) for name, task in data["tasks"].items()}
        items = {}
        for name in tasks:
            scored = scored_path(run_dir, name)
            if scored.is_file():
                with open(scored, encoding="utf-8") as f:
                    items[name] = [json.loads(line) for line in f if line.strip()]
        return cls(
            model=data["model"],
            tasks=tasks,
            config=data.get("config", {}),
            items=items,
            run_dir=Path(run_dir),
            skipped=dict(data.get("skipped", {})),
        )

    def scored_items(self, task: str) -> list[dict[str, Any]]:
        """The scored items of a task: ``id``, ``question``, ``reference``, ``prediction`` and per-item scores.

        Raises:
            ConfigError: When the task is unknown or its items were not kept.
        """
        if task not in self.tasks:
            raise ConfigError("task", f"{task!r} is not in the results of {self.model}; tasks: {', '.join(self.tasks)}")
        if task not in self.items:
            where = self.run_dir or "this result"
            raise ConfigError(
                "task", f"{where} has no scored items for {task!r}; run the benchmark again to write them"
            )
        return self.items[task]
