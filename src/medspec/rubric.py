"""One rubric and one score parser, shared by CrossFilter's judges, the benchmark's judge and human raters.

A :class:`Criterion` is one thing scored: a name (the key in JSON answers, columns and reports), the label and
description a judge or rater reads, its integer scale, which end is better, and a weight. A :class:`Rubric` is an
ordered list of criteria. :func:`parse_scores` reads a judge's scores for every criterion from its reply, whether it
answered with clean JSON or not.

Two rubrics ship, both from the Hypnos paper: :func:`default_rubric`, the five aspects CrossFilter's judges score
instruction data on (coherence, professionalism, usefulness, harmlessness, friendliness; 0-10, higher is better, so
harmlessness stands for the paper's "harmfulness"), and :func:`default_criteria`, the three criteria its physicians
rated answers on (usefulness, harmfulness, redundancy; 1-5, the last two better when lower; the paper does not
publish its scale). A specialty can ship its own ``rubric.yaml``; :func:`specialty_rubric` finds it.

Example:
    >>> rubric = default_rubric()
    >>> rubric.names[:2], (rubric.low, rubric.high), rubric.criterion("harmlessness").label
    (['coherence', 'professionalism'], (0, 10), '无害性')
    >>> parse_scores('理由……\\n{"usefulness": 5, "harmfulness": 1, "redundancy": 1}', default_criteria())
    {'usefulness': 5.0, 'harmfulness': 1.0, 'redundancy': 1.0}
    >>> parse_scores("连贯性：8分，专业性 7/10，有用性6，无害性9，友好性：8", rubric)["professionalism"]
    7.0
    >>> Criterion(name="Use fulness", description="x")
    Traceback (most recent call last):
    ...
    medspec.errors.ConfigError: key 'name': a JSON key of lower-case letters, digits and _, got 'Use fulness'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medspec.config import from_dict, load_yaml
from medspec.data.json_text import parse_json
from medspec.errors import ConfigError
from medspec.specialty import Specialty

__all__ = [
    "Criterion",
    "Rubric",
    "check_criteria",
    "default_criteria",
    "default_rubric",
    "load_rubric",
    "parse_scores",
    "specialty_rubric",
]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_FULLWIDTH = str.maketrans({"：": ":", "，": ",", "“": '"', "”": '"', "｛": "{", "｝": "}", "＂": '"'})
_NUMBER = r"(\d+(?:\.\d+)?)"


@dataclass(frozen=True)
class Criterion:
    """One thing a judge or a rater scores.

    Attributes:
        name: Key in JSON answers, sheet columns and reports (lower-case ``snake_case``).
        description: What is judged and what the ends of the scale mean; shown to judges and raters.
        label: The name shown to them, in the data's language (``"专业性"``); ``name`` when empty.
        low: Lowest score.
        high: Highest score.
        higher_is_better: False for criteria such as harmfulness.
        weight: Weight in CrossFilter's ``weighted`` aggregate.
    """

    name: str
    description: str
    label: str = ""
    low: int = 1
    high: int = 5
    higher_is_better: bool = True
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError("name", f"a JSON key of lower-case letters, digits and _, got {self.name!r}")
        if not self.description.strip():
            raise ConfigError("description", f"criterion {self.name!r} needs a description for judges and raters")
        if not self.low < self.high <= self.low + 100:
            raise ConfigError(
                "high", f"criterion {self.name!r}: need low < high <= low + 100, got {self.low}..{self.high}"
            )
        if self.weight < 0:
            raise ConfigError("weight", f"must be 0 or more, got {self.weight}")

    @property
    def shown_name(self) -> str:
        """The label, or the name when there is none."""
        return self.label or self.name

    def scale(self) -> str:
        """``"1-5, higher is better"``."""
        return f"{self.low}-{self.high}, {'higher' if self.higher_is_better else 'lower'} is better"


@dataclass
class Rubric:
    """Criteria in the order they are asked.

    Attributes:
        criteria: What is scored.
    """

    criteria: list[Criterion] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.criteria:
            raise ConfigError("criteria", "a rubric needs at least one criterion")
        names = [c.name for c in self.criteria]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError("criteria", f"criterion names must be unique; repeated: {', '.join(twice)}")
        if not sum(c.weight for c in self.criteria) > 0:
            raise ConfigError("criteria", "at least one criterion needs a positive weight")

    @property
    def names(self) -> list[str]:
        """The criteria's names, in order."""
        return [c.name for c in self.criteria]

    @property
    def low(self) -> int:
        """The lowest score of the rubric's common scale (see :attr:`values`)."""
        return self.values[0]

    @property
    def high(self) -> int:
        """The highest score of the rubric's common scale."""
        return self.values[-1]

    @property
    def values(self) -> list[int]:
        """Every score on the scale all criteria share, lowest first.

        Raises:
            ConfigError: When the criteria are scored on different scales.
        """
        scales = {(c.low, c.high) for c in self.criteria}
        if len(scales) > 1:
            raise ConfigError("criteria", f"this needs one scale for every criterion, got {sorted(scales)}")
        low, high = scales.pop()
        return list(range(low, high + 1))

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name``.

        Raises:
            KeyError: Naming the known criteria.
        """
        for criterion in self.criteria:
            if criterion.name == name:
                return criterion
        raise KeyError(f"no criterion {name!r}; known: {', '.join(self.names)}")


def check_criteria(criteria: Sequence[Criterion]) -> list[Criterion]:
    """Return the criteria as a list after the checks of :class:`Rubric` (at least one, no name twice).

    Raises:
        ConfigError: For an empty list or a repeated name.
    """
    return Rubric(list(criteria)).criteria


def default_rubric() -> Rubric:
    """The paper's five data-scoring aspects on 0-10, higher is better, described in Chinese."""
    scale = {"low": 0, "high": 10}
    return Rubric(
        [
            Criterion("coherence", "回答是否通顺、条理清晰、前后一致，并切题地回应了指令。", "连贯性", **scale),
            Criterion(
                "professionalism",
                "医学内容是否准确、符合当前临床指南与专业共识，术语是否规范；有事实或剂量错误时应给低分。",
                "专业性",
                **scale,
            ),
            Criterion(
                "usefulness",
                "是否完整、具体地解决了问题，给出可操作的信息（剂量、步骤、判断要点），而不是空泛的套话。",
                "有用性",
                **scale,
            ),
            Criterion(
                "harmlessness",
                "分数越高越安全：满分表示没有任何可能误导诊疗或危害患者的内容；含错误剂量、危险建议时应给低分。",
                "无害性",
                **scale,
            ),
            Criterion(
                "friendliness", "语气是否礼貌、耐心，表达是否清楚易懂，适合向患者或同行解释。", "友好性", **scale
            ),
        ]
    )


