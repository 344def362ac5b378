"""``GeneralToSpecificTrainer``: stages in order on ``transformers.Trainer`` and peft, merged between, resumable.

Each stage starts from the previous stage's model folder (the base model for the first), trains with
``transformers.Trainer`` (no training loop of medspec's own: DDP, FSDP and DeepSpeed come through
``TrainingArguments`` under ``torchrun`` or ``accelerate launch``), and writes a Hugging Face model folder; a LoRA
stage also writes its adapter and merges it into that folder, so the next stage, a full fine-tuning stage say,
starts from plain weights. The chat template and the vocabulary record travel with every folder.

A run killed at any point resumes: finished stages are skipped (run directory manifest) and the unfinished one
continues from its last checkpoint (optimizer, scheduler and RNG states included).

Example:
    >>> config = TrainingConfig(base_model="out/extended", stages=[
    ...     StageConfig(name="general", kind="sft", method="lora", data=["general.jsonl"], lr=2e-4),
    ...     StageConfig(name="specialty", kind="sft", method="full", data=["anesthesia.jsonl"], lr=2e-5)])
    ... # doctest: +SKIP
    >>> GeneralToSpecificTrainer(config).train("runs/hypnos")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from medspec.chat import ensure_chat_template
from medspec.config import apply_overrides, from_dict, load_yaml, to_dict
from medspec.distributed import barrier, is_main_process, world_size
from medspec.durable import AppendLog
from medspec.errors import ConfigError
from medspec.model_loading import EXPERTS_FOLDER
from medspec.run_dir import RunDirectory
from medspec.training.curves import curve_callback
from medspec.training.datasets import build_stage_data
from medspec.training.experts import add_experts, save_experts
from medspec.training.hf_trainer import MedspecTrainer
from medspec.training.loading import load_trained_model
from medspec.training.preference import PreferenceTrainer
from medspec.training.stages import StageConfig
from medspec.vocab.adapters import VOCAB_RECORD, read_vocab_record

if TYPE_CHECKING:
    from medspec.vocab.extender import VocabExtension

__all__ = ["CURVE_FILE", "GeneralToSpecificTrainer", "StageResult", "TrainingConfig", "load_training_config"]

logger = logging.getLogger(__name__)

CURVE_FILE = "curve.jsonl"  # a stage's held-out measurements, next to its loss.jsonl
ELAPSED_FILE = "elapsed.jsonl"  # the stage's seconds at each checkpoint, for a resumed stage's total

EvalGate = Callable[[StageConfig, Path, Path], dict[str, Any]]
HeldOutMeasure = Callable[[Any, Any], dict[str, float]]


@dataclass
class TrainingConfig:
    """A staged training run.

    Attributes:
        base_model: The first stage's model: a folder, a ``.gguf`` file, or ``"demo"``.
        stages: The stages, in order; names must be unique.
    """

    base_model: str = "demo"
    stages: list[StageConfig] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.stages:
            raise ConfigError("stages", "a training run needs at least one stage")
        names = [s.name for s in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ConfigError("stages", f"stage names must be unique; repeated: {', '.join(duplicates)}")


def _resolve(path: Path, root: Path) -> Path:
    return path if path.is_absolute() else root / path


def load_training_config(path: str | Path, overrides: Sequence[str] = ()) -> TrainingConfig:
    """Read a training YAML (``base_model`` and ``stages``); data paths are relative to the file.

    Raises:
        ConfigError: Naming the key path of any problem.
    """
    path = Path(path)
    config = from_dict(TrainingConfig, apply_overrides(load_yaml(path), overrides), source=path)
    root = path.parent
    if config.base_model != "demo" and not Path(config.base_model).is_absolute():
        candidate = root / config.base_model
        config.base_model = str(candidate) if candidate.exists() else config.base_model
    for stage in config.stages:
        stage.data = [_resolve(p, root) for p in stage.data]
        stage.instruction_data = [_resolve(p, root) for p in stage.instruction_data]
        stage.replay.data = [_resolve(p, root) for p in stage.replay.data]
    return config


@dataclass
class StageResult:
    """What a finished stage produced (also recorded in the run directory's manifest).

    Attributes:
        model: Folder of the stage's (merged) model.
        adapter: Folder of the LoRA adapter, for LoRA stages.
        steps: Optimizer steps taken.
        train_loss: Mean of the logged training losses over the whole stage (a resumed stage included).
        final_loss: Last logged loss.
        non_padding_fraction: Share of batch positions holding real tokens.
        trained_tokens: Tokens that carried a loss, per epoch.
        tokens: Real (non-padding) tokens that went through training, all steps together.
        seconds: Wall time of the stage, earlier invocations up to the checkpoint it resumed from included.
        chat_template: The chat template the model was trained with.
        processes: Processes that trained it (``torchrun --nproc_per_node``).
        trainable_parameters: Parameters that trained (adapter, experts, or all).
        trainable_fraction: Their share of the model's parameters.
        gate: The evaluation gate's verdict, when the stage has one.
    """

    model: str
    adapter: str | None
    steps: int
    train_loss: float
    final_loss: float | None
    non_padding_fraction: float
    trained_tokens: int
    tokens: int
    seconds: float
    chat_template: str
    processes: int = 1
    trainable_parameters: int = 0
    trainable_fraction: float = 0.0
    gate: dict[str, Any] = field(default_factory=dict)


def _loss_log_callback(path: Path) -> Any:
    from transformers import TrainerCallback

    class LossLog(TrainerCallback):
        """Appends every logged loss to the stage's ``loss.jsonl`` (a crash-safe log)."""

        def __init__(self) -> None:
            self.log = AppendLog(path)

        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **_: Any) -> None:
            if state.is_world_process_zero and logs:
                self.log.append({"step": state.global_step, **{k: float(v) for k, v in logs.items()}})

    return LossLog()


