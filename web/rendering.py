"""Pages rendered with the project's one Jinja2 environment (cases.templating), flash
messages kept in the session, and redirects that stay on this site."""

from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from cases.dates import to_local
from cases.settings import current_organisation
from cases.templating import environment
from meetings.models import AGENDA_STATUSES, MINUTES_STATUSES
from web.auth import CurrentUser, csrf_token
from workflow import access, decisions


def _extend_environment() -> None:
    """Add the web's filters to the shared environment (once; no second environment)."""
    env = environment()
    if "beslutning" in env.filters:
        return
    env.filters["beslutning"] = lambda code: (decisions.BY_CODE[code].label
                                              if code in decisions.BY_CODE else code)
    env.filters["organ"] = lambda code: current_organisation().body_name(code)
    env.filters["dagsordenstatus"] = lambda code: AGENDA_STATUSES.get(code, "")
    env.filters["referatstatus"] = lambda code: MINUTES_STATUSES.get(code, "")
    env.filters["moedetid"] = meeting_time
    env.globals["query"] = lambda **params: urlencode({k: v for k, v in params.items() if v})


WEEKDAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")


def meeting_time(instant) -> str:
    """"tirsdag 04-10-2022 kl. 17:00", in Copenhagen: a meeting's time as the portal says it."""
    local = to_local(instant)
    return f"{WEEKDAYS[local.weekday()]} {local:%d-%m-%Y} kl. {local:%H:%M}"


def page(request: Request, template: str, *, user: CurrentUser | None, status_code: int = 200,
         **context) -> HTMLResponse:
    _extend_environment()
    flashes = request.session.pop("flashes", []) if "session" in request.scope else []
    html = environment().get_template(f"web/{template}").render(
        request=request, user=user, csrf_token=csrf_token(request)
        if "session" in request.scope else "", flashes=flashes, org=current_organisation(),
        access=access, **context)
    return HTMLResponse(html, status_code=status_code)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    request.session.setdefault("flashes", [])
    request.session["flashes"] = [*request.session["flashes"], {"kind": kind,
                                                                 "message": message}]


def safe_path(target: str | None, default: str = "/") -> str:
    """Only a path on this site (never //other.example or http://...)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return default


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(safe_path(path), status_code=303)
