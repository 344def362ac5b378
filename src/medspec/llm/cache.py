"""A durable request cache, so a run killed at any moment and started again pays for nothing twice.

:class:`RequestCache` is one SQLite file mapping a request's key (SHA-256 of the backend's name and the canonical
JSON of the request: model, generation parameters and messages) to the answer. Only successful answers are stored,
so a request that failed is sent again on the next run. A writer thread commits the answers that arrived in the last
50 ms in one transaction, in WAL mode with ``synchronous=NORMAL``: a committed answer survives the process being
killed (a power cut may lose the last few), and only answers received in the last 50 ms or so before a kill can be
lost. Threads share the cache object; processes share the file through SQLite's own locking, waiting up
to ``busy_timeout_s`` for each other.

The HTTP backends (:mod:`medspec.llm.openai`, :mod:`medspec.llm.anthropic`) consult the cache per request, inside
their concurrent loop. :class:`CachedBackend` gives any other backend (a local model) the same property per batch,
for generation and for :meth:`~medspec.llm.transformers.TransformersBackend.continuation_logprobs`.

Nothing secret is stored: keys are hashes and values are completions; API keys never reach the cache.

Example:
    >>> import tempfile, pathlib
    >>> cache = RequestCache(pathlib.Path(tempfile.mkdtemp()) / "cache.sqlite")
    >>> key = cache.key("openai:gpt-4o-mini", {"messages": [{"role": "user", "content": "你好"}]})
    >>> cache.get(key) is None
    True
    >>> cache.put(key, {"text": "您好！"})
    >>> cache.get(key), len(cache)
    ({'text': '您好！'}, 1)
"""

from __future__ import annotations

import atexit
import dataclasses
import hashlib
import json
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medspec.errors import MedspecError
from medspec.llm.base import Chat, ChatBackend, Completion, GenerationParams

__all__ = ["CachedBackend", "RequestCache", "completion_from_dict", "completion_to_dict"]

logger = logging.getLogger(__name__)

_COMMIT_INTERVAL_S = 0.05  # the longest an answer waits in memory before its commit begins
_SCHEMA = "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, backend TEXT NOT NULL, value TEXT NOT NULL)"


def completion_to_dict(completion: Completion) -> dict[str, Any]:
    """A completion as JSON-ready data."""
    return dataclasses.asdict(completion)


def completion_from_dict(data: Mapping[str, Any]) -> Completion:
    """The inverse of :func:`completion_to_dict`."""
    return Completion(**data)


