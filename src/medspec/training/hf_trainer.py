"""medspec's ``transformers.Trainer`` subclass: it overrides only what differs from the stock trainer.

Here that is counting the real tokens of every batch actually trained on (for throughput and padding reports);
preference stages extend it with their loss.

Example:
    >>> MedspecTrainer.__mro__[1].__name__
    'Trainer'
"""

from __future__ import annotations

from typing import Any

from transformers import Trainer

__all__ = ["MedspecTrainer"]


class MedspecTrainer(Trainer):
    """A ``Trainer`` whose data collator has a ``counter`` (:class:`~medspec.training.collate.TokenCounter`)."""

    def training_step(self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> Any:
        counter = getattr(self.data_collator, "counter", None)
        if counter is not None:
            counter.confirm()
        return super().training_step(model, inputs, num_items_in_batch)
