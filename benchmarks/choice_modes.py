"""Can the benchmark tell what a model knows? SmolLM2-135M on the bundled AneCQ questions in each scoring mode.

The demo model is asked the 133 AneCQ-sample questions (107 single-answer, five options each) in ``letter`` mode,
``letter`` with circular evaluation, and ``cloze`` mode, and scored on the two perplexity tasks (``AneDoc-sample``,
``AneQA-bpc``). For each mode: the headline accuracy with its 95% bootstrap interval (1,000 resamples) and the
letters the model chose for single-answer questions beside the key's letters. A model with a letter bias shows it as
one letter in the "chosen" column; circular evaluation then scores it 0, and ``cloze`` puts it at chance.

Prints a Markdown table and writes ``benchmarks/results/choice_modes.json``. Usage:
``python benchmarks/choice_modes.py [--threads N] [--limit N]`` (``--limit`` takes the first N questions, for a
quick look).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.tasks import load_tasks
from medspec.llm.transformers import TransformersBackend
from medspec.model_loading import load_model_and_tokenizer

RESULTS = Path(__file__).parent / "results"
MODES = {
    "letter": {"choice_mode": "letter"},
    "letter, circular": {"choice_mode": "letter", "circular": True},
    "cloze": {"choice_mode": "cloze"},
}


def counts(found: dict[str, int]) -> str:
    return ", ".join(f"{letter} {n}" for letter, n in found.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    parser.add_argument("--limit", type=int, help="only the first N records of each task")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model, tokenizer = load_model_and_tokenizer("demo")
    backend = TransformersBackend(model.eval(), tokenizer, batch_size=16, name="SmolLM2-135M-Instruct")
    choice, documents, answers = load_tasks(["AneCQ-sample", "AneDoc-sample", "AneQA-bpc"])
    rows = []
    for mode, settings in MODES.items():
        config = BenchmarkConfig(bootstrap_resamples=1000, limit=args.limit, **settings)
        start = time.perf_counter()
        task = Benchmark([choice], config=config).run(backend).tasks[choice.name]
        headline = task.figures[task.headline]
        rows.append(
            {
                "mode": mode,
                "headline": task.headline,
                "figures": {name: estimate.to_dict() for name, estimate in task.figures.items()},
                "letters": task.letters,
                "seconds": time.perf_counter() - start,
            }
        )
        print(f"{mode}: {task.headline} {headline.format()} ({rows[-1]['seconds']:.0f} s)", flush=True)
    config = BenchmarkConfig(bootstrap_resamples=1000, limit=args.limit)
    perplexity = Benchmark([documents, answers], config=config).run(backend)
    bpc = {name: task.figures["BPC"].to_dict() for name, task in perplexity.tasks.items()}
    print("\n| mode | headline [95% interval] | letters chosen (single-answer) | key |")
    print("|---|---|---|---|")
    for row in rows:
        figure = row["figures"][row["headline"]]
        print(
            f"| {row['mode']} | {row['headline']} {figure['value']:.2f} [{figure['low']:.2f}, {figure['high']:.2f}] "
            f"| {counts(row['letters']['answers'])} | {counts(row['letters']['key'])} |"
        )
    print(
        "\n" + ", ".join(f"{name}: BPC {b['value']:.2f} [{b['low']:.2f}, {b['high']:.2f}]" for name, b in bpc.items())
    )
    by_mode = {row["mode"]: row["figures"][row["headline"]]["value"] for row in rows}
    headline = ", ".join(f"{mode} {value:.2f}" for mode, value in by_mode.items())
    RESULTS.mkdir(exist_ok=True)
    result = {
        "headline": f"SmolLM2-135M on AneCQ-sample: {headline}",
        "model": backend.name,
        "questions": len(choice.records) if args.limit is None else args.limit,
        "threads": torch.get_num_threads(),
        "modes": rows,
        "bits_per_character": bpc,
    }
    (RESULTS / "choice_modes.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
