"""The PediatricsGPT recipe (arXiv 2405.19266) as a script: the same run as `medspec run pediatrics`.

    python examples/pediatricsgpt/run_pediatricsgpt.py --out runs/pediatrics

Four stages on the primitives Hypnos uses: hybrid instruction pre-training, full SFT, DFPO preference
optimisation with the adapter-disabled model as reference, and universal-specific LoRA experts. The settings are
the pediatrics specialty's recipe.yaml.
"""

from __future__ import annotations

import argparse
import logging

from medspec.recipes.general_to_specific import run_recipe, summary_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/pediatrics", help="run directory (resumed when it exists)")
    parser.add_argument("--recipe", help="a recipe YAML other than the specialty's demo-scale recipe.yaml")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any setting")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    # data -> base -> train-pretrain -> train-sft -> train-dfpo -> train-experts -> bench-* for each model
    outputs = run_recipe("pediatrics", out=args.out, overrides=args.set, recipe=args.recipe)
    print(summary_table(outputs))


if __name__ == "__main__":
    main()
