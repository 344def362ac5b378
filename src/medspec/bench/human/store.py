"""Ratings of a browser study in SQLite: the raters, their hashed tokens, and one row per rater and unit.

Every submission is committed before the server answers (write-ahead log, full sync), so killing the server loses
nothing and a restarted one resumes each rater where they stopped. A rater who submits the same unit again revises
their rating: the row is updated and its revision counted, never duplicated.

A rater's token is shown once, when the rater is added; the database keeps only its SHA-256, and a presented token is
compared with every rater's hash in constant time.

Example:
    >>> import pathlib, tempfile
    >>> store = RatingStore(pathlib.Path(tempfile.mkdtemp()) / "ratings.sqlite")
    >>> token = store.add_rater("张医生")
    >>> store.rater_for(token), store.rater_for("guess")
    ('张医生', None)
    >>> store.save("张医生", "K7Q2XM", {"preference": 1}), store.save("张医生", "K7Q2XM", {"preference": 0})
    (1, 2)
    >>> [(r.unit, r.scores) for r in store.ratings()]
    [('K7Q2XM', {'preference': 0})]
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from medspec.bench.human.kit import check_rater_name
from medspec.errors import ConfigError

__all__ = ["DB_FILE", "RatingStore", "StoredRating"]

DB_FILE = "ratings.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS raters (
    name TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL UNIQUE,
    added TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    rater TEXT NOT NULL REFERENCES raters(name),
    unit TEXT NOT NULL,
    scores TEXT NOT NULL,
    comment TEXT NOT NULL DEFAULT '',
    left_answer INTEGER,
    revision INTEGER NOT NULL DEFAULT 1,
    updated TEXT NOT NULL,
    PRIMARY KEY (rater, unit)
);
"""


@dataclass(frozen=True)
class StoredRating:
    """One rater's latest rating of one unit.

    Attributes:
        rater: The rater's name.
        unit: The unit's code.
        scores: Criterion to score (``preference`` in pairwise studies).
        comment: The rater's free-text remark.
        left: In a pairwise study, which of the unit's answers was shown on the left (0 or 1).
        revision: How many times the rater submitted this unit.
        updated: When the latest submission was stored (UTC, ISO 8601).
    """

    rater: str
    unit: str
    scores: dict[str, int]
    comment: str
    left: int | None
    revision: int
    updated: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class RatingStore:
    """The ratings database of one study.

    Args:
        path: The SQLite file; created with its tables when missing.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    def add_rater(self, name: str) -> str:
        """Add a rater and return their token (shown once; only its hash is kept).

        Raises:
            ConfigError: For a bad name or one already added.
        """
        check_rater_name(name)
        token = secrets.token_urlsafe(24)
        try:
            with self._connect() as db:
                db.execute("INSERT INTO raters VALUES (?, ?, ?)", (name, _digest(token), _now()))
        except sqlite3.IntegrityError:
            raise ConfigError("raters", f"rater {name!r} is already in {self.path}") from None
        return token

    def raters(self) -> list[str]:
        """The raters' names, in the order they were added."""
        with self._connect() as db:
            return [name for (name,) in db.execute("SELECT name FROM raters ORDER BY added, name")]

    def rater_for(self, token: str) -> str | None:
        """The rater whose token this is, or None; every rater's hash is compared, in constant time."""
        presented = _digest(token)
        with self._connect() as db:
            rows = db.execute("SELECT name, token_sha256 FROM raters").fetchall()
        found = None
        for name, digest in rows:
            if hmac.compare_digest(presented, digest):
                found = name
        return found

    def save(self, rater: str, unit: str, scores: dict[str, int], *, comment: str = "", left: int | None = None) -> int:
        """Store a rater's rating of a unit, replacing an earlier one; returns its revision (1 for the first)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                """INSERT INTO ratings (rater, unit, scores, comment, left_answer, updated) VALUES (?, ?, ?, ?, ?, ?)
                   ON CONFLICT (rater, unit) DO UPDATE SET scores = excluded.scores, comment = excluded.comment,
                   left_answer = excluded.left_answer, updated = excluded.updated, revision = revision + 1
                   RETURNING revision""",
                (rater, unit, json.dumps(scores), comment, left, _now()),
            ).fetchone()
            db.execute("COMMIT")
        return int(row[0])

    def ratings(self, rater: str | None = None) -> list[StoredRating]:
        """Every stored rating (or one rater's), oldest first."""
        query = "SELECT rater, unit, scores, comment, left_answer, revision, updated FROM ratings"
        with self._connect() as db:
            rows = (
                db.execute(query + " WHERE rater = ? ORDER BY updated", (rater,))
                if rater is not None
                else db.execute(query + " ORDER BY updated")
            ).fetchall()
        return [StoredRating(r, u, json.loads(s), c, left, rev, when) for r, u, s, c, left, rev, when in rows]
