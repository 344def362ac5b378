"""Multiple-choice exam formats: CMExam, CMMLU, CMB-Exam, MedQA and AnesBench, as their authors publish them.

Quirks handled: CMExam's ``Options`` cell separates options with the two characters ``\\n`` (a backslash and an n,
as its CSV files are written) as well as with real line breaks, and some of its ``Answer`` cells are ``nan``;
CMB pads four-option questions with an empty ``E``; MedQA carries the answer both as text and as ``answer_idx``;
AnesBench holds each question in Chinese and English (``zh_*``/``en_*``), read in the language asked for.

Example:
    >>> from medspec.data.formats.registry import ConvertOptions
    >>> row = {"Question": "椎管内麻醉最常见的并发症是", "Options": "A 低血压\\\\nB 全脊麻", "Answer": "A"}
    >>> cmexam(row, "exam-1", ConvertOptions()).options
    {'A': '低血压', 'B': '全脊麻'}
"""

from __future__ import annotations

import re
from typing import Any

from medspec.data.formats.fields import Problems, is_missing, raise_if, row_id, text
from medspec.data.formats.registry import ConvertOptions
from medspec.data.schema import ChoiceQuestion, parse_answer_letters

__all__ = [
    "ANESBENCH_FIELDS",
    "ANESBENCH_QUESTIONS",
    "CMB_FIELDS",
    "CMEXAM_FIELDS",
    "MEDQA_FIELDS",
    "anesbench",
    "cmb",
    "cmexam",
    "cmmlu",
    "medqa",
]

# "A 低血压", "A. 低血压", "A、低血压", "A：低血压", "(A) 低血压"
_OPTION_LINE = re.compile(r"^\s*[(（]?([A-Z])[)）]?\s*[.．、:：)）]?\s*(.*?)\s*$")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n|\\n")  # real breaks, and the literal two characters "\n" of CMExam's CSVs
_LETTERS = "ABCDEFGHIJ"
CMEXAM_FIELDS = frozenset({"Question", "Options", "Answer", "Explanation"})
CMB_FIELDS = frozenset({"question", "option", "answer", "explanation"})
MEDQA_FIELDS = frozenset({"question", "options", "answer", "answer_idx"})
ANESBENCH_QUESTIONS = ("zh_question", "cn_question", "en_question")
ANESBENCH_FIELDS = frozenset(
    {"id", "answer", "choice_num", "question", *_LETTERS}
    | {f"{language}_question" for language in ("zh", "cn", "en")}
    | {f"{language}_{letter}" for language in ("zh", "cn", "en") for letter in _LETTERS}
)


def _answer(row: dict[str, Any], key: str, options: dict[str, str], problems: Problems) -> tuple[str, ...]:
    value = row.get(key)
    if is_missing(value) and (isinstance(value, float) or str(value).strip()):  # NaN, or pandas' text "nan"
        problems.append((key, f"is {value!r}, a missing value in the source file; the item has no answer key"))
        return ()
    letters = parse_answer_letters(value)
    if letters is None:
        problems.append((key, f"expected option letters like 'B' or 'ACD', got {value!r}"))
        return ()
    if options and not set(letters) <= set(options):
        missing = "".join(sorted(set(letters) - set(options)))
        problems.append((key, f"{missing!r} is not among the options {''.join(options)!r}"))
    return letters


def _choice(
    row: dict[str, Any],
    fallback_id: str,
    *,
    question_key: str,
    options: dict[str, str],
    answer_key: str,
    problems: Problems,
    explanation_key: str | None = None,
    meta: dict[str, Any] | None = None,
) -> ChoiceQuestion:
    question = text(row, question_key, problems)
    if len(options) < 2:
        problems.append((None, f"expected at least two options, found {len(options)}"))
    letters = _answer(row, answer_key, options, problems)
    explanation = text(row, explanation_key, problems, required=False) if explanation_key else ""
    raise_if(problems)
    return ChoiceQuestion(
        id=row_id(row, fallback_id),
        question=question,
        options=options,
        answer=letters,
        explanation=explanation,
        meta=meta or {},
    )


def _options_from_lines(value: Any, key: str, problems: Problems) -> dict[str, str]:
    if not isinstance(value, str) or is_missing(value):
        problems.append((key, "missing or empty; expected lines like 'A 选项内容'"))
        return {}
    options: dict[str, str] = {}
    for number, line in enumerate(_LINE_BREAKS.split(value.strip()), start=1):
        if not line.strip():
            continue
        match = _OPTION_LINE.match(line)
        if not match or not match.group(2):
            problems.append((key, f"option line {number} {line!r} does not start with a letter and its text"))
            continue
        if match.group(1) in options:
            problems.append((key, f"option {match.group(1)} appears twice"))
        options[match.group(1)] = match.group(2)
    return options


