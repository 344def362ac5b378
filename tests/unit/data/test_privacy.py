from __future__ import annotations

from pathlib import Path

import pytest

from medspec.data.privacy import Deidentifier, Span, parse_labelled, score_spans
from medspec.data.schema import CaseQuestion, ClinicalCase

DEID = Path(__file__).parents[2] / "assets" / "deid"


def labelled_corpus(name):
    gold, predicted, offset = [], [], 0
    deidentifier = Deidentifier()
    for line in (DEID / name).read_text(encoding="utf-8").splitlines():
        text, spans = parse_labelled(line)
        gold += [Span(s.start + offset, s.end + offset, s.type, s.text) for s in spans]
        predicted += [Span(s.start + offset, s.end + offset, s.type, s.text) for s in deidentifier.find(text)]
        offset += len(text) + 1
    return gold, predicted


@pytest.mark.parametrize("name", ["labelled_notes.txt", "heldout_notes.txt"])
def test_recall_and_precision_on_the_labelled_sets(name):
    gold, predicted = labelled_corpus(name)
    scores = score_spans(gold, predicted)
    assert scores["gold"] >= 200
    assert scores["recall"] >= 0.95, scores
    assert scores["precision"] >= 0.9, scores
    assert all(t["recall"] >= 0.9 for t in scores["per_type"].values()), scores["per_type"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("身份证号11010519491231002X", "ID_NUMBER"),
        ("电话：138-1234-5678", "PHONE"),
        ("电话 0571-87654321", "PHONE"),
        ("住院号：ZY2023001", "RECORD_NUMBER"),
        ("于2023-04-15入院", "DATE"),
        ("于2023年4月15日14:30手术", "DATE"),
        ("现住址：江苏省南京市鼓楼区中山路100号5栋302室", "ADDRESS"),
        ("家属王秀英签字", "NAME"),
        ("欧阳明轩女士复诊", "NAME"),
    ],
)
def test_each_type(text, kind):
    spans = Deidentifier().find(text)
    assert [s.type for s in spans] == [kind], spans


@pytest.mark.parametrize(
    "text",
    [
        "丙泊酚 2 mg/kg 静注",
        "血红蛋白 112 g/L",
        "患者高热3天",
        "患者安静，生命体征平稳",
        "12床",
        "ASA分级Ⅱ级",
        "白血病化疗后",
        "术后3天拆线",
        "14:30送入PACU",
        "患者平卧位，全麻下行手术",
    ],
)
def test_clinical_text_is_left_alone(text):
    assert Deidentifier().find(text) == []


def test_names_are_propagated_and_known_names_removed():
    redaction = Deidentifier(names=["赵小梅"]).redact("患者张伟，男。张伟诉头痛。护士赵小梅")
    assert redaction.text == "患者[姓名]，男。[姓名]诉头痛。护士[姓名]"
    assert redaction.counts() == {"NAME": 3}


def test_redact_record_cleans_every_text_field():
    case = ClinicalCase(
        id="c", case="患者李强，电话13912345678。", questions=[CaseQuestion(question="李强的诊断？", answer="肺炎")]
    )
    new, redaction = Deidentifier().redact_record(case)
    assert new.case == "患者[姓名]，电话[电话]。"
    assert new.questions[0].question == "[姓名]的诊断？"
    assert new.id == "c"
    assert redaction.counts() == {"NAME": 2, "PHONE": 1}


def test_parse_labelled_and_score():
    text, gold = parse_labelled("患者[[NAME:王建国]]，电话[[PHONE:13812345678]]")
    assert text == "患者王建国，电话13812345678"
    assert score_spans(gold, gold)["recall"] == 1.0
    assert score_spans(gold, [])["recall"] == 0.0
