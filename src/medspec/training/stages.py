"""Stage configurations: what one training stage does, validated on construction.

A run is a list of stages (the Hypnos default: LoRA SFT on general medical data with the new vocabulary rows
trainable, then full SFT on specialty data). Each stage has a ``kind`` (``pretrain``: causal LM on plain text,
optionally mixed with instruction pairs rendered as text; ``sft``: instruction data, loss on the assistant's turns
only; ``preference``: DPO or DFPO on preference pairs; ``experts``: SFT through PediatricsGPT's universal-specific
LoRA experts) and a ``method`` (``lora`` or ``full``; ``experts`` stages are LoRA by nature).

Example:
    >>> stage = StageConfig(name="general", kind="sft", method="lora", data=["general.jsonl"], lr=2e-4)
    >>> stage.lora.r, stage.packing
    (16, True)
    >>> StageConfig(name="x", kind="sft", method="full", data=[], lr=1e-5)
    Traceback (most recent call last):
    ...
    medspec.errors.ConfigError: key 'data': a stage needs at least one data file
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from medspec.errors import ConfigError
from medspec.training.experts import ExpertsConfig

__all__ = ["EvalGateConfig", "LoraSettings", "PreferenceSettings", "ReplayConfig", "StageConfig"]

StageKind = Literal["pretrain", "sft", "preference", "experts"]
Method = Literal["lora", "full"]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass
class LoraSettings:
    """LoRA hyperparameters.

    Attributes:
        r: Rank of the update matrices.
        alpha: Scaling numerator (the update is scaled by ``alpha / r``).
        dropout: Dropout on the LoRA input.
        target_modules: Module names to adapt, or ``["all-linear"]`` for every linear layer but the output layer.
        train_new_tokens: Also train the embedding rows (and untied ``lm_head`` rows) of tokens added by vocabulary
            extension, read from the model folder's ``medspec_vocab.json`` (Hypnos trains them in stage one).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])
    train_new_tokens: bool = True

    def __post_init__(self) -> None:
        if self.r < 1:
            raise ConfigError("r", f"must be at least 1, got {self.r}")
        if not 0 <= self.dropout < 1:
            raise ConfigError("dropout", f"must be in [0, 1), got {self.dropout}")
        if not self.target_modules:
            raise ConfigError("target_modules", "name at least one module, or all-linear")


@dataclass
class PreferenceSettings:
    """Preference optimisation.

    Attributes:
        loss: ``dfpo`` (PediatricsGPT: DPO plus the chosen answers' NLL) or ``dpo`` (sigmoid).
        beta: Strength of the preference (larger: closer to the reference).
        mu: Weight of the chosen answers' per-token NLL in DFPO.
    """

    loss: Literal["dpo", "dfpo"] = "dfpo"
    beta: float = 0.1
    mu: float = 1.0

    def __post_init__(self) -> None:
        if self.beta <= 0:
            raise ConfigError("beta", f"must be positive, got {self.beta}")
        if self.mu < 0:
            raise ConfigError("mu", f"must be non-negative, got {self.mu}")

    @property
    def nll_weight(self) -> float:
        """The NLL term's weight: ``mu`` for DFPO, 0 for DPO."""
        return self.mu if self.loss == "dfpo" else 0.0


@dataclass
class ReplayConfig:
    """Replay of earlier data in a later stage, against forgetting.

    Attributes:
        data: Files to replay from (usually the general stage's data).
        fraction: Replayed records as a fraction of the stage's own record count.
    """

    data: list[Path] = field(default_factory=list)
    fraction: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.fraction <= 1:
            raise ConfigError("fraction", f"must be in [0, 1], got {self.fraction}")
        if self.fraction > 0 and not self.data:
            raise ConfigError("data", "replay with a positive fraction needs data files")


@dataclass
class EvalGateConfig:
    """An evaluation after the stage that stops or warns when the stage made the model worse.

    Attributes:
        tasks: Benchmark task files (or specialty task names resolved by the recipe).
        max_items: Items evaluated per task (a subset keeps the gate cheap).
        policy: ``stop`` the run, or only ``warn``, when the score falls.
        tolerance: Allowed fall, in score points, before the gate fires (negative: the stage must improve by that).
    """

    tasks: list[str] = field(default_factory=list)
    max_items: int = 50
    policy: Literal["stop", "warn"] = "warn"
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ConfigError("tasks", "an evaluation gate needs at least one task")
        if self.max_items < 1:
            raise ConfigError("max_items", f"must be at least 1, got {self.max_items}")


