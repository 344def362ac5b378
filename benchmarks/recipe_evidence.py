"""Evidence that the recipe specialises a real model, and what each of its parts contributes.

The anesthesiology recipe on SmolLM2-135M-Instruct (the demo model), beside four ablations trained at the same
budget from the same seed (:mod:`medspec.recipes.ablations`): no vocabulary extension, no general stage, the raw
candidate pool instead of CrossFilter's kept items, and the general stage alone. Every model is scored on the bundled
benchmark with the figures that can tell models apart (bits per character of held-out answers and documents, cloze
and circular multiple choice, open answers) against the base, each difference with its paired bootstrap interval.

    python benchmarks/recipe_evidence.py                       # CPU budget (2 cores: about 45 minutes)
    python benchmarks/recipe_evidence.py --recipe examples/hypnos/evidence_gpu.yaml --out runs/evidence-gpu \\
        --name recipe_evidence_gpu                              # one H100/H200 (examples/hypnos/evidence_gpu.py)

The run directory resumes after a kill; writes ``<name>.json``, ``<name>.md``, ``<name>_curves.png`` and
``<name>_deltas.png`` under ``--results`` and prints the summary table.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from medspec.recipes.ablations import run_ablations

# The largest budget whose whole study (six models trained or reused, six benchmarked) fits in 45 minutes on the
# 2-core machine: 20 steps of 4 packed 512-token rows per stage (about 41,000 tokens), in bfloat16 autocast.
CPU_BUDGET = [
    *(
        f"training.stages[{i}].{key}={value}"
        for i in (0, 1)
        for key, value in {
            "max_steps": 20,
            "batch_size": 4,
            "bf16": "true",
            "eval_steps": 5,
            "save_steps": 10,
            "logging_steps": 1,
        }.items()
    ),
    "training.heldout.max_items=24",
    "benchmark.settings.limit=null",
    "benchmark.settings.bootstrap_resamples=1000",
    # every held-out answer (the target figure); the slower tasks cut to what the 45 minutes leave
    "benchmark.task_settings={AneCQ-sample: {limit: 40}, AneCQ-circular: {limit: 20}, AneDoc-sample: {limit: 20},"
    " AneQA-sample: {limit: 10}, AneRC-sample: {limit: 2}}",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/evidence", help="run directory (resumed when it exists)")
    parser.add_argument("--results", default="benchmarks/results", help="where the results files go")
    parser.add_argument("--name", default="recipe_evidence", help="stem of the results files")
    parser.add_argument("--recipe", help="a recipe YAML with its own budget (the CPU budget applies without one)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any setting")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    started = time.perf_counter()
    overrides = [*([] if args.recipe else CPU_BUDGET), *args.set]
    study = run_ablations("anesthesiology", out=args.out, overrides=overrides, recipe=args.recipe)
    from medspec.recipes.ablation_report import write_evidence

    table = write_evidence(study, Path(args.results), args.name, invocation_s=time.perf_counter() - started)
    print(table)


if __name__ == "__main__":
    main()
