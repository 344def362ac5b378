from __future__ import annotations

import random

import pytest

from medspec.crossfilter.novelty import NoveltyIndex, rouge_l
from medspec.data.dedup import normalize_text


def test_rouge_l_on_characters():
    assert rouge_l("丙泊酚的诱导剂量", "丙泊酚的诱导剂量") == 1.0
    assert rouge_l("ABCD", "ACBD") == pytest.approx(2 * 3 / 8)
    assert rouge_l("", "麻醉") == 0.0
    assert rouge_l("腰麻，后头痛！", "腰麻后头痛") == 1.0  # punctuation and spacing do not count


def brute_force(pool, text):
    return max((rouge_l(text, other) for other in pool), default=0.0)


def test_index_agrees_with_checking_every_item():
    rng = random.Random(0)
    alphabet = "麻醉丙泊酚诱导剂量腰硬联合阻滞平面镇痛"
    pool = ["".join(rng.choices(alphabet, k=rng.randint(4, 16))) for _ in range(300)]
    index = NoveltyIndex(pool, threshold=0.6)
    for _ in range(200):
        query = "".join(rng.choices(alphabet, k=rng.randint(4, 16)))
        best = brute_force(pool, query)
        found, score = index.most_similar(query)
        if best >= 0.6:
            assert score == pytest.approx(best) and rouge_l(query, pool[found]) == pytest.approx(best)
        assert index.is_novel(query) == (best < 0.6)


def test_added_items_count_and_empty_text_is_never_novel():
    index = NoveltyIndex(["腰麻后头痛如何处理？"])
    assert index.is_novel("硬膜外血补丁的适应证是什么？")
    index.add("硬膜外血补丁的适应证是什么？")
    assert not index.is_novel("硬膜外血补丁的适应证是什么")
    assert not index.is_novel("？！")
    assert len(index) == 2 and normalize_text("？！") == ""
