"""`medspec train` from a YAML config, in one process and under torchrun with two CPU processes (gloo)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from medspec.cli import main


def config_file(folder, model_dir, data):
    config = {
        "base_model": str(model_dir),
        "stages": [
            {
                "name": "sft",
                "kind": "sft",
                "method": "full",
                "data": [str(data["general"])],
                "lr": 1e-3,
                "max_steps": 4,
                "batch_size": 2,
                "max_seq_length": 128,
                "logging_steps": 1,
                "save_steps": 2,
            }
        ],
    }
    path = folder / "train.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def test_train_command(tmp_path, tiny_model_dir, tiny_data, capsys):
    config = config_file(tmp_path, tiny_model_dir, tiny_data)
    assert (
        main(["train", "--config", str(config), "--out", str(tmp_path / "run"), "--set", "stages[0].max_steps=3"]) == 0
    )
    assert "sft: 3 steps" in capsys.readouterr().out
    assert (tmp_path / "run" / "train-sft" / "model" / "model.safetensors").is_file()


def test_train_command_reports_config_errors(tmp_path, tiny_model_dir, tiny_data, capsys):
    config = config_file(tmp_path, tiny_model_dir, tiny_data)
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run"), "--set", "stages[0].lr=-1"]) == 2
    assert "stages[0].lr" in capsys.readouterr().err


@pytest.mark.slow
def test_two_processes_with_torchrun(tmp_path, tiny_model_dir, tiny_data):
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun is installed with torch"
    config = config_file(tmp_path, tiny_model_dir, tiny_data)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    subprocess.run(
        [
            torchrun,
            "--nproc_per_node",
            "2",
            "--master_port",
            "29533",
            "-m",
            "medspec.cli",
            "train",
            "--config",
            str(config),
            "--out",
            str(tmp_path / "run"),
        ],
        check=True,
        env=env,
        timeout=600,
        capture_output=True,
    )
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text(encoding="utf-8"))
    outputs = manifest["steps"]["train-sft"]["outputs"]
    assert manifest["steps"]["train-sft"]["status"] == "complete"
    assert outputs["processes"] == 2 and outputs["steps"] == 4
    assert (tmp_path / "run" / "train-sft" / "model" / "model.safetensors").is_file()
