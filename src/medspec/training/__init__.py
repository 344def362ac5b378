"""Staged training on transformers + peft: pretrain and SFT stages, LoRA or full, merged between, resumable."""

from medspec.training.stages import EvalGateConfig, LoraSettings, ReplayConfig, StageConfig
from medspec.training.trainer import GeneralToSpecificTrainer, StageResult, TrainingConfig

__all__ = [
    "EvalGateConfig",
    "GeneralToSpecificTrainer",
    "LoraSettings",
    "ReplayConfig",
    "StageConfig",
    "StageResult",
    "TrainingConfig",
]
