"""Evaluation throughput on the CPU: batched versus one-at-a-time generation, and metric time for 10,000 answers.

Generation: the first 32 open questions of the bundled AneQA sample, greedy, 64 new tokens, through
``TransformersBackend``: "batched" sends all of them in left-padded batches of 16 (sorted by length); "one at a time"
is one ``generate`` call per question (batch size 1), on every fourth question to bound the run time. Items per
second, the speed-up, and how many answers are identical both ways. Measured
with a tiny random Llama (SmolLM2's tokenizer, 2 layers, hidden size 64), which never stops early, and with the real
SmolLM2-135M-Instruct ("demo"). Target: at least 3x at batch 16.

Metrics: 10,000 distinct answer/reference pairs, each recombined from sentences of the bundled reference answers
(about the length of real answers), scored exactly as a benchmark task is: jieba segmentation, ROUGE-1/2/L, BLEU-1..4,
GLEU and Distinct-1/2 per pair, and a 1,000-resample bootstrap interval for each of the ten figures. Timed from an
empty segmentation cache with 1 process and with the default (one process per CPU). Target: under 30 s.

Prints a Markdown table and writes ``benchmarks/results/eval_throughput.json``. Usage:
``python benchmarks/eval_throughput.py [--items 32] [--every 4] [--tokens 64] [--pairs 10000] [--threads N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import torch
from tiny_llama import tiny_llama

from medspec.bench.metrics import segmentation
from medspec.bench.results import Prediction
from medspec.bench.scoring import ScoringOptions, score_task
from medspec.bench.tasks import TaskItem, load_tasks
from medspec.data.schema import ClinicalCase, Instruction
from medspec.llm.base import GenerationParams
from medspec.llm.transformers import TransformersBackend
from medspec.model_loading import load_model_and_tokenizer

RESULTS = Path(__file__).parent / "results"
BATCH = 16


def generation_speed(model: torch.nn.Module, tokenizer: object, chats: list, tokens: int, every: int) -> dict:
    """Items per second batched (all chats) and one at a time (every ``every``-th chat, to bound the run time)."""
    params = GenerationParams(max_new_tokens=tokens)
    one = TransformersBackend(model, tokenizer, batch_size=1)
    many = TransformersBackend(model, tokenizer, batch_size=BATCH)
    one.generate(chats[:1], params)  # warm-up: first-call allocations are not throughput
    sample = chats[::every]
    start = time.perf_counter()
    single = [one.generate([chat], params)[0] for chat in sample]
    single_s = time.perf_counter() - start
    start = time.perf_counter()
    batched = many.generate(chats, params)
    batched_s = time.perf_counter() - start
    single_rate, batched_rate = len(sample) / single_s, len(chats) / batched_s
    return {
        "items_batched": len(chats),
        "items_one_at_a_time": len(sample),
        "max_new_tokens": tokens,
        "one_at_a_time_items_per_s": single_rate,
        "batched_items_per_s": batched_rate,
        "speedup": batched_rate / single_rate,
        "identical_answers": sum(a.text == b.text for a, b in zip(single, batched[::every], strict=True)),
        "new_tokens_one_at_a_time": sum(c.usage["completion_tokens"] for c in single),
        "new_tokens_batched": sum(c.usage["completion_tokens"] for c in batched),
    }


def answer_pairs(count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Distinct (answer, reference) pairs recombined from sentences of the bundled reference answers."""
    sentences = []
    for specialty in ("anesthesiology", "pediatrics"):
        for task in load_tasks(specialty=specialty):
            for record in task.records:
                texts = [record.output] if isinstance(record, Instruction) else []
                if isinstance(record, ClinicalCase):
                    texts = [q.answer for q in record.questions]
                sentences += [s + "。" for text in texts for s in text.split("。") if len(s) > 8]
    rng = random.Random(seed)
    answers, references, seen = [], [], set()
    while len(answers) < count:
        reference = rng.sample(sentences, rng.randint(2, 5))
        answer = rng.sample(reference, rng.randint(1, len(reference))) + rng.sample(sentences, rng.randint(0, 3))
        pair = ("".join(answer), "".join(reference))
        if pair[0] not in seen and pair[1] not in seen:
            seen.update(pair)
            answers.append(pair[0])
            references.append(pair[1])
    return answers, references


