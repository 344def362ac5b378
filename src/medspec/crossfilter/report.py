"""CrossFilter's report: counts per step and per rule, per-judge and per-generator scores, flaw catches, audit.

:func:`build_report` returns JSON-ready data; :func:`report_markdown` renders it as tables; :func:`plot_histograms`
draws one score histogram per judge and generator into a PNG (matplotlib's Agg canvas, without touching the
global pyplot backend). When candidates carry ``flaw:<kind>`` tags (the bundled demo pool does), the report also
says which rule or judge caught each kind of flaw, and how many flawless items each one dropped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medspec.crossfilter.filtering import FilterResult
from medspec.crossfilter.scoring import Judgement
from medspec.data.schema import Instruction
from medspec.rubric import Rubric

__all__ = ["NO_FLAW", "build_report", "generator_of", "plot_histograms", "report_markdown"]

NO_FLAW = "(none)"  # the flaw kind of a candidate with no flaw: tag


def generator_of(record: Instruction) -> str:
    """The record's generator label, ``"unknown"`` when it has none."""
    return record.provenance.generator or "unknown"


def _flaw(record: Instruction) -> str:
    return next((t.split(":", 1)[1] for t in record.tags if t.startswith("flaw:")), NO_FLAW)


def _rule_counts(dropped: Sequence[Instruction], enabled: Sequence[str]) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = {rule: Counter() for rule in enabled}
    for record in dropped:
        counts.setdefault(record.meta["crossfilter"]["rule"], Counter())[generator_of(record)] += 1
    return {rule: {"dropped": sum(c.values()), "by_generator": dict(sorted(c.items()))} for rule, c in counts.items()}


def _judge_table(
    result: FilterResult, judgements: Sequence[Judgement], generators: Mapping[str, str]
) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for judge in sorted({j.judge for j in judgements}):
        mine = [j for j in judgements if j.judge == judge]
        scores = result.per_judge.get(judge, {})
        by_generator: dict[str, list[float]] = defaultdict(list)
        for item, value in scores.items():
            by_generator[generators[item]].append(value)
        table[judge] = {
            "scored": len(scores),
            "unscored": sum(1 for j in mine if j.scores is None),
            "by_generator": {
                g: {
                    "items": len(v),
                    "mean": round(float(np.mean(v)), 3),
                    "below_threshold": sum(x < result.threshold for x in v),
                }
                for g, v in sorted(by_generator.items())
            },
        }
    return table


def _flaws(
    candidates: Sequence[Instruction], clean_dropped: Sequence[Instruction], result: FilterResult
) -> dict[str, Any] | None:
    kinds = {r.id: _flaw(r) for r in candidates}
    if set(kinds.values()) == {NO_FLAW}:
        return None
    rows: dict[str, dict[str, Any]] = {
        kind: {"items": n, "rules": Counter(), "judges": Counter(), "dropped_by_score": 0, "unscored": 0, "kept": 0}
        for kind, n in sorted(Counter(kinds.values()).items())
    }
    for record in clean_dropped:
        rows[kinds[record.id]]["rules"][record.meta["crossfilter"]["rule"]] += 1
    for judge, scores in result.per_judge.items():
        for item, value in scores.items():
            rows[kinds[item]]["judges"][judge] += value < result.threshold
    for key, records in (("dropped_by_score", result.dropped), ("unscored", result.unscored), ("kept", result.kept)):
        for record in records:
            rows[kinds[record.id]][key] += 1
    return {kind: row | {"rules": dict(row["rules"]), "judges": dict(row["judges"])} for kind, row in rows.items()}


