"""The FastAPI application (`uvicorn web.app:app`).

Errors never reach a user as a stack trace: a UserError becomes its Danish message (a flash
message on a page, `{"detail": ...}` with 400/404/409 in the API); anything unexpected
becomes a plain Danish "something went wrong" and is logged on the server.
"""

import logging
from urllib.parse import quote

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from cases.db import DatabaseBusy, engine_for
from cases.schemas import describe
from cases.settings import PROJECT_DIR, load_settings, secret_key
from web import api, feeds, meeting_pages, pages, public, user_pages
from web.auth import Forbidden, NotAuthenticated, request_connection
from web.rendering import flash, page, redirect, safe_path
from workflow.errors import Conflict, NotFound, TransitionRefused, UserError

log = logging.getLogger("sagsgang.web")
STATIC_DIR = PROJECT_DIR / "web" / "static"
RETRY_AFTER_SECONDS = 5  # a busy database: the pool or SQLite's write lock is seldom held longer


def create_app(database_url: str | None = None) -> FastAPI:
    app = FastAPI(title="Sagsgang API", version="1",
                  description="Sager, sagsgang, møder, dagsordener, beslutninger, høringer og "
                              "frister. Kald med `Authorization: Bearer <API-nøgle>`.",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/openapi.json",
                  dependencies=[Depends(request_connection)])
    settings = load_settings()  # read and checked at start: a bad setting stops the app here
    app.state.engine = engine_for(database_url or settings.database_url)
    app.add_middleware(DatabaseTurns, turns=settings.db_pool_size,
                       wait_seconds=settings.db_pool_timeout_seconds)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(SessionMiddleware, secret_key=secret_key(),
                       session_cookie="sagsgang_session", max_age=settings.session_hours * 3600,
                       same_site="lax", https_only=settings.secure_cookies)
    _add_error_handlers(app)
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(public.router)
    app.include_router(meeting_pages.router)
    app.include_router(user_pages.router)
    app.include_router(pages.router)
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
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
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
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Travlt</title>"
                        f"<p>{message}</p>", status_code=503, headers=headers)


class SecurityHeaders:
    """Pages may load only this site's own CSS and scripts, and may not be framed."""

    POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
              "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        docs = scope["path"] == "/api/docs"  # Swagger UI loads its own scripts

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"same-origin")]
                if not docs:
                    headers.append((b"content-security-policy", self.POLICY.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


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
        try:
            message = describe(ValidationError.from_exception_data("input", error.errors()))
        except Exception:  # an error shape pydantic cannot rebuild: keep a plain message
            message = "Ugyldigt input."
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=400)
        return page(request, "error.html", user=None, status_code=400,
                    title="Ugyldigt input", message=message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        message = {404: "Siden findes ikke.", 405: "Metoden er ikke tilladt her."}.get(
            error.status_code, str(error.detail))
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=error.status_code)
        return page(request, "error.html", user=None, status_code=error.status_code,
                    title="Fejl", message=message)

    @app.exception_handler(DatabaseBusy)
    async def database_busy(request: Request, error: DatabaseBusy):
        return busy_response(request.url.path)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = "Der opstod en uventet fejl. Prøv igen, eller kontakt sekretariatet."
        if is_api(request):
            return JSONResponse({"detail": message}, status_code=500)
        return HTMLResponse(f"<!doctype html><meta charset=utf-8><title>Fejl</title>"
                            f"<p>{message}</p>", status_code=500)


def _back(request: Request) -> str:
    """Where a refused form post returns to: the page it came from, on this site."""
    referer = request.headers.get("referer", "")
    base = str(request.base_url).rstrip("/")
    if referer.startswith(base):
        return safe_path(referer[len(base):], request.url.path)
    return "/"


app = create_app()
