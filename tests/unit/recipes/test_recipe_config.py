"""The recipe's settings for ablations and evidence: the unfiltered pool, per-task benchmark settings, curves."""

from __future__ import annotations

import pytest

from medspec.errors import ConfigError
from medspec.recipes.ablations import DEFAULT_VARIANTS
from medspec.recipes.config import ABLATIONS, load_recipe_config
from medspec.recipes.steps import candidate_pool, recipe_benchmark
from medspec.specialty import load_specialty


def test_the_no_crossfilter_ablation_trains_on_the_unfiltered_pool():
    config = load_recipe_config("anesthesiology", ABLATIONS["no-crossfilter"])
    assert not config.crossfilter.enabled and config.crossfilter.unfiltered
    pool = candidate_pool(load_specialty("anesthesiology"), config)
    assert len(pool) == config.crossfilter.profiles["local"].pool_limit  # the same items CrossFilter judges


def test_an_unfiltered_pool_needs_a_pool_to_take():
    with pytest.raises(ConfigError, match="unfiltered"):
        load_recipe_config(
            "anesthesiology",
            ["crossfilter.enabled=false", "crossfilter.unfiltered=true", "crossfilter.settings.source=generate"],
        )


def test_task_settings_reach_one_task_and_must_name_a_task():
    config = load_recipe_config("anesthesiology", ["benchmark.task_settings={AneCQ-circular: {limit: 2}}"])
    bench = recipe_benchmark(config, load_specialty(config.specialty))
    circular = next(t for t in bench.tasks if t.name == "AneCQ-circular")
    assert circular.settings == {
        "choice_mode": "letter",
        "circular": True,
        "limit": 2,
    }  # the specialty's and the recipe's
    assert len({item.record_id for item in bench.items(circular)}) == 2
    with pytest.raises(ConfigError, match="AneCQ-typo"):
        recipe_benchmark(
            load_recipe_config("anesthesiology", ["benchmark.task_settings={AneCQ-typo: {limit: 2}}"]),
            load_specialty("anesthesiology"),
        )


def test_held_out_measurements_are_configured_per_stage():
    config = load_recipe_config("anesthesiology")
    assert config.training.heldout.tasks == ["AneQA-bpc"]
    assert all(stage.eval_steps > 0 for stage in config.training.stages)
    with pytest.raises(ConfigError, match="eval_steps"):
        load_recipe_config("anesthesiology", ["training.stages[0].eval_steps=-1"])


def test_every_default_variant_is_a_valid_recipe():
    for variant in DEFAULT_VARIANTS:
        load_recipe_config("anesthesiology", list(variant.overrides))
