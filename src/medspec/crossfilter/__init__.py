"""CrossFilter: Self-Instruct generation by two or more LLMs, rule cleaning, cross scoring and threshold filtering.

The Hypnos data step. :class:`CrossFilter` runs it in a resumable run directory; the modules hold its parts, each
usable alone: :mod:`~medspec.crossfilter.self_instruct`, :mod:`~medspec.crossfilter.rules`,
:mod:`~medspec.crossfilter.scoring`, :mod:`~medspec.crossfilter.filtering`, :mod:`~medspec.crossfilter.audit`.
"""

from medspec.crossfilter.config import (
    AuditConfig,
    CrossFilterConfig,
    PoolConfig,
    ScoringConfig,
    load_crossfilter_config,
)
from medspec.crossfilter.filtering import ThresholdConfig
from medspec.crossfilter.pipeline import CrossFilter
from medspec.crossfilter.results import CrossFilterResult, refilter
from medspec.crossfilter.rules import RulesConfig, register_rule
from medspec.crossfilter.self_instruct import SelfInstructConfig
from medspec.rubric import Criterion, Rubric, default_rubric

__all__ = [
    "AuditConfig",
    "Criterion",
    "CrossFilter",
    "CrossFilterConfig",
    "CrossFilterResult",
    "PoolConfig",
    "Rubric",
    "RulesConfig",
    "ScoringConfig",
    "SelfInstructConfig",
    "ThresholdConfig",
    "default_rubric",
    "load_crossfilter_config",
    "refilter",
    "register_rule",
]