def build_report(
    *,
    candidates: Sequence[Instruction],
    clean_dropped: Sequence[Instruction],
    judgements: Sequence[Judgement],
    result: FilterResult,
    settings: Mapping[str, Any],
    enabled_rules: Sequence[str],
    audit: Mapping[str, Any] | None = None,
    generation: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything a run did, as JSON-ready data.

    Args:
        candidates: Every candidate, before cleaning.
        clean_dropped: Candidates the rules dropped (``meta["crossfilter"]["rule"]`` names the rule).
        judgements: The cross-scoring judgements.
        result: The filter's split.
        settings: Scoring settings to echo (mode, aggregate, threshold).
        enabled_rules: The rules that ran, so rules that dropped nothing are listed too.
        audit: The judge audit's summary, when one ran.
        generation: Self-Instruct's per-generator statistics, when items were generated.
    """
    generators = {r.id: generator_of(r) for r in candidates}
    scored = len(result.kept) + len(result.dropped)
    after_rules = len(candidates) - len(clean_dropped)
    per_generator: dict[str, Counter[str]] = defaultdict(Counter)
    for name, records in (("candidates", candidates), ("dropped_by_rules", clean_dropped), ("kept", result.kept)):
        for record in records:
            per_generator[generator_of(record)][name] += 1
    for record in result.dropped:
        per_generator[generator_of(record)]["dropped_by_score"] += 1
    for record in result.unscored:
        per_generator[generator_of(record)]["unscored"] += 1
    report: dict[str, Any] = {
        "settings": dict(settings) | {"applied_threshold": round(result.threshold, 4)},
        "steps": [
            {"step": "candidates", "out": len(candidates)},
            {"step": "clean", "in": len(candidates), "dropped": len(clean_dropped), "out": after_rules},
            {"step": "score", "in": after_rules, "unscored": len(result.unscored), "out": scored},
            {"step": "filter", "in": scored, "dropped": len(result.dropped), "out": len(result.kept)},
        ],
        "generators": {g: dict(c) for g, c in sorted(per_generator.items())},
        "rules": _rule_counts(clean_dropped, enabled_rules),
        "judges": _judge_table(result, judgements, generators),
        "unscored_reasons": dict(Counter(j.reason.split(":")[0] for j in judgements if j.scores is None)),
    }
    if (flaws := _flaws(candidates, clean_dropped, result)) is not None:
        report["flaws"] = flaws
    if audit is not None:
        report["audit"] = dict(audit)
    if generation is not None:
        report["generation"] = dict(generation)
    return report


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        if isinstance(value, dict):
            return ", ".join(f"{k} {cell(v)}" for k, v in value.items())
        return "–" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def report_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown tables."""
    s = report["settings"]
    out = [
        "# CrossFilter report",
        "",
        f"Scoring: {s['mode']}, aggregate {s['aggregate']}, threshold {s['threshold']} "
        f"(applied: {s['applied_threshold']:g}).",
        "",
    ]
    out += _table(
        ["step", "in", "dropped", "unscored", "out"],
        [
            [st["step"], st.get("in", ""), st.get("dropped", ""), st.get("unscored", ""), st["out"]]
            for st in report["steps"]
        ],
    )
    reasons = report.get("unscored_reasons") or {}
    if reasons:
        counted = ", ".join(f"{reason} {count}" for reason, count in sorted(reasons.items()))
        out += ["", f"Unscored judgements by reason: {counted}. A failed request is retried by running again."]
    out += ["", "## Rules", ""]
    out += _table(
        ["rule", "dropped", "by generator"], [[r, v["dropped"], v["by_generator"]] for r, v in report["rules"].items()]
    )
    out += ["", "## Judges", ""]
    out += _table(
        ["judge", "generator", "items", "mean", "below threshold"],
        [
            [judge, g, v["items"], v["mean"], v["below_threshold"]]
            for judge, row in report["judges"].items()
            for g, v in row["by_generator"].items()
        ],
    )
    if "flaws" in report:
        out += ["", "## Flaws caught", ""]
        out += _table(
            ["flaw", "items", "caught by rules", "below threshold per judge", "dropped by score", "unscored", "kept"],
            [
                [k, v["items"], v["rules"] or "", v["judges"] or "", v["dropped_by_score"], v["unscored"], v["kept"]]
                for k, v in report["flaws"].items()
            ],
        )
    if "audit" in report:
        audit = report["audit"]
        out += ["", f"## Judge audit ({audit['items']} items, every judge scores every item)", ""]
        out += _table(
            ["judge", "own minus others, own items", "own minus others, other items", "self-preference"],
            [
                [j, v["own_minus_others_on_own"], v["own_minus_others_on_other"], v["self_preference"]]
                for j, v in audit["self_preference"].items()
            ],
        )
        joint = audit["joint_self_preference"]
        out += [
            "",
            f"Joint self-preference (sum over judges, net of leniency): {'–' if joint is None else f'{joint:.3f}'}",
            "",
        ]
        out += _table(
            ["judges", "items", "Spearman", "Cohen's kappa", "same decision"],
            [
                [" vs ".join(a["judges"]), a["items"], a["spearman"], a["kappa"], a["same_decision"]]
                for a in audit["agreement"]
            ],
        )
    return "\n".join(out) + "\n"


def plot_histograms(
    per_judge: Mapping[str, Mapping[str, float]],
    generators: Mapping[str, str],
    *,
    rubric: Rubric,
    threshold: float,
    path: str | Path,
) -> None:
    """One histogram of aggregate scores per judge (rows) and generator (columns), the threshold marked."""
    from matplotlib.figure import Figure

    judges = sorted(per_judge)
    names = sorted({generators[i] for scores in per_judge.values() for i in scores}) or ["(none)"]
    figure = Figure(figsize=(3.2 * len(names), 2.4 * max(1, len(judges))))
    axes = figure.subplots(max(1, len(judges)), len(names), squeeze=False)
    figure.subplots_adjust(left=0.08, right=0.97, top=0.9, bottom=0.16, hspace=0.6, wspace=0.3)  # fixed: fast
    bins = np.linspace(rubric.low, rubric.high, 2 * (rubric.high - rubric.low) + 1)
    for row, judge in enumerate(judges):
        for column, generator in enumerate(names):
            ax = axes[row][column]
            values = [v for i, v in per_judge[judge].items() if generators[i] == generator]
            if not values:  # a judge does not score its own model's items (outside the audit)
                ax.text(0.5, 0.5, "no items", ha="center", va="center", transform=ax.transAxes, color="grey")
                ax.set_yticks([])
            ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
            if np.isfinite(threshold):
                ax.axvline(threshold, color="tab:red", linestyle="--", linewidth=1)
            mean = f", mean {np.mean(values):.2f}" if values else ""
            ax.set_title(f"{judge} on {generator} (n={len(values)}{mean})", fontsize=8)
            ax.set_xlim(rubric.low, rubric.high)
            ax.tick_params(labelsize=7)
    figure.supxlabel("aggregate score", fontsize=8)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
