"""Reading the chosen options out of a model's answer to a multiple-choice question.

:func:`extract_choice` returns the option letters an answer commits to, or ``None`` when it commits to none: an
answer that cannot be read is counted as unparseable, never guessed, because a wrong reading is worse than none.
Before any rule, the answer is normalised (full-width characters, markdown emphasis, ``\\boxed{B}``), and two kinds
of answers are set aside:

* an uncertain answer (``也可能是``, ``不确定``, ``not sure``, ``could also be``, ``either … or``) reads as nothing;
* lines that echo the option list (lines opening with two or more different labels: ``A. …``, ``B、…``, a label
  alone, or a label and its own option text) are dropped before reading, so an echo reads as nothing rather than
  as its first or last letter; so is a one-line list of every option with its text.

Then the rules, first match wins:

1. An explicit statement, the last one in the answer: a cue (``答案``, ``正确答案``, ``答：``, ``选``, ``故选``,
   ``应选``, ``正确选项``, ``正确的是``; ``the answer is``, ``Answer:``, ``correct options are``, ``I would choose``,
   ``I'd go with``) as a whole word, followed by letters (``答案：B``, ``正确答案是A、C``, ``答案：A B D``,
   ``【答案】BD``, ``The answer is (B).``) or by option texts (``答案是地氟醚``). A sentence that ends the answer
   with ``是``/``为``/``is``/``as``/``so``/``:`` and option texts or letters counts too (``…首选药物是丹曲林。``,
   ``因此首先应采取的措施是A。``), unless its clause names an option itself (``A是丹曲林，B是新斯的明``); a single
   letter there needs a conclusion (``因此``, ``答案``, ``so``), as a letter may be a value (``血型为A``).
   Negated cues (``不选B``, ``I would not choose A``), optional ones (``可选``) and nouns (``的选择``) are no cues.
2. The whole answer is letters or option texts (``B``, ``(C)``, ``B和D``, ``ACD``, ``A B D``, ``地氟醚``).
3. The answer opens with letters followed by punctuation, a line break or its own option text (``B. 地氟醚……``,
   ``BD。因为……``, ``C IgE``); a lone letter followed by an English word is an article (``A vaccinated person``).
4. Options asserted correct (``A选项正确``, ``选项A、C正确``, ``Both A and C are correct``), all of them.
5. Letters in brackets that end the answer after their own option text (``…考虑为急性胆囊炎（B）。``), or as
   ``(option B)``.

A letter counts only as a whole word: never inside a word or a name (``HbA1c``, ``维生素B12``, ``anti-D``,
``E2V3M4``), and one followed by a Chinese character only when a connective (``选项``, ``正确``, ``和``, ``因为``…)
or its own option text follows, so ``B超``, ``A型``, ``B族`` are no letters. Several letters written together
(``ABD``) must be distinct option letters in order, so ``ABO``, ``CT`` and ``ECG`` are none. Letters must be among
the question's options and are returned sorted. Lower-case letters count only after a Chinese cue, alone, or ending
an English statement (``Answer: c``), so "answer is a drug" is not ``A``. Letters joined by ``或``/``还是``/``or``
(``A或B``) and a letter followed by another option's text (``答案：B. 地氟醚`` where A is 地氟醚) make the reading
unparseable.

Example:
    >>> options = {"A": "地氟醚", "B": "七氟醚", "C": "异氟醚", "D": "氧化亚氮"}
    >>> extract_choice("答案：B", options), extract_choice("正确答案是A、C。", options)
    (('B',), ('A', 'C'))
    >>> extract_choice("答案：A B D", options), extract_choice("首选B超检查以明确诊断", options) is None
    (('A', 'B', 'D'), True)
    >>> extract_choice("地氟醚", options), extract_choice("我无法确定", options) is None
    (('A',), True)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["extract_choice"]

Case = Literal["upper", "lower", "terminal"]
"""Which letters a position accepts: upper-case only, lower-case too, or lower-case only when a statement ends."""

_UNREADABLE = "unreadable"
Reading = tuple[str, ...] | str | None  # letters, _UNREADABLE (hedged or contradictory), or nothing

_UNCERTAIN = re.compile(
    r"也有?可能(?:是|选|包括|为)|都有可能|不太确定|不确定|无法确定|不能确定|拿不准"
    r"|(?i:\bnot\s+sure\b|\bunsure\b|\b(?:could|might|may)\s+also\s+be\b|\beither\b[^.\n]{0,40}\bor\b"
    r"|\btorn\s+between\b|\bnot\s+certain\b)"
)
_ECHO_LINE = re.compile(r"(?m)^[ \t]*\(?([A-Z])\)?(?:[ \t]*[.、:)](?!\d).*|[ \t]*$|[ \t]+(?P<text>.+))$")
_CUES = re.compile(
    r"(?P<zh_answer>正确答案|最佳答案|参考答案|标准答案|最终答案|答案|正确选项|最佳选项|正确的选项|正确的是|答(?=\s*:))"
    r"|(?P<zh_choose>(?:应当|应该|故|所以|因此)?选(?:择)?(?!项|择题|择性|题))"
    r"|(?P<en_answer>(?i:\b(?:answers?|(?:correct|best|right|final)[ \t]+(?:choices?|options?|selections?))\b"
    r"(?:[ \t]*(?:\bis\b|\bare\b|\bwould\s+be\b|\bwill\s+be\b|:|=|-))+[ \t]*(?:\b(?:options?|choices?)\b[ \t]*)?))"
    r"|(?P<en_choose>(?i:\b(?:choose|chose|choosing|select|selecting|pick|picking|go\s+with|going\s+with|opt\s+for)"
    r"\b[ \t]*(?:\b(?:options?|choices?)\b[ \t]*)?))"
    r"|(?P<final>[是为]|(?i:\b(?:is|are|as|so|thus|hence|therefore)\b)|:)"
)
_ZH_ANSWER_CONNECTOR = re.compile(r"(?:\s|应该|应当|应|可能|就是|是|为|选择|选项|选|:|=|】|\]|\))*")
_ZH_CHOOSE_CONNECTOR = re.compile(r"(?:[ \t]|:|=)*")
_FINAL_CONNECTOR = re.compile(r"[ \t,:]*")
_ZH_NEGATION = re.compile(r"(?:不|未|别|勿|没)[应该能会要当有]{0,2}$")
_EN_NEGATION = re.compile(r"(?i:\b(?:not|never)\s*$|n't\s*$|\bsuch\s+$)")
_TRAILING = re.compile(r"[\s.。!?)\]】]*")
_RUN = re.compile(r"[A-Z]+|[a-z]+")
_OPEN, _CLOSE = "([【", ")]】"
_CONTINUATION = re.compile(r"选项|项|正确|错误|不正确|对|错|是|为|和|与|以及|及|或|还是|因|所以|故|均|都")
_SEPARATOR = re.compile(
    r"(?P<conjunction>[ \t]*,?[ \t]*(?:(?i:\band\b)|和|与|以及|及|&|\+)[ \t]*)"
    r"|[ \t]*(?P<list>[、,;])[ \t]*|(?P<space>[ \t]+)"
)
_HEDGE = re.compile(r"[ \t]*,?[ \t]*(?:或者|或是|或|还是|(?i:\bor\b))[ \t]*")
_NAME_GAP = re.compile(r"[ \t.。、:)(\-]*")
_ALONE = re.compile(r"[ \t]*(?:$|[\n.。,;:!?)])")
_NEGATIVE = re.compile(
    r"[ \t]*(?:选项|项)?[ \t]*(?:是|为|(?P<all_zh>均|都)|也)?[ \t]*(?:错误|不正确|不对|错)"
    r"|(?i:[ \t]+(?:is|(?P<all_en>are))[ \t]+(?:also[ \t]+|all[ \t]+|both[ \t]+)?(?:wrong|incorrect|false|not)\b)"
)
_CLAUSE_END = re.compile(r"[\n.。,;:!?]")
_SENTENCE_END = re.compile(r"[\n.。!?]")
_CONCLUSION = re.compile(r"因此|所以|故|综上|总之|答案|选|(?i:\b(?:therefore|thus|hence|so|answers?)\b)")
_PRONOUN = re.compile(r"I[ \t]+(?!(?:is|are|and|or)\b)[a-z]")
_LEADING_END = "\n.。,、;:!?)]】"
_ASSERTION = re.compile(
    r"(?:[ \t]*(?:选项|项))?[ \t]*(?:是|为|均|都|也)?[ \t]*(?:正确|最佳|最合适|最恰当|对(?!于|比|照))"
    r"|(?i:[ \t]+(?:is|are)[ \t]+(?:both[ \t]+|all[ \t]+|also[ \t]+)?(?:correct|right|true)\b"
    r"|[ \t]+(?:is|are)[ \t]+the[ \t]+(?:correct|best|right)[ \t]+(?:answers?|options?|choices?)\b)"
)
_FINAL_BRACKETS = re.compile(r"\((?P<option>(?i:options?)|选项)?[ \t]*(?P<letters>[^()\n]{1,30})\)[\s.。!]*$")
_CORE_PREFIX = re.compile(r"^(?i:options?\b|选项)[ \t:]*")
_STRIP = " \t\r\n。.!;,:*"


@dataclass(frozen=True)
class _Found:
    """Letters read at one place: where the reading ends, how many items it named, and whether it holds."""

    letters: tuple[str, ...]
    end: int
    items: int = 1
    unreadable: bool = False
    named: bool = False  # a single letter followed by its own option text (``B. 七氟醚``)

    def reading(self) -> Reading:
        return _UNREADABLE if self.unreadable else self.letters


class _Options:
    """The question's option letters and texts, the texts folded for case-insensitive matching."""

    def __init__(self, options: Mapping[str, str]) -> None:
        self.letters = frozenset(options)
        owners: dict[str, set[str]] = {}
        for letter, text in options.items():
            for name in _names_of(_normalise(text)):
                owners.setdefault(_fold(name), set()).add(letter)
        unique = [(name, next(iter(letters))) for name, letters in owners.items() if len(letters) == 1]
        self._names = sorted(unique, key=lambda pair: -len(pair[0]))

    def name_at(self, folded: str, position: int) -> tuple[str, int] | None:
        """The option whose text (the longest that fits) starts at ``position``, and where that text ends."""
        for name, letter in self._names:
            if folded.startswith(name, position) and _stands_alone(folded, position, name):
                return letter, position + len(name)
        return None

    def name_before(self, folded: str, position: int) -> str | None:
        """The option whose text (the longest that fits) ends at ``position``, spaces aside."""
        head = folded[:position].rstrip(" \t")
        for name, letter in self._names:
            if head.endswith(name) and _stands_alone(head, len(head) - len(name), name):
                return letter
        return None