class RequestCache:
    """Answers to requests, keyed by backend and request, in one SQLite file.

    Writes go through one writer thread that commits whatever has arrived since its last commit (a group commit, at
    most every 50 ms): an answer is on disk within about 50 ms, and the thread that received it never waits for the
    disk.

    Args:
        path: The database file; created with its folder when missing.
        busy_timeout_s: How long a write waits for another process holding the file.

    Attributes:
        hits: Lookups answered from the cache since opening.
        misses: Lookups that found nothing.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self._busy_timeout_s = busy_timeout_s
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pending: dict[str, tuple[str, str]] = {}  # key -> (backend, JSON value), not yet handed to SQLite
        self._writing: dict[str, tuple[str, str]] = {}  # the batch being committed
        self._failure: str | None = None
        self._closed = False
        self._flushing = 0  # callers waiting in flush()
        self._reader = sqlite3.connect(self.path, timeout=busy_timeout_s, check_same_thread=False)
        self._reader.execute("PRAGMA journal_mode=WAL")
        self._reader.execute(_SCHEMA)
        self._reader.commit()
        self._writer = threading.Thread(target=self._write_loop, name=f"cache-writer:{self.path.name}", daemon=True)
        self._writer.start()
        atexit.register(self.close)

    @staticmethod
    def key(backend: str, request: Mapping[str, Any]) -> str:
        """The cache key of ``request`` (model, parameters, messages, ...) sent to ``backend``."""
        canonical = json.dumps({"backend": backend, "request": request}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def get(self, key: str) -> Any | None:
        """The stored answer, or None."""
        with self._lock:
            entry = self._pending.get(key) or self._writing.get(key)
            if entry is not None:
                text = entry[1]
            else:
                row = self._reader.execute("SELECT value FROM answers WHERE key = ?", (key,)).fetchone()
                text = None if row is None else row[0]
            if text is None:
                self.misses += 1
                return None
            self.hits += 1
        return json.loads(text)

    def put(self, key: str, value: Any, *, backend: str = "") -> None:
        """Store an answer; the writer thread commits it within about 50 ms.

        Raises:
            MedspecError: When an earlier write failed (the disk is full, the file is locked for too long).
        """
        text = json.dumps(value, ensure_ascii=False)
        with self._changed:
            self._check()
            self._pending[key] = (backend, text)
            if len(self._pending) == 1:  # the writer sleeps until there is work: wake it once, not per answer
                self._changed.notify_all()

    def flush(self) -> None:
        """Wait until every answer stored so far is committed."""
        with self._changed:
            self._flushing += 1
            self._changed.notify_all()
            try:
                while (self._pending or self._writing) and self._writer.is_alive():
                    self._changed.wait()
            finally:
                self._flushing -= 1
            self._check()

    def _check(self) -> None:
        if self._failure is not None:
            raise MedspecError(f"request cache {self.path}: {self._failure}")
        if self._closed:
            raise MedspecError(f"request cache {self.path} is closed")

    def _write_loop(self) -> None:
        connection = sqlite3.connect(self.path, timeout=self._busy_timeout_s)
        connection.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: durable when the process dies
        while True:
            with self._changed:
                while not self._pending and not self._closed:
                    self._changed.wait()
                if not self._pending:
                    break
                self._writing, self._pending = self._pending, {}
                rows = [(key, backend, text) for key, (backend, text) in self._writing.items()]
            try:
                connection.executemany("INSERT OR REPLACE INTO answers (key, backend, value) VALUES (?, ?, ?)", rows)
                connection.commit()
            except sqlite3.Error as exc:
                with self._changed:
                    self._failure = f"could not write {len(rows)} answer(s): {exc}"
            with self._changed:
                self._writing = {}
                self._changed.notify_all()
                # Let answers gather before the next commit: fewer, larger transactions, and the thread that
                # receives them is interrupted less often (closing or a flush does not wait for the pause).
                self._changed.wait_for(lambda: self._closed or self._flushing, timeout=_COMMIT_INTERVAL_S)
        connection.close()

    def __len__(self) -> int:
        self.flush()
        with self._lock:
            return self._reader.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        """Commit what is pending and close the database; the object must not be used afterwards."""
        with self._changed:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        self._writer.join()
        atexit.unregister(self.close)
        with self._lock:
            self._reader.close()
        if self._failure is not None:
            raise MedspecError(f"request cache {self.path}: {self._failure}")

    def __repr__(self) -> str:
        return f"RequestCache({str(self.path)!r})"


class CachedBackend:
    """Any backend behind a :class:`RequestCache`: answered chats are not generated again.

    Misses go to the wrapped backend one batch (its ``batch_size``, when it has one) at a time, and each batch's
    answers are stored before the next starts, so a run killed during hours of local scoring loses one batch at most.
    A failed completion is not stored. When the wrapped backend has ``continuation_logprobs`` (a local model), so has
    this one, cached the same way.

    Args:
        backend: The backend to wrap; its ``name`` is part of every key, so give different models different names.
        cache: The cache.

    Example:
        >>> import tempfile, pathlib
        >>> class Count:
        ...     name, calls = "count", 0
        ...     def generate(self, chats, params):
        ...         Count.calls += len(chats)
        ...         return [Completion(text=str(len(c))) for c in chats]
        >>> cached = CachedBackend(Count(), RequestCache(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite"))
        >>> chats = [[{"role": "user", "content": "a"}]]
        >>> _ = cached.generate(chats, GenerationParams()); _ = cached.generate(chats, GenerationParams())
        >>> Count.calls
        1
    """

    def __init__(self, backend: ChatBackend, cache: RequestCache) -> None:
        self.backend = backend
        self.cache = cache
        self.name = backend.name
        if callable(getattr(backend, "continuation_logprobs", None)):
            # Set per instance, so isinstance(x, LikelihoodBackend) is true exactly when the wrapped backend is one.
            self.continuation_logprobs = self._cached_logprobs

    def generate(self, chats: Sequence[Chat], params: GenerationParams) -> list[Completion]:
        """Answer each chat, from the cache where possible."""
        settings = dataclasses.asdict(params)
        keys = [self.cache.key(self.name, {"params": settings, "messages": chat}) for chat in chats]
        results: list[Completion | None] = []
        for key in keys:
            stored = self.cache.get(key)
            results.append(None if stored is None else completion_from_dict(stored))
        for group in self._batches([i for i, r in enumerate(results) if r is None]):
            fresh = self.backend.generate([chats[i] for i in group], params)
            for i, completion in zip(group, fresh, strict=True):
                results[i] = completion
                if completion.ok:
                    self.cache.put(keys[i], completion_to_dict(completion), backend=self.name)
        return [r for r in results if r is not None]

    def _batches(self, missing: list[int]) -> list[list[int]]:
        size = getattr(self.backend, "batch_size", None) or len(missing) or 1
        return [missing[start : start + size] for start in range(0, len(missing), size)]

    def _cached_logprobs(self, chats: Sequence[Chat], continuations: Sequence[Sequence[str]]) -> list[list[float]]:
        keys = [
            self.cache.key(self.name, {"logprobs": list(options), "messages": chat})
            for chat, options in zip(chats, continuations, strict=True)
        ]
        results: list[list[float] | None] = [self.cache.get(key) for key in keys]
        for group in self._batches([i for i, r in enumerate(results) if r is None]):
            fresh = self.backend.continuation_logprobs(  # type: ignore[attr-defined]
                [chats[i] for i in group], [continuations[i] for i in group]
            )
            for i, scores in zip(group, fresh, strict=True):
                results[i] = scores
                self.cache.put(keys[i], scores, backend=self.name)
        return [r for r in results if r is not None]

    def __repr__(self) -> str:
        return f"CachedBackend({self.backend!r}, {self.cache!r})"