def _elapsed_callback(path: Path, origin: float) -> Any:
    from transformers import TrainerCallback

    class Elapsed(TrainerCallback):
        """Records, at every checkpoint, the stage's seconds so far, so a resumed stage counts its whole time."""

        def __init__(self) -> None:
            self.log = AppendLog(path)

        def on_save(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            if state.is_world_process_zero:
                self.log.append({"step": state.global_step, "seconds": round(time.perf_counter() - origin, 1)})

    return Elapsed()


def _lora_config(stage: StageConfig, model: Any, vocab: dict[str, Any] | None) -> Any:
    from peft import LoraConfig

    target = stage.lora.target_modules
    indices: dict[str, list[int]] | None = None
    if stage.lora.train_new_tokens and vocab and vocab.get("new_tokens"):
        ids = [t["id"] for t in vocab["new_tokens"]]
        indices = {"embed_tokens": ids}
        output = model.get_output_embeddings()
        if output is not None and output.weight is not model.get_input_embeddings().weight:
            indices["lm_head"] = ids  # untied output layer: its new rows are just as untrained
    return LoraConfig(
        r=stage.lora.r,
        lora_alpha=stage.lora.alpha,
        lora_dropout=stage.lora.dropout,
        target_modules="all-linear" if target == ["all-linear"] else target,
        trainable_token_indices=indices,
        task_type="CAUSAL_LM",
    )


def _training_arguments(stage: StageConfig, folder: Path) -> Any:
    import torch
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(folder / "checkpoints"),
        num_train_epochs=stage.epochs,
        max_steps=stage.max_steps,
        per_device_train_batch_size=stage.batch_size,
        gradient_accumulation_steps=stage.grad_accum,
        learning_rate=stage.lr,
        lr_scheduler_type=stage.scheduler,
        warmup_steps=stage.warmup,
        weight_decay=stage.weight_decay,
        logging_steps=stage.logging_steps,
        save_strategy="steps",
        save_steps=stage.save_steps,
        save_total_limit=2,
        seed=stage.seed,
        data_seed=stage.seed,
        bf16=stage.bf16,
        use_cpu=stage.bf16 and not torch.cuda.is_available(),  # bf16 autocast on a CPU (AVX-512 BF16, AMX)
        activation_checkpointing=stage.gradient_checkpointing,
        report_to=stage.report_to or "none",
        train_sampling_strategy="group_by_length" if stage.group_by_length else "random",
        remove_unused_columns=False,
        ddp_backend="gloo" if world_size() > 1 and not torch.cuda.is_available() else None,
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
    )


def _save_base(model: Any, tokenizer: Any, vocab: VocabExtension | None, folder: Path) -> dict[str, Any]:
    """Write an in-memory starting model (and its vocabulary record) as a model folder, on the main process."""
    if is_main_process():
        if vocab is not None:
            vocab.save_pretrained(folder / "model", model=model)
        else:
            model.save_pretrained(folder / "model")
            tokenizer.save_pretrained(folder / "model")
    barrier()
    return {"model": "model"}