def _stands_alone(folded: str, start: int, name: str) -> bool:
    """True when an option text found at ``start`` is no part of a longer word (``Vitamin B1`` in ``Vitamin B12``)."""
    runs_on = _is_word(name[-1]) and _is_word_at(folded, start + len(name))
    runs_in = _is_word(name[0]) and _is_word_at(folded, start - 1)
    return not (runs_on or runs_in)


def _names_of(text: str) -> list[str]:
    """An option's text and, when it ends in brackets, the text before them and the bracketed part."""
    names = [text.strip()]
    bracketed = re.fullmatch(r"(.+?)\s*\(([^()]+)\)", names[0])
    if bracketed:
        names += [part.strip() for part in bracketed.groups() if len(part.strip()) > 1]
    return [name for name in names if name]


def _normalise(text: str) -> str:
    """Full-width to ASCII (NFKC), markdown emphasis, headings, LaTeX ``$`` and ``\\boxed{}`` removed."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\\boxed\{([^{}]*)\}", r"\1", text)
    text = re.sub(r"(?m)^[ \t]*#+[ \t]*", "", text)
    return re.sub(r"\*\*|__|`|\$", "", text)


def _fold(text: str) -> str:
    """ASCII letters lower-cased, every other character kept: positions stay the same."""
    return "".join(ch.lower() if ch.isascii() else ch for ch in text)


def _is_word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _is_word_at(text: str, position: int) -> bool:
    return 0 <= position < len(text) and _is_word(text[position])


def _is_chinese_at(text: str, position: int) -> bool:
    return 0 <= position < len(text) and unicodedata.category(text[position]) == "Lo"


def _glued_before(text: str, position: int) -> bool:
    """True when the character before ``position`` makes a letter there part of a word (``HbA1c``, ``anti-D``)."""
    return _is_word_at(text, position - 1) or (position > 0 and text[position - 1] in "-'")


def _glued_after(text: str, position: int) -> bool:
    """True when a letter ending at ``position`` runs on into a word (``B12``, ``D-dimer``, ``A's``)."""
    if _is_word_at(text, position):
        return True
    return position < len(text) and text[position] in "-'" and _is_word_at(text, position + 1)


def _without_echo(text: str, options: _Options) -> str:
    """The answer with the lines that echo the option list blanked, when two or more labels are echoed.

    An echoed line is a label with punctuation (``A. …``, ``B、…``), a label alone, or a label, a space and that
    option's own text (``A 丹曲林``).
    """
    echoed = [match for match in _ECHO_LINE.finditer(text) if _is_echo_line(match, options)]
    if len({match.group(1) for match in echoed}) < 2:
        return text
    for match in reversed(echoed):
        text = text[: match.start()] + text[match.end() :]
    return text


def _is_echo_line(line: re.Match[str], options: _Options) -> bool:
    """True for a label with punctuation or alone; a label and a space only when its own option text follows."""
    if line.group("text") is None:
        return True
    named = options.name_at(_fold(line.group("text")).rstrip(), 0)
    return named is not None and named[0] == line.group(1)


def _token_at(text: str, folded: str, position: int, options: _Options, case: Case) -> _Found | None:
    """One letter, or letters written together (``ABD``), at ``position`` as a whole word, optionally bracketed."""
    start = position
    opened = position < len(text) and text[position] in _OPEN
    position += int(opened)
    run = _RUN.match(text, position)
    if run is None or (not opened and _glued_before(text, start)) or _glued_after(text, run.end()):
        return None
    letters, end = run.group().upper(), run.end()
    if _PRONOUN.match(text, run.start()):
        return None
    if list(letters) != sorted(set(letters)) or not set(letters) <= options.letters:
        return None
    if run.group().islower() and not _lower_case_allowed(text, end + opened, len(letters), case):
        return None
    if opened:
        if end >= len(text) or text[end] not in _CLOSE:
            return None
        end += 1
    if _is_chinese_at(text, end) and not _continues(text, folded, end, letters, options):
        return None
    return _Found(tuple(letters), end)


def _lower_case_allowed(text: str, end: int, count: int, case: Case) -> bool:
    """Lower-case letters where ``case`` allows them; ``terminal`` takes one letter that ends a statement."""
    if case == "lower":
        return True
    return case == "terminal" and count == 1 and (end >= len(text) or text[end] in ".)。!,;\n")


def _continues(text: str, folded: str, position: int, letters: str, options: _Options) -> bool:
    """True when the Chinese after a letter is a connective (``选项``, ``正确``…) or the letter's own text."""
    if _CONTINUATION.match(text, position):
        return True
    named = options.name_at(folded, position)
    return len(letters) == 1 and named is not None and named[0] == letters


def _after_own_text(text: str, folded: str, found: _Found, options: _Options) -> _Found:
    """Skips the letter's own option text after it (``B. 七氟醚``); another option's text there contradicts it.

    After a full stop (``答案：E。丹曲林…``) only an option text standing alone is read, as a sentence may follow.
    """
    gap = _NAME_GAP.match(text, found.end)
    named = options.name_at(folded, gap.end()) if gap else None
    if named is None or len(found.letters) != 1:
        return found
    letter, end = named
    if "。" in gap.group() and not _ALONE.match(text, end):
        return found
    if letter != found.letters[0]:
        return _Found(found.letters, end, unreadable=True)
    if "(" in gap.group() and end < len(text) and text[end] == ")":
        end += 1
    return _Found(found.letters, end, named=True)


def _hedged_after(text: str, folded: str, position: int, options: _Options) -> bool:
    """True when ``或``/``还是``/``or`` and another letter or option text follow ``position``."""
    hedge = _HEDGE.match(text, position)
    if hedge is None or hedge.end() == position or not re.search(r"或|还是|or", hedge.group(), re.IGNORECASE):
        return False
    return (
        _token_at(text, folded, hedge.end(), options, "upper") is not None
        or options.name_at(folded, hedge.end()) is not None
    )


def _letters_at(text: str, folded: str, position: int, options: _Options, case: Case) -> _Found | None:
    """Letters named one after another from ``position``: ``A、B、D``, ``A, B, and D``, ``A B D``, ``(A)(B)``.

    The list separator must stay the same (``A、B、C、E，D与…`` stops at E); a conjunction (``和``, ``and``) ends the
    list after one more letter, a letter called wrong after the first (``A and B is wrong``, ``A；B错误``) is left
    out (a list called wrong as a whole, ``A、B均错误``, reads as nothing), and letters written together (``ACE``)
    end it at once. A list of every option, each with its own text, is an echo of the options.
    """
    letters: list[str] = []
    end, items, named, style, last = position, 0, 0, None, False
    while (found := _token_at(text, folded, position, options, case if not items else "upper")) is not None:
        found = _after_own_text(text, folded, found, options)
        if found.unreadable or _hedged_after(text, folded, found.end, options):
            return _Found(found.letters, found.end, items + 1, unreadable=True)
        if items and (negative := _NEGATIVE.match(text, found.end)):
            if negative.group("all_zh") or negative.group("all_en"):
                return _Found(tuple(letters), found.end, items, unreadable=True)
            break
        letters += found.letters
        end, items, named = found.end, items + 1, named + found.named
        if last or len(found.letters) > 1:
            break
        if text[end - 1 : end] in _CLOSE and text[end : end + 1] in _OPEN:
            position = end
            continue
        separator = _SEPARATOR.match(text, end)
        if separator is None:
            break
        kind = "conjunction" if separator.group("conjunction") else separator.group("list") or "space"
        if kind != "conjunction" and style not in (None, kind):
            break
        style, last, position = (style if kind == "conjunction" else kind), kind == "conjunction", separator.end()
    if not letters:
        return None
    echo = items > 1 and named == items and set(letters) == options.letters
    return _Found(tuple(sorted(set(letters))), end, items, unreadable=echo)


def _texts_at(text: str, folded: str, position: int, options: _Options) -> _Found | None:
    """Option texts named one after another from ``position`` (the longest that fits), as their letters."""
    letters: list[str] = []
    end = position
    while (named := options.name_at(folded, position)) is not None:
        letters.append(named[0])
        end = named[1]
        if _hedged_after(text, folded, end, options):
            return _Found(tuple(letters), end, len(letters), unreadable=True)
        separator = _SEPARATOR.match(text, end)
        if separator is None:
            break
        position = separator.end()
    return _Found(tuple(sorted(set(letters))), end, len(letters)) if letters else None


def _named_at(text: str, folded: str, position: int, options: _Options, case: Case) -> _Found | None:
    """Letters at ``position``, else option texts there."""
    return _letters_at(text, folded, position, options, case) or _texts_at(text, folded, position, options)


def _negated(text: str, cue: re.Match[str]) -> bool:
    """True for a cue that is negated (``不选``, ``not choose``), optional (``可选``) or a noun (``的选择``)."""
    before = text[max(0, cue.start() - 8) : cue.start()]
    kind = cue.lastgroup
    if kind == "zh_choose":
        return before[-1:] in ("可", "的") or _ZH_NEGATION.search(before) is not None
    if kind == "final":
        return before[-1:] in ("不", "非") or _EN_NEGATION.search(before) is not None
    return kind == "en_choose" and _EN_NEGATION.search(before) is not None


def _names_an_option(text: str, folded: str, start: int, end: int, options: _Options) -> bool:
    """True when a letter or an option text stands between ``start`` and ``end``."""
    return any(
        options.name_at(folded, position) is not None or _token_at(text, folded, position, options, "upper") is not None
        for position in range(start, end)
    )


def _closes_the_answer(text: str, folded: str, cue: re.Match[str], found: _Found, options: _Options) -> bool:
    """True when a closing ``是``/``为``/``is``/``as``/``so``/``:`` reading ends the answer and states its choice.

    The reading must end the text; the clause before the cue must name no option (``A是丹曲林，B是新斯的明``); and a
    single letter needs a conclusion in its sentence (``因此``, ``答案``, ``so``), as letters are values too
    (``血型为A``, ``Child-Pugh分级为C``, ``Her blood type is A``).
    """
    if _TRAILING.fullmatch(text, found.end) is None:
        return False
    clause_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, cue.start())), default=0)
    if _names_an_option(text, folded, clause_start, cue.start(), options):
        return False
    if found.items > 1 or options.name_at(folded, _FINAL_CONNECTOR.match(text, cue.end()).end()) is not None:
        return True
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, cue.start())), default=0)
    return _CONCLUSION.search(text, sentence_start, cue.end()) is not None


