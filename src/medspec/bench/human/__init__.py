"""Human evaluation: blinded answers out to clinicians, their ratings in, agreement and plots out.

Two ways to collect ratings, one analysis:

- **In the browser** (:mod:`~medspec.bench.human.study`, :mod:`~medspec.bench.human.store`,
  :mod:`~medspec.bench.human.app`): a study of pairwise or pointwise units, a personal link per rater, every rating
  kept in SQLite the moment it is submitted; :mod:`~medspec.bench.human.analysis` analyses it.
- **In spreadsheets** (:mod:`~medspec.bench.human.kit`, :mod:`~medspec.bench.human.spreadsheet`): XLSX/CSV sheets per
  rater out, filled sheets checked cell by cell and read back.

:mod:`~medspec.bench.human.results` holds the per-criterion analysis both use.

Example:
    >>> from medspec.bench.human import Study, default_criteria
    >>> Study(mode="pointwise", criteria=default_criteria(), units=[]).models()
    []
"""

from medspec.bench.human.analysis import PreferenceResults, export_ratings_csv, study_results
from medspec.bench.human.kit import Rating, RatingKit, export_sheets, read_sheets
from medspec.bench.human.results import CriterionSummary, HumanResults
from medspec.bench.human.store import RatingStore, StoredRating
from medspec.bench.human.study import Study, Unit, create_study, rubric_criteria
from medspec.rubric import Criterion, default_criteria

__all__ = [
    "Criterion",
    "CriterionSummary",
    "HumanResults",
    "PreferenceResults",
    "Rating",
    "RatingKit",
    "RatingStore",
    "StoredRating",
    "Study",
    "Unit",
    "create_study",
    "default_criteria",
    "export_ratings_csv",
    "export_sheets",
    "read_sheets",
    "rubric_criteria",
    "study_results",
]
