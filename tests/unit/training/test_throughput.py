"""FLOPs per training token and MFU, counted by hand on a small config."""

from __future__ import annotations

import pytest
from transformers import LlamaConfig

from medspec.training.throughput import model_flops_utilisation, peak_flops, training_flops_per_token


def test_flops_per_token_counts_every_matrix_and_attention_by_hand():
    config = LlamaConfig(
        vocab_size=100,
        hidden_size=8,
        intermediate_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
    )
    # per layer: q 8x8, o 8x8, k 8x4, v 8x4 (one kv head of width 4), gate/up/down 3 x 8x16; output layer 100x8
    matrices = 2 * (64 + 64 + 32 + 32 + 3 * 128) + 800
    assert training_flops_per_token(config, sequence_length=10) == 6 * matrices + 12 * 2 * 8 * 10


def test_peak_of_the_named_part_and_none_for_unknown_devices():
    assert peak_flops("NVIDIA H100 PCIe") == 756e12  # the PCIe card, not the SXM one
    assert peak_flops("NVIDIA H200") == peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("AMD EPYC") is None


def test_mfu_is_achieved_over_peak_flops():
    assert model_flops_utilisation(1000.0, 1e9, 4e12) == pytest.approx(0.25)
