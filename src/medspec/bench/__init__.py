"""Specialty benchmarks: run models on open questions, multiple-choice questions and clinical cases, score them with
the field's metrics, judge them with an LLM and with human raters, and report the comparison.

Example:
    >>> from medspec.bench import AnesthesiaBenchmark, BenchmarkConfig
    >>> bench = AnesthesiaBenchmark(config=BenchmarkConfig(limit=5))
    >>> [task.name for task in bench.tasks]
    ['AneCQ-sample', 'AneQA-sample', 'AneRC-sample', 'AneDoc-sample', 'AneQA-bpc', 'AneCQ-circular']
"""

from medspec.bench.benchmark import AnesthesiaBenchmark, Benchmark, BenchmarkConfig
from medspec.bench.bootstrap import Estimate, bootstrap_ci
from medspec.bench.choice.extract import extract_choice
from medspec.bench.results import BenchmarkResult, Prediction, TaskResult
from medspec.bench.tasks import PromptTemplates, Task, TaskItem, load_tasks, task_items

__all__ = [
    "AnesthesiaBenchmark",
    "Benchmark",
    "BenchmarkConfig",
    "BenchmarkResult",
    "Estimate",
    "Prediction",
    "PromptTemplates",
    "Task",
    "TaskItem",
    "TaskResult",
    "bootstrap_ci",
    "extract_choice",
    "load_tasks",
    "task_items",
]
