"""medspec: turn a general LLM into a specialist for one branch of medicine, Chinese first.

The public API is re-exported here; everything else is reachable through its module.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("medspec")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

# Each public name and the module it lives in. They are imported on first use (PEP 562), so that ``import medspec``
# and the command line's light commands (``--version``, ``validate``, ``convert``) never import torch.
_EXPORTS = {
    "AnesthesiaBenchmark": "medspec.bench.benchmark",
    "Benchmark": "medspec.bench.benchmark",
    "BenchmarkConfig": "medspec.bench.benchmark",
    "CrossFilter": "medspec.crossfilter.pipeline",
    "CrossFilterConfig": "medspec.crossfilter.config",
    "CaseQuestion": "medspec.data.schema",
    "ChoiceQuestion": "medspec.data.schema",
    "ClinicalCase": "medspec.data.schema",
    "Document": "medspec.data.schema",
    "Instruction": "medspec.data.schema",
    "PreferencePair": "medspec.data.schema",
    "Provenance": "medspec.data.schema",
    "Record": "medspec.data.schema",
    "BackendError": "medspec.errors",
    "ConfigError": "medspec.errors",
    "DataError": "medspec.errors",
    "InvalidDataError": "medspec.errors",
    "MedspecError": "medspec.errors",
    "Specialty": "medspec.specialty",
    "list_specialties": "medspec.specialty",
    "load_specialty": "medspec.specialty",
    "GeneralToSpecificTrainer": "medspec.training.trainer",
    "StageConfig": "medspec.training.stages",
    "TrainingConfig": "medspec.training.trainer",
    "VocabConfig": "medspec.vocab.extender",
    "VocabExtender": "medspec.vocab.extender",
    "VocabExtension": "medspec.vocab.extender",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'medspec' has no attribute {name!r}")
    value = getattr(import_module(_EXPORTS[name]), name)
    globals()[name] = value  # found once, then an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


__all__ = [
    "AnesthesiaBenchmark",
    "BackendError",
    "Benchmark",
    "BenchmarkConfig",
    "CaseQuestion",
    "ChoiceQuestion",
    "ClinicalCase",
    "ConfigError",
    "CrossFilter",
    "CrossFilterConfig",
    "DataError",
    "Document",
    "GeneralToSpecificTrainer",
    "Instruction",
    "InvalidDataError",
    "MedspecError",
    "PreferencePair",
    "Provenance",
    "Record",
    "Specialty",
    "StageConfig",
    "TrainingConfig",
    "VocabConfig",
    "VocabExtender",
    "VocabExtension",
    "list_specialties",
    "load_specialty",
]
