"""The comparison report: Markdown tables laid out like the papers', JSON, and PNG charts.

One table per task and scoring setting with a row per model and a column per figure (accuracy beside its extraction
rate; ROUGE, BLEU, GLEU and Distinct in the papers' order; bits per character), each cell the figure with its
bootstrap interval and the best in bold; each model's difference from the first with its paired bootstrap interval
(:mod:`medspec.bench.compare`); runs scored with other settings in tables of their own, with a note saying what
differs; the letters chosen against the key's; the headline figure per topic tag; warnings for failed generations
and for items that overlap training data. With a
:class:`~medspec.bench.judge.report.JudgeReport`, the judge's mean scores and win/tie/lose rates follow; with
:class:`~medspec.bench.human.results.HumanResults`, the human ratings, their agreement and the judge-human agreement;
:func:`preference_markdown` does the same for a pairwise browser study.

Example:
    >>> from medspec.bench.bootstrap import Estimate
    >>> from medspec.bench.results import BenchmarkResult, TaskResult
    >>> task = TaskResult("AneCQ-sample", "choice", "Acc", {"Acc": Estimate(61.0, 52.0, 69.0, 133)})
    >>> print(task_table([BenchmarkResult("demo", {"AneCQ-sample": task})], "AneCQ-sample"))
    | Model | Acc |
    |---|---:|
    | demo | 61.00 [52.00, 69.00] |
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from medspec.bench.compare import PairedDelta, comparable_groups, paired_deltas, setting_differences
from medspec.bench.human.analysis import PreferenceResults
from medspec.bench.human.results import HumanResults
from medspec.bench.judge.report import JudgeReport
from medspec.bench.plots import plot_criteria, plot_task, plot_win_tie_lose
from medspec.bench.results import LOWER_IS_BETTER, BenchmarkResult
from medspec.durable import atomic_write_text

__all__ = ["Report", "human_markdown", "judge_markdown", "preference_markdown", "task_table"]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def task_table(results: Sequence[BenchmarkResult], task: str) -> str:
    """One task as a Markdown table: a row per model, a column per figure, the best value in bold.

    A column is bolded only where the models differ (a value that every model shares is nobody's best); for bits
    per character the best is the lowest.
    """
    having = [r for r in results if task in r.tasks]
    names = list(having[0].tasks[task].figures)
    best: dict[str, float] = {}
    for name in names:
        values = [v for r in having if not math.isnan(v := r.tasks[task].figures[name].value)]
        if values and max(values) > min(values):
            best[name] = min(values) if name in LOWER_IS_BETTER else max(values)
    rows = []
    for result in results:
        if task not in result.tasks:
            rows.append([result.model, *("—" for _ in names)])
            continue
        cells = []
        for name in names:
            estimate = result.tasks[task].figures[name]
            text = estimate.format()
            if estimate.value == best.get(name):
                head, _, tail = text.partition(" ")
                text = f"**{head}** {tail}"
            cells.append(text)
        rows.append([result.model, *cells])
    return _table(["Model", *names], rows)


def _tag_table(results: Sequence[BenchmarkResult], task: str) -> str | None:
    having = [r for r in results if task in r.tasks and r.tasks[task].by_tag]
    if not having:
        return None
    tags = list(dict.fromkeys(t for r in having for t in r.tasks[task].by_tag))
    rows = [
        [
            r.model,
            *(r.tasks[task].by_tag[t].format(1, interval=False) if t in r.tasks[task].by_tag else "—" for t in tags),
        ]
        for r in having
    ]
    return _table(["Model", *tags], rows)


def _warnings(results: Sequence[BenchmarkResult], task: str) -> list[str]:
    notes = []
    for result in results:
        outcome = result.tasks.get(task)
        if outcome is None:
            continue
        if outcome.counts.get("errors"):
            notes.append(f"> {result.model}: {outcome.counts['errors']} answers failed to generate and score 0.")
        if outcome.contaminated:
            shown = ", ".join(outcome.contaminated[:5]) + (", ..." if len(outcome.contaminated) > 5 else "")
            notes.append(
                f"> **Contamination:** {result.model}: {len(outcome.contaminated)} items overlap its training data "
                f"({shown}); their scores may be inflated."
            )
    return notes


def _not_comparable(groups: Sequence[Sequence[BenchmarkResult]], task: str) -> str:
    base = groups[0][0]
    notes = []
    for group in groups[1:]:
        other = group[0]
        differences = "; ".join(setting_differences(base.tasks[task].settings, other.tasks[task].settings))
        notes.append(f"{base.model} and {other.model}: {differences}")
    return (
        "> **Not comparable:** these runs were scored with different settings, so their figures measure different "
        "things; each setting has its own table and no difference is computed across them (" + " | ".join(notes) + ")."
    )


def _delta_table(deltas: Sequence[PairedDelta]) -> str:
    rows = [[d.model, d.baseline, str(d.delta.n), d.delta.format(), d.verdict] for d in deltas]
    return _table([f"Δ {deltas[0].figure}", "against", "items", "Δ [interval]", "verdict"], rows)


def _letters_line(results: Sequence[BenchmarkResult], task: str) -> str | None:
    having = [r for r in results if r.tasks[task].letters]
    if not having:
        return None

    def counts(found: dict[str, int]) -> str:
        return " · ".join(f"{letter} {count}" for letter, count in found.items())

    lines = [f"- key: {counts(having[0].tasks[task].letters['key'])}"]
    lines += [f"- {r.model}: {counts(r.tasks[task].letters['answers'])}" for r in having]
    return "Letters chosen for single-answer items, beside the key's (a letter bias shows here):\n\n" + "\n".join(lines)


def judge_markdown(judge: JudgeReport) -> str:
    """The judge's pointwise means and pairwise win/tie/lose rates as Markdown."""
    parts = [f"## LLM judge: {judge.judge}"]
    pointwise = judge.pointwise_summary()
    if pointwise:
        header = ["Model", *(f"{c.name} ({c.scale()})" for c in judge.criteria), "readable %"]
        rows = [
            [model, *(s[c.name].format() for c in judge.criteria), s["parsed"].format(1, interval=False)]
            for model, s in pointwise.items()
        ]
        parts += ["Pointwise scores (mean on each criterion's scale):", _table(header, rows)]
    pairwise = judge.pairwise_summary()
    if pairwise:
        rows = [
            [pair, *(s[k].format(1) for k in ("win", "tie", "lose", "consistency"))] for pair, s in pairwise.items()
        ]
        parts += [
            "Pairwise verdicts, both answer orders (a win needs both; % of readable pairs):",
            _table(["Comparison", "win", "tie", "lose", "order-consistent"], rows),
        ]
    return "\n\n".join(parts)


def human_markdown(human: HumanResults, *, judge: JudgeReport | None = None) -> str:
    """The human ratings, inter-rater agreement and judge-human agreement as Markdown."""
    criteria = human.kit.criteria
    summary = human.summary()
    header = ["Model", *(f"{c.name} ({c.scale()})" for c in criteria)]
    rows = [
        [model, *(f"{per[c.name].mean.format()} (var {per[c.name].variance:.2f})" for c in criteria)]
        for model, per in summary.items()
    ]
    alphas = human.inter_rater_alpha()
    alpha_text = ", ".join(f"{name} {value.format(3)}" for name, value in alphas.items())
    parts = [
        f"## Human evaluation ({len(human.kit.raters)} raters, {len(human.kit.answers)} blinded answers)",
        "Mean rating with 95% bootstrap interval over answers, and the variance of the ratings:",
        _table(header, rows),
        f"Inter-rater agreement (Krippendorff's alpha, interval, with 95% bootstrap interval): {alpha_text}.",
    ]
    if judge is not None:
        agreement = human.judge_agreement(judge)
        rows = [
            [name, str(a.n), *(e.format(3) for e in (a.spearman, a.pearson, a.alpha, a.mean_abs_diff))]
            for name, a in agreement.items()
        ]
        parts += [
            f"Agreement of the judge ({judge.judge}) with the human mean per answer:",
            _table(["Criterion", "answers", "Spearman", "Pearson", "alpha", "mean abs. diff."], rows),
        ]
    return "\n\n".join(parts)


def preference_markdown(human: PreferenceResults, *, judge: JudgeReport | None = None) -> str:
    """A pairwise study's win/tie/lose rates, rater agreement, side bias and judge agreement as Markdown."""
    rows = [[pair, *(per[o].format(1) for o in ("win", "tie", "lose")), str(per["win"].n)]
            for pair, per in human.summary().items()]  # fmt: skip
    votes = sum(1 for _ in human.ratings)
    parts = [
        f"## Human evaluation, pairwise ({len(human.raters)} raters, {len(human.study.units)} blinded pairs, "
        f"{votes} votes)",
        "Share of votes (%) for the first model of each pair, with 95% bootstrap intervals over pairs:",
        _table(["Comparison", "win", "tie", "lose", "votes"], rows),
        f"Inter-rater agreement (Krippendorff's alpha, ordinal): {human.alpha().format(3)}. Share of decided votes "
        f"for the answer shown on the left (%): {human.left_share().format(1)} (50 when the side did not sway raters).",
    ]
    if judge is not None:
        parts.append(
            f"Share of the pairs both rated where the judge ({judge.judge}) agrees with the raters' majority (%): "
            f"{human.judge_agreement(judge).format(1)}."
        )
    return "\n\n".join(parts)


class Report:
    """Several models' results side by side, with optional judge and human evaluation.

    Args:
        results: One result per model, in row order.
        judge: What an LLM judge said about the same runs.
        human: What human raters said.
    """

    def __init__(
        self,
        results: Sequence[BenchmarkResult],
        *,
        judge: JudgeReport | None = None,
        human: HumanResults | None = None,
    ) -> None:
        self.results = list(results)
        self.judge = judge
        self.human = human

    def tasks(self) -> list[str]:
        """Every task of any result, in first-seen order."""
        return list(dict.fromkeys(name for r in self.results for name in r.tasks))

    def markdown(self) -> str:
        """The whole report as Markdown."""
        config = self.results[0].config if self.results else {}
        confidence = round(100 * config.get("confidence", 0.95))
        parts = [
            "# Benchmark report",
            f"Models: {', '.join(r.model for r in self.results)}. Each figure is a mean over items with its "
            f"{confidence}% bootstrap interval ({config.get('bootstrap_resamples', 1000)} resamples; the questions of "
            "one case, and the rotations of one choice question, are resampled together); the best value is in bold. "
            "Accuracies are x100; `BPC` is bits per character, lower is better. An unparseable multiple-choice "
            "answer counts as wrong; `Extracted` is the share of answers the extractor could read. `Δ` is a model's "
            "difference from the first model of its table on the same items, with its paired bootstrap interval.",
        ]
        for task in self.tasks():
            groups = comparable_groups(self.results, task)
            first = groups[0][0].tasks[task]
            parts.append(f"## {task} ({first.kind}, {first.counts.get('items', '?')} items)")
            if len(groups) > 1:
                parts.append(_not_comparable(groups, task))
            for group in groups:
                if len(groups) > 1:
                    parts.append(f"### {group[0].tasks[task].describe()}")
                parts.append(task_table(group, task))
                deltas = self._deltas(group, task)
                if deltas:
                    parts.append(_delta_table(deltas))
                letters = _letters_line(group, task)
                if letters:
                    parts.append(letters)
            parts += _warnings(self.results, task)
            tags = _tag_table(self.results, task)
            if tags:
                parts += [f"{first.headline} by topic:", tags]
        skipped = [f"{task} for {r.model} ({why})" for r in self.results for task, why in r.skipped.items()]
        if skipped:
            parts.append("> Skipped: " + "; ".join(skipped) + ".")
        if self.judge is not None:
            parts.append(judge_markdown(self.judge))
        if self.human is not None:
            parts.append(human_markdown(self.human, judge=self.judge))
        return "\n\n".join(parts) + "\n"

    def _deltas(self, group: Sequence[BenchmarkResult], task: str) -> list[PairedDelta]:
        config = group[0].config
        return paired_deltas(
            group,
            task,
            resamples=int(config.get("bootstrap_resamples", 1000)),
            confidence=float(config.get("confidence", 0.95)),
            seed=int(config.get("seed", 0)),
        )

    def deltas(self) -> dict[str, list[PairedDelta]]:
        """Per task, each model's paired difference from the first model scored with the same settings."""
        found = {}
        for task in self.tasks():
            found[task] = [d for group in comparable_groups(self.results, task) for d in self._deltas(group, task)]
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data: dict[str, Any] = {"models": [r.to_dict() for r in self.results]}
        data["deltas"] = {task: [d.to_dict() for d in found] for task, found in self.deltas().items() if found}
        if self.judge is not None:
            data["judge"] = self.judge.to_dict()
        if self.human is not None:
            data["human"] = self.human.to_dict(judge=self.judge)
        return data

    def save(self, folder: str | Path) -> dict[str, Path]:
        """Write ``report.md``, ``report.json`` and the charts under ``charts/``; return the paths by name."""
        folder = Path(folder)
        written = {"markdown": folder / "report.md", "json": folder / "report.json"}
        atomic_write_text(written["markdown"], self.markdown())
        atomic_write_text(written["json"], json.dumps(self.to_dict(), ensure_ascii=False, indent=2))
        for task in self.tasks():
            written[f"chart:{task}"] = plot_task(self.results, task, folder / "charts" / f"{task}.png")
        if self.judge is not None and self.judge.pairwise:
            path = folder / "charts" / "judge_win_tie_lose.png"
            written["chart:judge"] = plot_win_tie_lose(self.judge.pairwise_summary(), path)
        if self.human is not None:
            path = folder / "charts" / "human_criteria.png"
            written["chart:human"] = plot_criteria(self.human.summary(), self.human.kit.criteria, path)
        return written
