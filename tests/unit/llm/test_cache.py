from __future__ import annotations

import multiprocessing
import threading

import pytest

from medspec.errors import MedspecError
from medspec.llm.base import Completion, GenerationParams, LikelihoodBackend
from medspec.llm.cache import CachedBackend, RequestCache


class Counting:
    """A backend that answers with the length of the chat and counts what it is asked."""

    name = "counting"

    def __init__(self, fail=()):
        self.asked: list[str] = []
        self.fail = set(fail)

    def generate(self, chats, params):
        self.asked += [c[-1]["content"] for c in chats]
        return [
            Completion(text="", finish_reason="error", error="down")
            if c[-1]["content"] in self.fail
            else Completion(text=c[-1]["content"] * 2)
            for c in chats
        ]


class Scoring(Counting):
    def continuation_logprobs(self, chats, continuations):
        self.asked += [c[-1]["content"] for c in chats]
        return [[-float(len(o)) for o in options] for options in continuations]


def chat(text):
    return [{"role": "user", "content": text}]


def test_answers_survive_reopening(tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    key = cache.key("b", {"messages": chat("一")})
    cache.put(key, {"text": "答"})
    cache.close()
    reopened = RequestCache(tmp_path / "c.sqlite")
    assert reopened.get(key) == {"text": "答"} and reopened.hits == 1
    assert reopened.get(cache.key("b", {"messages": chat("二")})) is None and reopened.misses == 1


def test_keys_depend_on_backend_and_every_part_of_the_request():
    base = {"model": "m", "params": {"temperature": 0}, "messages": chat("一")}
    keys = {
        RequestCache.key("a", base),
        RequestCache.key("b", base),
        RequestCache.key("a", base | {"model": "n"}),
        RequestCache.key("a", base | {"params": {"temperature": 1}}),
        RequestCache.key("a", base | {"messages": chat("二")}),
    }
    assert len(keys) == 5
    assert RequestCache.key("a", dict(reversed(base.items()))) == RequestCache.key("a", base)


def test_safe_under_threads_and_two_connections(tmp_path):
    path = tmp_path / "c.sqlite"
    caches = [RequestCache(path), RequestCache(path)]

    def write(worker):
        cache = caches[worker % 2]
        for i in range(100):
            cache.put(cache.key("b", {"w": worker, "i": i}), {"n": i})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for cache in caches:
        cache.close()  # commits what the writer threads still hold; raises if a commit failed
    assert len(RequestCache(path)) == 600


def _write_from_a_process(path, worker):
    cache = RequestCache(path)
    for i in range(200):
        cache.put(cache.key("b", {"p": worker, "i": i}), i)
    cache.close()  # a forked process leaves through os._exit: no atexit flush


def test_safe_across_processes(tmp_path):
    path = tmp_path / "c.sqlite"
    context = multiprocessing.get_context("fork")  # no re-import: the processes start at once and write together
    workers = [context.Process(target=_write_from_a_process, args=(path, p)) for p in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    assert len(RequestCache(path)) == 600


def test_puts_are_visible_at_once_and_on_disk_after_flush(tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    keys = [cache.key("b", {"i": i}) for i in range(50)]
    for i, key in enumerate(keys):
        cache.put(key, i)
        assert cache.get(key) == i  # pending or committed, a put is never missed
    cache.flush()
    other = RequestCache(tmp_path / "c.sqlite")
    assert [other.get(key) for key in keys] == list(range(50))
    cache.close()
    cache.close()  # closing twice is harmless
    with pytest.raises(MedspecError, match="closed"):
        cache.put(keys[0], 1)


def test_cached_backend_sends_only_misses_and_never_stores_failures(tmp_path):
    inner = Counting(fail={"坏"})
    backend = CachedBackend(inner, RequestCache(tmp_path / "c.sqlite"))
    params = GenerationParams(max_new_tokens=4)
    assert [c.text for c in backend.generate([chat("甲"), chat("坏")], params)] == ["甲甲", ""]
    assert [c.text for c in backend.generate([chat("乙"), chat("甲"), chat("坏")], params)] == ["乙乙", "甲甲", ""]
    assert inner.asked == ["甲", "坏", "乙", "坏"]
    backend.generate([chat("甲")], GenerationParams(max_new_tokens=5))
    assert inner.asked[-1] == "甲"  # other parameters, another request


def test_cached_backend_stores_each_batch_before_the_next(tmp_path):
    class Dies(Counting):
        batch_size = 2

        def generate(self, chats, params):
            if len(self.asked) >= 4:
                raise KeyboardInterrupt("killed")
            return super().generate(chats, params)

    cache = RequestCache(tmp_path / "c.sqlite")
    with pytest.raises(KeyboardInterrupt):
        CachedBackend(Dies(), cache).generate([chat(str(i)) for i in range(7)], GenerationParams())
    again = Counting()
    CachedBackend(again, cache).generate([chat(str(i)) for i in range(7)], GenerationParams())
    assert again.asked == ["4", "5", "6"]  # the two finished batches of two were kept


def test_cached_backend_keeps_and_caches_likelihood_when_the_backend_has_it(tmp_path):
    cache = RequestCache(tmp_path / "c.sqlite")
    assert not isinstance(CachedBackend(Counting(), cache), LikelihoodBackend)
    inner = Scoring()
    backend = CachedBackend(inner, cache)
    assert isinstance(backend, LikelihoodBackend)
    first = backend.continuation_logprobs([chat("甲"), chat("乙")], [["1", "10"], ["2"]])
    second = backend.continuation_logprobs([chat("乙"), chat("甲")], [["2"], ["1", "10"]])
    assert first == [[-1.0, -2.0], [-1.0]] and second == [[-1.0], [-1.0, -2.0]]
    assert inner.asked == ["甲", "乙"]
    with pytest.raises(ValueError, match="zip"):
        backend.continuation_logprobs([chat("甲")], [])
