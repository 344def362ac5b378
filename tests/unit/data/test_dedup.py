from __future__ import annotations

import random

from medspec.data.dedup import Decontaminator, deduplicate, normalize_text
from medspec.data.schema import ChoiceQuestion, Instruction


def make(i, text, out="回答"):
    return Instruction(id=str(i), instruction=text, output=out)


def test_exact_and_near_duplicates_are_removed_first_kept():
    base = "全身麻醉诱导期间出现严重低血压时应首先减浅麻醉、快速补液并给予血管活性药物维持灌注压"
    records = [
        make(0, base),
        make(1, base),
        make(2, base.replace("严重", "明显")),
        make(3, "腰麻后头痛的处理原则是什么"),
    ]
    result = deduplicate(records)
    assert [r.id for r in result.kept] == ["0", "3"]
    assert {(r.id, twin) for r, twin, _ in result.removed} == {("1", "0"), ("2", "0")}
    assert all(sim >= 0.7 for _, _, sim in result.removed)


def test_distinct_records_survive_at_scale():
    rng = random.Random(0)
    alphabet = "麻醉镇痛肌松阿片局麻苏醒插管气道血压心率呼吸监测补液输血神经阻滞"
    records = [make(i, "".join(rng.choice(alphabet) for _ in range(60))) for i in range(500)]
    assert len(deduplicate(records).kept) == 500


def test_normalize_text():
    assert normalize_text("Ｍｇ／ｋｇ， 每日 ２次！") == "mgkg每日2次"


def test_decontamination_catches_containment_both_ways():
    bench = [
        ChoiceQuestion(
            id="q1",
            question="恶性高热的首选治疗药物是下列哪一种",
            options={"A": "丹曲林", "B": "咪达唑仑"},
            answer=("A",),
        )
    ]
    long_train = make(
        "t1",
        "请回答：恶性高热的首选治疗药物是下列哪一种？",
        "丹曲林，剂量2.5 mg/kg，可重复给药直至症状控制，同时停用触发药物并积极降温、纠正酸中毒和高钾血症。",
    )
    unrelated = make("t2", "小儿骶管阻滞常用的局麻药浓度是多少", "罗哌卡因0.2%左右。")
    report = Decontaminator(bench).check([long_train, unrelated])
    assert [o.record_id for o in report.overlaps] == ["t1"]
    assert report.overlaps[0].benchmark_id == "q1"
    assert [r.id for r in report.clean] == ["t2"]
    assert report.summary()["flagged"] == 1
