"""The rating server under real HTTP: 20 raters at once, a killed server, no token in its output."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx

from medspec.bench.human.store import DB_FILE, RatingStore
from medspec.bench.human.study import PREFERENCE
from tests.integration.human.servers import csrf, free_port, start_process, synthetic_study, thread_server

RATERS, RATINGS, REVISED = 20, 50, 5


async def rate_all(base: str, token: str) -> list[int]:
    """One rater: every unit in their order, then the first REVISED again with another choice."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        headers = {"X-CSRF-Token": csrf((await client.get(f"/r/{token}/1")).text)}
        statuses = []
        for position in [*range(1, RATINGS + 1), *range(1, REVISED + 1)]:
            choice = "left" if position <= RATINGS and len(statuses) < RATINGS else "right"
            response = await client.post(f"/r/{token}/{position}", json={"choice": choice}, headers=headers)
            statuses.append(response.status_code)
        return statuses


def test_twenty_raters_at_once_lose_nothing_and_count_nothing_twice(tmp_path, capfd):
    study = synthetic_study(tmp_path, RATINGS)
    store = RatingStore(tmp_path / DB_FILE)
    tokens = {f"rater{i:02d}": store.add_rater(f"rater{i:02d}") for i in range(RATERS)}

    async def everyone(base):
        return await asyncio.gather(*(rate_all(base, token) for token in tokens.values()))

    with thread_server(tmp_path) as base:
        statuses = asyncio.run(everyone(base))
    assert all(status == 200 for per_rater in statuses for status in per_rater)
    ratings = RatingStore(tmp_path / DB_FILE).ratings()
    assert len(ratings) == RATERS * RATINGS
    assert len({(r.rater, r.unit) for r in ratings}) == RATERS * RATINGS
    for rater in tokens:
        mine = [r for r in ratings if r.rater == rater]
        revised = {u.code for u in study.order(rater)[:REVISED]}
        assert {r.unit for r in mine if r.revision == 2} == revised
        assert all(r.revision == 1 for r in mine if r.unit not in revised)
        for r in mine:  # "left" first, "right" on revision: the stored preference follows the shown side
            chose_left = r.revision == 1
            assert r.scores[PREFERENCE] == (1 if (r.left == 0) == chose_left else -1)
    output = capfd.readouterr()
    assert not any(token in output.out + output.err for token in tokens.values())


def test_a_killed_server_loses_nothing_and_the_restarted_one_resumes(tmp_path):
    synthetic_study(tmp_path, 12, mode="pointwise")
    token = RatingStore(tmp_path / DB_FILE).add_rater("zhang")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_process(tmp_path, port)
    try:
        headers = {"X-CSRF-Token": csrf(httpx.get(f"{base}/r/{token}/1").text)}
        scores = {"usefulness": 4, "harmfulness": 1, "redundancy": 2}
        for position in range(1, 6):
            response = httpx.post(f"{base}/r/{token}/{position}", json={"scores": scores}, headers=headers)
            assert response.status_code == 200
    finally:
        os.kill(server.pid, signal.SIGKILL)
        first_output = server.communicate()[0]
    assert len(RatingStore(tmp_path / DB_FILE).ratings()) == 5
    server = start_process(tmp_path, port)
    try:
        assert httpx.get(f"{base}/r/{token}").headers["location"] == f"/r/{token}/6"
        assert httpx.get(f"{base}/admin").status_code == 200
    finally:
        server.terminate()
        second_output = server.communicate(timeout=30)[0]
    assert token not in first_output + second_output
    assert "serving" in first_output