def _cue_start(text: str, cue: re.Match[str]) -> tuple[int, Case]:
    """Where the letters after a cue begin, and which letters that position accepts."""
    kind = cue.lastgroup
    if kind == "zh_answer":
        return _ZH_ANSWER_CONNECTOR.match(text, cue.end()).end(), "lower"
    if kind == "zh_choose":
        return _ZH_CHOOSE_CONNECTOR.match(text, cue.end()).end(), "lower"
    if kind == "final":
        return _FINAL_CONNECTOR.match(text, cue.end()).end(), "upper"
    return cue.end(), "terminal"


def _explicit(text: str, folded: str, options: _Options) -> Reading:
    """Rule 1: what the last cue followed by letters or option texts says."""
    reading: Reading = None
    for cue in _CUES.finditer(text):
        if _negated(text, cue):
            continue
        start, case = _cue_start(text, cue)
        found = _named_at(text, folded, start, options, case)
        if found is None:
            continue
        if cue.lastgroup == "final" and not _closes_the_answer(text, folded, cue, found, options):
            continue
        reading = found.reading()
    return reading


def _whole(text: str, folded: str, options: _Options) -> Reading:
    """Rule 2: the answer is nothing but letters or option texts."""
    core = _CORE_PREFIX.sub("", text.strip(_STRIP))
    found = _named_at(core, _fold(core), 0, options, "lower")
    if found is not None and (found.unreadable or found.end == len(core)):
        return found.reading()
    return None


