"""Bar charts of benchmark results, in the shape of the papers' figures (PNG, matplotlib without pyplot).

* :func:`plot_task` - one task's figures by model, with the bootstrap intervals as error bars.
* :func:`plot_criteria` - the human evaluation (Hypnos, Figure 3): mean rating per criterion by model, with the
  standard deviation of the ratings as error bars.
* :func:`plot_win_tie_lose` - pairwise verdicts (Figure 4): win, tie and lose shares stacked, one bar per comparison.
* :func:`plot_deltas` - each model's paired difference from a baseline with its interval, one panel per task (an
  ablation study's figure).
* :func:`plot_curves` - lines over training steps, one panel per figure (loss, held-out bits per character).

Figures are drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas, so no display and no global pyplot
state are involved.

Example:
    >>> import tempfile, pathlib
    >>> from medspec.bench.bootstrap import Estimate
    >>> shares = {"ours vs base": {"win": Estimate(60, 50, 70, 20), "tie": Estimate(25, 15, 35, 20),
    ...                            "lose": Estimate(15, 5, 25, 20)}}
    >>> plot_win_tie_lose(shares, pathlib.Path(tempfile.mkdtemp()) / "wtl.png").stat().st_size > 0
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from medspec.bench.bootstrap import Estimate
from medspec.bench.results import BenchmarkResult
from medspec.rubric import Criterion

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from medspec.bench.compare import PairedDelta
    from medspec.bench.human.results import CriterionSummary

__all__ = ["plot_criteria", "plot_curves", "plot_deltas", "plot_task", "plot_win_tie_lose"]

_COLOURS = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
    return path


def _grouped_bars(axes: Axes, groups: Sequence[str], series: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Bars of each series side by side per group; series maps a label to (heights, (2, G) error extents)."""
    x = np.arange(len(groups))
    width = 0.8 / max(1, len(series))
    for index, (label, (heights, errors)) in enumerate(series.items()):
        offset = (index - (len(series) - 1) / 2) * width
        axes.bar(x + offset, heights, width, yerr=errors, capsize=3, label=label, color=_COLOURS[index % 8])
    axes.set_xticks(x, groups)
    axes.legend(fontsize="small")
    axes.grid(axis="y", alpha=0.3)


def _interval(estimates: Sequence[Estimate]) -> tuple[np.ndarray, np.ndarray]:
    heights = np.array([e.value for e in estimates], dtype=float)
    low = np.array([e.low for e in estimates], dtype=float)
    high = np.array([e.high for e in estimates], dtype=float)
    # A percentile interval need not contain the point estimate (a skewed metric on few items): clip at zero.
    extents = np.clip(np.nan_to_num(np.vstack([heights - low, high - heights])), 0, None)
    return np.nan_to_num(heights), extents


def plot_task(results: Sequence[BenchmarkResult], task: str, path: str | Path) -> Path:
    """One task's figures by model, with their intervals, as a PNG.

    Raises:
        ValueError: When no result has the task.
    """
    having = [r for r in results if task in r.tasks]
    if not having:
        raise ValueError(f"no result has task {task!r}")
    # figures every run has (runs in other scoring modes differ), each run labelled with its mode when they differ
    names = [n for n in having[0].tasks[task].figures if all(n in r.tasks[task].figures for r in having)]
    modes = {r.tasks[task].describe() for r in having}
    label = {r.model: r.model if len(modes) == 1 else f"{r.model} ({r.tasks[task].describe()})" for r in having}
    figure = _figure(max(6.0, 0.9 * len(names) * max(1, len(having)) ** 0.5 + 2), 4.0)
    axes = figure.subplots()
    _grouped_bars(axes, names, {label[r.model]: _interval([r.tasks[task].figures[n] for n in names]) for r in having})
    axes.set_ylabel("bits per character (lower is better)" if having[0].tasks[task].lower_is_better else "score (x100)")
    axes.set_title(f"{task} ({having[0].tasks[task].kind}): means with 95% bootstrap intervals")
    axes.tick_params(axis="x", labelrotation=30 if len(names) > 6 else 0)
    return _save(figure, path)


