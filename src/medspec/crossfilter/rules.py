"""Cleaning rules: cheap checks that remove obvious errors before any judge is paid.

Each rule is a small named function that looks at one instruction record and returns the reason it fails, or
None. They run in :attr:`RulesConfig.enabled` order and the first failure drops the item, so each dropped item has
exactly one rule and reason in the report. ``duplicate`` is the one rule that looks at the whole pool: it keeps the
first of each group of near-duplicates (:func:`medspec.data.dedup.deduplicate`), compared also against the
reference records (the seed tasks) it is given.

Add a rule with :func:`register_rule` and name it in ``enabled``.

Example:
    >>> from medspec.data.schema import Instruction
    >>> item = Instruction(id="x", instruction="丙泊酚注射痛如何减轻？",
    ...                    output="作为一个AI语言模型，我无法提供医疗建议。")
    >>> refusal(item, RulesConfig())
    "refusal: '作为一个AI语言模型'"
    >>> result = clean([item], RulesConfig())
    >>> [(d.record.id, d.rule) for d in result.dropped]
    [('x', 'refusal')]
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from medspec.data.dedup import deduplicate, normalize_text
from medspec.data.schema import Instruction
from medspec.errors import ConfigError

__all__ = [
    "DUPLICATE",
    "RULES",
    "CleanResult",
    "Dropped",
    "Rule",
    "RulesConfig",
    "clean",
    "echo",
    "empty_output",
    "length",
    "refusal",
    "register_rule",
    "repetition",
    "truncated",
    "wrong_language",
]

Rule = Callable[[Instruction, "RulesConfig"], "str | None"]
RULES: dict[str, Rule] = {}
DUPLICATE = "duplicate"  # the one rule that compares items with each other, not a registered check

_REFUSAL = re.compile(
    r"作为(?:一个|一名)?(?:AI语言模型|AI助手|AI|人工智能助手|人工智能|大语言模型|语言模型)"
    r"|我(?:只)?是(?:一个)?(?:AI语言模型|AI|人工智能|大语言模型|语言模型)"
    r"|我(?:无法|不能|没有资格|不具备)[^。！？\n]{0,12}(?:提供|回答|给出|比较|推荐|建议|答案)"
    r"|(?:很)?抱歉[^。！？\n]{0,8}(?:无法|不能)"
    r"|as an ai\b|i(?:'m| am) (?:just )?an ai\b|i can(?:not|'t) (?:help|provide|answer)",
    flags=re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")
# Generated answers end a sentence; one that stops on a character, letter, digit or open punctuation was cut off.
_OPEN_END = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fffA-Za-z0-9，、：；,:;（(“‘《\[【]$")


@dataclass
class RulesConfig:
    """Which rules run and their bounds.

    Attributes:
        enabled: Rule names in the order they run; the built-ins plus any added with :func:`register_rule`.
        min_output_chars: Shorter outputs (after stripping) are dropped by ``length``.
        max_output_chars: Longer outputs are dropped by ``length``.
        min_instruction_chars: Shorter instructions are dropped by ``length``.
        max_instruction_chars: Longer instructions (input included) are dropped by ``length``.
        min_chinese_ratio: ``wrong_language`` drops an instruction or output whose Chinese characters make up less
            than this share of its Chinese characters and Latin words (a Latin word counts once, so drug names and
            units such as ``mg/kg`` barely count); 0 turns it off for non-Chinese data.
        max_repeats: ``repetition`` drops an output where one phrase of 2 to 50 characters occurs this many times in
            a row.
        max_repeated_fraction: ``repetition`` also drops an output where more than this share of its character
            10-grams are repeats (loops that are not back to back).
        duplicate_threshold: ``duplicate`` drops items whose Jaccard similarity of character 5-grams with an
            earlier item or a seed reaches this.
    """

    enabled: list[str] = field(
        default_factory=lambda: [
            "empty_output",
            "echo",
            "refusal",
            "repetition",
            "wrong_language",
            "truncated",
            "length",
            DUPLICATE,
        ]
    )
    min_output_chars: int = 10
    max_output_chars: int = 4000
    min_instruction_chars: int = 4
    max_instruction_chars: int = 2000
    min_chinese_ratio: float = 0.5
    max_repeats: int = 4
    max_repeated_fraction: float = 0.5
    duplicate_threshold: float = 0.7

    def __post_init__(self) -> None:
        unknown = [name for name in self.enabled if name not in RULES and name != DUPLICATE]
        if unknown:
            known = ", ".join([*sorted(RULES), DUPLICATE])
            raise ConfigError("enabled", f"unknown rule {unknown[0]!r}; known: {known} (add one with register_rule)")
        if not 0 <= self.min_output_chars < self.max_output_chars:
            raise ConfigError("min_output_chars", "need 0 <= min_output_chars < max_output_chars")
        if not 0 <= self.min_instruction_chars < self.max_instruction_chars:
            raise ConfigError("min_instruction_chars", "need 0 <= min_instruction_chars < max_instruction_chars")
        for key in ("min_chinese_ratio", "max_repeated_fraction"):
            if not 0 <= getattr(self, key) <= 1:
                raise ConfigError(key, f"must be in [0, 1], got {getattr(self, key)}")
        if self.max_repeats < 2:
            raise ConfigError("max_repeats", f"must be at least 2, got {self.max_repeats}")
        if not 0 < self.duplicate_threshold <= 1:
            raise ConfigError("duplicate_threshold", f"must be in (0, 1], got {self.duplicate_threshold}")


def _quote(text: str, limit: int = 24) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[:limit] + "…")


def empty_output(item: Instruction, config: RulesConfig) -> str | None:
    """The output has no letter, digit or character: empty, whitespace, or punctuation only."""
    return None if normalize_text(item.output) else f"empty output {_quote(item.output)}"


def echo(item: Instruction, config: RulesConfig) -> str | None:
    """The output repeats the prompt instead of answering it."""
    answer, prompt = normalize_text(item.output), normalize_text(item.prompt_text())
    if not answer or not prompt:
        return None
    if answer in prompt or (
        len(answer) <= 1.5 * len(prompt) and difflib.SequenceMatcher(None, answer, prompt).ratio() >= 0.9
    ):
        return f"output echoes the prompt {_quote(item.output)}"
    return None


def refusal(item: Instruction, config: RulesConfig) -> str | None:
    """The output declines to answer ("作为AI……", "抱歉，我无法……")."""
    match = _REFUSAL.search(item.output)
    return f"refusal: {_quote(match.group(0))}" if match else None


def repetition(item: Instruction, config: RulesConfig) -> str | None:
    """The output degenerates into repeating itself."""
    repeats = config.max_repeats - 1
    for match in re.finditer(rf"(.{{2,50}}?)\1{{{repeats},}}", item.output, flags=re.DOTALL):
        unit = match.group(1)
        if normalize_text(unit):  # "……" or "----" repeated is punctuation, not a loop
            return f"the phrase {_quote(unit)} repeats {len(match.group(0)) // len(unit)} times in a row"
    text = normalize_text(item.output)
    grams = [text[i : i + 10] for i in range(len(text) - 9)]
    if len(grams) >= 20:
        fraction = 1 - len(set(grams)) / len(grams)
        if fraction > config.max_repeated_fraction:
            return f"{fraction:.0%} of the output's 10-character spans are repeats"
    return None


def _chinese_ratio(text: str) -> float | None:
    chinese, latin = len(_CJK.findall(text)), len(_LATIN_WORD.findall(text))
    return chinese / (chinese + latin) if chinese + latin else None


def wrong_language(item: Instruction, config: RulesConfig) -> str | None:
    """The instruction or the output is not mostly Chinese."""
    for name, text in (("instruction", item.instruction), ("output", item.output)):
        ratio = _chinese_ratio(text)
        if ratio is not None and ratio < config.min_chinese_ratio:
            return f"{name} is {ratio:.0%} Chinese (at least {config.min_chinese_ratio:.0%} required)"
    return None


def truncated(item: Instruction, config: RulesConfig) -> str | None:
    """The output was cut off: the generator hit its token limit, or the text stops mid-sentence."""
    if item.meta.get("finish_reason") == "length":
        return "the generator stopped at its token limit"
    text = item.output.strip()
    return f"output ends mid-sentence: …{text[-12:]!r}" if _OPEN_END.search(text) else None


def length(item: Instruction, config: RulesConfig) -> str | None:
    """The instruction or output is shorter or longer than the configured bounds."""
    output, prompt = len(item.output.strip()), len(item.prompt_text().strip())
    if output < config.min_output_chars:
        return f"output has {output} characters (at least {config.min_output_chars})"
    if output > config.max_output_chars:
        return f"output has {output} characters (at most {config.max_output_chars})"
    if prompt < config.min_instruction_chars:
        return f"instruction has {prompt} characters (at least {config.min_instruction_chars})"
    if prompt > config.max_instruction_chars:
        return f"instruction and input have {prompt} characters (at most {config.max_instruction_chars})"
    return None


def register_rule(name: str, check: Rule, *, replace: bool = False) -> None:
    """Add a cleaning rule that :attr:`RulesConfig.enabled` can name.

    Args:
        name: The rule's name in configs and reports.
        check: ``check(item, config)`` returns why the item fails, or None when it passes.
        replace: Allow replacing an existing rule.

    Raises:
        ValueError: For an empty or reserved name, a check that is not callable, or a name already taken.

    Example:
        >>> def no_brand_names(item, config):
        ...     return "mentions a brand name" if "得普利麻" in item.output else None
        >>> register_rule("no_brand_names", no_brand_names)
        >>> RulesConfig(enabled=["empty_output", "no_brand_names"]).enabled
        ['empty_output', 'no_brand_names']
    """
    if not re.match(r"^[a-z][a-z0-9_]*$", name) or name == DUPLICATE:
        raise ValueError(f"rule name {name!r} must be lower-case snake_case and not {DUPLICATE!r}")
    if not callable(check):
        raise ValueError(f"the check for rule {name!r} must be callable, got {type(check).__name__}")
    if name in RULES and not replace:
        raise ValueError(f"rule {name!r} is already registered; pass replace=True to replace it")
    RULES[name] = check


for _rule in (empty_output, echo, refusal, repetition, wrong_language, truncated, length):
    register_rule(_rule.__name__, _rule)


@dataclass
class Dropped:
    """An item a rule removed.

    Attributes:
        record: The item.
        rule: The rule's name.
        reason: What the rule found.
    """

    record: Instruction
    rule: str
    reason: str


@dataclass
class CleanResult:
    """Items that passed every rule, and those dropped with their rule and reason (both in input order)."""

    kept: list[Instruction]
    dropped: list[Dropped]


def clean(records: Sequence[Instruction], config: RulesConfig, *, reference: Sequence[Instruction] = ()) -> CleanResult:
    """Apply the enabled rules in order; ``duplicate`` also compares items with the ``reference`` records."""
    kept: list[Instruction] = []
    dropped: list[Dropped] = []
    for record in records:
        for name in config.enabled:
            reason = None if name == DUPLICATE else RULES[name](record, config)
            if reason is not None:
                dropped.append(Dropped(record, name, reason))
                break
        else:
            kept.append(record)
    if DUPLICATE in config.enabled and kept:
        result = deduplicate([*reference, *kept], threshold=config.duplicate_threshold)
        # Keyed by object: a reference record may share an id with an item.
        twins = {id(record): (twin, similarity) for record, twin, similarity in result.removed}
        dropped += [
            Dropped(r, DUPLICATE, f"near-duplicate of {twins[id(r)][0]} (Jaccard {twins[id(r)][1]:.2f})")
            for r in kept
            if id(r) in twins
        ]
        kept = [r for r in kept if id(r) not in twins]
    order = {id(r): i for i, r in enumerate(records)}
    dropped.sort(key=lambda d: order[id(d.record)])
    return CleanResult(kept=kept, dropped=dropped)
