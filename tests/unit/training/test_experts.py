"""Universal-specific LoRA experts: the layer's maths, routing, save/load, trainable count, and a training stage."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

from medspec.errors import ConfigError
from medspec.model_loading import load_model_and_tokenizer
from medspec.training import GeneralToSpecificTrainer, StageConfig, TrainingConfig
from medspec.training.experts import (
    ExpertsConfig,
    ExpertsLinear,
    RoutingRecorder,
    add_experts,
    expected_trainable_parameters,
    load_experts,
    save_experts,
)
from medspec.training.loading import load_trained_model


def randomised(layer: ExpertsLinear) -> ExpertsLinear:
    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in (layer.universal_b, layer.experts_b, layer.router.weight, layer.noise_projection.weight):
            parameter.normal_(0, 0.5)
    return layer


def test_universal_expert_has_weight_one_and_gates_sum_to_one():
    layer = randomised(ExpertsLinear(torch.nn.Linear(6, 5), num_experts=3, r=2, alpha=4)).eval()
    x = torch.randn(4, 7, 6)
    gates = layer.gates(x)
    assert torch.allclose(gates.sum(-1), torch.ones(4, 7)) and (gates > 0).all()
    expected = layer.base(x) + 2.0 * ((x @ layer.universal_a) @ layer.universal_b)
    for j in range(3):
        expected = expected + 2.0 * gates[..., j : j + 1] * ((x @ layer.experts_a[j]) @ layer.experts_b[j])
    assert torch.allclose(layer(x), expected, atol=1e-5)
    with torch.no_grad():
        layer.experts_b.zero_()
    universal_only = layer.base(x) + 2.0 * ((x @ layer.universal_a) @ layer.universal_b)
    assert torch.allclose(layer(x), universal_only, atol=1e-6)  # weight exactly 1, whatever the router says


def test_router_noise_only_while_training():
    layer = randomised(ExpertsLinear(torch.nn.Linear(6, 5), num_experts=3, r=2, alpha=4))
    x = torch.randn(3, 6)
    layer.eval()
    assert torch.equal(layer.gates(x), torch.softmax(layer.router(x), -1))
    assert torch.equal(layer(x), layer(x))
    layer.train()
    assert not torch.allclose(layer.gates(x), layer.gates(x))


def tiny_config():
    return LlamaConfig(
        vocab_size=120,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
    )


def test_trainable_fraction_matches_the_analytic_count():
    config = ExpertsConfig(num_experts=3, r=4)
    model = add_experts(LlamaForCausalLM(tiny_config()), config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    hidden, inter, kv = 32, 64, 2 * 32 // 4
    per_layer = [
        (hidden, hidden),
        (hidden, kv),
        (hidden, kv),
        (hidden, hidden),
        (hidden, inter),
        (hidden, inter),
        (inter, hidden),
    ]
    assert trainable == expected_trainable_parameters(per_layer * 2, config)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(any(k in n for k in ("universal_", "experts_", "router", "noise_projection")) for n in names)


def test_save_and_load_give_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = add_experts(LlamaForCausalLM(tiny_config()), ExpertsConfig(num_experts=2, r=2))
    for layer in model.modules():
        if isinstance(layer, ExpertsLinear):
            randomised(layer)
    model.eval()
    ids = torch.tensor([[1, 5, 9, 13]])
    with torch.no_grad():
        expected = model(input_ids=ids).logits
    save_experts(model, tmp_path / "experts")
    torch.manual_seed(0)
    fresh = LlamaForCausalLM(tiny_config())  # the same base weights, no experts
    loaded = load_experts(fresh, tmp_path / "experts").eval()
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, expected, atol=1e-6)


def test_routing_statistics_per_task():
    model = add_experts(LlamaForCausalLM(tiny_config()), ExpertsConfig(num_experts=3, r=2)).eval()
    recorder = RoutingRecorder(model)
    with recorder.label("diagnosis"):
        model(input_ids=torch.tensor([[1, 2, 3]]))
    with recorder.label("treatment"):
        model(input_ids=torch.tensor([[4, 5]]))
    means = recorder.means()
    assert set(means) == {"diagnosis", "treatment"}
    assert all(len(m) == 3 and sum(m) == pytest.approx(1.0) for m in means.values())


def test_an_experts_stage_trains_only_experts_and_loads_back(tmp_path, tiny_model_dir, tiny_data):
    stage = StageConfig(
        name="experts",
        kind="experts",
        method="lora",
        data=[tiny_data["specialty"]],
        lr=1e-2,
        max_steps=3,
        batch_size=4,
        max_seq_length=256,
        experts=ExpertsConfig(num_experts=3, r=4),
    )
    result = GeneralToSpecificTrainer(TrainingConfig(base_model=str(tiny_model_dir), stages=[stage])).train(tmp_path)
    folder = tmp_path / "train-experts" / "model"
    assert result["experts"].adapter == "model/experts" and 0 < result["experts"].trainable_fraction < 0.5
    base, saved = load_file(str(tiny_model_dir / "model.safetensors")), load_file(str(folder / "model.safetensors"))
    assert all(torch.equal(base[k], saved[k]) for k in base)  # the base did not move
    experts = load_file(str(folder / "experts" / "experts.safetensors"))
    assert any(k.endswith("experts_b") and experts[k].abs().sum() > 0 for k in experts)  # B starts at zero
    with pytest.raises(ConfigError, match="holds LoRA experts"):
        load_model_and_tokenizer(folder)  # the base alone is not the trained model
    model, _ = load_trained_model(folder)
    assert sum(isinstance(m, ExpertsLinear) for m in model.modules()) == 14  # 7 linear layers x 2 blocks
    plain = AutoModelForCausalLM.from_pretrained(folder)
    ids = torch.tensor([[5, 6, 7]])
    with torch.no_grad():
        assert not torch.allclose(model.eval()(input_ids=ids).logits, plain(input_ids=ids).logits)