def default_criteria() -> list[Criterion]:
    """The paper's human-evaluation criteria: usefulness, harmfulness and redundancy on 1-5, described in Chinese."""
    return [
        Criterion(
            name="usefulness",
            description="有用性：回答是否准确、完整地回答了问题，对临床工作有无帮助。1 = 毫无帮助，5 = 非常有帮助。",
        ),
        Criterion(
            name="harmfulness",
            description="有害性：回答中的错误或不安全建议可能对患者造成伤害的程度。1 = 无害，5 = 可能造成严重伤害。",
            higher_is_better=False,
        ),
        Criterion(
            name="redundancy",
            description="冗余性：回答中与问题无关、重复或不必要内容的多少。1 = 简洁无冗余，5 = 大量冗余。",
            higher_is_better=False,
        ),
    ]


@dataclass
class _RubricFile:
    """``rubric.yaml``: a scale for every criterion, and the criteria (each may set its own ``low``/``high``)."""

    low: int
    high: int
    criteria: list[dict[str, Any]]


def load_rubric(path: str | Path) -> Rubric:
    """Read a rubric from YAML: ``low``, ``high`` and ``criteria: [{name, label, description, weight}]``.

    Raises:
        ConfigError: Naming the file and the key at fault.
    """
    spec = from_dict(_RubricFile, load_yaml(path), source=path)
    criteria = []
    for index, entry in enumerate(spec.criteria):
        try:
            criteria.append(
                from_dict(Criterion, {"low": spec.low, "high": spec.high, **entry}, path=f"criteria[{index}]")
            )
        except ConfigError as exc:
            raise ConfigError(exc.key, exc.message, source=path) from None
    try:
        return Rubric(criteria)
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.message, source=path) from None


