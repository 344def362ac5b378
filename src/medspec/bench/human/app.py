"""The rating web app: each rater opens a personal link and rates the study's units one page at a time.

Pages (``TOKEN`` is the rater's token from :meth:`~medspec.bench.human.store.RatingStore.add_rater`):

- ``/r/TOKEN``: sends the rater to their first unrated unit.
- ``/r/TOKEN/N``: the rater's N-th unit; a ``POST`` of JSON stores the rating and answers with the next page.
- ``/r/TOKEN/done``: shown when every unit is rated (ratings can still be revised).
- ``/admin``: progress per rater, answered only to the machine the server runs on.

Every other path, and any token that is not a rater's, answers 403. A ``POST`` needs the page's CSRF token in the
``X-CSRF-Token`` header, a JSON body of at most :data:`MAX_BODY` bytes, and a rating the study has (a choice, or every
criterion on its scale); anything else is refused with 400, 403 or 413 and stores nothing. Model answers are
rendered as text by autoescaping templates, and a strict Content-Security-Policy forbids inline script, so answers
holding ``<script>`` or HTML stay inert. No request is logged, so tokens never reach a log.

Example:
    >>> import pathlib, tempfile
    >>> from medspec.rubric import default_criteria
    >>> from medspec.bench.human.study import Study
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = Study(mode="pointwise", criteria=default_criteria(), units=[]).save(folder)
    >>> type(rating_app(folder)).__name__
    'Starlette'
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from medspec.bench.human.store import DB_FILE, RatingStore, StoredRating
from medspec.bench.human.study import PREFERENCE, SECRET_FILE, Study, Unit

if TYPE_CHECKING:
    import uvicorn

__all__ = ["MAX_BODY", "rating_app", "serve", "server_config"]

logger = logging.getLogger(__name__)

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # names of this machine: the admin page's and the default host's
MAX_BODY = 16 * 1024  # a rating with a long comment is well under 4 KiB
_HERE = Path(__file__).parent
_CHOICES = ("left", "tie", "right")
_SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
     b"img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
]  # fmt: skip


class _SecurityHeaders:
    """Adds the security headers to every response, static files and errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _is_loopback(request: Request) -> bool:
    """The request came from this machine and names it (a DNS-rebound name does not count)."""
    host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]")
    try:
        client = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return client.is_loopback and host in LOCAL_HOSTS


def _unit_scores(study: Study, unit: Unit, left: int, body: dict[str, Any]) -> dict[str, int]:
    """The scores a submission gives a unit, in the unit's own terms (pairwise sides mapped back to models)."""
    if study.mode == "pairwise":
        choice = body.get("choice")
        if choice not in _CHOICES:
            raise ValueError(f"choice: expected one of {', '.join(_CHOICES)}, got {choice!r}")
        first_better = 1 if left == 0 else -1
        return {PREFERENCE: {"left": first_better, "tie": 0, "right": -first_better}[choice]}
    return study.check_scores(body.get("scores"))


def _shown_choice(rating: StoredRating | None, left: int) -> str | None:
    if rating is None or PREFERENCE not in rating.scores:
        return None
    preference = rating.scores[PREFERENCE] * (1 if left == 0 else -1)
    return {1: "left", 0: "tie", -1: "right"}[preference]


async def _json_body(request: Request) -> dict[str, Any] | Response:
    """The request's JSON object, or the error response that refuses it."""
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        return JSONResponse({"error": f"request body over {MAX_BODY} bytes"}, status_code=413)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return JSONResponse({"error": f"request body over {MAX_BODY} bytes"}, status_code=413)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return JSONResponse({"error": "expected a JSON object"}, status_code=400)
    if not isinstance(data, dict):
        return JSONResponse({"error": "expected a JSON object"}, status_code=400)
    return data


