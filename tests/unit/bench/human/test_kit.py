from __future__ import annotations

import csv
import json

import pytest
from openpyxl import load_workbook

from medspec.bench.human import RatingKit, export_sheets, read_sheets
from medspec.bench.human.results import HumanResults
from medspec.bench.judge.core import PointwiseJudgement
from medspec.bench.judge.report import JudgeReport
from medspec.bench.plots import plot_criteria
from medspec.errors import ConfigError, InvalidDataError
from tests.unit.bench.fakes import case_task, choice_task, echo_reference, qa_task, run_model

CRITERIA = ("usefulness", "harmfulness", "redundancy")


@pytest.fixture(scope="module")
def runs():
    tasks = [qa_task(4), case_task(), choice_task()]
    right = echo_reference(tasks[0])
    return [run_model(tasks, right, "ours"), run_model(tasks, lambda p: "多喝水。", "base")]


@pytest.fixture
def kit_dir(runs, tmp_path):
    export_sheets(runs, out=tmp_path, raters=["zhang", "li"], seed=1)
    return tmp_path


def scores_for(kit: RatingKit, code: str, rater: str) -> list[int]:
    """Rater zhang: ours 5/1/1, base 2/3/4; rater li agrees except one point lower on base's usefulness."""
    model = kit.answers[code]["model"]
    if model == "ours":
        return [5, 1, 1]
    return [2 if rater == "zhang" else 1, 3, 4]


def fill_xlsx(path, kit, rater):
    book = load_workbook(path)
    sheet = book["ratings"]
    header = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        code = row[header.index("code")].value
        for name, value in zip(CRITERIA, scores_for(kit, code, rater), strict=True):
            row[header.index(name)].value = value
    book.save(path)


def fill_csv(path, kit, rater, *, encoding="utf-8-sig", edit=None):
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    for row in rows[1:]:
        for name, value in zip(CRITERIA, scores_for(kit, row[0], rater), strict=True):
            row[header.index(name)] = str(value)
    if edit:
        edit(header, rows)
    with open(path, "w", encoding=encoding, newline="") as f:
        csv.writer(f).writerows(rows)


def test_sheets_are_blinded_shuffled_per_rater_and_cover_the_open_answers(runs, kit_dir):
    kit = RatingKit.load(kit_dir / "key.json")
    assert len(kit.answers) == 2 * (4 + 3 * 2)  # two models x (4 open + 6 case questions); choice items are not rated
    assert {a["model"] for a in kit.answers.values()} == {"ours", "base"}
    orders = {}
    for rater in ("zhang", "li"):
        with open(kit_dir / f"ratings_{rater}.csv", encoding="utf-8") as f:
            text = f.read()
        assert text.startswith("\ufeff")  # Excel reads the Chinese correctly
        assert "ours" not in text and "base" not in text
        rows = list(csv.reader(text.lstrip("\ufeff").splitlines()[1:2]))
        assert rows[0][1] == rater
        book = load_workbook(kit_dir / f"ratings_{rater}.xlsx")
        sheet = book["ratings"]
        orders[rater] = [row[0].value for row in sheet.iter_rows(min_row=2)]
        assert [c.value for c in sheet[1]] == kit.columns()
        assert len(sheet.data_validations.dataValidation) == 3 and "instructions" in book.sheetnames
    assert sorted(orders["zhang"]) == sorted(orders["li"]) == sorted(kit.answers)
    assert orders["zhang"] != orders["li"]


def test_filled_sheets_give_means_variance_and_agreement(kit_dir):
    kit = RatingKit.load(kit_dir / "key.json")
    fill_xlsx(kit_dir / "ratings_zhang.xlsx", kit, "zhang")
    fill_csv(kit_dir / "ratings_li.csv", kit, "li")
    ratings = read_sheets([kit_dir / "ratings_zhang.xlsx", kit_dir / "ratings_li.csv"], kit)
    human = HumanResults(kit, ratings)
    summary = human.summary(resamples=100)
    assert summary["ours"]["usefulness"].mean.value == 5 and summary["ours"]["usefulness"].variance == 0
    assert summary["base"]["usefulness"].mean.value == pytest.approx(1.5)  # 10 ratings of 2 and 10 of 1
    assert summary["base"]["usefulness"].variance == pytest.approx(0.25 * 20 / 19)  # sample variance
    assert summary["base"]["redundancy"].mean.value == 4
    alphas = human.inter_rater_alpha(resamples=200)
    assert alphas["harmfulness"].value == pytest.approx(1.0) and alphas["harmfulness"].n == 20
    assert 0.8 < alphas["usefulness"].value < 1.0 and alphas["usefulness"].low <= alphas["usefulness"].value
    judge = JudgeReport(
        "judge",
        kit.criteria,
        [
            PointwiseJudgement(
                a["task"], a["item"], a["model"], dict(zip(CRITERIA, scores_for(kit, c, "zhang"), strict=True)), ""
            )
            for c, a in kit.answers.items()
        ],
        [],
    )
    agreement = human.judge_agreement(judge)
    assert agreement["usefulness"].spearman.value == pytest.approx(1.0) and agreement["usefulness"].n == 20
    saved = json.loads(human.save(kit_dir / "human.json", judge=judge).read_text(encoding="utf-8"))
    assert saved["summary"]["ours"]["usefulness"]["mean"]["value"] == 5
    assert saved["judge_agreement"]["usefulness"]["spearman"]["value"] == pytest.approx(1.0)
    assert saved["krippendorff_alpha"]["harmfulness"]["value"] == pytest.approx(1.0)
    png = plot_criteria(summary, kit.criteria, kit_dir / "fig3.png")
    assert png.read_bytes().startswith(b"\x89PNG")


