"""Clinical-case formats: CMB-Clin, and plain case/question/answer rows.

CMB-Clin's ``QA_pairs`` items carry ``question`` with ``answer`` in the released test file and with ``solution``
in the README's example; both spellings are read.

Example:
    >>> from medspec.data.formats.registry import ConvertOptions
    >>> row = {"case": "男，68岁，拟行全髋置换，服用氯吡格雷。", "question": "能否行腰麻？",
    ...        "answer": "停药满7天后方可。"}
    >>> case_qa(row, "c-1", ConvertOptions()).questions[0].answer
    '停药满7天后方可。'
"""

from __future__ import annotations

from typing import Any

from medspec.data.formats.fields import Problems, raise_if, row_id, text
from medspec.data.formats.registry import ConvertOptions
from medspec.data.schema import CaseQuestion, ClinicalCase

__all__ = ["case_qa", "cmb_clin"]


def cmb_clin(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ClinicalCase:
    """A CMB-Clin case: ``description``, ``QA_pairs`` of ``question`` with ``answer`` or ``solution``, ``title``."""
    problems: Problems = []
    case = text(row, "description", problems)
    pairs = row.get("QA_pairs")
    questions = []
    if not isinstance(pairs, list) or not pairs:
        problems.append(("QA_pairs", "expected a non-empty list of {question, answer} objects"))
        pairs = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, dict):
            problems.append((f"QA_pairs[{i}]", f"expected an object, got {type(pair).__name__}"))
            continue
        sub: Problems = []
        question = text(pair, "question", sub)
        answer = text(pair, "answer" if "answer" in pair else "solution", sub)
        problems.extend((f"QA_pairs[{i}].{field}", message) for field, message in sub)
        questions.append(CaseQuestion(question=question, answer=answer))
    raise_if(problems)
    return ClinicalCase(id=row_id(row, fallback_id), case=case, questions=questions)


def case_qa(row: dict[str, Any], fallback_id: str, options: ConvertOptions) -> ClinicalCase:
    """A case with one question: ``case``, ``question``, ``answer``."""
    problems: Problems = []
    case = text(row, "case", problems)
    question = text(row, "question", problems)
    answer = text(row, "answer", problems)
    raise_if(problems)
    return ClinicalCase(
        id=row_id(row, fallback_id), case=case, questions=[CaseQuestion(question=question, answer=answer)]
    )
