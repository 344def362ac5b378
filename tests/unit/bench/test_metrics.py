from __future__ import annotations

import json
import math
import random

import pytest
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
from nltk.translate.gleu_score import sentence_gleu
from rouge_chinese import Rouge

from medspec.bench.metrics import ChineseBLEU, ChineseGLEU, ChineseROUGE, ChoiceAccuracy, Distinct, segmentation
from medspec.bench.metrics.bleu import BLEU_WEIGHTS
from medspec.bench.metrics.segmentation import segment, segment_all
from medspec.lcs import lcs_length
from medspec.specialty import load_specialty

NLTK_WEIGHTS = [(1, 0, 0, 0), (0.5, 0.5, 0, 0), (1 / 3, 1 / 3, 1 / 3, 0), (0.25, 0.25, 0.25, 0.25)]


@pytest.fixture(scope="module")
def pairs() -> list[tuple[str, str]]:
    """Reference answers of the bundled benchmark, each paired with a distorted version of another answer."""
    path = load_specialty("anesthesiology").benchmark[1].file
    answers = [json.loads(line)["output"] for line in path.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(0)
    made = []
    for i, reference in enumerate(answers[:40]):
        other = answers[(i + 1) % len(answers)]
        sentences = [s for s in reference.split("。") if s] + [s for s in other.split("。") if s][:2]
        rng.shuffle(sentences)
        made.append(("。".join(sentences[: rng.randint(1, len(sentences))]), reference))
    made += [("丙泊酚", "丙泊酚"), ("麻醉", "丙泊酚的诱导剂量是1.5～2.5 mg/kg"), ("好的。", "好的")]
    return made


def test_bleu_equals_nltk_sentence_bleu_with_smoothing_method_3(pairs):
    scores = ChineseBLEU().compute(predictions=[p for p, _ in pairs], references=[r for _, r in pairs], per_sample=True)
    smoothing = SmoothingFunction().method3
    for i, (prediction, reference) in enumerate(pairs):
        expected = sentence_bleu(
            [list(segment(reference))], list(segment(prediction)), weights=NLTK_WEIGHTS, smoothing_function=smoothing
        )
        ours = [scores[name][i] / 100 for name in BLEU_WEIGHTS]
        assert ours == pytest.approx(expected, abs=1e-9)
    means = ChineseBLEU().compute(predictions=[p for p, _ in pairs], references=[r for _, r in pairs])
    assert means["bleu-4"] == pytest.approx(sum(scores["bleu-4"]) / len(pairs))
    assert 0 < means["bleu-4"] < means["bleu-1"] < 100


def test_gleu_equals_nltk_sentence_gleu(pairs):
    scores = ChineseGLEU().compute(predictions=[p for p, _ in pairs], references=[r for _, r in pairs], per_sample=True)
    for i, (prediction, reference) in enumerate(pairs):
        expected = sentence_gleu([list(segment(reference))], list(segment(prediction)))
        assert scores["gleu"][i] / 100 == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("exclusive", [True, False])
def test_rouge_equals_rouge_chinese_on_jieba_tokens(pairs, exclusive):
    scores = ChineseROUGE().compute(
        predictions=[p for p, _ in pairs], references=[r for _, r in pairs], exclusive=exclusive, per_sample=True
    )
    rouge = Rouge(exclusive=exclusive)
    for i, (prediction, reference) in enumerate(pairs):
        expected = rouge.get_scores(" ".join(segment(prediction)), " ".join(segment(reference)))[0]
        for name in ("rouge-1", "rouge-2", "rouge-l"):
            assert scores[name][i] / 100 == pytest.approx(expected[name]["f"], abs=1e-6), (i, name)


def test_exclusive_rouge_counts_each_distinct_ngram_once():
    # answer: 麻醉 麻醉 麻醉; reference: 麻醉 诱导. Sets: {麻醉} vs {麻醉, 诱导}: P 1, R 1/2, F1 2/3.
    # Counts: 1 match of 3 answer unigrams and 2 reference unigrams: P 1/3, R 1/2, F1 0.4.
    exclusive = ChineseROUGE().compute(predictions=["麻醉 麻醉 麻醉"], references=["麻醉诱导"])
    counted = ChineseROUGE().compute(predictions=["麻醉 麻醉 麻醉"], references=["麻醉诱导"], exclusive=False)
    assert exclusive["rouge-1"] == pytest.approx(200 / 3)
    assert counted["rouge-1"] == pytest.approx(40.0)


def test_lcs_matches_dynamic_programming():
    rng = random.Random(1)

    def dp(a, b):
        table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
        for i, x in enumerate(a, 1):
            for j, y in enumerate(b, 1):
                table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
        return table[-1][-1]

    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 70))]
        b = [rng.choice("abcdef") for _ in range(rng.randint(0, 70))]
        assert lcs_length(a, b) == dp(a, b)


