"""medspec: turn a general LLM into a specialist for one branch of medicine, Chinese first.

The public API is re-exported here; everything else is reachable through its module.
"""

from importlib.metadata import PackageNotFoundError, version

from medspec.bench import AnesthesiaBenchmark, Benchmark, BenchmarkConfig
from medspec.crossfilter import CrossFilter
from medspec.data.schema import (
    CaseQuestion,
    ChoiceQuestion,
    ClinicalCase,
    Document,
    Instruction,
    PreferencePair,
    Provenance,
    Record,
)
from medspec.errors import BackendError, ConfigError, DataError, InvalidDataError, MedspecError
from medspec.specialty import Specialty, list_specialties, load_specialty
from medspec.training import GeneralToSpecificTrainer, StageConfig, TrainingConfig
from medspec.vocab import VocabConfig, VocabExtender, VocabExtension

try:
    __version__ = version("medspec")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

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