def plot_criteria(
    summary: Mapping[str, Mapping[str, CriterionSummary]], criteria: Sequence[Criterion], path: str | Path
) -> Path:
    """Mean human rating per criterion by model, error bars one standard deviation of the ratings (Figure 3)."""
    figure = _figure(max(5.0, 1.6 * len(criteria) * max(1, len(summary)) ** 0.5 + 2), 4.0)
    axes = figure.subplots()
    series = {}
    for model, per in summary.items():
        heights = np.array([per[c.name].mean.value for c in criteria], dtype=float)
        spread = np.nan_to_num(np.array([per[c.name].std for c in criteria], dtype=float))
        series[model] = (np.nan_to_num(heights), np.vstack([spread, spread]))
    _grouped_bars(axes, [f"{c.name}\n({c.scale()})" for c in criteria], series)
    axes.set_ylim(0, max(c.high for c in criteria) + 0.8)
    axes.set_ylabel("mean rating (± s.d.)")
    axes.set_title("Human evaluation")
    return _save(figure, path)


def plot_win_tie_lose(shares: Mapping[str, Mapping[str, Estimate]], path: str | Path) -> Path:
    """Win, tie and lose shares (x100) stacked, one horizontal bar per comparison (Figure 4)."""
    pairs = list(shares)
    figure = _figure(7.0, 1.0 + 0.6 * max(1, len(pairs)))
    axes = figure.subplots()
    left = np.zeros(len(pairs))
    for outcome, colour in (("win", "#55A868"), ("tie", "#BBBBBB"), ("lose", "#C44E52")):
        widths = np.nan_to_num(np.array([shares[p][outcome].value for p in pairs], dtype=float))
        axes.barh(pairs, widths, left=left, color=colour, label=outcome)
        for y, (start, width) in enumerate(zip(left, widths, strict=True)):
            if width >= 6:
                axes.text(start + width / 2, y, f"{width:.0f}%", ha="center", va="center", fontsize="small")
        left += widths
    axes.set_xlim(0, 100)
    axes.invert_yaxis()
    axes.set_xlabel("share of judged items (%)")
    axes.legend(ncols=3, loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize="small", frameon=False)
    return _save(figure, path)


_VERDICT_COLOURS = {"better": "#55A868", "worse": "#C44E52", "no clear difference": "#8C8C8C"}


def plot_deltas(deltas: Mapping[str, Sequence[PairedDelta]], path: str | Path) -> Path:
    """Each model's difference from its baseline with the paired interval, one panel per task.

    A point is green when the interval shows an improvement, red when it shows a loss and grey when it includes 0.
    """
    tasks = [task for task, found in deltas.items() if found]
    if not tasks:
        raise ValueError("no paired differences to plot")
    models = max(len(deltas[task]) for task in tasks)
    columns = min(3, len(tasks))
    rows = -(-len(tasks) // columns)
    figure = _figure(3.4 * columns + 1.2, rows * (1.2 + 0.45 * models))
    panels = np.atleast_1d(figure.subplots(rows, columns, sharey=True)).ravel()
    for axes in panels[len(tasks) :]:
        axes.set_visible(False)
    for axes, task in zip(panels, tasks, strict=False):
        found = deltas[task]
        for y, delta in enumerate(found):
            estimate = delta.delta
            errors = np.clip([[estimate.value - estimate.low], [estimate.high - estimate.value]], 0, None)
            axes.errorbar(estimate.value, y, xerr=errors, fmt="o", capsize=3, color=_VERDICT_COLOURS[delta.verdict])
        axes.axvline(0, color="black", linewidth=0.8)
        axes.set_yticks(range(len(found)), [d.model for d in found])
        better = "lower" if found[0].lower_is_better else "higher"
        axes.set_xlabel(f"Δ {found[0].figure} vs {found[0].baseline} ({better} is better)", fontsize="small")
        axes.set_title(task, fontsize="medium")
        axes.grid(axis="x", alpha=0.3)
    panels[0].invert_yaxis()
    return _save(figure, path)


def plot_curves(
    panels: Mapping[str, Mapping[str, tuple[Sequence[float], Sequence[float]]]], path: str | Path, *, xlabel: str
) -> Path:
    """Lines of ``(x, y)`` series, one panel per title (training loss and held-out figures over steps)."""
    if not panels:
        raise ValueError("no curves to plot")
    figure = _figure(5.0 * len(panels), 4.0)
    for axes, (title, series) in zip(np.atleast_1d(figure.subplots(1, len(panels))), panels.items(), strict=True):
        for index, (label, (x, y)) in enumerate(series.items()):
            axes.plot(x, y, marker="o" if len(x) < 12 else None, label=label, color=_COLOURS[index % 8])
        axes.set_title(title, fontsize="medium")
        axes.set_xlabel(xlabel)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
    return _save(figure, path)
