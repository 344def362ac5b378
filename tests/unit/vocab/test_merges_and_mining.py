from __future__ import annotations

from medspec.vocab.merges import MergePlanner
from medspec.vocab.mining import Candidate, has_cjk, jieba_words, rank_candidates, train_sentencepiece


def test_every_merge_uses_tokens_that_exist_before_it():
    base = {"麻", "醉", "诱", "导"}
    planner = MergePlanner(base.__contains__)
    planner.add(list("麻醉诱导"))
    planner.add(list("麻醉维持"))
    known = set(base)
    for token in planner.tokens:
        merge = next((m for m in planner.merges if m.result == token), None)
        if merge is None:
            assert len(token) == 1  # a new base character needs no merge
        else:
            assert merge.left in known and merge.right in known
        known.add(token)
    assert "麻醉诱导" in known and "麻醉维持" in known
    assert planner.tokens.count("麻醉") == 1  # the shared part is added once


def test_byte_level_characters_are_built_from_bytes():
    planner = MergePlanner(lambda t: len(t) == 1, atoms=list)  # only single byte symbols exist
    added = planner.add(["abc", "de"])
    assert added[-1] == "abcde"
    assert {m.result for m in planner.merges} == set(added)


def test_mining_sources_and_ranking(corpus_lines):
    pieces = train_sentencepiece(corpus_lines[:80], vocab_size=1500)
    assert len(pieces) > 500 and all(p.source == "sentencepiece" for p in pieces)
    assert [p.score for p in pieces] == sorted((p.score for p in pieces), reverse=True)
    words = jieba_words(corpus_lines[:80], min_count=3)
    assert ("患者" in [w.text for w in words]) and all(w.score >= 3 for w in words)
    ranked = rank_candidates([Candidate("丙泊酚", "lexicon")], pieces, words, max_chars=6)
    assert ranked[0].text == "丙泊酚" and all(has_cjk(c.text) and len(c.text) <= 6 for c in ranked)
    assert len({c.text for c in ranked}) == len(ranked)
