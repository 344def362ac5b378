"""An ablation study's evidence, in files: what improved, by how much, with intervals, and what it cost.

:func:`write_evidence` turns an :class:`~medspec.recipes.ablations.AblationRun` into files a README can cite:

* ``<name>.json`` - every model's headline figure per task, each model's paired difference from the base with its
  interval and verdict, each training stage's tokens, time, throughput (and MFU on a known accelerator), loss and
  held-out curve, and the time of every step;
* ``<name>.md`` - the same as short Markdown tables;
* ``<name>_deltas.png`` - every model's paired difference from the base, one panel per task;
* ``<name>_effects.png`` - every ablation's paired difference from the whole recipe (what each part contributes);
* ``<name>_curves.png`` - training loss and held-out figures over the steps of each variant's stages in order.

Example:
    >>> study = run_ablations("anesthesiology", out="runs/ablations")  # doctest: +SKIP
    >>> print(write_evidence(study, Path("benchmarks/results"), "recipe_evidence"))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from medspec.bench.bootstrap import Estimate
from medspec.bench.compare import PairedDelta, paired_deltas
from medspec.bench.plots import plot_curves, plot_deltas
from medspec.durable import AppendLog, atomic_write_text
from medspec.recipes.ablations import AblationRun
from medspec.training.curves import read_curve
from medspec.training.throughput import model_flops_utilisation, peak_flops, training_flops_per_token
from medspec.training.trainer import CURVE_FILE

__all__ = ["evidence_markdown", "evidence_summary", "write_evidence"]


def _seconds(step: dict[str, Any]) -> float:
    started, finished = (datetime.fromisoformat(step[k]) for k in ("started", "finished"))
    return (finished - started).total_seconds()


def _machine() -> dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        device = torch.cuda.get_device_name()
    else:
        cpuinfo = Path("/proc/cpuinfo")
        names = (
            [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if "model name" in line]
            if cpuinfo.exists()
            else []
        )
        device = f"{os.cpu_count()}-core CPU" + (f" ({names[0]})" if names else "")
    return {
        "device": device,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _stage(study: AblationRun, step: str, config: dict[str, Any], device: str) -> dict[str, Any]:
    """One training step's cost and curves, read from its folder."""
    from transformers import AutoConfig

    outputs = study.outputs[step]
    folder = study.root / step
    entries = list(AppendLog(folder / "loss.jsonl").entries())
    losses = [e for e in entries if "loss" in e]
    summary = next((e for e in reversed(entries) if "train_runtime" in e), {})
    runtime = summary.get("train_runtime") or outputs["seconds"]
    stage = next(s for s in config["training"]["stages"] if step.endswith(f"-{s['name']}"))
    tokens_per_s = outputs["tokens"] / runtime
    model_config = AutoConfig.from_pretrained(folder / "model")
    flops = training_flops_per_token(model_config, sequence_length=stage["max_seq_length"])
    peak = peak_flops(device)
    return {
        "steps": outputs["steps"],
        "tokens": outputs["tokens"],
        "epochs": round(summary.get("epoch", losses[-1]["epoch"] if losses else 0.0), 3),
        "seconds": outputs["seconds"],
        "train_runtime_s": round(runtime, 1),
        "tokens_per_s": round(tokens_per_s, 1),
        "mfu": round(model_flops_utilisation(tokens_per_s, flops, peak), 4) if peak else None,
        "train_loss": outputs["train_loss"],
        "loss": [[e["step"], e["loss"]] for e in losses],
        "curve": read_curve(folder / CURVE_FILE),
    }


def evidence_summary(study: AblationRun, *, invocation_s: float | None = None) -> dict[str, Any]:
    """Everything :func:`write_evidence` writes, as JSON-ready data."""
    manifest = json.loads((study.root / "manifest.json").read_text(encoding="utf-8"))["steps"]
    config = yaml.safe_load((study.root / "config.yaml").read_text(encoding="utf-8"))["recipe"]
    machine = _machine()
    base = study.results[0]
    resamples = config["benchmark"]["settings"]["bootstrap_resamples"]
    tasks: dict[str, Any] = {}
    for name, task in base.tasks.items():
        deltas = paired_deltas(study.results, name, resamples=resamples)
        # each ablation against the first variant (the whole recipe): what the part it leaves out contributes
        effects = paired_deltas(study.results[1:], name, resamples=resamples)
        tasks[name] = {
            "kind": task.kind,
            "scoring": task.describe(),
            "figure": task.headline,
            "lower_is_better": task.lower_is_better,
            "items": task.figures[task.headline].n,
            "models": {r.model: r.tasks[name].figures[task.headline].to_dict() for r in study.results},
            "deltas": {d.model: d.to_dict() for d in deltas},
            "effects": {d.model: d.to_dict() for d in effects},
        }
    focus = next((t for t in config["training"]["heldout"]["tasks"] if t in tasks), next(iter(tasks)))
    headline = "; ".join(
        f"{model} Δ {focus} {_estimate(d['delta'])} ({d['verdict']})" for model, d in tasks[focus]["deltas"].items()
    )
    steps = {name: round(_seconds(step), 1) for name, step in manifest.items() if step.get("finished")}
    trained = sorted({s for chain in study.stages.values() for s in chain})
    return {
        "headline": headline,
        "base_model": config["base_model"],
        "machine": machine,
        "variants": {
            name: {"description": v.description, "overrides": list(v.overrides), "stages": study.stages[name]}
            for name, v in study.variants.items()
        },
        "vocab": {k: study.outputs["vocab"][k] for k in ("added", "vocab_size", "tokens_per_character")}
        if "vocab" in study.outputs
        else None,
        "crossfilter": {"kept": study.outputs["crossfilter"]["kept"], "steps": study.outputs["crossfilter"]["steps"]}
        if "crossfilter" in study.outputs
        else None,
        "pool": study.outputs.get("pool"),
        "tasks": tasks,
        "training": {step: _stage(study, step, config, machine["device"]) for step in trained},
        "step_seconds": steps,
        "total_seconds": round(sum(steps.values()), 1),
        "invocation_seconds": round(invocation_s, 1) if invocation_s is not None else None,
    }


