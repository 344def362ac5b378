"""The recipe evidence on one H100/H200: the study of benchmarks/recipe_evidence.py at 20x the CPU budget.

    python examples/hypnos/evidence_gpu.py                               # SmolLM2-135M, about 10 minutes
    python examples/hypnos/evidence_gpu.py --set base_model=/models/Qwen2.5-0.5B-Instruct --out runs/evidence-qwen

Trains the recipe and its four ablations with the settings of evidence_gpu.yaml (bf16, batch 8, 400 steps per
stage), benchmarks every model on the whole bundled benchmark, prints each training stage's tokens per second and
model FLOPs utilisation, and writes the same results files as the CPU run (``recipe_evidence_gpu.*`` under
``benchmarks/results``). The run directory resumes after a kill.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import torch

from medspec.recipes.ablation_report import write_evidence
from medspec.recipes.ablations import run_ablations

RECIPE = Path(__file__).with_name("evidence_gpu.yaml")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/evidence-gpu", help="run directory (resumed when it exists)")
    parser.add_argument("--results", default="benchmarks/results", help="where the results files go")
    parser.add_argument("--name", default="recipe_evidence_gpu", help="stem of the results files")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any setting")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("evidence_gpu.py needs a CUDA GPU; on a CPU, run benchmarks/recipe_evidence.py (its CPU budget)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    started = time.perf_counter()
    study = run_ablations("anesthesiology", out=args.out, overrides=args.set, recipe=RECIPE)
    print(write_evidence(study, Path(args.results), args.name, invocation_s=time.perf_counter() - started))
    print(f"\n{torch.cuda.get_device_name()}: {time.perf_counter() - started:.0f} s in this invocation")


if __name__ == "__main__":
    main()
