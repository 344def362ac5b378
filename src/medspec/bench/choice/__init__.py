"""Multiple-choice questions: scoring modes (letter, cloze, generate), circular evaluation, answer extraction.

See :mod:`medspec.bench.choice.modes` for how each mode picks an answer and :mod:`medspec.bench.choice.scoring`
for how answers become figures.
"""

from medspec.bench.choice.modes import candidate_answers, choose_by_cloze, choose_by_letter
from medspec.bench.choice.scoring import score_choice_task

__all__ = ["candidate_answers", "choose_by_cloze", "choose_by_letter", "score_choice_task"]
