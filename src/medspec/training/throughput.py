"""Training throughput: tokens per second and model FLOPs utilisation (MFU), as the scaling literature counts them.

A decoder's training step costs about ``6 N`` FLOPs per token for its ``N`` matrix parameters (forward 2, backward
4; the input embedding is a lookup and does not count, the output layer does) plus ``12 L d T`` for attention over
``T`` positions in ``L`` layers of width ``d`` (PaLM, appendix B). MFU is the FLOPs the tokens per second imply over
the accelerator's peak: what torchtune and litgpt report, so figures compare across libraries.

Example:
    >>> from transformers import LlamaConfig
    >>> config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
    ...                      num_attention_heads=9, num_key_value_heads=3, tie_word_embeddings=True)
    >>> round(training_flops_per_token(config, sequence_length=2048) / 1e6)
    1232
    >>> peak_flops("NVIDIA H100 80GB HBM3") / 1e12, peak_flops("cpu")
    (989.0, None)
    >>> round(model_flops_utilisation(50_000, 1.232e9, 989e12), 4)
    0.0623
"""

from __future__ import annotations

from typing import Any

__all__ = ["PEAK_BF16_FLOPS", "model_flops_utilisation", "peak_flops", "training_flops_per_token"]

# Dense bfloat16 peaks (no sparsity) from the vendors' data sheets; the first name found in the device name wins.
PEAK_BF16_FLOPS = {
    "H200": 989e12,
    "H100 PCIe": 756e12,
    "H100 NVL": 835e12,
    "H100": 989e12,
    "GH200": 989e12,
    "A100": 312e12,
    "L40S": 362e12,
    "A10G": 70e12,
    "L4": 121e12,
}


def training_flops_per_token(config: Any, *, sequence_length: int) -> float:
    """FLOPs of one training token (forward and backward) of a Llama-style decoder with this ``config``."""
    hidden, layers = config.hidden_size, config.num_hidden_layers
    heads = config.num_attention_heads
    kv = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    attention = hidden * head_dim * (2 * heads + 2 * kv)  # q and o, k and v projections
    mlp = 3 * hidden * config.intermediate_size  # gate, up and down projections
    output = config.vocab_size * hidden  # the output layer is a matrix product even when tied to the embedding
    matrices = layers * (attention + mlp) + output
    return 6.0 * matrices + 12.0 * layers * hidden * sequence_length


def peak_flops(device_name: str) -> float | None:
    """The dense bfloat16 peak of a named accelerator (``torch.cuda.get_device_name()``), None when unknown."""
    for name, flops in PEAK_BF16_FLOPS.items():
        if name.lower() in device_name.lower():
            return flops
    return None


def model_flops_utilisation(tokens_per_second: float, flops_per_token: float, peak: float) -> float:
    """The share of ``peak`` FLOPs that ``tokens_per_second`` training tokens use."""
    return tokens_per_second * flops_per_token / peak
