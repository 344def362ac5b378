"""GeneralToSpecificTrainer on a tiny random Llama: stages, LoRA merging, parameter changes, loss, resume."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainerCallback

from medspec.errors import ConfigError
from medspec.training import GeneralToSpecificTrainer, LoraSettings, StageConfig, TrainingConfig


def weights(folder):
    return load_file(str(folder / "model.safetensors"))


def two_stages(base, data, **overrides):
    common = {"batch_size": 4, "max_seq_length": 256, "logging_steps": 1, "save_steps": 4, "warmup": 0.0}
    common.update(overrides)
    return TrainingConfig(
        base_model=str(base),
        stages=[
            StageConfig(
                name="general",
                kind="sft",
                method="lora",
                data=[data["general"]],
                lr=1e-2,
                max_steps=8,
                lora=LoraSettings(r=8, alpha=16, target_modules=["all-linear"]),
                **common,
            ),
            StageConfig(
                name="specialty", kind="sft", method="full", data=[data["specialty"]], lr=3e-3, max_steps=8, **common
            ),
        ],
    )


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, tiny_model_dir, tiny_data):
    out = tmp_path_factory.mktemp("run")
    results = GeneralToSpecificTrainer(two_stages(tiny_model_dir, tiny_data)).train(out)
    return out, results


def test_each_stage_writes_a_loadable_model_and_the_lora_adapter(finished_run):
    out, results = finished_run
    assert list(results) == ["general", "specialty"]
    general, specialty = out / "train-general", out / "train-specialty"
    assert (general / "adapter" / "adapter_config.json").is_file() and results["general"].adapter == "adapter"
    assert results["specialty"].adapter is None
    for folder in (general / "model", specialty / "model"):
        assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
        assert "im_start" in (folder / "chat_template.jinja").read_text(encoding="utf-8")
    assert not (general / "checkpoints").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [manifest["steps"][s]["status"] for s in ("train-general", "train-specialty")] == ["complete"] * 2
    assert results["general"].steps == 8 and results["specialty"].steps == 8


def test_lora_changes_only_the_adapted_layers_and_full_changes_everything(finished_run, tiny_model_dir):
    out, _ = finished_run
    base, general, specialty = (
        weights(tiny_model_dir),
        weights(out / "train-general" / "model"),
        weights(out / "train-specialty" / "model"),
    )
    changed = {name for name in base if not torch.equal(base[name], general[name])}
    linear = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    assert changed and all(name.endswith(".weight") and any(p in name for p in linear) for name in changed)
    assert {p for p in linear if any(p in name for name in changed)} == set(linear)  # every linear layer adapted
    changed_full = {name for name in general if not torch.equal(general[name], specialty[name])}
    assert {n for n in changed_full if "mlp" in n} and {n for n in changed_full if "embed_tokens" in n}


def test_loss_falls_and_is_logged(finished_run):
    out, results = finished_run
    for stage in ("general", "specialty"):
        log = [json.loads(line) for line in (out / f"train-{stage}" / "loss.jsonl").read_text().splitlines()]
        losses = [entry["loss"] for entry in log if "loss" in entry]
        assert len(losses) == 8 and sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.05
        assert results[stage].final_loss == pytest.approx(losses[-1])
        assert 0.3 < results[stage].non_padding_fraction <= 1.0


def test_a_finished_run_is_not_trained_again(finished_run, tiny_model_dir, tiny_data):
    out, results = finished_run
    before = (out / "train-specialty" / "model" / "model.safetensors").stat().st_mtime_ns
    again = GeneralToSpecificTrainer(two_stages(tiny_model_dir, tiny_data)).train(out)
    assert again["specialty"].train_loss == results["specialty"].train_loss
    assert (out / "train-specialty" / "model" / "model.safetensors").stat().st_mtime_ns == before


class CrashAt(TrainerCallback):
    """Simulates a killed process: raises at a step of the second stage (a checkpoint was saved at step 4)."""

    def __init__(self, step):
        self.step = step
        self.stages = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self.stages += 1

    def on_step_end(self, args, state, control, **kwargs):
        if self.stages == 2 and state.global_step == self.step:
            raise KeyboardInterrupt("killed")


def test_resume_after_a_crash_gives_the_same_weights(tmp_path, tiny_model_dir, tiny_data, finished_run):
    reference, _ = finished_run
    config = two_stages(tiny_model_dir, tiny_data)
    with pytest.raises(KeyboardInterrupt):
        GeneralToSpecificTrainer(config, callbacks=[CrashAt(6)]).train(tmp_path)
    assert (tmp_path / "train-general" / "model").exists()  # first stage finished
    assert (tmp_path / "train-specialty" / "checkpoints" / "checkpoint-4").is_dir()  # crashed in the second
    before = (tmp_path / "train-specialty" / "elapsed.jsonl").read_text(encoding="utf-8").splitlines()
    results = GeneralToSpecificTrainer(config).train(tmp_path)
    # the totals cover the whole stage: the loss of all 8 steps, the time before the crash included
    assert results["specialty"].train_loss == pytest.approx(finished_run[1]["specialty"].train_loss, rel=1e-3)
    assert results["specialty"].seconds >= json.loads(before[0])["seconds"] > 0
    resumed, uninterrupted = (
        weights(tmp_path / "train-specialty" / "model"),
        weights(reference / "train-specialty" / "model"),
    )
    for name, tensor in uninterrupted.items():
        assert torch.allclose(resumed[name], tensor, atol=1e-5), name


def test_unpacked_batches_with_padding(tmp_path, tiny_model_dir, tiny_data):
    config = TrainingConfig(
        base_model=str(tiny_model_dir),
        stages=[
            StageConfig(
                name="sft",
                kind="sft",
                method="full",
                data=[tiny_data["general"]],
                lr=1e-3,
                max_steps=3,
                batch_size=4,
                packing=False,
                max_seq_length=256,
                logging_steps=1,
            )
        ],
    )
    result = GeneralToSpecificTrainer(config).train(tmp_path)["sft"]
    assert result.steps == 3 and result.non_padding_fraction < 1.0


def test_config_errors():
    stage = StageConfig(name="a", kind="sft", method="full", data=["x.jsonl"])
    with pytest.raises(ConfigError, match="unique"):
        TrainingConfig(stages=[stage, stage])
    with pytest.raises(ConfigError, match="instruction_data"):
        StageConfig(name="a", kind="sft", method="full", data=["x.jsonl"], instruction_fraction=0.5)


@pytest.mark.parametrize("start", ["folder", "in memory"])
def test_lora_stage_trains_the_new_vocabulary_rows_only(start, tmp_path, tiny_model_dir, tiny_data, corpus_lines):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from medspec.vocab import VocabConfig, VocabExtender

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    extension = VocabExtender(VocabConfig(add=150, sentencepiece_vocab_size=800)).extend(
        tokenizer, corpus=corpus_lines[:40]
    )
    model = extension.resize_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir))
    extended = extension.save_pretrained(tmp_path / "extended", model=model)
    config = TrainingConfig(
        base_model=str(extended) if start == "folder" else "demo",
        stages=[
            StageConfig(
                name="general",
                kind="sft",
                method="lora",
                data=[tiny_data["general"]],
                lr=5e-2,
                max_steps=4,
                batch_size=4,
                max_seq_length=256,
                lora=LoraSettings(r=4, target_modules=["q_proj"]),
            )
        ],
    )
    if start == "folder":
        GeneralToSpecificTrainer(config).train(tmp_path / "run")
    else:  # VocabExtender's output goes straight in; it is saved once, as the run's base
        in_memory = {"model": model, "tokenizer": extension.tokenizer, "vocab": extension}
        GeneralToSpecificTrainer(config).train(tmp_path / "run", **in_memory)
        saved = (tmp_path / "run" / "base" / "model" / "model.safetensors").stat().st_mtime_ns
        GeneralToSpecificTrainer(config).train(tmp_path / "run", **in_memory)  # resumes: nothing saved again
        assert (tmp_path / "run" / "base" / "model" / "model.safetensors").stat().st_mtime_ns == saved
        with pytest.raises(ValueError, match="together"):
            GeneralToSpecificTrainer(config).train(tmp_path / "other", model=model)
    before, after = weights(extended), weights(tmp_path / "run" / "train-general" / "model")
    new = extension.new_token_ids
    old = list(range(len(extension.base_tokenizer)))
    for key in ("model.embed_tokens.weight", "lm_head.weight"):
        assert torch.equal(before[key][old], after[key][old]), key
        assert not torch.equal(before[key][new], after[key][new]), key
    assert json.loads((tmp_path / "run" / "train-general" / "model" / "medspec_vocab.json").read_text())["new_tokens"]


@pytest.mark.parametrize(("policy", "tolerance"), [("warn", -1000.0), ("stop", -1000.0), ("stop", 1000.0)])
def test_evaluation_gate(policy, tolerance, tmp_path, tiny_model_dir, tiny_data):
    from medspec.errors import MedspecError
    from medspec.recipes.gate import benchmark_gate
    from medspec.training import EvalGateConfig

    gate = EvalGateConfig(tasks=["AneCQ-sample"], max_items=2, policy=policy, tolerance=tolerance)
    stage = StageConfig(
        name="sft",
        kind="sft",
        method="full",
        data=[tiny_data["general"]],
        lr=1e-3,
        max_steps=1,
        max_seq_length=128,
        eval_gate=gate,
    )
    trainer = GeneralToSpecificTrainer(
        TrainingConfig(base_model=str(tiny_model_dir), stages=[stage]),
        eval_gate=benchmark_gate(specialty="anesthesiology"),
    )
    if policy == "stop" and tolerance < 0:  # the stage must improve by 1000 points: it cannot
        with pytest.raises(MedspecError, match="made the model worse"):
            trainer.train(tmp_path)
        assert (tmp_path / "train-sft" / "model").is_dir()  # the stage's model is kept for inspection
        return
    result = trainer.train(tmp_path)["sft"]
    assert set(result.gate) >= {"passed", "before", "after", "tasks"}
    assert result.gate["passed"] is (tolerance > 0)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["steps"]["gate-sft"]["status"] == "complete"
