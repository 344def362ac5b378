from __future__ import annotations

from collections import Counter

import pytest

from medspec.crossfilter.rules import RULES, RulesConfig, clean, register_rule
from medspec.data.io import read_records
from medspec.data.schema import Instruction
from medspec.errors import ConfigError
from medspec.specialty import load_specialty

GOOD = "丙泊酚诱导剂量为1.5～2.5 mg/kg，老年及循环不稳定者应减量并缓慢注射。"


def item(output=GOOD, instruction="丙泊酚的诱导剂量是多少？", **kwargs):
    return Instruction(id=kwargs.pop("id", "x"), instruction=instruction, output=output, **kwargs)


@pytest.mark.parametrize(
    ("rule", "output", "expected"),
    [
        ("empty_output", " \n。", "empty output"),
        ("empty_output", "……", "empty output"),
        ("echo", "丙泊酚的诱导剂量是多少", "echoes the prompt"),
        ("refusal", "很抱歉，作为人工智能助手，我无法提供具体的医疗建议。", "refusal"),
        ("refusal", "这个问题因人而异，我无法给出答案。", "refusal"),
        ("refusal", "As an AI, I cannot provide medical advice.", "refusal"),
        ("repetition", "需要监测生命体征，" * 6, "repeats 6 times"),
        ("wrong_language", "Propofol 1.5-2.5 mg/kg is the usual induction dose for adults.", "output is 0% Chinese"),
        ("truncated", "常用针刺法评估感觉阻滞平面，乳头连线约对应T4，腹股", "ends mid-sentence"),
        ("truncated", "选择合适型号的喉罩，检查套囊，", "ends mid-sentence"),
        ("length", "可以。", "output has 3 characters"),
    ],
)
def test_each_rule_catches_its_error(rule, output, expected):
    assert expected in RULES[rule](item(output), RulesConfig())


@pytest.mark.parametrize(
    "rule", ["empty_output", "echo", "refusal", "repetition", "wrong_language", "truncated", "length"]
)
def test_rules_pass_a_good_answer(rule):
    assert RULES[rule](item(), RulesConfig()) is None


def test_truncation_flag_from_the_generator_wins():
    assert "token limit" in RULES["truncated"](item(meta={"finish_reason": "length"}), RulesConfig())


def test_medical_abbreviations_are_not_a_wrong_language():
    text = "SpO₂降至85%时提高FiO₂，检查ETT位置，必要时行CPAP或PEEP，并复查ABG中的PaO₂和PaCO₂。"
    assert RULES["wrong_language"](item(text), RulesConfig()) is None


def test_bounds_are_configurable():
    assert RULES["length"](item("可以。"), RulesConfig(min_output_chars=2)) is None
    assert "at most 20" in RULES["length"](item(), RulesConfig(max_output_chars=20))
    assert RULES["wrong_language"](item("Propofol only."), RulesConfig(min_chinese_ratio=0)) is None


def test_bundled_pool_every_rule_flaw_is_caught_and_no_clean_item_dropped():
    specialty = load_specialty("anesthesiology")
    pool = read_records(specialty.data.candidates[0], allow_empty=frozenset({"output"}))
    result = clean(pool, RulesConfig(), reference=read_records(specialty.seed_tasks))
    caught = Counter((next(t for t in d.record.tags if t.startswith("flaw:")), d.rule) for d in result.dropped)
    assert caught == {
        ("flaw:empty", "empty_output"): 4,
        ("flaw:echo", "echo"): 4,
        ("flaw:refusal", "refusal"): 5,
        ("flaw:repetition", "repetition"): 5,
        ("flaw:wrong_language", "wrong_language"): 5,
        ("flaw:truncated", "truncated"): 5,
        ("flaw:too_short", "length"): 5,
        ("flaw:duplicate", "duplicate"): 4,
    }
    assert len(result.kept) + len(result.dropped) == len(pool)
    left = Counter(t for r in result.kept for t in r.tags if t.startswith("flaw:"))
    assert left == {"flaw:factual_error": 14, "flaw:unhelpful": 5}  # what judges are for


def test_duplicates_keep_the_first_and_name_it():
    a, b = item(id="a"), item(id="b")
    seed = item(id="s", instruction="腰麻后头痛如何处理？", output="平卧休息，补液，必要时硬膜外血补丁治疗。")
    copy = item(id="c", instruction=seed.instruction, output=seed.output)
    result = clean([a, b, copy], RulesConfig(), reference=[seed])
    assert [r.id for r in result.kept] == ["a"]
    assert [(d.record.id, d.rule) for d in result.dropped] == [("b", "duplicate"), ("c", "duplicate")]
    assert "near-duplicate of a" in result.dropped[0].reason and "of s" in result.dropped[1].reason


def test_first_failing_rule_in_order_names_the_drop():
    result = clean([item("作为AI", id="r")], RulesConfig(enabled=["length", "refusal"]))
    assert result.dropped[0].rule == "length"
    result = clean([item("作为AI", id="r")], RulesConfig(enabled=["refusal", "length"]))
    assert result.dropped[0].rule == "refusal"


def test_user_rules_register_and_run():
    register_rule("mentions_brand", lambda record, config: "brand name" if "得普利麻" in record.output else None)
    try:
        config = RulesConfig(enabled=["mentions_brand"])
        result = clean([item("得普利麻即丙泊酚注射液，诱导剂量1.5～2.5 mg/kg。"), item(id="y")], config)
        assert [(d.record.id, d.rule, d.reason) for d in result.dropped] == [("x", "mentions_brand", "brand name")]
        with pytest.raises(ValueError, match="already registered"):
            register_rule("mentions_brand", lambda record, config: None)
    finally:
        del RULES["mentions_brand"]
    with pytest.raises(ValueError, match="duplicate"):
        register_rule("duplicate", lambda record, config: None)


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"enabled": ["no_such_rule"]}, "enabled"),
        ({"min_output_chars": 50, "max_output_chars": 10}, "min_output_chars"),
        ({"min_chinese_ratio": 1.5}, "min_chinese_ratio"),
        ({"max_repeats": 1}, "max_repeats"),
        ({"duplicate_threshold": 0}, "duplicate_threshold"),
    ],
)
def test_config_errors_name_the_field(changes, key):
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        RulesConfig(**changes)
