"""What operations ask the running web app: `/healthz` (the process answers; no database),
`/readyz` (database, schema, broker and mail server; 503 with the Danish list of what
failed), `/metrics` (Prometheus); and the request id and duration of every request
(`RequestContext`).

`/healthz` and `/readyz` are public by design (a load balancer and a service manager ask
them without a login) and show no data, only whether each part answers. `/metrics` is for
the addresses in SAGSGANG_METRICS_ALLOW (default: this machine) and for a bearer token,
SAGSGANG_METRICS_TOKEN. They are plain Starlette routes, outside the app-wide dependencies:
those take a database connection for every request, and the liveness probe must answer
without one, the readiness probe also when the database is down.

Several web processes (uvicorn --workers) each count their own requests: with
PROMETHEUS_MULTIPROC_DIR set (`sagsgang serve` sets it), they write their counts there and
any one of them answers for all (prometheus-client's multiprocess mode). The outbox figures
are counted from the database when scraped (notifications.metrics).
"""

import hmac
import ipaddress
import os
import re
import time
import uuid

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cases import logs
from cases.settings import get_settings
from notifications.health import readiness
from notifications.metrics import REGISTRY, OutboxCollector

REQUEST_SECONDS = Histogram("sagsgang_http_request_duration_seconds",
                            "Time to answer a request, by route template and status.",
                            ["method", "route", "status"], registry=REGISTRY)
# An id a client or proxy sends is kept when it is short and plain; otherwise a new one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

NO_DATABASE_PATHS = ("/healthz",)  # web.app lets these past the database turns


def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def readyz(request: Request) -> JSONResponse:
    # A plain function: Starlette runs it on a worker thread, as the checks block.
    checks = readiness(request.app.state.engine)
    failed = [check.problem for check in checks if not check.ok]
    body = {"klar": not failed, "fejl": failed,
            "tjek": {check.name: check.problem or "ok" for check in checks}}
    return JSONResponse(body, status_code=503 if failed else 200,
                        headers={"Cache-Control": "no-store"})


def may_read_metrics(request: Request) -> bool:
    settings = get_settings()
    token = settings.metrics_token
    given = request.headers.get("authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        client = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    return any(client in ipaddress.ip_network(allowed.strip(), strict=False)
               for allowed in settings.metrics_allow.split(",") if allowed.strip())


def metrics(request: Request) -> Response:
    if not may_read_metrics(request):
        return JSONResponse({"detail": "Ingen adgang til målingerne."}, status_code=403)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    outbox = CollectorRegistry()
    outbox.register(OutboxCollector(request.app.state.engine))
    return Response(generate_latest(processes) + generate_latest(outbox),
                    headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})


def route_template(scope) -> str:
    """The route's path with its parameters as written (few, whatever the addresses)."""
    route = scope.get("route")
    if route is not None:
        return route.path
    if scope["path"] in OPS_PATHS:  # plain routes, which FastAPI's router does not name
        return scope["path"]
    return "/static/{path}" if scope["path"].startswith("/static/") else "(ingen)"


class RequestContext:
    """Every request gets an id (the caller's X-Request-ID, or a new one), answered in
    X-Request-ID and carried by every log line written for it (cases.logs); its duration is
    counted by route template (`/api/cases/{number:path}`, never the address itself)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers", [])).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        # Not reset when the request ends: the unexpected-error handler logs after this
        # middleware, and each request runs in a task (and context) of its own anyway.
        logs.request_id.set(request_id)
        started, status = time.perf_counter(), 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_SECONDS.labels(scope["method"], route_template(scope),
                                   str(status)).observe(time.perf_counter() - started)


OPS_PATHS = ("/healthz", "/readyz", "/metrics")
routes = [Route("/healthz", healthz, methods=["GET"]),
          Route("/readyz", readyz, methods=["GET"]),
          Route("/metrics", metrics, methods=["GET"])]
