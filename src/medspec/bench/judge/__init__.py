"""LLM-as-judge: pointwise rubric scores and pairwise verdicts on benchmark answers, and the report of them.

:mod:`~medspec.bench.judge.core` asks the judge (any :class:`~medspec.llm.base.ChatBackend`) and reads its replies;
:mod:`~medspec.bench.judge.setup` builds a judge from a YAML file (an API or a local model, with the request cache);
:mod:`~medspec.bench.judge.report` judges saved benchmark runs and summarises the verdicts.

Example:
    >>> from medspec.bench.judge.core import JudgeConfig
    >>> [c.name for c in JudgeConfig().criteria]
    ['usefulness', 'harmfulness', 'redundancy']
"""

from medspec.bench.judge.core import (
    AnswerToJudge,
    Judge,
    JudgeConfig,
    PairwiseJudgement,
    PointwiseJudgement,
    combine_verdicts,
    parse_verdict,
)
from medspec.bench.judge.report import JudgeReport, judge_results
from medspec.bench.judge.setup import JudgeSetup, load_judge

__all__ = [
    "AnswerToJudge",
    "Judge",
    "JudgeConfig",
    "JudgeReport",
    "JudgeSetup",
    "PairwiseJudgement",
    "PointwiseJudgement",
    "combine_verdicts",
    "judge_results",
    "load_judge",
    "parse_verdict",
]