def metric_time(count: int, num_proc: int | None) -> dict:
    answers, references = answer_pairs(count)
    items = [
        TaskItem(id=str(i), task="pairs", kind="qa", messages=[], reference=r, question="")
        for i, r in enumerate(references)
    ]
    predictions = {str(i): Prediction(id=str(i), text=a) for i, a in enumerate(answers)}
    segmentation.clear_cache()
    start = time.perf_counter()
    result, _ = score_task("pairs", items, predictions, options=ScoringOptions(num_proc=num_proc))
    seconds = time.perf_counter() - start
    chars = sum(map(len, answers + references)) / (2 * count)
    return {
        "pairs": count,
        "num_proc": num_proc or segmentation.usable_cpus(),
        "default": num_proc is None,
        "seconds": seconds,
        "mean_chars_per_text": chars,
        "R-L": result.figures["R-L"].value,
        "B-4": result.figures["B-4"].value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=32, help="questions generated in batches")
    parser.add_argument("--every", type=int, default=4, help="one-at-a-time on every N-th of them")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per answer")
    parser.add_argument("--pairs", type=int, default=10000, help="answer pairs for the metric timing")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        # On a machine shared with other busy processes, OpenMP threads that wait on each other at every operator
        # can make a forward pass ten times slower; one thread per process measures the batching itself.
        torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    questions = load_tasks(["AneQA-sample"])[0].records[: args.items]
    chats = [[{"role": "user", "content": q.prompt_text()}] for q in questions]

    start = time.perf_counter()
    demo_model, tokenizer = load_model_and_tokenizer("demo")
    demo_model.eval()
    load_s = time.perf_counter() - start
    generation = {
        "tiny random Llama": generation_speed(tiny_llama(len(tokenizer)), tokenizer, chats, args.tokens, args.every),
        "SmolLM2-135M (demo)": generation_speed(demo_model, tokenizer, chats, args.tokens, args.every),
    }
    metrics = [metric_time(args.pairs, num_proc) for num_proc in (1, None)]  # None: the default, one per CPU

    print(f"| model | one at a time (items/s) | batched x{BATCH} (items/s) | speed-up | identical answers |")
    print("|---|---:|---:|---:|---:|")
    for name, g in generation.items():
        print(
            f"| {name} | {g['one_at_a_time_items_per_s']:.2f} | {g['batched_items_per_s']:.2f} | "
            f"{g['speedup']:.1f}x | {g['identical_answers']}/{g['items_one_at_a_time']} |"
        )
    print("\n| answer pairs | processes | metric seconds (all ten figures + bootstrap) |\n|---:|---:|---:|")
    for m in metrics:
        default = " (default)" if m["default"] else ""
        print(f"| {m['pairs']} | {m['num_proc']}{default} | {m['seconds']:.1f} |")
    smol = generation["SmolLM2-135M (demo)"]
    headline = (
        f"batch {BATCH} vs one at a time: {generation['tiny random Llama']['speedup']:.1f}x tiny, "
        f"{smol['speedup']:.1f}x SmolLM2; metrics for {args.pairs} pairs: {metrics[0]['seconds']:.1f} s "
        f"(1 process), {metrics[1]['seconds']:.1f} s ({metrics[1]['num_proc']}, the default)"
    )
    machine = {
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": load_at_start,  # other processes on the machine slow every figure down
        "demo_load_s": load_s,
    }
    RESULTS.mkdir(exist_ok=True)
    payload = {"headline": headline, "machine": machine, "generation": generation, "metrics": metrics}
    (RESULTS / "eval_throughput.json").write_text(json.dumps(payload, indent=2, ensure_ascii=False), "utf-8")
    print(f"\n{headline}")


if __name__ == "__main__":
    main()
