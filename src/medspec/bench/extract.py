"""Reading the chosen options out of a model's answer to a multiple-choice question.

:func:`extract_choice` returns the option letters an answer commits to, or ``None`` when it commits to none: an
answer that cannot be read is counted as unparseable, never guessed. Rules, first match wins:

1. An explicit statement, the last one in the answer: a cue (``答案``, ``正确答案``, ``选``, ``故选``, ``应选``,
   ``正确选项``, ``answer``) followed by letters (``答案：B``, ``正确答案是A、C``, ``选B。``, ``【答案】BD``) or by
   option texts (``答案是地氟醚``). A hedged statement (``A或B``) makes the answer unparseable.
2. The whole answer is letters or option texts (``B``, ``(C)``, ``B和D``, ``ACD``, ``地氟醚``).
3. The answer opens with letters followed by punctuation or a space (``B. 地氟醚……``, ``BD。因为……``).
4. Options asserted correct (``A选项正确``, ``选项C正确``), all of them.

Letters must be among the question's options and are returned sorted; full-width characters are normalised first.
Lower-case letters count only right after a Chinese cue or alone, so an English "answer is a ..." is not read as
``A``; an answer that merely echoes the option list (``A. …`` and ``B. …`` on their own lines) is not read as its
first letter.

Example:
    >>> options = {"A": "地氟醚", "B": "七氟醚", "C": "异氟醚", "D": "氧化亚氮"}
    >>> extract_choice("答案：B", options), extract_choice("正确答案是A、C。", options)
    (('B',), ('A', 'C'))
    >>> extract_choice("地氟醚", options), extract_choice("我无法确定", options) is None
    (('A',), True)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

__all__ = ["extract_choice"]

_SEPARATOR = re.compile(r"\s*(?:、|,|，|和|与|以及|及|/|;|；|\+|&)\s*")
_HEDGE = re.compile(r"\s*(?:或者|或|还是|or)\s*")
_CHINESE_CUE = (
    r"正确答案|最佳答案|参考答案|标准答案|最终答案|答案|正确选项|最佳选项|正确的选项|正确的是|应当选择|应该选择|应选择"
    r"|应当选|应该选|应选|故选择|故选|所以选择|所以选|因此选择|因此选|选择|选"
)
_CUE = re.compile(rf"(?P<zh>{_CHINESE_CUE})|(?P<en>(?i:answer))")
_ZH_CONNECTOR = re.compile(r"(?:\s|应该|应当|应|可能|是|为|选|:|=|】|\]|\)|\*)*")
_EN_CONNECTOR = re.compile(r"(?i:\s|is|are|:|\*)*")
_UPPER_GROUP = re.compile(rf"\(?[A-Z]\)?(?:(?:{_SEPARATOR.pattern})?\(?[A-Z]\)?)*")
_ANY_GROUP = re.compile(rf"\(?[A-Za-z]\)?(?:(?:{_SEPARATOR.pattern})?\(?[A-Za-z]\)?)*")
_ASSERTED = re.compile(r"(?:选项)?\(?([A-Z])\)?\s*(?:选项|项)?\s*(?:是|为)?\s*(?:正确|最佳|最合适|最恰当)")
_OPTION_LABEL = re.compile(r"(?m)^\s*\(?([A-Z])\)?\s*[.、:)]")
_TRAILING = " \t\r\n。.!;,:*】])"
_LEADING = " \t\r\n*【[(:"
_AFTER_LEADING = " \t\r\n.。、:,)"
_HEDGED = "hedged"

Reading = tuple[str, ...] | None | str  # letters, nothing, or _HEDGED


def _normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("**", "")


def _letters(group: str, options: Mapping[str, str]) -> tuple[str, ...] | None:
    """Sorted letters of a matched group, or None when one of them is not an option."""
    letters = {ch.upper() for ch in group if ch.isascii() and ch.isalpha()}
    if not letters or not letters <= set(options):
        return None
    return tuple(sorted(letters))


def _is_word_char(text: str, position: int) -> bool:
    return 0 <= position < len(text) and text[position].isascii() and text[position].isalpha()


def _hedged_after(text: str, position: int, next_item: re.Pattern[str] | None = None) -> bool:
    """True when ``position`` is followed by "或"/"还是"/"or" and another letter (or option)."""
    hedge = _HEDGE.match(text, position)
    if hedge is None or hedge.end() == position:
        return False
    pattern = next_item or re.compile(r"\(?[A-Za-z](?![A-Za-z])")
    return pattern.match(text, hedge.end()) is not None


def _letters_at(text: str, start: int, pattern: re.Pattern[str], options: Mapping[str, str]) -> Reading:
    match = pattern.match(text, start)
    if match is None or _is_word_char(text, match.end()):
        return None
    if _hedged_after(text, match.end()):
        return _HEDGED
    return _letters(match.group(), options)


def _option_texts_at(text: str, start: int, options: Mapping[str, str]) -> Reading:
    """Option texts named one after another from ``start`` (longest first), as their letters."""
    by_length = sorted(((_normalise(t).strip(), k) for k, t in options.items()), key=lambda p: -len(p[0]))
    alternatives = re.compile("|".join(re.escape(t) for t, _ in by_length if t))
    found: list[str] = []
    position = start
    while (hit := next(((t, k) for t, k in by_length if t and text.startswith(t, position)), None)) is not None:
        found.append(hit[1])
        position += len(hit[0])
        if _hedged_after(text, position, alternatives):
            return _HEDGED
        separator = _SEPARATOR.match(text, position)
        if separator is None:
            break
        position = separator.end()
    return tuple(sorted(set(found))) if found else None


def _explicit(text: str, options: Mapping[str, str]) -> Reading | bool:
    """Rule 1: what the last cue followed by letters or option texts says; False when there is none."""
    result: Reading | bool = False
    for cue in _CUE.finditer(text):
        chinese = cue.group("zh") is not None
        if not chinese and _is_word_char(text, cue.start() - 1):
            continue
        connector = (_ZH_CONNECTOR if chinese else _EN_CONNECTOR).match(text, cue.end())
        start = connector.end() if connector else cue.end()
        reading = _letters_at(text, start, _ANY_GROUP if chinese else _UPPER_GROUP, options)
        if reading is None:
            reading = _option_texts_at(text, start, options)
        if reading is not None:
            result = reading
    return result


def _whole(text: str, options: Mapping[str, str]) -> Reading:
    """Rule 2: the answer is nothing but letters or option texts."""
    core = text.strip(_TRAILING).lstrip(_LEADING).strip(_TRAILING)
    if not core:
        return None
    if _ANY_GROUP.fullmatch(core):
        return _letters(core, options)
    named = _option_texts_at(core, 0, options)
    if isinstance(named, tuple) and _only_options(core, named, options):
        return named
    return None


def _only_options(core: str, letters: tuple[str, ...], options: Mapping[str, str]) -> bool:
    rest = core
    for text in sorted((_normalise(options[k]).strip() for k in letters), key=len, reverse=True):
        rest = rest.replace(text, "")
    return _SEPARATOR.sub("", rest) == ""


def _leading(text: str, options: Mapping[str, str]) -> Reading:
    """Rule 3: the answer opens with letters followed by punctuation or a space (not an echo of the options)."""
    if len(set(_OPTION_LABEL.findall(text))) > 1:
        return None
    body = text.lstrip(_LEADING)
    match = _UPPER_GROUP.match(body)
    if match is None or match.end() >= len(body) or body[match.end()] not in _AFTER_LEADING:
        return None
    if _hedged_after(body, match.end()):
        return _HEDGED
    return _letters(match.group(), options)


def _asserted(text: str, options: Mapping[str, str]) -> Reading:
    """Rule 4: every option the answer calls correct."""
    letters = {m.group(1) for m in _ASSERTED.finditer(text) if not _is_word_char(text, m.start() - 1)}
    if not letters or not letters <= set(options):
        return None
    return tuple(sorted(letters))


def extract_choice(answer: str, options: Mapping[str, str]) -> tuple[str, ...] | None:
    """The option letters an answer commits to, sorted, or ``None`` when it commits to none.

    Args:
        answer: The model's answer text.
        options: The question's options, letter to text.

    Returns:
        The letters, or ``None`` for an unparseable or hedged answer.

    Example:
        >>> extract_choice("B和D", {"A": "x", "B": "y", "C": "z", "D": "w"})
        ('B', 'D')
    """
    text = _normalise(answer)
    reading = _explicit(text, options)
    if reading is False:
        reading = next((r for rule in (_whole, _leading, _asserted) if (r := rule(text, options)) is not None), None)
    return reading if isinstance(reading, tuple) else None