def _options_from_dict(value: Any, key: str, problems: Problems) -> dict[str, str]:
    if not isinstance(value, dict):
        problems.append((key, f"expected an object of lettered options, got {type(value).__name__}"))
        return {}
    options = {}
    for letter, option in sorted(value.items()):
        if not isinstance(letter, str) or len(letter) != 1 or not letter.isupper():
            problems.append((key, f"option key {letter!r} is not a capital letter"))
        elif not isinstance(option, str | int | float) or isinstance(option, bool):
            problems.append((f"{key}.{letter}", f"expected option text, got {type(option).__name__}"))
        else:
            options[letter] = str(option)
    # CMB pads four-option questions with empty or " " options, which its authors' own loader drops; an answer
    # that names a dropped option is still reported.
    return {letter: option for letter, option in options.items() if option.strip()}


def cmexam(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ChoiceQuestion:
    """A CMExam row: ``Question``, ``Options`` (one cell of lettered lines), ``Answer``, ``Explanation``."""
    problems: Problems = []
    choices = _options_from_lines(row.get("Options"), "Options", problems)
    return _choice(
        row,
        fallback_id,
        question_key="Question",
        options=choices,
        answer_key="Answer",
        problems=problems,
        explanation_key="Explanation",
    )


def cmmlu(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ChoiceQuestion:
    """A CMMLU row: ``Question``, ``A`` .. ``D``, ``Answer``; the subject is the file's name."""
    problems: Problems = []
    choices = {letter: text(row, letter, problems).strip() for letter in "ABCDEF" if letter in row}
    meta = {"subject": options.source} if options.source else {}
    return _choice(
        row, fallback_id, question_key="Question", options=choices, answer_key="Answer", problems=problems, meta=meta
    )


def cmb(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ChoiceQuestion:
    """A CMB-Exam row: ``question``, ``option`` (an object of lettered options), ``answer``, ``explanation``."""
    problems: Problems = []
    choices = _options_from_dict(row.get("option"), "option", problems)
    return _choice(
        row,
        fallback_id,
        question_key="question",
        options=choices,
        answer_key="answer",
        problems=problems,
        explanation_key="explanation",
    )


def medqa(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ChoiceQuestion:
    """A MedQA row (US or mainland, 4 or 5 options): ``question``, ``options``, ``answer`` text, ``answer_idx``."""
    problems: Problems = []
    choices = _options_from_dict(row.get("options"), "options", problems)
    answer_text = row.get("answer")
    letters = parse_answer_letters(row.get("answer_idx"))
    letter = letters[0] if letters and len(letters) == 1 and letters[0] in choices else None
    if isinstance(answer_text, str) and letter and answer_text.strip() != choices[letter].strip():
        problems.append(("answer", f"{answer_text!r} does not match option {letter} {choices[letter]!r}"))
    return _choice(
        row, fallback_id, question_key="question", options=choices, answer_key="answer_idx", problems=problems
    )


def _anesbench_prefix(row: dict[str, Any], language: str) -> str:
    """The key prefix of the asked language: ``zh_`` (or ``cn_``, as AnesBench's README spells it), ``en_``, or none
    in a one-language file."""
    candidates = ("zh_", "cn_") if language == "zh" else ("en_",)
    return next((prefix for prefix in candidates if f"{prefix}question" in row), "")


def anesbench(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ChoiceQuestion:
    """An AnesBench row: ``{language}_question``, ``{language}_A`` .., ``answer``, ``choice_num``, ``level``."""
    problems: Problems = []
    prefix = _anesbench_prefix(row, options.language)
    if f"{prefix}question" not in row:
        present = sorted(k for k in row if k.endswith("question"))
        problems.append((f"{options.language}_question", f"no question in language {options.language!r}: {present}"))
    choices = {
        letter: text(row, prefix + letter, problems) for letter in _LETTERS if not is_missing(row.get(prefix + letter))
    }
    declared = row.get("choice_num")
    if isinstance(declared, int | str) and str(declared).isdigit() and int(declared) != len(choices):
        problems.append(("choice_num", f"says {declared} options, the row has {len(choices)} in {prefix}A.."))
    return _choice(
        row, fallback_id, question_key=f"{prefix}question", options=choices, answer_key="answer", problems=problems
    )