@pytest.mark.parametrize(
    ("prediction", "reference"),
    [("", "丙泊酚"), ("   ", "丙泊酚"), ("丙泊酚", ""), ("", "")],
)
def test_an_empty_answer_or_reference_scores_zero(prediction, reference):
    for metric in (ChineseBLEU(), ChineseGLEU(), ChineseROUGE()):
        scores = metric.compute(predictions=[prediction], references=[reference])
        assert set(scores.values()) == {0.0}, type(metric).__name__


def test_distinct_per_answer_and_its_empty_cases():
    # jieba: 麻醉|麻醉|麻醉|诱导 -> distinct-1 2/4, bigrams (麻醉,麻醉)x2 + (麻醉,诱导) -> 2/3
    scores = Distinct().compute(predictions=["麻醉 麻醉 麻醉 诱导", "", "麻醉"], per_sample=True)
    assert scores["distinct-1"] == pytest.approx([50.0, 0.0, 100.0])
    assert scores["distinct-2"] == pytest.approx([200 / 3, 0.0, 0.0])  # one token has no bigram: 0
    means = Distinct().compute(predictions=["麻醉 麻醉 麻醉 诱导", "", "麻醉"])
    assert means["distinct-1"] == pytest.approx(50.0)
    corpus = Distinct().compute(predictions=["麻醉 诱导", "麻醉"], per_response=False)
    assert corpus["distinct-1"] == pytest.approx(200 / 3)  # {麻醉, 诱导} over 3 tokens


def test_identical_texts_score_100_on_every_overlap_metric():
    text = "椎管内麻醉后低血压首选补液并静注去氧肾上腺素。"
    for metric in (ChineseBLEU(), ChineseGLEU(), ChineseROUGE()):
        scores = metric.compute(predictions=[text], references=[text])
        assert all(v == pytest.approx(100.0) for v in scores.values())


def test_choice_accuracy_reports_the_extraction_rate_beside_every_accuracy():
    options = [{"A": "丹曲林", "B": "新斯的明", "C": "阿托品"}] * 5
    scores = ChoiceAccuracy().compute(
        predictions=["答案：A", "答案：B", "说不好", "A和C", "答案：AC"],
        references=["A", "A", "A", "AC", "AB"],
        options=options,
    )
    assert scores["accuracy"] == pytest.approx(40.0)  # 2 right of 5, the unparseable one counted wrong
    assert scores["extraction_rate"] == pytest.approx(80.0)
    assert scores["accuracy_single"] == pytest.approx(100 / 3) and scores["extraction_rate_single"] == pytest.approx(
        200 / 3
    )
    assert scores["accuracy_multiple"] == pytest.approx(50.0) and scores["extraction_rate_multiple"] == 100.0
    rows = ChoiceAccuracy().compute(predictions=["说不好"], references=["A"], options=options[:1], per_sample=True)
    assert rows["rows"] == [{"answer": None, "correct": False, "extracted": False, "multiple": False}]
    no_multiple = ChoiceAccuracy().compute(predictions=["A"], references=["A"], options=options[:1])
    assert math.isnan(no_multiple["accuracy_multiple"])


def test_choice_accuracy_needs_options_and_valid_references():
    with pytest.raises(ValueError, match="options"):
        ChoiceAccuracy().compute(predictions=["A"], references=["A"])
    with pytest.raises(ValueError, match="reference 0"):
        ChoiceAccuracy().compute(predictions=["A"], references=["甲"], options=[{"A": "x", "B": "y"}])


def test_parallel_segmentation_matches_serial():
    texts = [f"第{i}例患者术前评估ASA{i % 4 + 1}级，拟行腹腔镜手术。" for i in range(2100)]
    segmentation.clear_cache()
    parallel = segment_all(texts, num_proc=2)
    segmentation.clear_cache()
    assert parallel == [segmentation._cut(t) for t in texts]


def test_metrics_keep_their_inputs_in_memory(tmp_path):
    ChineseBLEU(cache_dir=str(tmp_path)).compute(predictions=["丙泊酚"], references=["丙泊酚"])
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]
    ChineseBLEU(cache_dir=str(tmp_path), keep_in_memory=False).compute(predictions=["丙泊酚"], references=["丙泊酚"])
    assert any(tmp_path.rglob("*.arrow*"))  # what the default avoids: Arrow caches and their locks on disk
