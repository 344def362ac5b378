from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from medspec.config import apply_overrides, from_dict, load_yaml, to_dict
from medspec.errors import ConfigError


@dataclass
class Stage:
    name: str
    method: Literal["lora", "full"] = "lora"
    lr: float = 1e-4
    epochs: int = 1

    def __post_init__(self) -> None:
        if self.lr <= 0:
            raise ConfigError("lr", f"must be positive, got {self.lr}")


@dataclass
class Training:
    stages: list[Stage] = field(default_factory=list)
    output: Path | None = None
    tags: dict[str, str] = field(default_factory=dict)
    bf16: bool = False


def test_nested_build_and_round_trip():
    config = from_dict(
        Training,
        {
            "stages": [{"name": "general"}, {"name": "specialty", "method": "full", "lr": "2e-5"}],
            "output": "runs/x",
            "tags": {"a": "b"},
        },
    )
    assert config.stages[1] == Stage(name="specialty", method="full", lr=2e-5)
    assert config.output == Path("runs/x")
    assert to_dict(config)["output"] == "runs/x"
    assert from_dict(Training, to_dict(config)) == config


@pytest.mark.parametrize(
    ("data", "key", "fragment"),
    [
        ({"stagez": []}, "stagez", "unknown key; known keys: bf16, output, stages, tags"),
        (
            {"stages": [{"name": "a"}, {"name": "b", "method": "qlora"}]},
            "stages[1].method",
            "expected one of ['lora', 'full']",
        ),
        ({"stages": [{"name": "a", "lr": -1}]}, "stages[0].lr", "must be positive"),
        ({"stages": [{"lr": 1e-4}]}, "stages[0].name", "missing; this key is required"),
        ({"bf16": "yes"}, "bf16", "expected true or false"),
        ({"stages": [{"name": "a", "epochs": 1.5}]}, "stages[0].epochs", "expected an integer"),
        ({"stages": {"name": "a"}}, "stages", "expected a list"),
    ],
)
def test_errors_name_the_key_path(data, key, fragment):
    with pytest.raises(ConfigError) as info:
        from_dict(Training, data, source="recipe.yaml")
    assert info.value.key == key
    assert fragment in info.value.message
    assert str(info.value).startswith("recipe.yaml: key ")


def test_overrides():
    data = {"stages": [{"name": "general"}, {"name": "specialty"}]}
    updated = apply_overrides(data, ["stages[1].lr=3e-5", "bf16=true", "tags.site=beijing", "output="])
    config = from_dict(Training, updated)
    assert config.stages[1].lr == 3e-5
    assert config.bf16 is True
    assert config.tags == {"site": "beijing"}
    assert data == {"stages": [{"name": "general"}, {"name": "specialty"}]}  # the input is not modified
    with pytest.raises(ConfigError, match="past the end"):
        apply_overrides(data, ["stages[5].lr=1"])
    with pytest.raises(ConfigError, match=r"key\.path=value"):
        apply_overrides(data, ["bf16"])


def test_load_yaml_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml: line \d+: invalid YAML"):
        load_yaml(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_yaml(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_yaml(tmp_path / "list.yaml")
