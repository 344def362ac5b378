"""Instruction, dialogue and preference formats: Alpaca (and its Huatuo-26M and CMtMedQA variants), ShareGPT and
OpenAI messages (with MedicalGPT's and LLaMA-Factory's preference fields), plain question/answer files.

Quirks handled: Zhongjing's copy of the Huatuo-26M test set wraps ``instruction`` and ``output`` in one-element
lists and the official one names its keys ``questions``/``answers``; CMtMedQA spells the key ``instruct`` in its 144
safety rows and carries earlier turns in ``history``; MedicalGPT's preference data gives ``chosen``/``rejected`` as
strings, LLaMA-Factory's as message objects.

Example:
    >>> from medspec.data.formats.registry import ConvertOptions
    >>> row = {"instruct": "腰麻后头痛怎么办？", "output": "平卧、补液，必要时硬膜外血补丁。", "history": []}
    >>> alpaca(row, "q-1", ConvertOptions()).instruction
    '腰麻后头痛怎么办？'
"""

from __future__ import annotations

from typing import Any

from medspec.data.formats.fields import Problems, raise_if, row_id, text, unwrap
from medspec.data.formats.registry import ConvertOptions
from medspec.data.schema import Instruction, PreferencePair, RecordProblems

__all__ = ["ALPACA_FIELDS", "alpaca", "messages", "preference", "qa", "sharegpt"]

ALPACA_FIELDS = frozenset({"id", "instruction", "instruct", "input", "output", "history", "system"})
_USER_ROLES = {"human", "user"}
_ASSISTANT_ROLES = {"gpt", "assistant", "chatgpt", "model", "bot"}


def _system(row: dict[str, Any]) -> str | None:
    value = unwrap(row.get("system"))
    return value if isinstance(value, str) and value.strip() else None


def _history(row: dict[str, Any], problems: Problems) -> list[tuple[str, str]]:
    raw = row.get("history") or []
    if not isinstance(raw, list):
        problems.append(("history", "expected a list of [user, assistant] pairs"))
        return []
    history = []
    for i, pair in enumerate(raw):
        if isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(t, str) and t.strip() for t in pair):
            history.append((pair[0], pair[1]))
        else:
            problems.append((f"history[{i}]", "expected a [user, assistant] pair of non-empty strings"))
    return history


