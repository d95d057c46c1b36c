"""What operations ask the running web app: `/healthz` (the process answers; no database),
`/readyz` (database, schema, broker and mail server; 503 with the Danish list of what
failed).

Both are public by design (a load balancer and a service manager ask them without a login)
and show no data, only whether each part answers. They are plain Starlette routes, outside
the app-wide dependencies: those take a database connection for every request, and the
liveness probe must answer without one, the readiness probe also when the database is down.
"""

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from notifications.health import readiness

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


routes = [Route("/healthz", healthz, methods=["GET"]),
          Route("/readyz", readyz, methods=["GET"])]