class GeneralToSpecificTrainer:
    """Runs training stages in order in one run directory.

    Args:
        config: The run: base model and stages.
        eval_gate: Optional ``gate(stage, previous_model_folder, new_model_folder) -> dict`` called after every
            stage that has an ``eval_gate``; it returns ``{"passed": bool, ...}``. The recipe wires the benchmark in.
        callbacks: Extra ``transformers.TrainerCallback`` objects for every stage (trackers, early stopping).
        measure: Optional ``measure(model, tokenizer) -> {figure: value}`` taken every ``eval_steps`` of a stage
            that sets them (its training curve, :mod:`medspec.training.curves`); the recipe measures held-out
            bits per character.
    """

    def __init__(
        self,
        config: TrainingConfig,
        *,
        eval_gate: EvalGate | None = None,
        callbacks: Sequence[Any] = (),
        measure: HeldOutMeasure | None = None,
    ) -> None:
        self.config = config
        self.eval_gate = eval_gate
        self.callbacks = list(callbacks)
        self.measure = measure

    def train(
        self,
        out: str | Path | RunDirectory,
        *,
        model: Any = None,
        tokenizer: Any = None,
        vocab: VocabExtension | None = None,
    ) -> dict[str, StageResult]:
        """Run (or resume) every stage; returns each stage's result by name.

        Args:
            out: The run directory.
            model: A model in memory to start from instead of ``config.base_model``, with its ``tokenizer``: a
                :class:`~medspec.vocab.extender.VocabExtender`'s output goes straight in. It is saved once, as the
                run's ``base`` step, so that a resumed run starts from the same weights.
            tokenizer: The in-memory model's tokenizer.
            vocab: The vocabulary extension the model came from, so that LoRA stages train its new rows.

        Raises:
            ValueError: When only one of ``model`` and ``tokenizer`` is given, or ``vocab`` without them.
            medspec.errors.MedspecError: When a stage's evaluation gate fails with policy ``stop``.
        """
        if (model is None) != (tokenizer is None) or (vocab is not None and model is None):
            raise ValueError("pass model and tokenizer together (and vocab only with them)")
        run = out if isinstance(out, RunDirectory) else RunDirectory(out, config=to_dict(self.config))
        model_in: str | Path = Path(self.config.base_model) if self.config.base_model != "demo" else "demo"
        if model is not None:
            outputs = run.run_step("base", lambda folder: _save_base(model, tokenizer, vocab, folder))
            model_in = run.root / "base" / outputs["model"]
        results: dict[str, StageResult] = {}
        for stage in self.config.stages:
            outputs = run.run_step(f"train-{stage.name}", lambda folder, s=stage, m=model_in: self._stage(s, m, folder))
            model_out = run.root / f"train-{stage.name}" / outputs["model"]
            if stage.eval_gate is not None and self.eval_gate is not None:
                gate = run.run_step(
                    f"gate-{stage.name}", lambda _, s=stage, m=model_in, o=model_out: self._gate(s, m, o)
                )
                outputs = {**outputs, "gate": gate}
            results[stage.name] = StageResult(**outputs)
            model_in = model_out
        return results

    def _stage(self, stage: StageConfig, model_in: str | Path, folder: Path) -> dict[str, Any]:
        from transformers import set_seed
        from transformers.trainer_utils import get_last_checkpoint

        started = time.perf_counter()
        model, tokenizer = load_trained_model(model_in)
        template = ensure_chat_template(tokenizer)
        if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(tokenizer), mean_resizing=True)  # chat markers the base lacked
        data = build_stage_data(stage, tokenizer)
        vocab = read_vocab_record(model_in) if model_in != "demo" else None
        set_seed(stage.seed)
        model = self._adapt(stage, model, tokenizer, vocab, folder)
        model.config.use_cache = False  # training needs no cache, and packed masking needs there to be none
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        options: dict[str, Any] = {}
        trainer_class = MedspecTrainer
        if stage.kind == "preference":
            trainer_class = PreferenceTrainer
            reference = None if stage.method == "lora" else PreferenceTrainer.frozen_copy(model)
            options = {"beta": stage.preference.beta, "mu": stage.preference.nll_weight, "reference_model": reference}
        callbacks = [_loss_log_callback(folder / "loss.jsonl"), *self.callbacks]
        if stage.eval_steps and self.measure is not None:
            measure = self.measure
            callbacks.append(
                curve_callback(folder / CURVE_FILE, every=stage.eval_steps, measure=lambda m: measure(m, tokenizer))
            )
        trainer = trainer_class(
            model=model,
            args=_training_arguments(stage, folder),
            train_dataset=data.dataset,
            data_collator=data.collator,
            callbacks=callbacks,
            **options,
        )
        checkpoints = folder / "checkpoints"
        last = get_last_checkpoint(str(checkpoints)) if checkpoints.is_dir() else None
        earlier = 0.0  # seconds earlier invocations spent up to the checkpoint this one resumes from
        if last:
            logger.info("stage %s: resuming from %s", stage.name, last)
            step = int(Path(last).name.rsplit("-", 1)[-1])
            earlier = next((e["seconds"] for e in AppendLog(folder / ELAPSED_FILE).entries() if e["step"] == step), 0.0)
        trainer.add_callback(_elapsed_callback(folder / ELAPSED_FILE, started - earlier))
        result = trainer.train(resume_from_checkpoint=last)
        adapter = self._save(stage, trainer, tokenizer, folder, model_in)
        # the history holds the whole stage (a resumed run restores the logs of the steps before its checkpoint)
        logs = [entry for entry in trainer.state.log_history if "loss" in entry]
        return {
            "model": "model",
            "adapter": adapter,
            "steps": int(trainer.state.global_step),
            "train_loss": sum(e["loss"] for e in logs) / len(logs) if logs else float(result.training_loss),
            "final_loss": float(logs[-1]["loss"]) if logs else None,
            "non_padding_fraction": round(data.collator.counter.fraction, 4),
            "trained_tokens": data.trained_tokens,
            "tokens": data.collator.counter.real,
            "seconds": round(earlier + time.perf_counter() - started, 1),
            "chat_template": template,
            "processes": world_size(),
            "trainable_parameters": trainable,
            "trainable_fraction": round(trainable / total, 6),
        }

    def _adapt(self, stage: StageConfig, model: Any, tokenizer: Any, vocab: dict[str, Any] | None, folder: Path) -> Any:
        """Wrap the model for the stage's method: peft LoRA, universal-specific experts, or nothing (full)."""
        if stage.kind == "experts":
            if is_main_process():  # the frozen base the experts sit on, saved before they are added
                model.save_pretrained(folder / "model")
                tokenizer.save_pretrained(folder / "model")
            return add_experts(model, stage.experts)
        if stage.method == "lora":
            from peft import get_peft_model

            return get_peft_model(model, _lora_config(stage, model, vocab))
        return model

    def _save(self, stage: StageConfig, trainer: Any, tokenizer: Any, folder: Path, model_in: str | Path) -> str | None:
        """Write the stage's model folder (merging a LoRA adapter into it) and its adapter; only rank 0 writes."""
        adapter = {"experts": f"model/{EXPERTS_FOLDER}"}.get(stage.kind, "adapter" if stage.method == "lora" else None)
        if is_main_process():
            if stage.kind == "experts":
                save_experts(trainer.model, folder / "model" / EXPERTS_FOLDER)
            else:
                if adapter:
                    trainer.model.save_pretrained(folder / adapter)
                model = trainer.model.merge_and_unload() if adapter else trainer.model
                model.config.use_cache = True  # for generation from the saved model
                model.save_pretrained(folder / "model")
            for target in [folder / "model", *([folder / adapter] if adapter else [])]:
                tokenizer.save_pretrained(target)
                record = Path(model_in) / VOCAB_RECORD if model_in != "demo" else None
                if record is not None and record.is_file():
                    shutil.copyfile(record, target / VOCAB_RECORD)
            shutil.rmtree(folder / "checkpoints", ignore_errors=True)  # the stage is done; its folder is the result
        barrier()
        return adapter

    def _gate(self, stage: StageConfig, model_in: str | Path, model_out: Path) -> dict[str, Any]:
        assert stage.eval_gate is not None and self.eval_gate is not None
        verdict = self.eval_gate(stage, Path(str(model_in)), model_out)
        if not verdict.get("passed", True):
            message = f"stage {stage.name} made the model worse on its evaluation gate: {json.dumps(verdict)}"
            if stage.eval_gate.policy == "stop":
                from medspec.errors import MedspecError

                raise MedspecError(f"{message}; the stage's model is kept in {model_out} for inspection")
            logger.warning(message)
        return verdict
