"""Preference optimisation: DPO (sigmoid) and PediatricsGPT's DFPO, as a loss and a ``Trainer`` that uses it.

For a prompt x with preferred answer y_w and rejected answer y_l, with Δθ(y) = log πθ(y|x) − log π_ref(y|x) summed
over the answer's tokens and π_ref the frozen model entering the stage:

* DPO: ``L = −log σ(β · (Δθ(y_w) − Δθ(y_l)))``
* DFPO: ``L = −log σ(β · (Δθ(y_w) − Δθ(y_l))) + μ · NLL(y_w)``, NLL the per-token mean over the chosen answer, which
  keeps the model following the preferred answers while it learns the preference. At μ = 0 it is DPO.

Under LoRA the reference is the same model with its adapter disabled, so no second copy sits in memory; a full
stage keeps a frozen copy.

Example:
    >>> import torch
    >>> loss, stats = preference_loss(torch.tensor([-10.0]), torch.tensor([-12.0]), torch.tensor([-11.0]),
    ...                               torch.tensor([-11.0]), chosen_nll=torch.tensor([2.0]), beta=0.1, mu=0.5)
    >>> round(float(loss), 4), round(float(stats["margin"]), 2)
    (1.5981, 0.2)
"""

from __future__ import annotations

import contextlib
import copy
from collections import defaultdict
from collections.abc import Iterator
from typing import Any, Literal

import torch
import torch.nn.functional as F

from medspec.training.collate import IGNORE_INDEX
from medspec.training.hf_trainer import MedspecTrainer

__all__ = ["PreferenceTrainer", "preference_loss", "sequence_logprobs"]

LossType = Literal["dpo", "dfpo"]


def preference_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    *,
    chosen_nll: torch.Tensor,
    beta: float,
    mu: float = 0.0,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """DFPO loss (DPO when ``mu`` is 0), averaged over the batch.

    Args:
        policy_chosen: Summed log-probabilities of the chosen answers under the policy, shape (B,).
        policy_rejected: The same for the rejected answers, (B,).
        reference_chosen: Under the frozen reference, (B,).
        reference_rejected: Under the frozen reference, (B,).
        chosen_nll: Per-token mean negative log-likelihood of each chosen answer under the policy, (B,).
        beta: Strength of the preference (deviation from the reference it takes to win).
        mu: Weight of the chosen answers' NLL.

    Returns:
        The loss and per-batch means for logging: ``reward_chosen``, ``reward_rejected``, ``margin``, ``accuracy``.
    """
    chosen_reward = beta * (policy_chosen - reference_chosen)  # (B,)
    rejected_reward = beta * (policy_rejected - reference_rejected)  # (B,)
    margin = chosen_reward - rejected_reward
    losses = -F.logsigmoid(margin) + mu * chosen_nll
    stats = {
        "reward_chosen": chosen_reward.detach().mean(),
        "reward_rejected": rejected_reward.detach().mean(),
        "margin": margin.detach().mean(),
        "accuracy": (margin.detach() > 0).float().mean(),
    }
    return losses.mean(), stats


def sequence_logprobs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probability and token count of the labelled tokens of each sequence.

    Args:
        logits: (B, T, V) model outputs.
        labels: (B, T) token ids, :data:`~medspec.training.collate.IGNORE_INDEX` where no answer token stands.

    Returns:
        ``(summed log-probabilities (B,), labelled token counts (B,))``.
    """
    targets = labels[:, 1:]  # position t predicts token t + 1
    mask = targets != IGNORE_INDEX  # (B, T-1)
    logprobs = torch.log_softmax(logits[:, :-1].float(), dim=-1)  # (B, T-1, V)
    picked = logprobs.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    return (picked * mask).sum(-1), mask.sum(-1)


class PreferenceTrainer(MedspecTrainer):
    """A ``Trainer`` that optimises DPO or DFPO on batches of (chosen, rejected) pairs.

    Batches come from :class:`~medspec.training.preference_data.PairCollator`: the first half of the rows are the
    chosen answers, the second half the rejected ones, for the same prompts.

    Args:
        beta: Preference strength.
        mu: Weight of the chosen answers' NLL (0 for DPO).
        reference_model: The frozen reference for a full-parameter stage; None under LoRA (adapter disabled).
    """

    def __init__(self, *args: Any, beta: float, mu: float, reference_model: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.beta = beta
        self.mu = mu
        self.reference_model = reference_model
        self._stats: dict[str, list[float]] = defaultdict(list)

    @classmethod
    def frozen_copy(cls, model: Any) -> Any:
        """A frozen, eval-mode copy of ``model`` to serve as a full stage's reference."""
        reference = copy.deepcopy(model).eval()
        for parameter in reference.parameters():
            parameter.requires_grad_(False)
        return reference

    @contextlib.contextmanager
    def _reference(self, model: Any) -> Iterator[Any]:
        if self.reference_model is not None:
            yield self.reference_model
            return
        with model.disable_adapter():  # PeftModel: the model entering the stage
            yield model

    def compute_loss(
        self, model: Any, inputs: dict[str, torch.Tensor], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        labels = inputs["labels"]
        forward = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
        policy_logps, counts = sequence_logprobs(model(**forward).logits, labels)  # (2B,), (2B,)
        with torch.no_grad(), self._reference(model) as reference:
            reference_logps, _ = sequence_logprobs(reference(**forward).logits, labels)
        half = labels.shape[0] // 2
        chosen_nll = -policy_logps[:half] / counts[:half].clamp(min=1)
        loss, stats = preference_loss(
            policy_logps[:half],
            policy_logps[half:],
            reference_logps[:half],
            reference_logps[half:],
            chosen_nll=chosen_nll,
            beta=self.beta,
            mu=self.mu,
        )
        stats.update(
            logps_chosen=policy_logps[:half].detach().mean(),
            logps_rejected=policy_logps[half:].detach().mean(),
            nll_chosen=chosen_nll.detach().mean(),
        )
        for key, value in stats.items():
            self._stats[key].append(float(value))
        return (loss, {"loss": loss}) if return_outputs else loss

    def log(self, logs: dict[str, float], *args: Any, **kwargs: Any) -> None:
        """Add the mean preference statistics since the last log (reward margins, chosen/rejected log-probs)."""
        if "loss" in logs and self._stats:
            logs.update({key: sum(values) / len(values) for key, values in self._stats.items()})
            self._stats.clear()
        super().log(logs, *args, **kwargs)