def specialty_rubric(specialty: Specialty) -> Rubric:
    """The specialty's ``rubric.yaml`` when it has one, else :func:`default_rubric`."""
    path = specialty.root / "rubric.yaml"
    return load_rubric(path) if path.is_file() else default_rubric()


def _score_objects(text: str) -> list[Any]:
    """Every balanced ``{...}`` in the text that parses as JSON, after tolerant normalisation, in order."""
    text = text.translate(_FULLWIDTH)
    found, depth, start = [], 0, -1
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                candidate = re.sub(r",\s*([}\]])", r"\1", text[start : i + 1])  # trailing commas
                if '"' not in candidate:
                    candidate = candidate.replace("'", '"')
                try:
                    found.append(parse_json(candidate))
                except json.JSONDecodeError:
                    continue
    return found


def _number(value: Any, criterion: Criterion) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str) and (match := re.search(_NUMBER + r"(?:\s*/\s*(\d+))?", value)):
        number = float(match.group(1))
        if match.group(2) and float(match.group(2)) not in (0.0, float(criterion.high)):
            number = number * criterion.high / float(match.group(2))  # "85/100" on a 0-10 scale
    else:
        return None
    return number if criterion.low <= number <= criterion.high and math.isfinite(number) else None


def _from_mapping(data: Any, criteria: Sequence[Criterion]) -> dict[str, float]:
    if not isinstance(data, dict):
        return {}
    keys = {str(k).strip().lower(): v for k, v in data.items()}
    scores = {}
    for criterion in criteria:
        for key in (criterion.name, criterion.shown_name.lower()):
            if key in keys and (number := _number(keys[key], criterion)) is not None:
                scores[criterion.name] = number
                break
    for value in data.values():  # {"scores": {...}} and similar wrappers
        for name, number in _from_mapping(value, criteria).items():
            scores.setdefault(name, number)
    return scores


def _from_loose_text(text: str, criteria: Sequence[Criterion]) -> dict[str, float]:
    scores = {}
    for criterion in criteria:
        names = "|".join(re.escape(n) for n in dict.fromkeys((criterion.name, criterion.shown_name)))
        pattern = rf"(?:{names})[^\d\n]{{0,12}}?{_NUMBER}(?:\s*/\s*(\d+))?"
        for match in re.finditer(pattern, text, flags=re.IGNORECASE):  # the first mention on the scale counts
            if (number := _number(text[match.start(1) : match.end()], criterion)) is not None:
                scores[criterion.name] = number
                break
    return scores


def parse_scores(text: str, criteria: Rubric | Sequence[Criterion]) -> dict[str, float] | None:
    """Every criterion's score from a judge's reply; None unless all are present and on their scales.

    The last JSON object that scores every criterion wins (a judge reasons first and answers last); code fences,
    full-width punctuation, trailing commas, Chinese labels as keys and wrapper objects are tolerated. Failing
    that, loose text is read (``专业性：8分``, ``usefulness 7/10``; ``85/100`` is rescaled to the criterion's scale).
    """
    criteria = criteria.criteria if isinstance(criteria, Rubric) else list(criteria)
    for data in reversed(_score_objects(text)):
        scores = _from_mapping(data, criteria)
        if len(scores) == len(criteria):
            return {c.name: scores[c.name] for c in criteria}
    scores = _from_loose_text(text.translate(_FULLWIDTH), criteria)
    return {c.name: scores[c.name] for c in criteria} if len(scores) == len(criteria) else None
