"""What a recipe run did, as one Markdown table (printed by ``medspec run`` and kept in the README).

Example:
    >>> print(summary_table({"data": {"general": {"read": 10, "duplicates": 1, "benchmark_overlaps": 0, "kept": 9,
    ...                                            "file": "general.jsonl"}}}))
    | step | what it did |
    |---|---|
    | data | general: 10 read, 1 duplicates, 0 overlapping the benchmark, 9 kept |
"""

from __future__ import annotations

from typing import Any

from medspec.crossfilter.report import NO_FLAW

__all__ = ["benchmark_table", "summary_table"]


def _data(outputs: dict[str, Any]) -> str:
    return "; ".join(
        f"{name}: {o['read']} read, {o['duplicates']} duplicates, {o['benchmark_overlaps']} "
        f"overlapping the benchmark, {o['kept']} kept"
        for name, o in outputs.items()
    )


def _vocab(outputs: dict[str, Any]) -> str:
    tpc = outputs["tokens_per_character"]
    return (
        f"+{outputs['added']} tokens (vocabulary {outputs['vocab_size']}), tokens per character on the benchmark "
        f"text {tpc['before']:.2f} -> {tpc['after']:.2f}"
    )


def _crossfilter(outputs: dict[str, Any]) -> str:
    steps = {row["step"]: row for row in outputs["steps"]}
    text = (
        f"{steps['candidates']['out']} candidates, {steps['clean']['dropped']} dropped by rules, "
        f"{steps['score'].get('unscored', 0)} unscored, {steps['filter']['dropped']} dropped by the "
        f"{outputs['profile']} judges, {outputs['kept']} kept"
    )
    flawed = {kind: row for kind, row in (outputs.get("flaws") or {}).items() if kind != NO_FLAW}
    if flawed:
        total = sum(row["items"] for row in flawed.values())
        removed = total - sum(row["kept"] for row in flawed.values())
        clean = (outputs.get("flaws") or {}).get(NO_FLAW, {})
        text += f"; {removed} of {total} planted flaws removed"
        if clean:
            text += f", {clean['kept']} of {clean['items']} clean items kept"
    return text


def _training(outputs: dict[str, Any]) -> str:
    loss = f"loss {outputs['train_loss']:.3f}" + (
        f" (last {outputs['final_loss']:.3f})" if outputs["final_loss"] else ""
    )
    return (
        f"{outputs['steps']} steps, {loss}, {outputs['trainable_fraction']:.2%} of parameters trained, "
        f"{outputs['non_padding_fraction']:.0%} non-padding, {outputs['seconds']:.0f} s"
    )


def _describe(step: str, outputs: dict[str, Any]) -> str | None:
    if step == "data":
        return _data(outputs)
    if step == "vocab":
        return _vocab(outputs)
    if step == "crossfilter":
        return _crossfilter(outputs)
    if step.startswith("train-"):
        return _training(outputs)
    return None


def summary_table(outputs: dict[str, Any]) -> str:
    """One row per step that did something worth reading, then the benchmark table when there is one."""
    rows = ["| step | what it did |", "|---|---|"]
    for step, step_outputs in outputs.items():
        description = _describe(step, step_outputs)
        if description:
            rows.append(f"| {step} | {description} |")
    benchmark = benchmark_table(outputs)
    return "\n".join(rows) + (f"\n\n{benchmark}" if benchmark else "")


def benchmark_table(outputs: dict[str, Any]) -> str:
    """Each evaluated model's headline figure per task."""
    runs = {step.removeprefix("bench-"): o["headlines"] for step, o in outputs.items() if step.startswith("bench-")}
    if not runs:
        return ""
    tasks = list(dict.fromkeys(task for headlines in runs.values() for task in headlines))
    rows = ["| model | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    rows += [
        f"| {model} | " + " | ".join(headlines.get(t, "") for t in tasks) + " |" for model, headlines in runs.items()
    ]
    return "\n".join(rows)