def test_every_problem_in_a_sheet_is_reported_with_row_and_column(kit_dir):
    kit = RatingKit.load(kit_dir / "key.json")

    def spoil(header, rows):
        rows[1][header.index("usefulness")] = "7"
        rows[2][header.index("harmfulness")] = "好"
        rows[3][header.index("redundancy")] = ""
        rows[4][0] = "NOCODE"
        rows[5][0] = rows[6][0]
        del rows[7]

    fill_csv(kit_dir / "ratings_li.csv", kit, "li", edit=spoil)
    with pytest.raises(InvalidDataError) as caught:
        read_sheets([kit_dir / "ratings_li.csv"], kit)
    messages = str(caught.value)
    assert "ratings_li.csv:2: field 'usefulness': expected a whole number from 1 to 5, got '7'" in messages
    assert "ratings_li.csv:3: field 'harmfulness': expected a whole number from 1 to 5, got '好'" in messages
    assert "ratings_li.csv:4: field 'redundancy': missing rating" in messages
    assert "ratings_li.csv:5: field 'code': unknown code 'NOCODE'" in messages
    assert "ratings_li.csv:7: field 'code': code" in messages and "repeats row 6" in messages
    assert "answers are missing" in messages


def test_missing_ratings_can_be_allowed(kit_dir):
    kit = RatingKit.load(kit_dir / "key.json")

    def blank_and_drop(header, rows):
        rows[1][header.index("usefulness")] = ""
        del rows[2]

    fill_csv(kit_dir / "ratings_li.csv", kit, "li", edit=blank_and_drop)
    ratings = read_sheets([kit_dir / "ratings_li.csv"], kit, allow_missing=True)
    assert len(ratings) == len(kit.answers) - 1
    assert sum("usefulness" not in r.scores for r in ratings) == 1


def test_a_sheet_resaved_as_gb18030_by_excel_still_reads(kit_dir):
    kit = RatingKit.load(kit_dir / "key.json")
    fill_csv(kit_dir / "ratings_li.csv", kit, "li", encoding="gb18030")
    assert len(read_sheets([kit_dir / "ratings_li.csv"], kit)) == len(kit.answers)


def test_structural_problems(kit_dir):
    kit = RatingKit.load(kit_dir / "key.json")

    def drop_column(header, rows):
        column = header.index("redundancy")
        for row in rows:
            del row[column]

    fill_csv(kit_dir / "ratings_li.csv", kit, "li", edit=drop_column)
    with pytest.raises(InvalidDataError, match=r"ratings_li\.csv:1: field 'redundancy': missing column"):
        read_sheets([kit_dir / "ratings_li.csv"], kit)
    fill_csv(kit_dir / "ratings_zhang.csv", kit, "zhang")
    copy = kit_dir / "again.csv"
    copy.write_bytes((kit_dir / "ratings_zhang.csv").read_bytes())
    with pytest.raises(InvalidDataError, match="rater 'zhang' already rated"):
        read_sheets([kit_dir / "ratings_zhang.csv", copy], kit)


def test_export_checks_its_arguments(runs, tmp_path):
    with pytest.raises(ConfigError, match="rater name"):
        export_sheets(runs, out=tmp_path, raters=["dr/zhang"])
    with pytest.raises(ConfigError, match="csv and/or xlsx"):
        export_sheets(runs, out=tmp_path, raters=["a"], formats=["pdf"])
    with pytest.raises(ConfigError, match="not an open or case task"):
        export_sheets(runs, out=tmp_path, raters=["a"], tasks=["choice"])
    kit, sheets = export_sheets(runs, out=tmp_path, raters=["a"], limit=2, formats=["csv"])
    assert len(kit.answers) == 2 * 2 * 2 and [p.suffix for p in sheets] == [".csv"]  # 2 items x 2 tasks x 2 models
