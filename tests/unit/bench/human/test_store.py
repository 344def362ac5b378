from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from medspec.bench.human.store import RatingStore
from medspec.errors import ConfigError


def test_tokens_are_kept_only_as_hashes(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    token = store.add_rater("zhang")
    assert len(token) >= 32 and store.rater_for(token) == "zhang"
    assert store.rater_for(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    dump = "\n".join(sqlite3.connect(tmp_path / "r.sqlite").iterdump())
    assert token not in dump


def test_a_rater_is_added_once_with_a_valid_name(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    store.add_rater("李医生")
    with pytest.raises(ConfigError, match="already"):
        store.add_rater("李医生")
    with pytest.raises(ConfigError, match="rater name"):
        store.add_rater("a/b")
    assert store.raters() == ["李医生"]


def test_resubmission_updates_and_counts_revisions(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    store.add_rater("zhang")
    assert store.save("zhang", "U1", {"usefulness": 2}, comment="初评") == 1
    assert store.save("zhang", "U1", {"usefulness": 4}, comment="复核") == 2
    [rating] = store.ratings()
    assert (rating.scores, rating.comment, rating.revision) == ({"usefulness": 4}, "复核", 2)


def test_ratings_of_unknown_raters_are_refused(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        store.save("nobody", "U1", {"usefulness": 2})


def test_a_reopened_store_has_every_committed_rating_and_writers_do_not_collide(tmp_path):
    store = RatingStore(tmp_path / "r.sqlite")
    for rater in ("a", "b", "c", "d"):
        store.add_rater(rater)

    def rate(rater):
        for unit in range(50):
            store.save(rater, f"U{unit}", {"usefulness": unit % 5 + 1})

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(rate, ["a", "b", "c", "d"]))
    reopened = RatingStore(tmp_path / "r.sqlite")
    assert len(reopened.ratings()) == 200 and len(reopened.ratings("c")) == 50
    assert sqlite3.connect(tmp_path / "r.sqlite").execute("PRAGMA journal_mode").fetchone() == ("wal",)
