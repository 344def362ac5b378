from __future__ import annotations

import logging
import re

import pytest
from starlette.testclient import TestClient

from medspec.bench.human.app import MAX_BODY, rating_app, server_config
from medspec.bench.human.store import DB_FILE, RatingStore
from medspec.bench.human.study import PREFERENCE, Study
from medspec.cli import _parser

MODELS = ("ours", "base", "rogue")


def add_rater(folder, name):
    return RatingStore(folder / DB_FILE).add_rater(name)


def stored(folder):
    return RatingStore(folder / DB_FILE).ratings()


def csrf(page: str) -> str:
    return re.search(r'name="csrf-token" content="([0-9a-f]+)"', page).group(1)


@pytest.fixture
def client(pairwise_dir):
    return TestClient(rating_app(pairwise_dir), follow_redirects=False)


def test_every_page_without_a_valid_token_is_forbidden(pairwise_dir, client):
    token = add_rater(pairwise_dir, "zhang")
    wrong = token[:-2] + ("xx" if not token.endswith("xx") else "yy")
    for path in ["/", "/r/", f"/r/{wrong}", f"/r/{wrong}/1", f"/r/{wrong}/done", "/study.json", "/secret.key"]:
        assert client.get(path).status_code == 403, path
    assert client.post(f"/r/{wrong}/1", json={"choice": "left"}).status_code == 403
    assert client.get(f"/r/{token}").status_code == 303
    assert stored(pairwise_dir) == []


def test_a_rating_is_stored_in_the_units_terms_and_the_rater_moves_on(pairwise_dir, client):
    token = add_rater(pairwise_dir, "zhang")
    study = Study.load(pairwise_dir)
    assert client.get(f"/r/{token}").headers["location"] == f"/r/{token}/1"
    page = client.get(f"/r/{token}/1").text
    unit = study.order("zhang")[0]
    left = study.left("zhang", unit)
    assert page.index(_escaped(unit.answers[left])) < page.index(_escaped(unit.answers[1 - left]))
    response = client.post(f"/r/{token}/1", json={"choice": "left"}, headers={"X-CSRF-Token": csrf(page)})
    assert response.status_code == 200
    assert response.json() == {"revision": 1, "next": f"/r/{token}/2"}
    [rating] = stored(pairwise_dir)
    assert rating.unit == unit.code and rating.left == left
    assert rating.scores == {PREFERENCE: 1 if left == 0 else -1}
    assert client.get(f"/r/{token}").headers["location"] == f"/r/{token}/2"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")


def test_pages_never_show_model_names_or_other_raters_work(pointwise_dir):
    client = TestClient(rating_app(pointwise_dir), follow_redirects=False)
    zhang, li = add_rater(pointwise_dir, "zhang"), add_rater(pointwise_dir, "li")
    page = client.get(f"/r/{zhang}/1").text
    scores = {"usefulness": 4, "harmfulness": 1, "redundancy": 2}
    headers = {"X-CSRF-Token": csrf(page)}
    client.post(f"/r/{zhang}/1", json={"scores": scores, "comment": "张的备注"}, headers=headers)
    mine = client.get(f"/r/{zhang}/1").text
    assert "张的备注" in mine and len(re.findall(r"checked", mine)) == 3
    study = Study.load(pointwise_dir)
    code = study.order("zhang")[0].code
    position = next(i for i, u in enumerate(study.order("li"), start=1) if u.code == code)
    theirs = client.get(f"/r/{li}/{position}").text
    assert "张的备注" not in theirs and "checked" not in theirs and 'id="rated">0<' in theirs
    for page in (mine, theirs):
        body = page.split("<main>")[1]
        assert not any(re.search(rf"\b{model}\b", body) for model in MODELS)


def test_csrf_token_is_required_and_bound_to_the_rater(pairwise_dir, client):
    zhang, li = add_rater(pairwise_dir, "zhang"), add_rater(pairwise_dir, "li")
    li_token = csrf(client.get(f"/r/{li}/1").text)
    assert client.post(f"/r/{zhang}/1", json={"choice": "tie"}).status_code == 403
    assert client.post(f"/r/{zhang}/1", json={"choice": "tie"}, headers={"X-CSRF-Token": li_token}).status_code == 403
    assert stored(pairwise_dir) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"choice": "middle"}, 400),
        ({"choice": None}, 400),
        ({"scores": {"preference": 1}}, 400),
        ({"choice": "left", "comment": ["x"]}, 400),
        ("[1, 2]", 400),
        ("not json", 400),
        ("[" * 10_000, 400),
        ({"choice": "left", "comment": "长" * MAX_BODY}, 413),
    ],
)
def test_bad_submissions_are_refused_and_store_nothing(pairwise_dir, client, body, status):
    token = add_rater(pairwise_dir, "zhang")
    headers = {"X-CSRF-Token": csrf(client.get(f"/r/{token}/1").text), "Content-Type": "application/json"}
    if isinstance(body, dict):
        response = client.post(f"/r/{token}/1", json=body, headers=headers)
    else:
        response = client.post(f"/r/{token}/1", content=body.encode(), headers=headers)
    assert response.status_code == status
    assert "error" in response.json()
    assert stored(pairwise_dir) == []


