"""Authentication (session cookie for people, bearer tokens for systems), roles and CSRF.

Sessions are signed cookies (Starlette's SessionMiddleware, itsdangerous) holding the user
id, the user's session epoch, when the login began and when it was last used, and the
session's CSRF token. Every request checks them against the user row it reads anyway: a
cookie from an earlier epoch (the user logged out, got a new password, was deactivated or
reactivated: web.users.end_sessions), one unused for SAGSGANG_SESSION_IDLE_MINUTES or older
than SAGSGANG_SESSION_HOURS is refused, copied or not. So revoking costs one UPDATE and
checking costs no write: the "last used" time lives in the cookie, which the middleware signs
afresh on every answer anyway; a replayed older cookie only carries an older time.

Every form post carries the CSRF token and is refused without it. The API takes bearer
tokens only, never the cookie, so a forged cross-site request cannot act through it.
"""

import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlmodel import Session, select

from cases.clock import wall_now
from cases.db import RequestConnection
from cases.models import ApiToken, Membership, User
from cases.settings import get_settings
from web import users
from web.passwords import token_hash
from workflow import access


class NotAuthenticated(Exception):
    """No valid login (pages redirect to the login page; the API answers 401)."""


class Forbidden(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    name: str
    email: str
    role: str
    centre: str | None
    bodies: frozenset[str]

    @property
    def viewer(self) -> access.Viewer:
        return access.Viewer(role=self.role, bodies=self.bodies)

    def can(self, permission: str) -> bool:
        return access.allowed(self.role, permission)


def request_connection(request: Request) -> Iterator[RequestConnection]:
    """The request's one database connection (an app-wide dependency, so every request has
    it in `request.state.connection`); given back to the pool when the request ends.

    Taken here, before the route runs: this dependency runs in the worker threads, so a
    request that waits for a free connection never blocks the event loop (the form posts'
    routes are async)."""
    connection = RequestConnection(request.app.state.engine)
    request.state.connection = connection
    connection.connection()
    try:
        yield connection
    finally:
        connection.close()


def db(connection: RequestConnection = Depends(request_connection)) -> Session:
    """The request's read session; a write is `with write(request) as session:`."""
    return connection.read()


def write(request: Request) -> AbstractContextManager[Session]:
    """One write transaction on the request's connection (cases.db.RequestConnection)."""
    return request.state.connection.write()


def load_user(session: Session, user_id: int) -> CurrentUser | None:
    user, bodies = _user_and_bodies(session, user_id)
    if user is None or not user.active:
        return None
    return _current(user, bodies)


def _user_and_bodies(session: Session, user_id: int) -> tuple[User | None, frozenset[str]]:
    """The user and the bodies they are a member of, in one query: every request asks."""
    rows = session.exec(select(User, Membership.body_code)
                        .join(Membership, Membership.user_id == User.id, isouter=True)
                        .where(User.id == user_id)).all()
    if not rows:
        return None, frozenset()
    return rows[0][0], frozenset(code for _, code in rows if code is not None)


def _current(user: User, bodies: frozenset[str]) -> CurrentUser:
    return CurrentUser(id=user.id, username=user.username, name=user.name, email=user.email,
                       role=user.role, centre=user.centre, bodies=bodies)


def optional_user(request: Request, session: Session = Depends(db)) -> CurrentUser | None:
    """The logged-in user, or None. A session that has ended is cleared, and the next page
    (the login page, usually) tells why."""
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user, bodies = _user_and_bodies(session, user_id)
    now = int(wall_now().timestamp())
    ended = _ended(request.session, user, now)
    if ended:
        request.session.clear()
        from web.rendering import flash  # web.rendering imports this module
        flash(request, ended, "error")
        return None
    request.session["seen"] = now
    return _current(user, bodies)


def _ended(cookie, user: User | None, now: int) -> str | None:
    """Why this session no longer holds (a Danish sentence for the login page), or None."""
    settings = get_settings()
    if user is None or not user.active:
        return "Du er logget ud, fordi din bruger er deaktiveret."
    since, seen = cookie.get("since"), cookie.get("seen")
    if "epoch" not in cookie:  # a cookie from before sessions could be ended
        return "Du er logget ud. Log ind igen."
    if cookie.get("epoch") != user.session_epoch or not isinstance(since, int) \
            or not isinstance(seen, int):
        return ("Du er logget ud, fordi du har logget ud et andet sted, eller fordi din "
                "adgangskode er skiftet. Log ind igen.")
    if now - seen > settings.session_idle_minutes * 60:
        return (f"Du er logget ud, fordi du ikke har brugt sagsgang i "
                f"{_number(settings.session_idle_minutes)} minutter. Log ind igen.")
    if now - since > settings.session_hours * 3600:
        return (f"Du er logget ud, fordi et login højst varer {settings.session_hours} "
                "timer. Log ind igen.")
    return None


def _number(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def page_user(user: CurrentUser | None = Depends(optional_user)) -> CurrentUser:
    if user is None:
        raise NotAuthenticated()
    return user


def api_user(request: Request, session: Session = Depends(db)) -> CurrentUser:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    row = session.exec(select(ApiToken).where(
        ApiToken.token_hash == token_hash(token.strip()), ApiToken.revoked_at.is_(None))).first()
    user = load_user(session, row.user_id) if row else None
    if user is None:
        raise NotAuthenticated()
    _note_use(request, row)
    return user


# When a token was last used is kept to the minute: written only when the kept time is older
# than that, so a busy integration costs one small write a minute, not one per request.
LAST_USED_STEP = timedelta(minutes=1)


def _note_use(request: Request, row: ApiToken) -> None:
    now = wall_now()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_STEP:
        return
    table = ApiToken.__table__
    with write(request) as session:  # a second request at the same time: no-op
        session.execute(table.update().where(
            table.c.id == row.id, sa.or_(table.c.last_used_at.is_(None),
                                         table.c.last_used_at < now - LAST_USED_STEP))
            .values(last_used_at=now))


def require(permission: str, *, api: bool = False):
    """A dependency giving the current user, refusing unless their role has `permission`."""
    source = api_user if api else page_user

    def dependency(user: CurrentUser = Depends(source)) -> CurrentUser:
        if not user.can(permission):
            raise Forbidden(access.refusal(permission))
        return user

    return dependency


def log_in(request: Request, user: User) -> None:
    """Start a fresh session in the user's current epoch (a new CSRF token too, so a planted
    one dies with the old)."""
    now = int(wall_now().timestamp())
    request.session.clear()
    request.session.update(user_id=user.id, epoch=user.session_epoch, since=now, seen=now,
                           csrf=secrets.token_urlsafe(32))


def log_out(request: Request, user: CurrentUser | None) -> None:
    """End this session and every other of the user (their API keys stay). An ended
    session's cookie is only cleared: it cannot end the sessions that came after it."""
    if user is not None:
        with write(request) as session:
            users.end_sessions(session, session.get(User, user.id), api_keys=False)
    request.session.clear()


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def form_with_csrf(request: Request) -> "PostedForm":
    """The posted form, after checking its CSRF token against the session's."""
    form = await request.form()
    sent = form.get("csrf_token")
    expected = request.session.get("csrf")
    if not (isinstance(sent, str) and expected and secrets.compare_digest(sent, expected)):
        raise Forbidden("Formularen kunne ikke godkendes (udløbet eller ikke sendt fra "
                        "sagsgang). Genindlæs siden og prøv igen.")
    return PostedForm([(k, v) for k, v in form.multi_items()
                       if k != "csrf_token" and isinstance(v, str)])


class PostedForm:
    """A posted form's text fields: `get` for one value (stripped), `getlist` for many."""

    def __init__(self, items: list[tuple[str, str]]):
        self.items = items

    def get(self, key: str, default: str = "") -> str:
        for name, value in self.items:
            if name == key:
                return value.strip()
        return default

    def getlist(self, key: str) -> list[str]:
        return [v.strip() for k, v in self.items if k == key and v.strip()]
