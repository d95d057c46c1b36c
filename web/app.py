"""The FastAPI application (`uvicorn web.app:app`).

Errors never reach a user as a stack trace: a UserError becomes its Danish message (a flash
message on a page, `{"detail": ...}` with 400/404/409 in the API); anything unexpected
becomes a plain Danish "something went wrong" and is logged on the server. Every error of the
API has that one shape, `{"detail": "<Danish message>"}`, whatever its cause: invalid input,
malformed JSON, a wrong method, an unknown address, a body too large.
"""

import logging
from typing import get_args
from urllib.parse import quote

import anyio
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from cases.db import DatabaseBusy, engine_for
from cases.logs import request_id, setup_logging
from cases.schemas import describe
from cases.settings import PROJECT_DIR, get_settings, load_settings, secret_key
from web import (
    api,
    bilag,
    citizens,
    docs,
    feeds,
    meeting_pages,
    oidc,
    oparl,
    ops,
    pages,
    portal,
    public,
    search,
    user_pages,
)
from web.auth import Forbidden, NotAuthenticated, request_connection
from web.rendering import flash, page, redirect, safe_path
from workflow.errors import Conflict, NotFound, TransitionRefused, UserError

log = logging.getLogger("sagsgang.web")
STATIC_DIR = PROJECT_DIR / "web" / "static"
RETRY_AFTER_SECONDS = 5  # a busy database: the pool or SQLite's write lock is seldom held longer
# The largest request body taken. A case with every text at its longest is 1 MB of UTF-8, and
# 3.1 MB as a form or as JSON with \u escapes (each "æ" 6 bytes).
MAX_BODY_BYTES = 4 * 1024 * 1024
# Ids are INTEGER columns: 32 bits on PostgreSQL (64 on SQLite). A larger number names no row,
# but the database refuses to compare with it (a 500), so ids_in_range answers first.
MAX_ID = 2**31 - 1


def ids_in_range(request: Request) -> None:
    """An app-wide dependency: an integer path or query parameter beyond the database's
    integers names nothing there, so the answer is 404 (for every route, public ones too)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    values = [request.path_params.get(name, "") for name in _ints(route.dependant.path_params)]
    values += [value for name in _ints(route.dependant.query_params)
               for value in request.query_params.getlist(name)]
    for value in values:
        digits = str(value).strip().lstrip("+-").lstrip("0")
        # Thousands of digits are not even turned into a number (Python refuses past 4300).
        if digits.isdigit() and (len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID):
            raise StarletteHTTPException(404)


def _ints(fields) -> list[str]:
    """The names of the parameters that are integers (`int`, `int | None`)."""
    return [f.alias for f in fields
            if int in (f.field_info.annotation, *get_args(f.field_info.annotation))]


def create_app(database_url: str | None = None) -> FastAPI:
    app = FastAPI(title="Sagsgang API", version="1",
                  description="Sager, sagsgang, møder, dagsordener, beslutninger, høringer og "
                              "frister. Kald med `Authorization: Bearer <API-nøgle>`.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json",
                  dependencies=[Depends(ids_in_range), Depends(request_connection)])
    settings = load_settings()  # read and checked at start: a bad setting stops the app here
    setup_logging(settings.log_format)
    oidc.check_settings()
    # What the login page offers (templates/web/login.html).
    app.state.single_sign_on = oidc.configured() is not None
    app.state.local_login = settings.local_login
    app.state.engine = engine_for(database_url or settings.database_url)
    app.add_middleware(BodyLimit)
    app.add_middleware(DatabaseTurns, turns=settings.db_pool_size,
                       wait_seconds=settings.db_pool_timeout_seconds)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(SessionMiddleware, secret_key=secret_key(),
                       session_cookie="sagsgang_session", max_age=settings.session_hours * 3600,
                       same_site="lax", https_only=settings.secure_cookies)
    app.add_middleware(ops.RequestContext)  # outermost: times and names the whole answer
    _add_error_handlers(app)
    app.include_router(api.router)
    app.include_router(search.router)
    app.include_router(docs.router)
    app.include_router(feeds.router)
    app.include_router(portal.router)
    app.include_router(public.router)
    app.include_router(citizens.router)
    app.include_router(oparl.router)
    app.include_router(oparl.exports)
    app.include_router(meeting_pages.router)
    app.include_router(user_pages.router)
    app.include_router(oidc.router)
    app.include_router(pages.router)
    app.router.routes.extend(ops.routes)  # outside the app-wide dependencies (web.ops)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


class DatabaseTurns:
    """At most as many requests at a time as the pool has connections; the others wait for
    their turn, in order, before they start, holding nothing.

    A request that waited with a connection in hand could starve the pool: FastAPI runs a
    request's dependencies and its route each on a worker thread of their own, so a request
    holding its connection waits for a thread while the threads wait for connections
    (bench/writers.py: 50 writers got 503s and ten-second answers that way). A request that
    waits longer than the pool timeout for its turn is answered 503 with Retry-After.
    """

    def __init__(self, app, turns: int, wait_seconds: float):
        self.app, self.turns, self.wait_seconds = app, turns, wait_seconds
        self.semaphore: anyio.Semaphore | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith("/static/") \
                or scope["path"] in ops.NO_DATABASE_PATHS:
            return await self.app(scope, receive, send)
        if self.semaphore is None:
            self.semaphore = anyio.Semaphore(self.turns)
        turn = False
        with anyio.move_on_after(self.wait_seconds):  # times only the wait for a turn
            await self.semaphore.acquire()
            turn = True
        if not turn:
            return await busy_response(scope["path"])(scope, receive, send)
        try:
            await self.app(scope, receive, send)
        finally:
            self.semaphore.release()


def busy_response(path: str):
    """503 with Retry-After: the database is busy; the request can be tried again soon."""
    message = "Systemet har travlt lige nu. Prøv igen om et øjeblik."
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if path.startswith("/api/"):
        return JSONResponse({"detail": message}, status_code=503, headers=headers)
    return HTMLResponse(f"<!doctype html><html lang=da><meta charset=utf-8><title>Travlt</title>"
                        f"<p>{message}</p>", status_code=503, headers=headers)


class SecurityHeaders:
    """Every answer (pages, API, feeds, the API docs, static files, errors): this site's own
    CSS and scripts only, never framed; and `Cache-Control: no-store` on every answer to
    someone signed in, so that no browser or proxy cache keeps what only they may read."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = with_security_headers(scope, message.get("headers", []))
            await send(message)

        await self.app(scope, receive, send_with_headers)


POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
          "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
# Reached with a personal secret in the address instead of a login: personal answers too.
PERSONAL_PATHS = ("/feeds/personlig/", "/afmeld/", "/paamindelser/afmeld/",
                  "/offentlig/foelg/bekraeft/")


def with_security_headers(scope, headers) -> list[tuple[bytes, bytes]]:
    """An answer's headers with those every answer carries (SecurityHeaders; the
    unexpected-error handler, whose answer is sent from outside the middleware). On a personal
    answer no-store replaces any caching a route allowed (a feed's max-age)."""
    personal = _personal(scope)
    return [*((name, value) for name, value in headers
              if not (personal and name.lower() == b"cache-control")),
            (b"content-security-policy", _policy().encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            *([(b"cache-control", b"no-store")] if personal else [])]


def _policy() -> str:
    """POLICY, with the identity provider among the places a form may end: logging out
    posts a form whose answer sends the browser on to the provider's end-session page."""
    origin = oidc.provider_origin()
    return POLICY.replace("form-action 'self'", f"form-action 'self' {origin}") if origin \
        else POLICY


def _personal(scope) -> bool:
    """Is this an answer to someone signed in (a session with a user, a bearer token, a
    personal feed's secret)? Decided when the answer starts: a login that just succeeded
    counts, a logout does not."""
    if scope["path"].startswith("/static/"):  # the same files for everyone: cached as usual
        return False
    session = scope.get("session") or {}
    return bool(session.get("user_id")) or scope["path"].startswith(PERSONAL_PATHS) or any(
        name == b"authorization" for name, _ in scope.get("headers", []))


class TooLarge(StarletteHTTPException):
    """413 with its own Danish message (a Bilag larger than the setting allows)."""


class BodyLimit:
    """Refuse a request body larger than MAX_BODY_BYTES with 413, as it is read (a declared
    Content-Length at once; a chunked body when it grows past the limit). The error is raised
    where the body is read, inside the routes, so the usual handler words it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        received = 0
        limit, refusal = MAX_BODY_BYTES, StarletteHTTPException(413)
        if scope.get("method") == "POST" and scope["path"].endswith(bilag.UPLOAD_PATHS):
            limit = bilag.upload_limit_bytes()  # a Bilag's upload: the size limit of a file
            refusal = TooLarge(413, f"Filen er for stor. Et bilag må højst fylde "
                                    f"{get_settings().max_attachment_mb} MB.")

        async def limited_receive():
            nonlocal received
            if not declared.isdigit() or len(declared) > 12 or int(declared) > limit:
                raise refusal
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise refusal
            return message

        await self.app(scope, limited_receive, send)


def is_api(request: Request) -> bool:
    """Answered in JSON, errors too: the API and the open data (web.oparl)."""
    return request.url.path.startswith(("/api/", "/oparl/"))


def status_for(error: UserError) -> int:
    if isinstance(error, NotFound):
        return 404
    if isinstance(error, Conflict | TransitionRefused):
        return 409
    return 400


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotAuthenticated)
    async def not_authenticated(request: Request, error: NotAuthenticated):
        if is_api(request) or request.url.path.startswith("/feeds/"):
            return JSONResponse({"detail": "Log ind med en gyldig API-nøgle."}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.method != "GET":
            target = safe_path(request.headers.get("referer", "/").split(str(
                request.base_url).rstrip("/"), 1)[-1])
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden):
        if is_api(request):
            return JSONResponse({"detail": error.message}, status_code=403)
        return page(request, "error.html", user=None, status_code=403,
                    title="Ingen adgang", message=error.message)

    @app.exception_handler(UserError)
    async def user_error(request: Request, error: UserError):
        if is_api(request):
            return JSONResponse({"detail": error.message}, status_code=status_for(error))
        if request.method == "POST":
            flash(request, error.message, "error")
            return redirect(_back(request))
        return page(request, "error.html", user=None, status_code=status_for(error),
                    title="Det kan ikke lade sig gøre", message=error.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError):
        # The first place of each error is where in the request it was (body, query, path):
        # the field's own name follows. ("body" is also a field of ours: the body that acts.)
        message = describe([{**e, "loc": tuple(e["loc"])[1:]} for e in error.errors()])
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=400)
        return page(request, "error.html", user=None, status_code=400,
                    title="Ugyldigt input", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        message = error.detail if isinstance(error, TooLarge) else \
            HTTP_MESSAGES.get(error.status_code, str(error.detail))
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=error.status_code,
                                headers=error.headers)
        return page(request, "error.html", user=None, status_code=error.status_code,
                    title="Fejl", message=message)

    @app.exception_handler(DatabaseBusy)
    async def database_busy(request: Request, error: DatabaseBusy):
        return busy_response(request.url.path)

    @app.exception_handler(OverflowError)
    @app.exception_handler(sa.exc.DataError)
    async def out_of_range(request: Request, error: Exception):
        # A number or text the database cannot hold (SQLite: an integer past 64 bits;
        # PostgreSQL: past a column's range or width) that no check caught before.
        log.warning("refused on %s %s: %s", request.method, request.url.path, error)
        message = "Et tal eller en tekst i forespørgslen er for stor."
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=400)
        return page(request, "error.html", user=None, status_code=400,
                    title="Ugyldigt input", message=message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "Der opstod en uventet fejl. Prøv igen, eller kontakt sekretariatet."
        # Sent from outside the middleware (Starlette's ServerErrorMiddleware): the headers
        # are added here.
        headers = {k.decode(): v.decode() for k, v in with_security_headers(request.scope, [])}
        if request_id.get():
            headers["X-Request-ID"] = request_id.get()
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=500, headers=headers)
        return HTMLResponse(f"<!doctype html><html lang=da><meta charset=utf-8><title>Fejl</title>"
                            f"<p>{message}</p>", status_code=500, headers=headers)


# What the framework's own refusals say: Starlette and FastAPI word them in English.
HTTP_MESSAGES = {
    400: "Forespørgslen kunne ikke læses.",
    404: "Siden findes ikke.",
    405: "Metoden er ikke tilladt her.",
    413: f"Forespørgslen er for stor (højst {MAX_BODY_BYTES // (1024 * 1024)} MB).",
    415: "Indholdets type understøttes ikke; send JSON.",
}


def _back(request: Request) -> str:
    """Where a refused form post returns to: the page it came from, on this site."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url).rstrip("/")
    if referer.startswith(base):
        return safe_path(referer[len(base):], request.url.path)
    return "/"


app = create_app()