def _leading(text: str, folded: str, options: _Options) -> Reading:
    """Rule 3: the answer opens with letters followed by punctuation, a line break or the letter's own text."""
    start = len(text) - len(text.lstrip())
    found = _letters_at(text, folded, start, options, "upper")
    if found is None or found.unreadable:
        return found.reading() if found else None
    rest = text[found.end :]
    if not rest or rest[0] in _LEADING_END:
        return found.letters
    after_space = rest.lstrip(" \t")
    if rest[0] in " \t" and after_space and (found.items > 1 or not _is_word(after_space[0])):
        return found.letters
    return None


def _asserted(text: str, folded: str, options: _Options) -> Reading:
    """Rule 4: every option the answer calls correct (``A选项正确``, ``Options A and C are correct``)."""
    letters: set[str] = set()
    for candidate in re.finditer(r"[(\[【]?[A-Z]", text):
        found = _letters_at(text, folded, candidate.start(), options, "upper")
        if found is not None and _ASSERTION.match(text, found.end):
            if found.unreadable:
                return _UNREADABLE
            letters.update(found.letters)
    return tuple(sorted(letters)) if letters else None


def _final_brackets(text: str, folded: str, options: _Options) -> Reading:
    """Rule 5: letters in brackets that end the answer (``…急性胆囊炎（B）。``, ``…(option B).``).

    Bare brackets count after their own option text; another option's text before them contradicts them.
    """
    match = _FINAL_BRACKETS.search(text)
    if match is None:
        return None
    found = _letters_at(text, folded, match.start("letters"), options, "upper")
    if found is None or (not found.unreadable and found.end != match.end("letters")):
        return None
    before = options.name_before(folded, match.start())
    if found.unreadable or (before is not None and found.letters != (before,)):
        return _UNREADABLE
    return found.letters if before is not None or match.group("option") else None


def extract_choice(answer: str, options: Mapping[str, str]) -> tuple[str, ...] | None:
    """The option letters an answer commits to, sorted, or ``None`` when it commits to none.

    Args:
        answer: The model's answer text.
        options: The question's options, letter to text.

    Returns:
        The letters, or ``None`` for an unparseable, uncertain, hedged or contradictory answer.

    Example:
        >>> extract_choice("B和D", {"A": "x", "B": "y", "C": "z", "D": "w"})
        ('B', 'D')
    """
    choices = _Options(options)
    text = _without_echo(_normalise(answer), choices)
    if not text.strip() or _UNCERTAIN.search(text):
        return None
    folded = _fold(text)
    for rule in (_explicit, _whole, _leading, _asserted, _final_brackets):
        reading = rule(text, folded, choices)
        if reading is not None:
            return reading if isinstance(reading, tuple) else None
    return None
