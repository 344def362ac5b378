"""Training curves: held-out figures measured every ``eval_steps`` while a stage trains.

The loss a stage logs says how well it fits its own data; a held-out figure measured on the way (bits per
character of answers the model never trains on, say) says whether that fit carries over, and at which step it stops
doing so. :func:`curve_callback` measures before the first step, every ``every`` steps and after the last one, and
appends each measurement to a crash-safe JSONL log; a resumed stage goes on appending where it stopped.

Example:
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "curve.jsonl"
    >>> callback = curve_callback(path, every=50, measure=lambda model: {"AneQA-bpc": 1.9})
    >>> read_curve(path)
    []
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from medspec.durable import AppendLog

__all__ = ["Measure", "curve_callback", "read_curve"]

Measure = Callable[[Any], dict[str, float]]


def read_curve(path: str | Path) -> list[dict[str, float]]:
    """The measurements a stage logged, in step order (empty when it logged none)."""
    return sorted(AppendLog(path).entries(), key=lambda entry: entry["step"]) if Path(path).exists() else []


def curve_callback(path: str | Path, *, every: int, measure: Measure) -> Any:
    """A ``transformers.TrainerCallback`` that logs ``measure(model)`` at step 0, every ``every`` steps and the end.

    Args:
        path: The JSONL log: one ``{"step", "epoch", <figure>: value, ...}`` entry per measurement.
        every: Steps between measurements.
        measure: Returns the figures of the model as it is (called in eval mode, without gradients; the model
            goes back to training mode afterwards).
    """
    import torch
    from transformers import TrainerCallback

    if every < 1:
        raise ValueError(f"every must be at least 1, got {every}")

    class CurveLog(TrainerCallback):
        """Held-out figures during training, appended to the stage's curve log."""

        def __init__(self) -> None:
            self.log = AppendLog(path)
            self.done = {entry["step"] for entry in self.log.entries()}

        def _measure(self, state: Any, model: Any) -> None:
            if not state.is_world_process_zero or state.global_step in self.done:
                return
            training = model.training
            model.eval()
            try:
                with torch.no_grad():
                    figures = measure(model)
            finally:
                model.train(training)
            self.log.append({"step": state.global_step, "epoch": state.epoch or 0.0, **figures})
            self.done.add(state.global_step)

        def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> None:
            if state.global_step == 0:
                self._measure(state, model)

        def on_step_end(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> None:
            if state.global_step % every == 0:
                self._measure(state, model)

        def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **_: Any) -> None:
            self._measure(state, model)

    return CurveLog()
