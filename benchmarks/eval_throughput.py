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

Likelihood scoring modes: items per second of ``Benchmark.predict`` with ``TransformersBackend`` (batch 16) on the
real SmolLM2-135M-Instruct, beside lm-evaluation-harness's definition computed by the plain transformers loop a user
writes, on the same items in the same run (both sides warmed up first, each mode timed back to back). The plain loop
sends one forward pass per (context, continuation) request, batch 1, under ``torch.inference_mode()``, over
``(context + continuation)[:-1]``, takes a log-softmax over the vocabulary and sums the continuation tokens'
log-probabilities (the harness's ``loglikelihood``); no prefix cache, no batching. Rows:

* letter: the first ``--modes-items`` AneCQ questions with their options; every candidate answer (a letter, or every
  set of two or more letters for a multiple-answer question) is a continuation of the rendered chat prompt, prompt
  and continuation tokenised separately;
* cloze: the same questions without options; each candidate's option text is the continuation; raw answer = highest
  log-likelihood, normalised answer = highest log-likelihood per character (the harness's ``acc`` / ``acc_norm``);
* circular (letter): the first ``--circular-items`` questions in every rotation of their options;
* perplexity documents: the first ``--documents`` records of the anesthesiology ``benchmark/documents.jsonl``, scored
  as the harness's
  ``loglikelihood_rolling`` with ``max_length = --window`` (disjoint windows after BOS);
  medspec runs it as ``perplexity_window = W + 1, perplexity_stride = W``, which reads exactly the same windows
  (each row of W + 1 tokens predicts W of them); an untimed float64 log-softmax of the same windows shows which side
  a difference comes from (``--no-exact-check`` skips it);
* perplexity answers: the reference answers of the first ``--answers`` AneQA questions as continuations of their
  chats.

Items are benchmark items (a rotation is an item); "requests" are the plain loop's forward passes. Also reported: the
largest absolute difference of the per-candidate (per-text) log-probabilities, how many chosen answers agree, and
the difference of the perplexity tasks' bits per character. Target: medspec at least 3x the plain loop's items per
second with equal scores: the same answers, and bits per character equal to 1e-4.

Prints Markdown tables and writes ``benchmarks/results/eval_throughput.json`` (a skipped section keeps the figures an
earlier run stored there). Usage: ``python benchmarks/eval_throughput.py [--items 32] [--every 4] [--tokens 64]
[--pairs 10000] [--threads N] [--modes-items 12] [--circular-items 3] [--documents 12] [--answers 12] [--window 256]
[--no-exact-check] [--skip-generation] [--skip-metrics] [--skip-modes]``. On a machine shared with other busy
processes, ``--threads 1`` keeps the timings stable.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from tiny_llama import tiny_llama

import medspec
from medspec.bench.benchmark import Benchmark, BenchmarkConfig
from medspec.bench.choice.modes import best, candidate_answers, cloze_text
from medspec.bench.metrics import segmentation
from medspec.bench.results import Prediction
from medspec.bench.scoring import ScoringOptions, score_task
from medspec.bench.tasks import Task, TaskItem, load_tasks
from medspec.data.io import read_records
from medspec.data.schema import ClinicalCase, Document, Instruction
from medspec.llm.base import GenerationParams
from medspec.llm.transformers import TransformersBackend
from medspec.model_loading import load_model_and_tokenizer

RESULTS = Path(__file__).parent / "results"
BATCH = 16
DOCUMENTS = Path(medspec.__file__).parent / "specialties" / "anesthesiology" / "benchmark" / "documents.jsonl"
TOLERANCE = 1e-4  # largest allowed |medspec - plain| bits per character of a perplexity task


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


# Likelihood scoring modes. The plain side is lm-evaluation-harness's definition, as the loop a user writes.


def plain_loglikelihood(model: Any, context: list[int], continuation: list[int], *, exact: bool = False) -> float:
    """The harness's ``loglikelihood`` at batch 1: one forward pass over ``(context + continuation)[:-1]``.

    ``exact`` takes the log-softmax in float64 (an untimed reference): float32's is biased by about 6e-6 a token
    with this model's vocabulary, which adds up over a long text.
    """
    ids = torch.tensor([(context + continuation)[:-1]], device=model.device)  # (1, T)
    with torch.inference_mode():
        logits = model(input_ids=ids).logits[0]
        logprobs = torch.log_softmax(logits.double() if exact else logits.float(), dim=-1)  # (T, V)
    targets = torch.tensor(continuation, device=logprobs.device)
    return float(logprobs[-len(continuation) :].gather(1, targets[:, None]).sum())


def rolling_windows(tokens: list[int], *, prefix_token: int, max_length: int) -> Iterator[tuple[list[int], list[int]]]:
    """The harness's disjoint ``(context, continuation)`` requests for a text.

    ``lm_eval.utils.get_rolling_token_windows(..., context_len=1)`` followed by ``make_disjoint_window``: the first
    window is ``[prefix] + tokens[: max_length - 1]`` predicting ``tokens[:max_length]``; each later one holds
    ``max_length`` input tokens and predicts the next ``max_length`` tokens not yet predicted.

    Example:
        >>> list(rolling_windows([1, 2, 3, 4, 5, 6, 7], prefix_token=0, max_length=3))
        [([0], [1, 2, 3]), ([3], [4, 5, 6]), ([4, 5, 6], [7])]
    """
    if not tokens:
        return
    first = min(max_length, len(tokens))
    yield [prefix_token], tokens[:first]  # inputs [prefix] + tokens[: first - 1], made disjoint
    predicted = first
    while predicted < len(tokens):
        count = min(len(tokens) - predicted, max_length)
        end = predicted + count
        inputs = tokens[end - max_length - 1 : end - 1]
        yield inputs[: len(inputs) - (count - 1)], tokens[end - count : end]
        predicted += count


def _encode(tokenizer: Any, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def plain_choice(model: Any, tokenizer: Any, items: list[TaskItem], *, cloze: bool) -> tuple[dict, int]:
    """Each choice item's candidate log-probabilities (letters, or option texts in cloze mode), one request each."""
    tables: dict[str, dict[str, float]] = {}
    requests = 0
    for item in items:
        prompt = tokenizer.apply_chat_template(item.messages, add_generation_prompt=True, tokenize=False)
        context = _encode(tokenizer, prompt)
        candidates = candidate_answers(item.options, multiple=len(item.reference) > 1)
        replies = [cloze_text(item.options, c) for c in candidates] if cloze else candidates
        tables[item.id] = {
            c: plain_loglikelihood(model, context, _encode(tokenizer, reply))
            for c, reply in zip(candidates, replies, strict=True)
        }
        requests += len(candidates)
    return tables, requests


def plain_texts(
    model: Any, tokenizer: Any, items: list[TaskItem], *, max_length: int, exact: bool = False
) -> tuple[dict, int]:
    """Each perplexity item's log-probability: a document rolling after BOS, an answer after its chat."""
    prefix = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    found: dict[str, float] = {}
    requests = 0
    for item in items:
        if item.messages:
            prompt = tokenizer.apply_chat_template(item.messages, add_generation_prompt=True, tokenize=False)
            context, reply = _encode(tokenizer, prompt), _encode(tokenizer, item.reference)
            found[item.id] = plain_loglikelihood(model, context, reply, exact=exact)
            requests += 1
            continue
        windows = list(rolling_windows(_encode(tokenizer, item.reference), prefix_token=prefix, max_length=max_length))
        found[item.id] = sum(plain_loglikelihood(model, c, continuation, exact=exact) for c, continuation in windows)
        requests += len(windows)
    return found, requests


def benchmark_documents(count: int) -> list[Document]:
    """The first ``count`` of the anesthesiology benchmark's held-out documents."""
    return [r for r in read_records(DOCUMENTS) if isinstance(r, Document)][:count]


def compare_mode(
    mode: str, items: list[TaskItem], predictions: dict[str, Prediction], plain: dict, cloze: bool = False
) -> dict:
    """Largest |medspec - plain| log-probability (also relative), and how many chosen answers agree (choice only)."""
    if items[0].kind != "choice":
        pairs = [(predictions[i.id].logprob, plain[i.id]) for i in items]
        chars = sum(len(i.reference) for i in items)
        bpc = [-sum(side) / chars / math.log(2) for side in zip(*pairs, strict=True)]
        return {
            **_differences(pairs),
            "abs_bpc_diff": abs(bpc[0] - bpc[1]),
            "same_answers": None,
            "answers_compared": 0,
        }
    pairs, same = [], 0
    for item in items:
        ours, theirs = predictions[item.id].logprobs or {}, plain[item.id]
        if set(ours) != set(theirs):
            raise AssertionError(f"{mode} {item.id}: medspec scored {sorted(ours)}, the plain loop {sorted(theirs)}")
        pairs += [(ours[c], theirs[c]) for c in theirs]
        if cloze:  # medspec's answer is the normalised one; both the raw and the normalised choice must agree
            same += best(ours) == best(theirs) and predictions[item.id].text == best(theirs, item.options)
        else:
            same += predictions[item.id].text == best(theirs)
    return {**_differences(pairs), "same_answers": same, "answers_compared": len(items)}


def _differences(pairs: list[tuple[float, float]]) -> dict:
    return {
        "max_abs_logprob_diff": max(abs(a - b) for a, b in pairs),
        "max_rel_logprob_diff": max(abs(a - b) / max(abs(b), 1e-12) for a, b in pairs),
        "logprobs_compared": len(pairs),
    }


def likelihood_modes(model: Any, tokenizer: Any, args: argparse.Namespace) -> dict:
    """medspec's scoring modes beside the plain loop, on the same items, each mode timed back to back."""
    backend = TransformersBackend(model, tokenizer, batch_size=BATCH, name="demo")
    choice = load_tasks(["AneCQ-sample"], specialty="anesthesiology")[0]
    documents = benchmark_documents(args.documents)
    answers = load_tasks(["AneQA-sample"], specialty="anesthesiology")[0].records[: args.answers]
    # A row of W + 1 tokens predicts W: the harness's rolling windows at max_length W (see the module docstring).
    texts = {"perplexity_window": args.window + 1, "perplexity_stride": args.window}
    cases = [
        ("letter", choice, BenchmarkConfig(choice_mode="letter", limit=args.modes_items)),
        ("cloze", choice, BenchmarkConfig(choice_mode="cloze", limit=args.modes_items)),
        ("circular (letter)", choice, BenchmarkConfig(choice_mode="letter", circular=True, limit=args.circular_items)),
        ("perplexity documents", Task("documents", "perplexity", documents), BenchmarkConfig(**texts)),
        ("perplexity answers", Task("answers", "perplexity", answers), BenchmarkConfig(**texts)),
    ]
    # Warm-up: first-call allocations and lazy initialisation on both sides are not throughput.
    warm = BenchmarkConfig(choice_mode="cloze", limit=2)
    Benchmark([choice], config=warm).predict(backend, choice)
    plain_choice(model, tokenizer, Benchmark([choice], config=warm).items(choice)[:1], cloze=True)
    rows = []
    started = time.perf_counter()
    for mode, task, config in cases:
        bench = Benchmark([task], config=config)
        items = bench.items(task)
        load = os.getloadavg()[0]
        start, cpu = time.perf_counter(), time.process_time()
        predictions = bench.predict(backend, task)
        medspec_s, medspec_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        start, cpu = time.perf_counter(), time.process_time()
        if task.kind == "choice":
            plain, requests = plain_choice(model, tokenizer, items, cloze=config.choice_mode == "cloze")
        else:
            plain, requests = plain_texts(model, tokenizer, items, max_length=args.window)
        plain_s, plain_cpu_s = time.perf_counter() - start, time.process_time() - cpu
        row = {
            "mode": mode,
            "items": len(items),
            "questions": len({i.record_id for i in items}),
            "plain_requests": requests,
            "plain_s": plain_s,
            "medspec_s": medspec_s,
            "plain_cpu_s": plain_cpu_s,  # process CPU time, all threads: less sensitive to other busy processes
            "medspec_cpu_s": medspec_cpu_s,
            "plain_items_per_s": len(items) / plain_s,
            "medspec_items_per_s": len(items) / medspec_s,
            "speedup": plain_s / medspec_s,
            **compare_mode(mode, items, predictions, plain, cloze=config.choice_mode == "cloze"),
            "load_average_before": load,
        }
        # the scores must agree: the same answers for choice modes, bits per character to TOLERANCE for perplexity
        row["equal_to_tolerance"] = row.get("abs_bpc_diff", 0.0) <= TOLERANCE
        if mode == "perplexity documents" and args.exact_check:  # untimed: which side is off, over long texts
            exact, _ = plain_texts(model, tokenizer, items, max_length=args.window, exact=True)
            row["max_abs_diff_vs_float64"] = {
                "medspec": max(abs(predictions[i.id].logprob - exact[i.id]) for i in items),
                "plain loop": max(abs(plain[i.id] - exact[i.id]) for i in items),
            }
        row["target_met"] = (
            row["speedup"] >= 3 and row["equal_to_tolerance"] and row["same_answers"] in (None, len(items))
        )
        rows.append(row)
        print(f"{mode}: plain {plain_s:.1f} s, medspec {medspec_s:.1f} s", file=sys.stderr, flush=True)
    return {
        "model": "SmolLM2-135M-Instruct (demo)",
        "batch_size": BATCH,
        "max_length": args.window,
        "medspec_perplexity_window": args.window + 1,
        "medspec_perplexity_stride": args.window,
        "tolerance": TOLERANCE,
        "documents": {"source": "anesthesiology/benchmark/documents.jsonl", "ids": [d.id for d in documents]},
        "seconds": time.perf_counter() - started,
        "machine": {
            "cpu_count": os.cpu_count(),
            "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "load_average_at_end": os.getloadavg()[0],
        },
        "rows": rows,
        "all_targets_met": all(r["target_met"] for r in rows),
    }


def print_modes(modes: dict) -> None:
    print(
        "\n| mode | items | plain loop items/s | medspec items/s | speed-up | max \\|Δ logprob\\| | \\|Δ BPC\\| "
        "| same answers |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in modes["rows"]:
        same = "n/a" if r["same_answers"] is None else f"{r['same_answers']}/{r['answers_compared']}"
        bpc = f"{r['abs_bpc_diff']:.1e}" if "abs_bpc_diff" in r else "n/a"
        print(
            f"| {r['mode']} | {r['items']} | {r['plain_items_per_s']:.3f} | {r['medspec_items_per_s']:.3f} | "
            f"{r['speedup']:.1f}x | {r['max_abs_logprob_diff']:.1e} | {bpc} | {same} |"
        )
    machine = modes["machine"]
    print(
        f"\n{machine['torch_threads']} torch threads, {machine['cpu_count']} CPUs; harness max_length "
        f"{modes['max_length']} (medspec window {modes['medspec_perplexity_window']}, stride "
        f"{modes['medspec_perplexity_stride']}); target >= 3x, same answers and |Δ BPC| <= {modes['tolerance']:g}: "
        + ", ".join(f"{r['mode']} {'met' if r['target_met'] else 'not met'}" for r in modes["rows"])
    )
    for r in modes["rows"]:
        if "max_abs_diff_vs_float64" in r:
            exact = r["max_abs_diff_vs_float64"]
            print(
                f"{r['mode']}: max |Δ| to a float64 log-softmax: medspec {exact['medspec']:.1e}, "
                f"plain loop (float32, as the harness) {exact['plain loop']:.1e}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=32, help="questions generated in batches")
    parser.add_argument("--every", type=int, default=4, help="one-at-a-time on every N-th of them")
    parser.add_argument("--tokens", type=int, default=64, help="new tokens per answer")
    parser.add_argument("--pairs", type=int, default=10000, help="answer pairs for the metric timing")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--modes-items", type=int, default=12, help="choice questions for the letter and cloze rows")
    parser.add_argument("--circular-items", type=int, default=3, help="choice questions asked in every rotation")
    parser.add_argument("--documents", type=int, default=12, help="documents for the perplexity documents row")
    parser.add_argument("--answers", type=int, default=12, help="AneQA reference answers for the perplexity row")
    parser.add_argument("--window", type=int, default=256, help="the harness's max_length for rolling windows")
    parser.add_argument(
        "--exact-check", action=argparse.BooleanOptionalAction, default=True, help="untimed float64 check of documents"
    )
    parser.add_argument("--skip-generation", action="store_true", help="skip batched versus one-at-a-time generation")
    parser.add_argument("--skip-metrics", action="store_true", help="skip the metric timing")
    parser.add_argument("--skip-modes", action="store_true", help="skip the likelihood scoring modes")
    args = parser.parse_args()
    if args.threads:
        # On a machine shared with other busy processes, OpenMP threads that wait on each other at every operator
        # can make a forward pass ten times slower; one thread per process measures the batching itself.
        torch.set_num_threads(args.threads)
    load_at_start = os.getloadavg()[0]
    result_file = RESULTS / "eval_throughput.json"
    # A skipped section keeps what an earlier run measured.
    payload: dict = json.loads(result_file.read_text("utf-8")) if result_file.exists() else {}

    demo_model = tokenizer = None
    load_s = 0.0
    if not (args.skip_generation and args.skip_modes):
        start = time.perf_counter()
        demo_model, tokenizer = load_model_and_tokenizer("demo")
        demo_model.eval()
        load_s = time.perf_counter() - start
    if not args.skip_generation:
        questions = load_tasks(["AneQA-sample"])[0].records[: args.items]
        chats = [[{"role": "user", "content": q.prompt_text()}] for q in questions]
        payload["generation"] = {
            "tiny random Llama": generation_speed(
                tiny_llama(len(tokenizer)), tokenizer, chats, args.tokens, args.every
            ),
            "SmolLM2-135M (demo)": generation_speed(demo_model, tokenizer, chats, args.tokens, args.every),
        }
        payload["machine"] = {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_at_start": load_at_start,  # other processes on the machine slow every figure down
            "demo_load_s": load_s,
        }
    if not args.skip_metrics:
        payload["metrics"] = [metric_time(args.pairs, n) for n in (1, None)]  # None: the default, one per CPU
    if not args.skip_modes:
        modes = likelihood_modes(demo_model, tokenizer, args)
        modes["machine"] |= {"load_average_at_start": load_at_start, "demo_load_s": load_s}
        payload["likelihood_modes"] = modes

    headline = []
    if "generation" in payload:
        generation = payload["generation"]
        print(f"| model | one at a time (items/s) | batched x{BATCH} (items/s) | speed-up | identical answers |")
        print("|---|---:|---:|---:|---:|")
        for name, g in generation.items():
            print(
                f"| {name} | {g['one_at_a_time_items_per_s']:.2f} | {g['batched_items_per_s']:.2f} | "
                f"{g['speedup']:.1f}x | {g['identical_answers']}/{g['items_one_at_a_time']} |"
            )
        headline.append(
            f"batch {BATCH} vs one at a time: {generation['tiny random Llama']['speedup']:.1f}x tiny, "
            f"{generation['SmolLM2-135M (demo)']['speedup']:.1f}x SmolLM2"
        )
    if "metrics" in payload:
        metrics = payload["metrics"]
        print("\n| answer pairs | processes | metric seconds (all ten figures + bootstrap) |\n|---:|---:|---:|")
        for m in metrics:
            default = " (default)" if m["default"] else ""
            print(f"| {m['pairs']} | {m['num_proc']}{default} | {m['seconds']:.1f} |")
        headline.append(
            f"metrics for {metrics[0]['pairs']} pairs: {metrics[0]['seconds']:.1f} s "
            f"(1 process), {metrics[1]['seconds']:.1f} s ({metrics[1]['num_proc']}, the default)"
        )
    if "likelihood_modes" in payload:
        modes = payload["likelihood_modes"]
        print_modes(modes)
        rows = modes["rows"]
        headline.append(
            "likelihood modes vs the plain harness loop: "
            + ", ".join(f"{r['mode']} {r['speedup']:.1f}x" for r in rows)
            + f"; max |Δ logprob| {max(r['max_abs_logprob_diff'] for r in rows):.1e}"
        )
    payload["headline"] = "; ".join(headline)
    payload = {"headline": payload.pop("headline"), **payload}
    RESULTS.mkdir(exist_ok=True)
    result_file.write_text(json.dumps(payload, indent=2, ensure_ascii=False), "utf-8")
    print(f"\n{payload['headline']}")


if __name__ == "__main__":
    main()