def _estimate(e: dict[str, Any], digits: int = 2) -> str:
    return f"{e['value']:.{digits}f} [{e['low']:.{digits}f}, {e['high']:.{digits}f}]"


def evidence_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown: Δ against the base, each ablation's effect, training cost, total time."""
    tasks = summary["tasks"]
    models = list(next(iter(tasks.values()))["models"])
    lines = [
        "| model | " + " | ".join(f"{t} ({v['figure']}, {v['items']} items)" for t, v in tasks.items()) + " |",
        "|---|" + "---:|" * len(tasks),
    ]
    for model in models:
        cells = []
        for task in tasks.values():
            value = _estimate(task["models"][model])
            delta = task["deltas"].get(model)
            mark = {"better": " ✓", "worse": " ✗"}.get(delta["verdict"], "") if delta else ""
            cells.append(value if delta is None else f"{value}<br>Δ {_estimate(delta['delta'])}{mark}")
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    reference = next((d["baseline"] for t in tasks.values() for d in t["effects"].values()), None)
    if reference:
        lines += [
            "",
            f"Each ablation against `{reference}` on the same items (Δ = ablation − {reference}; an ablation that "
            "comes out worse means the part it leaves out helps):",
            "",
            "| ablation | " + " | ".join(f"{t} ({v['figure']})" for t, v in tasks.items()) + " |",
            "|---|" + "---:|" * len(tasks),
        ]
        for model in [m for m in models if m not in ("base", reference)]:
            cells = [
                f"{_estimate(t['effects'][model]['delta'])} {t['effects'][model]['verdict']}"
                if model in t["effects"]
                else "—"
                for t in tasks.values()
            ]
            lines.append(f"| {model} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| training step | steps | tokens | epochs | tokens/s | MFU | loss first → last | held-out first → last |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step, stage in summary["training"].items():
        loss = stage["loss"]
        curve = stage["curve"]
        figure = next((k for k in (curve[0] if curve else {}) if k not in ("step", "epoch")), None)
        heldout = f"{curve[0][figure]:.3f} → {curve[-1][figure]:.3f} ({figure})" if figure else "—"
        mfu = f"{stage['mfu']:.1%}" if stage["mfu"] is not None else "—"
        lines.append(
            f"| {step} | {stage['steps']} | {stage['tokens']:,} | {stage['epochs']:.2f} | {stage['tokens_per_s']:,.0f} "
            f"| {mfu} | {loss[0][1]:.3f} → {loss[-1][1]:.3f} | {heldout} |"
            if loss
            else f"| {step} | {stage['steps']} | {stage['tokens']:,} | — | — | {mfu} | — | {heldout} |"
        )
    total = summary["total_seconds"]
    lines += ["", f"All steps together: {total / 60:.1f} min on {summary['machine']['device']}."]
    return "\n".join(lines)


def _curve_panels(summary: dict[str, Any]) -> dict[str, dict[str, tuple[list[float], list[float]]]]:
    """Loss and held-out figures over each variant's stages in order (a later stage's steps follow on)."""
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {"training loss": {}}
    for variant, info in summary["variants"].items():
        offset, loss_x, loss_y, held = 0, [], [], {}
        for step in info["stages"]:
            stage = summary["training"][step]
            loss_x += [offset + s for s, _ in stage["loss"]]
            loss_y += [value for _, value in stage["loss"]]
            for entry in stage["curve"]:
                for figure, value in entry.items():
                    if figure not in ("step", "epoch"):
                        held.setdefault(figure, ([], []))
                        held[figure][0].append(offset + entry["step"])
                        held[figure][1].append(value)
            offset += stage["steps"]
        if loss_x:
            panels["training loss"][variant] = (loss_x, loss_y)
        for figure, series in held.items():
            panels.setdefault(f"held-out {figure}", {})[variant] = series
    return {title: series for title, series in panels.items() if series}


def write_evidence(study: AblationRun, folder: Path, name: str, *, invocation_s: float | None = None) -> str:
    """Write ``<name>.json``, ``<name>.md`` and the PNGs into ``folder``; returns the Markdown tables."""
    summary = evidence_summary(study, invocation_s=invocation_s)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / f"{name}.json", json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    table = evidence_markdown(summary)
    atomic_write_text(folder / f"{name}.md", f"# {name}\n\n{table}\n")
    for key, suffix in (("deltas", "deltas"), ("effects", "effects")):
        found = {
            task: [
                PairedDelta(model, d["baseline"], d["figure"], Estimate.from_dict(d["delta"]), info["lower_is_better"])
                for model, d in info[key].items()
            ]
            for task, info in summary["tasks"].items()
        }
        if any(found.values()):
            plot_deltas({task: deltas for task, deltas in found.items() if deltas}, folder / f"{name}_{suffix}.png")
    panels = _curve_panels(summary)
    if panels:
        plot_curves(panels, folder / f"{name}_curves.png", xlabel="optimizer step (stages in order)")
    return table