def rating_app(folder: str | Path) -> Starlette:
    """The web app of the study in ``folder`` (``study.json`` and its ratings database).

    Args:
        folder: A study folder written by :func:`~medspec.bench.human.study.create_study`.

    Returns:
        An ASGI app; :func:`serve` runs it.

    Raises:
        ConfigError: When the folder holds no study.
    """
    folder = Path(folder)
    study = Study.load(folder)
    store = RatingStore(folder / DB_FILE)
    secret = (folder / SECRET_FILE).read_bytes()
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
    )

    def left(rater: str, unit: Unit) -> int:
        return study.left(rater, unit) if study.mode == "pairwise" else 0

    def csrf_token(rater: str) -> str:
        return hmac.new(secret, f"csrf:{rater}".encode(), hashlib.sha256).hexdigest()

    def page(name: str, status: int = 200, **context: Any) -> Response:
        html = templates.get_template(name).render(title=study.title, **context)
        return Response(html, status_code=status, media_type="text/html; charset=utf-8")

    def forbidden() -> Response:
        return page("forbidden.html", status=403)

    def rater_of(request: Request) -> str | None:
        return store.rater_for(request.path_params["token"])

    def next_url(token: str, rater: str, after: int = 0) -> str:
        """The first unit this rater has not rated, searching onwards from position ``after``, else done."""
        rated = {r.unit for r in store.ratings(rater)}
        units = study.order(rater)
        for offset in range(len(units)):
            position = (after + offset) % len(units)
            if units[position].code not in rated:
                return f"/r/{token}/{position + 1}"
        return f"/r/{token}/done"

    async def start(request: Request) -> Response:
        rater = rater_of(request)
        if rater is None:
            return forbidden()
        return RedirectResponse(next_url(request.path_params["token"], rater), status_code=303)

    async def done(request: Request) -> Response:
        rater = rater_of(request)
        if rater is None:
            return forbidden()
        rated = len(store.ratings(rater))
        return page("done.html", token=request.path_params["token"], rated=rated, total=len(study.units))

    async def unit_page(request: Request) -> Response:
        rater = rater_of(request)
        if rater is None:
            return forbidden()
        token, position = request.path_params["token"], request.path_params["position"]
        units = study.order(rater)
        if not 1 <= position <= len(units):
            return page("forbidden.html", status=404)
        unit = units[position - 1]
        if request.method == "POST":
            return await _submit(request, rater, unit, position)
        ratings = {r.unit: r for r in store.ratings(rater)}
        mine = ratings.get(unit.code)
        shown = left(rater, unit)
        answers = [unit.answers[shown], unit.answers[1 - shown]] if study.mode == "pairwise" else list(unit.answers)
        return page(
            "unit.html",
            study=study,
            unit=unit,
            answers=answers,
            position=position,
            total=len(units),
            rated=len(ratings),
            rating=mine,
            choice=_shown_choice(mine, shown),
            csrf=csrf_token(rater),
            previous=f"/r/{token}/{position - 1}" if position > 1 else None,
            following=f"/r/{token}/{position + 1}" if position < len(units) else None,
        )

    async def _submit(request: Request, rater: str, unit: Unit, position: int) -> Response:
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), csrf_token(rater).encode()):
            return JSONResponse({"error": "missing or wrong CSRF token; reload the page"}, status_code=403)
        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        comment = body.get("comment", "")
        if not isinstance(comment, str):
            return JSONResponse({"error": "comment: expected text"}, status_code=400)
        shown = left(rater, unit)
        try:
            scores = _unit_scores(study, unit, shown, body)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        revision = store.save(
            rater, unit.code, scores, comment=comment.strip(), left=shown if study.mode == "pairwise" else None
        )
        token = request.path_params["token"]
        return JSONResponse({"revision": revision, "next": next_url(token, rater, after=position)})

    async def admin(request: Request) -> Response:
        if not _is_loopback(request):
            return forbidden()
        ratings = store.ratings()
        rows = []
        for rater in store.raters():
            mine = [r for r in ratings if r.rater == rater]
            last = max((r.updated for r in mine), default="")
            revised = sum(r.revision > 1 for r in mine)
            rows.append({"rater": rater, "rated": len(mine), "revised": revised, "last": last})
        return page("admin.html", study=study, rows=rows, total=len(study.units))

    async def anything_else(request: Request) -> Response:
        return forbidden()

    routes = [
        Route("/r/{token}", start),
        Route("/r/{token}/done", done),
        Route("/r/{token}/{position:int}", unit_page, methods=["GET", "POST"]),
        Route("/admin", admin),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
        Route("/{path:path}", anything_else, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(_SecurityHeaders)
    return app


def server_config(folder: str | Path, *, host: str = "127.0.0.1", port: int = 8765) -> uvicorn.Config:
    """The server settings of :func:`serve`: the study's app, no access log (links hold tokens), no server header."""
    import uvicorn

    return uvicorn.Config(
        rating_app(folder), host=host, port=port, access_log=False, log_level="warning", server_header=False
    )


def serve(folder: str | Path, *, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve the study in ``folder`` until interrupted.

    The default host answers only this machine. Another ``host`` (``0.0.0.0`` for every interface) lets raters on
    the network in: traffic is plain HTTP, so anyone who can watch the network sees the links; use it only inside a
    trusted network, or behind a TLS proxy.

    Args:
        folder: The study folder.
        host: Interface to listen on.
        port: TCP port.
    """
    import uvicorn

    config = server_config(folder, host=host, port=port)
    if host not in LOCAL_HOSTS:
        logger.warning("serving on %s: raters on the network can reach the study over plain HTTP", host)
    uvicorn.Server(config).run()
