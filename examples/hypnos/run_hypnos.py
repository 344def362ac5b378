"""The Hypnos recipe (arXiv 2403.02742) as a script: the same run as `medspec run anesthesiology`.

    python examples/hypnos/run_hypnos.py --out runs/hypnos                 # demo scale, SmolLM2-135M on a CPU
    python examples/hypnos/run_hypnos.py --out runs/hypnos-7b \\
        --recipe examples/hypnos/full_scale.yaml                           # the paper's scale, on GPUs

The steps themselves read top to bottom in medspec/recipes/general_to_specific.py; the settings are in the
anesthesiology specialty's recipe.yaml (demo) or in full_scale.yaml here.
"""

from __future__ import annotations

import argparse
import logging

from medspec.recipes.config import ABLATIONS
from medspec.recipes.general_to_specific import run_recipe, summary_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/hypnos", help="run directory (resumed when it exists)")
    parser.add_argument("--recipe", help="a recipe YAML other than the specialty's demo-scale recipe.yaml")
    parser.add_argument("--ablation", action="append", default=[], choices=sorted(ABLATIONS))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any setting")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    # 1. data -> 2. base -> 3. vocab -> 4. crossfilter -> 5. train-general (LoRA) -> train-specialty (full)
    # -> 6. bench-base / bench-general / bench-specialty, each resumable.
    overrides = [o for name in args.ablation for o in ABLATIONS[name]] + args.set
    outputs = run_recipe("anesthesiology", out=args.out, overrides=overrides, recipe=args.recipe)
    print(summary_table(outputs))


if __name__ == "__main__":
    main()