def alpaca(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> Instruction:
    """An Alpaca row: ``instruction`` (or CMtMedQA's ``instruct``), ``input``, ``output``, ``history``, ``system``."""
    problems: Problems = []
    key = "instruction" if "instruction" in row else "instruct"
    instruction = text(row, key, problems)
    output = text(row, "output", problems, allow_empty=options.allow_empty)
    input_text = text(row, "input", problems, required=False)
    history = _history(row, problems)
    raise_if(problems)
    return Instruction(
        id=row_id(row, fallback_id),
        instruction=instruction,
        input=input_text,
        output=output,
        history=history,
        system=_system(row),
    )


def qa(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> Instruction:
    """A question/answer row: ``question``/``answer``, or Huatuo-26M's ``questions``/``answers`` (strings or
    one-element lists), with optional ``history`` and ``system``."""
    problems: Problems = []
    plural = "questions" in row
    question = text(row, "questions" if plural else "question", problems)
    answer = text(row, "answers" if plural else "answer", problems, allow_empty=options.allow_empty)
    history = _history(row, problems)
    raise_if(problems)
    return Instruction(
        id=row_id(row, fallback_id), instruction=question, output=answer, history=history, system=_system(row)
    )


def _turns(
    row: dict[str, Any], options: ConvertOptions, *, key: str, role_key: str, text_key: str, problems: Problems
) -> tuple[str | None, list[str]]:
    """The system prompt and the alternating user/assistant texts of a turn list (a leading system turn lifted)."""
    turns = row.get(key)
    if not isinstance(turns, list) or not turns:
        raise RecordProblems([(key, "expected a non-empty list of turns")])
    system = _system(row) or _system({"system": row.get("system_prompt")})
    dialogue: list[str] = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict):
            problems.append((f"{key}[{i}]", f"expected an object with '{role_key}' and '{text_key}'"))
            continue
        role, content = turn.get(role_key), turn.get(text_key)
        is_last = i == len(turns) - 1
        if not isinstance(content, str) or not (content.strip() or (is_last and "output" in options.allow_empty)):
            problems.append((f"{key}[{i}].{text_key}", "missing or empty; expected the turn's text"))
            continue
        if role == "system" and i == 0:
            system = content
            continue
        expected = _USER_ROLES if len(dialogue) % 2 == 0 else _ASSISTANT_ROLES
        if role not in expected:
            message = (
                f"expected one of {sorted(expected)} (turns must alternate user/assistant, starting with the user), "
                f"got {role!r}"
            )
            problems.append((f"{key}[{i}].{role_key}", message))
            continue
        dialogue.append(content)
    return system, dialogue


def _pairs(texts: list[str]) -> list[tuple[str, str]]:
    return [(texts[i], texts[i + 1]) for i in range(0, len(texts) - 1, 2)]


def _dialogue(
    row: dict[str, Any], fallback_id: str, options: ConvertOptions, *, key: str, role_key: str, text_key: str
) -> Instruction | PreferencePair:
    problems: Problems = []
    system, dialogue = _turns(row, options, key=key, role_key=role_key, text_key=text_key, problems=problems)
    if "chosen" in row or "rejected" in row:  # a preference pair: the dialogue ends with the user's turn
        chosen, rejected = _answer(row, "chosen", problems), _answer(row, "rejected", problems)
        if not problems and len(dialogue) % 2 == 0:
            problems.append((key, f"expected turns ending with the user's, got {len(dialogue)} turns"))
        raise_if(problems)
        return PreferencePair(
            id=row_id(row, fallback_id),
            prompt=dialogue[-1],
            chosen=chosen,
            rejected=rejected,
            history=_pairs(dialogue[:-1]),
            system=system,
        )
    if not problems and (len(dialogue) < 2 or len(dialogue) % 2):
        problems.append(
            (key, f"expected user/assistant pairs ending with an assistant turn, got {len(dialogue)} turns")
        )
    raise_if(problems)
    return Instruction(
        id=row_id(row, fallback_id),
        instruction=dialogue[-2],
        output=dialogue[-1],
        history=_pairs(dialogue[:-2]),
        system=system,
    )


def _answer(row: dict[str, Any], key: str, problems: Problems) -> str:
    """A preferred or rejected answer: a string (MedicalGPT) or a message object (LLaMA-Factory)."""
    value = row.get(key)
    if isinstance(value, dict):
        value = value.get("value", value.get("content"))
    return text({key: value}, key, problems)


def sharegpt(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> Instruction | PreferencePair:
    """A ShareGPT row: ``conversations`` of ``from``/``value`` turns (``human``/``gpt``), optional ``system``;
    with ``chosen`` and ``rejected`` (MedicalGPT, LLaMA-Factory) a preference pair."""
    return _dialogue(row, fallback_id, options, key="conversations", role_key="from", text_key="value")


def messages(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> Instruction | PreferencePair:
    """An OpenAI-style row: ``messages`` of ``role``/``content`` turns; with ``chosen``/``rejected`` a preference."""
    return _dialogue(row, fallback_id, options, key="messages", role_key="role", text_key="content")


def preference(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> PreferencePair:
    """A preference row: ``question`` (or Alpaca's ``instruction`` with ``input``, joined by a line break as
    LLaMA-Factory does), ``response_chosen``/``response_rejected`` (MedicalGPT before 2026) or ``chosen``/``rejected``,
    optional ``history`` and ``system``."""
    problems: Problems = []
    prompt = text(row, "question" if "question" in row else "instruction", problems)
    extra = text(row, "input", problems, required=False)
    if extra.strip():
        prompt = f"{prompt}\n{extra}"
    chosen = text(row, "response_chosen" if "response_chosen" in row else "chosen", problems)
    rejected = text(row, "response_rejected" if "response_rejected" in row else "rejected", problems)
    history = _history(row, problems)
    raise_if(problems)
    return PreferencePair(
        id=row_id(row, fallback_id),
        prompt=prompt,
        chosen=chosen,
        rejected=rejected,
        history=history,
        system=_system(row),
    )