def test_pointwise_scores_out_of_the_rubric_are_refused(pointwise_dir):
    client = TestClient(rating_app(pointwise_dir), follow_redirects=False)
    token = add_rater(pointwise_dir, "zhang")
    headers = {"X-CSRF-Token": csrf(client.get(f"/r/{token}/1").text)}
    for scores in [
        {"usefulness": 6, "harmfulness": 1, "redundancy": 1},
        {"usefulness": 3, "harmfulness": 1},
        {"usefulness": 3, "harmfulness": 1, "redundancy": 1, "style": 2},
        {"usefulness": "3", "harmfulness": 1, "redundancy": 1},
    ]:
        response = client.post(f"/r/{token}/1", json={"scores": scores}, headers=headers)
        assert response.status_code == 400, scores
    assert client.get(f"/r/{token}/999").status_code == 404
    assert client.post(f"/r/{token}/0", json={}, headers=headers).status_code == 404
    assert stored(pointwise_dir) == []


def test_model_text_is_shown_verbatim_and_inert(pointwise_dir, runs):
    client = TestClient(rating_app(pointwise_dir), follow_redirects=False)
    token = add_rater(pointwise_dir, "zhang")
    study = Study.load(pointwise_dir)
    position = next(i for i, u in enumerate(study.order("zhang"), start=1) if u.models == ("rogue",))
    response = client.get(f"/r/{token}/{position}")
    page = response.text
    assert "&lt;script&gt;document.title=&#34;pwned&#34;&lt;/script&gt;" in page
    assert "<script>document" not in page and "<img src=x" not in page and "<b>粗体</b>" not in page
    assert "**Markdown**" in page
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def test_admin_page_answers_only_this_machine(pairwise_dir, client):
    token = add_rater(pairwise_dir, "zhang")
    assert client.get("/admin").status_code == 403
    local = TestClient(rating_app(pairwise_dir), base_url="http://127.0.0.1:8765", client=("127.0.0.1", 50000))
    page = local.get("/admin")
    assert page.status_code == 200 and "zhang" in page.text and "0 / 12" in page.text and token not in page.text
    rebound = TestClient(rating_app(pairwise_dir), base_url="http://evil.example", client=("127.0.0.1", 50000))
    assert rebound.get("/admin").status_code == 403


def test_a_restarted_server_resumes_the_rater_and_tokens_never_reach_a_log(pairwise_dir, caplog):
    caplog.set_level(logging.DEBUG)
    token = add_rater(pairwise_dir, "zhang")
    first = TestClient(rating_app(pairwise_dir), follow_redirects=False)
    headers = {"X-CSRF-Token": csrf(first.get(f"/r/{token}/1").text)}
    for position in (1, 2, 3):
        assert first.post(f"/r/{token}/{position}", json={"choice": "tie"}, headers=headers).status_code == 200
    first.get("/r/not-a-token/1")
    restarted = TestClient(rating_app(pairwise_dir), follow_redirects=False)
    assert restarted.get(f"/r/{token}").headers["location"] == f"/r/{token}/4"
    assert 'id="rated">3<' in restarted.get(f"/r/{token}/4").text
    assert len(stored(pairwise_dir)) == 3
    server_logs = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "asyncio")))
    assert token not in server_logs and "not-a-token" not in server_logs


def test_after_the_last_unit_the_rater_is_done_and_can_still_revise(pairwise_dir, client):
    token = add_rater(pairwise_dir, "zhang")
    headers = {"X-CSRF-Token": csrf(client.get(f"/r/{token}/1").text)}
    total = len(Study.load(pairwise_dir).units)
    answers = [client.post(f"/r/{token}/{p}", json={"choice": "right"}, headers=headers).json() for p in range(1, 13)]
    assert answers[-1]["next"] == f"/r/{token}/done"
    assert f"{total} / {total}" in client.get(f"/r/{token}/done").text
    revised = client.post(f"/r/{token}/5", json={"choice": "left"}, headers=headers).json()
    assert revised == {"revision": 2, "next": f"/r/{token}/done"}
    assert len(stored(pairwise_dir)) == total


def test_the_server_listens_on_this_machine_unless_told_otherwise(pairwise_dir):
    assert server_config(pairwise_dir).host == "127.0.0.1"
    assert _parser().parse_args(["bench", "human", "serve", str(pairwise_dir)]).host == "127.0.0.1"
    config = server_config(pairwise_dir, host="0.0.0.0", port=9000)
    assert (config.host, config.port, config.access_log) == ("0.0.0.0", 9000, False)
