"""Resizing a model for an extended vocabulary and initialising the new embedding rows.

Three initialisations:

* ``subtoken_mean`` (default): each new token's row is the mean of the rows of the old tokens it used to be split
  into (``丙泊酚`` = mean of ``丙``, ``泊``, ``酚``, or of their bytes), so the model starts from what it already
  knew about that text;
* ``mean``: every new row is the mean of all old rows;
* ``random``: normal noise with the old rows' standard deviation.

Input embeddings and, when it is not tied to them, the output layer (``lm_head``) are initialised the same way. The
matrices are padded to a multiple of ``pad_to_multiple_of`` rows for faster matrix multiplies; padding rows get
the old mean and are never produced by the tokenizer. A model already padded past its tokenizer (Qwen's 151,936
rows for 151,669 tokens) lends its unused rows to the first new tokens; every row of a base token stays as it was.

Example:
    >>> import torch
    >>> from transformers import LlamaConfig, LlamaForCausalLM
    >>> model = LlamaForCausalLM(LlamaConfig(vocab_size=10, hidden_size=8, intermediate_size=16,
    ...                                      num_hidden_layers=1, num_attention_heads=2))
    >>> old = model.get_input_embeddings().weight[[3, 4]].mean(0).clone()
    >>> rows = resize_and_initialize(model, new_ids=[10], sub_token_ids=[[3, 4]], pad_to_multiple_of=8)
    >>> rows, torch.allclose(model.get_input_embeddings().weight[10], old)
    (16, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import torch

__all__ = ["INIT_METHODS", "InitMethod", "resize_and_initialize"]

InitMethod = Literal["subtoken_mean", "mean", "random"]
INIT_METHODS: tuple[str, ...] = ("subtoken_mean", "mean", "random")


def _fill(
    weight: torch.Tensor,
    base_rows: int,
    old_rows: int,
    new_ids: Sequence[int],
    sub_token_ids: Sequence[Sequence[int]],
    method: str,
    generator: torch.Generator,
) -> None:
    import torch

    old = weight[:base_rows].float()  # (V_base, D): the rows of tokens the base tokenizer produces
    ids = torch.tensor(list(new_ids), dtype=torch.long)
    if method == "subtoken_mean":
        lengths = torch.tensor([len(s) for s in sub_token_ids], dtype=torch.float32)  # (N,)
        owner = torch.repeat_interleave(torch.arange(len(sub_token_ids)), lengths.long())  # (sum of lengths,)
        flat = torch.tensor([i for s in sub_token_ids for i in s], dtype=torch.long)
        sums = torch.zeros(len(sub_token_ids), old.shape[1]).index_add_(0, owner, old[flat])  # (N, D)
        values = sums / lengths[:, None]
    elif method == "mean":
        values = old.mean(0).expand(len(ids), -1)
    else:
        noise = torch.randn(len(ids), old.shape[1], generator=generator)
        values = noise * old.std() + old.mean()
    weight[ids] = values.to(weight.dtype)
    padding = sorted(set(range(old_rows, weight.shape[0])) - set(new_ids))
    if padding:
        weight[torch.tensor(padding)] = old.mean(0).to(weight.dtype)


def resize_and_initialize(
    model: Any,
    *,
    new_ids: Sequence[int],
    sub_token_ids: Sequence[Sequence[int]],
    method: InitMethod = "subtoken_mean",
    pad_to_multiple_of: int | None = 64,
    seed: int = 0,
    base_vocab_size: int | None = None,
) -> int:
    """Grow the model's embeddings (and untied output layer) and initialise the rows of the new tokens.

    Args:
        model: A ``PreTrainedModel`` with input (and output) embeddings.
        new_ids: Ids of the new tokens, all at or past ``base_vocab_size``.
        sub_token_ids: For each new token, the old ids of the pieces it used to be split into.
        method: One of :data:`INIT_METHODS`.
        pad_to_multiple_of: Round the row count up to a multiple of this; None for exactly the needed rows.
        seed: Seed of the ``random`` method.
        base_vocab_size: Ids below this are the base tokenizer's: their rows are kept and give the statistics of
            ``mean`` and ``random``. Defaults to the model's row count; smaller when the model has unused rows.

    Returns:
        The new number of embedding rows.

    Raises:
        ValueError: For an unknown method, mismatched lengths, or a new token without sub-tokens.
    """
    import torch

    if method not in INIT_METHODS:
        raise ValueError(f"unknown initialisation {method!r}; known: {', '.join(INIT_METHODS)}")
    if len(new_ids) != len(sub_token_ids):
        raise ValueError(f"{len(new_ids)} new ids but {len(sub_token_ids)} sub-token lists")
    if method == "subtoken_mean" and any(len(s) == 0 for s in sub_token_ids):
        raise ValueError("every new token needs at least one sub-token for subtoken_mean")
    old_rows = model.get_input_embeddings().weight.shape[0]
    base_rows = old_rows if base_vocab_size is None else base_vocab_size
    if not 0 < base_rows <= old_rows:
        raise ValueError(f"base_vocab_size must be between 1 and the model's {old_rows} rows, got {base_rows}")
    if any(i < base_rows for i in new_ids):
        raise ValueError(f"new ids must be at least the base vocabulary size {base_rows}")
    needed = max([old_rows - 1, *new_ids]) + 1
    model.resize_token_embeddings(needed, pad_to_multiple_of=pad_to_multiple_of, mean_resizing=False)
    generator = torch.Generator().manual_seed(seed)
    input_weight = model.get_input_embeddings().weight
    output = model.get_output_embeddings()
    with torch.no_grad():
        _fill(input_weight, base_rows, old_rows, new_ids, sub_token_ids, method, generator)
        if output is not None and output.weight is not input_weight:
            _fill(output.weight, base_rows, old_rows, new_ids, sub_token_ids, method, generator)
    return int(input_weight.shape[0])
