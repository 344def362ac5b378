"""A CrossFilter run's results: the filter step, reading its outputs back, and refiltering stored scores.

:func:`finish` turns a run directory's cleaned items and raw judgements into kept, dropped and unscored items, the
report and the histograms. It needs no backend, which is what lets :func:`refilter` apply another threshold or
aggregate to a finished run without a single request.

Example:
    >>> result = refilter("runs/crossfilter", threshold=ThresholdConfig("quantile", 0.1))  # doctest: +SKIP
    >>> result.folder.name  # doctest: +SKIP
    'refilter-mean-quantile-0.1'
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medspec.config import from_dict
from medspec.crossfilter.audit import audit_summary
from medspec.crossfilter.config import CrossFilterConfig, ScoringConfig
from medspec.crossfilter.filtering import Aggregate, ThresholdConfig, aggregate, apply_filter
from medspec.crossfilter.report import build_report, generator_of, plot_histograms, report_markdown
from medspec.crossfilter.scoring import Judgement
from medspec.data.io import read_records, write_records
from medspec.data.schema import Instruction
from medspec.durable import AppendLog, atomic_write_text
from medspec.errors import ConfigError
from medspec.rubric import Rubric, load_rubric, specialty_rubric
from medspec.specialty import load_specialty

__all__ = [
    "CANDIDATE_FIELDS",
    "CrossFilterResult",
    "finish",
    "latest_judgements",
    "load_result",
    "read_items",
    "refilter",
]

logger = logging.getLogger(__name__)

CANDIDATE_FIELDS = frozenset({"output"})  # raw candidates may have empty outputs: the rules judge them


@dataclass
class CrossFilterResult:
    """What a run produced.

    Attributes:
        kept: Items that passed, with generator, judges and per-aspect scores in provenance.
        dropped: Items dropped by a rule or by their score; ``meta["crossfilter"]`` says which and why.
        unscored: Items no judge could score, with the reasons.
        report: Counts per step, rule, judge and generator; flaw catches; the judge audit.
        folder: Where the outputs were written.
    """

    kept: list[Instruction]
    dropped: list[Instruction]
    unscored: list[Instruction]
    report: dict[str, Any]
    folder: Path

    def summary(self) -> str:
        """The counts per step as a Markdown table, and where the outputs are."""
        steps = report_markdown(self.report).split("\n\n")[2]
        return (
            f"{steps}\n\n{self.folder}: kept.jsonl ({len(self.kept)}), dropped.jsonl ({len(self.dropped)}), "
            f"unscored.jsonl ({len(self.unscored)}); report.md, report.json, histograms.png"
        )


def read_items(path: Path) -> list[Instruction]:
    """The instruction records of a file written by a run (empty outputs allowed)."""
    return [r for r in read_records(path, allow_empty=CANDIDATE_FIELDS) if isinstance(r, Instruction)]


def latest_judgements(log_path: Path) -> list[Judgement]:
    """The last judgement of each (item, judge) pair in a judgement log; none when the log does not exist."""
    latest: dict[tuple[str, str], Judgement] = {}
    if log_path.exists():
        for judgement in map(Judgement.from_dict, AppendLog(log_path).entries()):
            latest[(judgement.item, judgement.judge)] = judgement
    return list(latest.values())


def finish(
    root: Path,
    folder: Path,
    *,
    rubric: Rubric,
    scoring: ScoringConfig,
    enabled_rules: Sequence[str],
    judge_generator: Mapping[str, str],
    generation: Mapping[str, Any] | None = None,
) -> CrossFilterResult:
    """Apply aggregate and threshold to the raw scores in run directory ``root``; write outputs to ``folder``."""
    candidates = read_items(root / "candidates" / "candidates.jsonl")
    clean_dropped = read_items(root / "clean" / "dropped.jsonl")
    kept_by_rules = read_items(root / "clean" / "kept.jsonl")
    judgements = latest_judgements(root / "score" / "judgements.jsonl")
    result = apply_filter(kept_by_rules, judgements, rubric, method=scoring.aggregate, threshold=scoring.threshold)
    item_generator = {r.id: generator_of(r) for r in candidates}
    audit = None
    audit_judgements = latest_judgements(root / "audit" / "judgements.jsonl")
    if audit_judgements:
        scores: dict[str, dict[str, float]] = defaultdict(dict)
        for j in audit_judgements:
            if j.scores is not None:
                scores[j.judge][j.item] = aggregate(j.scores, rubric, scoring.aggregate)
        audit = audit_summary(scores, item_generator, judge_generator, threshold=result.threshold)
    settings = {
        "mode": scoring.mode,
        "aggregate": scoring.aggregate,
        "threshold": scoring.threshold.describe(),
        "rubric": rubric.names,
    }
    report = build_report(
        candidates=candidates,
        clean_dropped=clean_dropped,
        judgements=judgements,
        result=result,
        settings=settings,
        enabled_rules=enabled_rules,
        audit=audit,
        generation=generation,
    )
    folder.mkdir(parents=True, exist_ok=True)
    dropped = [*clean_dropped, *result.dropped]
    write_records(folder / "kept.jsonl", result.kept)
    write_records(folder / "dropped.jsonl", dropped)
    write_records(folder / "unscored.jsonl", result.unscored)
    plot_histograms(
        result.per_judge, item_generator, rubric=rubric, threshold=result.threshold, path=folder / "histograms.png"
    )
    report["files"] = ["kept.jsonl", "dropped.jsonl", "unscored.jsonl", "report.md", "histograms.png"]
    atomic_write_text(folder / "report.json", json.dumps(report, ensure_ascii=False, indent=2))
    atomic_write_text(folder / "report.md", report_markdown(report))
    logger.info("crossfilter: kept %d, dropped %d, unscored %d", len(result.kept), len(dropped), len(result.unscored))
    return CrossFilterResult(kept=result.kept, dropped=dropped, unscored=result.unscored, report=report, folder=folder)


def load_result(folder: str | Path) -> CrossFilterResult:
    """Read the outputs :func:`finish` wrote to ``folder``."""
    folder = Path(folder)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    kept, dropped, unscored = (read_items(folder / f"{name}.jsonl") for name in ("kept", "dropped", "unscored"))
    return CrossFilterResult(kept=kept, dropped=dropped, unscored=unscored, report=report, folder=folder)


def refilter(
    run_dir: str | Path,
    *,
    threshold: ThresholdConfig,
    aggregate_method: Aggregate | None = None,
    out: str | Path | None = None,
) -> CrossFilterResult:
    """Apply another threshold (and aggregate) to a finished run's stored scores, without any request.

    Args:
        run_dir: A run directory whose ``score`` step is complete.
        threshold: The new threshold.
        aggregate_method: The new aggregate; the run's when None.
        out: Where to write; ``<run_dir>/refilter-<aggregate>-<kind>-<value>`` by default.

    Raises:
        ConfigError: When ``run_dir`` holds no scored CrossFilter run.
    """
    root = Path(run_dir)
    manifest_path = root / "manifest.json"
    steps = json.loads(manifest_path.read_text(encoding="utf-8"))["steps"] if manifest_path.is_file() else {}
    for step in ("candidates", "clean", "score"):
        if steps.get(step, {}).get("status") != "complete":
            raise ConfigError("", f"{root} holds no CrossFilter run with a complete '{step}' step; run it first")
    data = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    data.pop("backend_objects", None)
    config = from_dict(CrossFilterConfig, data, source=root / "config.yaml")
    scoring = dataclasses.replace(
        config.scoring, threshold=threshold, aggregate=aggregate_method or config.scoring.aggregate
    )
    specialty = load_specialty(config.specialty)
    rubric = load_rubric(scoring.rubric) if scoring.rubric else specialty_rubric(specialty)
    folder = Path(out) if out else root / f"refilter-{scoring.aggregate}-{threshold.kind}-{threshold.value:g}"
    return finish(
        root,
        folder,
        rubric=rubric,
        scoring=scoring,
        enabled_rules=config.rules.enabled,
        judge_generator=steps["score"]["outputs"]["judge_generator"],
        generation=steps["candidates"]["outputs"].get("generation"),
    )
