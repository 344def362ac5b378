"""DPO / DFPO: the loss against a hand computation, one training step, and the LoRA reference."""

from __future__ import annotations

import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from medspec.chat import ensure_chat_template
from medspec.data.io import read_records
from medspec.data.schema import Instruction, record_to_dict
from medspec.llm.base import Completion
from medspec.specialty import load_specialty
from medspec.training import GeneralToSpecificTrainer, LoraSettings, StageConfig, TrainingConfig
from medspec.training.preference import preference_loss, sequence_logprobs
from medspec.training.preference_data import PairCollator, build_preference_pairs, pair_example
from medspec.training.stages import PreferenceSettings


def test_dfpo_matches_a_hand_computation_and_reduces_to_dpo():
    chosen, rejected = torch.tensor([-20.0, -15.0]), torch.tensor([-25.0, -14.0])
    ref_chosen, ref_rejected = torch.tensor([-22.0, -15.5]), torch.tensor([-24.0, -14.5])
    nll = torch.tensor([1.2, 0.8])
    beta, mu = 0.5, 0.3
    expected = []
    for i in range(2):
        margin = beta * ((chosen[i] - ref_chosen[i]) - (rejected[i] - ref_rejected[i]))
        expected.append(-math.log(1 / (1 + math.exp(-float(margin)))) + mu * float(nll[i]))
    loss, stats = preference_loss(chosen, rejected, ref_chosen, ref_rejected, chosen_nll=nll, beta=beta, mu=mu)
    assert float(loss) == pytest.approx(sum(expected) / 2, abs=1e-6)
    assert float(stats["margin"]) == pytest.approx(beta * ((2 + 1) + (-0.5 + 0.5)) / 2 + beta * 0 / 2, abs=1e-6)
    dpo, _ = preference_loss(chosen, rejected, ref_chosen, ref_rejected, chosen_nll=nll, beta=beta, mu=0.0)
    expected_dpo = [e - mu * float(n) for e, n in zip(expected, nll, strict=True)]
    assert float(dpo) == pytest.approx(sum(expected_dpo) / 2, abs=1e-6)


def test_sequence_logprobs_sum_only_labelled_tokens():
    logits = torch.randn(1, 4, 6)
    labels = torch.tensor([[-100, 2, -100, 5]])
    total, count = sequence_logprobs(logits, labels)
    logp = torch.log_softmax(logits, -1)
    assert count.tolist() == [2]
    assert float(total) == pytest.approx(float(logp[0, 0, 2] + logp[0, 2, 5]), abs=1e-6)


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory):
    pairs = read_records(load_specialty("pediatrics").data.preferences[0])[:8]
    for pair in pairs:
        pair.chosen, pair.rejected = pair.chosen[:30], pair.rejected[:20]
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    path.write_text("".join(json.dumps(record_to_dict(p), ensure_ascii=False) + "\n" for p in pairs), "utf-8")
    return path


def margins(model, tokenizer, pairs_path, reference):
    tokenizer = tokenizer
    pairs = read_records(pairs_path)
    batch = PairCollator(tokenizer.pad_token_id)([vars(pair_example(tokenizer, p, max_length=256)) for p in pairs])
    forward = {"input_ids": batch["input_ids"], "attention_mask": batch["attention_mask"]}
    with torch.no_grad():
        policy, _ = sequence_logprobs(model(**forward).logits, batch["labels"])
        ref, _ = sequence_logprobs(reference(**forward).logits, batch["labels"])
    half = len(pairs)
    return ((policy[:half] - ref[:half]) - (policy[half:] - ref[half:])).mean().item()


@pytest.mark.parametrize("method", ["lora", "full"])
def test_one_preference_step_raises_the_margin(method, tmp_path, tiny_model_dir, pairs_file):
    stage = StageConfig(
        name="dfpo",
        kind="preference",
        method=method,
        data=[pairs_file],
        lr=5e-3 if method == "full" else 5e-2,
        max_steps=1,
        logging_steps=1,
        batch_size=8,
        max_seq_length=256,
        warmup=0.0,
        preference=PreferenceSettings(loss="dfpo", beta=0.1, mu=0.1),
        lora=LoraSettings(r=8, alpha=16),
    )
    result = GeneralToSpecificTrainer(TrainingConfig(base_model=str(tiny_model_dir), stages=[stage])).train(tmp_path)
    assert result["dfpo"].steps == 1
    log = [json.loads(line) for line in (tmp_path / "train-dfpo" / "loss.jsonl").read_text().splitlines()]
    assert {"margin", "reward_chosen", "reward_rejected", "logps_chosen", "logps_rejected"} <= set(log[0])
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    ensure_chat_template(tokenizer)
    reference = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    trained = AutoModelForCausalLM.from_pretrained(tmp_path / "train-dfpo" / "model")
    assert margins(reference, tokenizer, pairs_file, reference) == pytest.approx(0.0, abs=1e-6)
    assert margins(trained, tokenizer, pairs_file, reference) > 0


def test_disabled_adapter_is_the_reference(tiny_model_dir):
    from peft import LoraConfig, get_peft_model

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    ids = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        expected = base(input_ids=ids).logits.clone()
    model = get_peft_model(base, LoraConfig(r=4, target_modules=["q_proj"], init_lora_weights=False))
    with torch.no_grad():
        assert not torch.allclose(model(input_ids=ids).logits, expected)
        with model.disable_adapter():
            assert torch.allclose(model(input_ids=ids).logits, expected)


def test_building_pairs_from_instructions():
    records = [Instruction(id=str(i), instruction=f"问题{i}", output=f"详细而温和的回答{i}") for i in range(3)]

    class Policy:
        name = "policy"

        def generate(self, chats, params):
            return [
                Completion(text="简短回答"),
                Completion(text="详细而温和的回答1"),
                Completion(text="", finish_reason="error", error="timeout"),
            ]

    class Rewriter:
        name = "rewriter"

        def generate(self, chats, params):
            assert "人文关怀" in chats[0][0]["content"]
            return [Completion(text=f"改写{i}") for i in range(len(chats))]

    pairs = build_preference_pairs(records, policy=Policy())
    assert [p.id for p in pairs] == ["0"]  # identical and failed answers are skipped
    assert pairs[0].chosen == "详细而温和的回答0" and pairs[0].rejected == "简短回答"
    rewritten = build_preference_pairs(records, policy=Policy(), rewriter=Rewriter())
    assert [p.chosen for p in rewritten] == ["改写0", "改写1"]
    assert rewritten[0].provenance.generator == "policy" and rewritten[0].provenance.judge == "rewriter"
