"""The tiny random Llama the benchmarks measure beside the real SmolLM2-135M (2 layers, hidden size 64).

A helper module, not a benchmark: ``run_all.py`` skips it.
"""

from __future__ import annotations

from transformers import LlamaConfig, LlamaForCausalLM


def tiny_llama(vocab_size: int, seed: int = 0) -> LlamaForCausalLM:
    """A randomly initialised 2-layer Llama with ``vocab_size`` rows, in eval mode."""
    import torch

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
    )
    return LlamaForCausalLM(config).eval()