@dataclass
class StageConfig:
    """One training stage.

    Attributes:
        name: Identifier; also the stage's folder in the run directory.
        kind: ``pretrain`` or ``sft``.
        method: ``lora`` (adapter, merged into the weights before any later stage) or ``full``.
        data: Record files (any format medspec reads).
        instruction_fraction: For ``pretrain``: instruction pairs rendered as plain text mixed into the corpus,
            as a fraction of the documents (PediatricsGPT's hybrid instruction pre-training); needs
            ``instruction_data``.
        instruction_data: Instruction files mixed in by ``instruction_fraction``.
        replay: Earlier data replayed in this stage.
        lora: LoRA settings (``method: lora`` only).
        preference: Loss settings of a ``preference`` stage.
        experts: Experts settings of an ``experts`` stage.
        epochs: Passes over the data (ignored when ``max_steps`` is set).
        max_steps: Optimizer steps; overrides ``epochs`` when positive.
        lr: Peak learning rate.
        batch_size: Sequences per device per step.
        grad_accum: Gradient accumulation steps.
        max_seq_length: Longest sequence, in tokens; longer examples are truncated.
        packing: Pack short examples into full sequences (no attention across example boundaries); preference stages
            batch pairs and never pack.
        group_by_length: Batch sequences (or packed rows) of similar length together, so little is padded.
        warmup: Warmup steps, or a fraction of the total in [0, 1).
        weight_decay: AdamW weight decay.
        scheduler: Learning-rate schedule (``cosine``, ``linear``, ``constant``, ...).
        logging_steps: Steps between loss log entries.
        eval_steps: Steps between held-out measurements (the stage's ``curve.jsonl``, see
            :mod:`medspec.training.curves`); 0 for none. The trainer needs a ``measure`` to take them.
        save_steps: Steps between checkpoints a killed run resumes from.
        seed: Seed of initialisation, data order and dropout.
        bf16: Train in bfloat16 mixed precision (GPUs that support it; on a CPU, autocast, faster where the CPU
            has bfloat16 instructions).
        gradient_checkpointing: Trade compute for memory.
        report_to: Experiment trackers (``tensorboard``, ``wandb``); none by default.
        eval_gate: Optional evaluation after the stage.
    """

    name: str
    kind: StageKind
    method: Method
    data: list[Path]
    instruction_fraction: float = 0.0
    instruction_data: list[Path] = field(default_factory=list)
    replay: ReplayConfig = field(default_factory=ReplayConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    preference: PreferenceSettings = field(default_factory=PreferenceSettings)
    experts: ExpertsConfig = field(default_factory=ExpertsConfig)
    epochs: float = 1.0
    max_steps: int = -1
    lr: float = 2e-5
    batch_size: int = 4
    grad_accum: int = 1
    max_seq_length: int = 1024
    packing: bool = True
    group_by_length: bool = True
    warmup: float = 0.03
    weight_decay: float = 0.0
    scheduler: str = "cosine"
    logging_steps: int = 10
    eval_steps: int = 0
    save_steps: int = 200
    seed: int = 42
    bf16: bool = False
    gradient_checkpointing: bool = False
    report_to: list[str] = field(default_factory=list)
    eval_gate: EvalGateConfig | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConfigError("name", f"{self.name!r} must be letters, digits, '_', '-' or '.'")
        if not self.data:
            raise ConfigError("data", "a stage needs at least one data file")
        if self.lr <= 0:
            raise ConfigError("lr", f"must be positive, got {self.lr}")
        for key in ("batch_size", "grad_accum", "logging_steps", "save_steps"):
            if getattr(self, key) < 1:
                raise ConfigError(key, f"must be at least 1, got {getattr(self, key)}")
        if self.max_seq_length < 16:
            raise ConfigError("max_seq_length", f"must be at least 16, got {self.max_seq_length}")
        if self.eval_steps < 0:
            raise ConfigError("eval_steps", f"must be 0 (none) or more, got {self.eval_steps}")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError("epochs", "set a positive epochs or max_steps")
        if not 0 <= self.instruction_fraction <= 1:
            raise ConfigError("instruction_fraction", f"must be in [0, 1], got {self.instruction_fraction}")
        if self.instruction_fraction and (self.kind != "pretrain" or not self.instruction_data):
            raise ConfigError(
                "instruction_fraction", "mixing instructions in needs kind: pretrain and instruction_data"
            )
        if self.kind == "experts" and self.method != "lora":
            raise ConfigError("method", "an experts stage trains LoRA experts over a frozen base: use method: lora")
        if self.warmup < 0:
            raise ConfigError("warmup", f"must be non-negative, got {self.warmup}")
