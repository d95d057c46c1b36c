"""Authentication (session cookie for people, bearer tokens for systems), roles and CSRF.

Sessions are signed cookies (Starlette's SessionMiddleware, itsdangerous) holding the user
id and the session's CSRF token; logging out clears them. Every form post carries that CSRF
token and is refused without it. The API takes bearer tokens only, never the cookie, so a
forged cross-site request cannot act through it.
"""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlmodel import Session, select

from cases import queries
from cases.db import read_session, write_connection
from cases.models import ApiToken, Membership, User, utcnow
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


def engine(request: Request) -> sa.Engine:
    return request.app.state.engine


def db(request: Request) -> Iterator[Session]:
    """A read session for the request; writes open their own transaction (write_session)."""
    with read_session(request.app.state.engine) as session:
        yield session


def load_user(session: Session, user_id: int) -> CurrentUser | None:
    user = session.get(User, user_id)
    if user is None or not user.active:
        return None
    bodies = session.exec(select(Membership.body_code).where(Membership.user_id == user.id))
    return CurrentUser(id=user.id, username=user.username, name=user.name, email=user.email,
                       role=user.role, centre=user.centre, bodies=frozenset(bodies))


def optional_user(request: Request, session: Session = Depends(db)) -> CurrentUser | None:
    user_id = request.session.get("user_id")
    if not isinstance(user_id, int):
        return None
    return load_user(session, user_id)


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
    _note_use(request.app.state.engine, row)
    return user


# When a token was last used is kept to the minute: written only when the kept time is older
# than that, so a busy integration costs one small write a minute, not one per request.
LAST_USED_STEP = timedelta(minutes=1)


def _note_use(engine: sa.Engine, row: ApiToken) -> None:
    now = utcnow()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_STEP:
        return
    table = ApiToken.__table__
    with write_connection(engine) as connection:  # a second request at the same time: no-op
        connection.execute(table.update().where(
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


def may_edit_case(user: CurrentUser, case) -> bool:
    """The secretariat any case, a case owner their own (workflow.access.may_edit_case)."""
    return access.may_edit_case(user.role, email=user.email, centre=user.centre,
                                case_owner_email=case.owner_email, case_centre=case.centre)


def owned_case(session: Session, user: CurrentUser, number: str, doing: str):
    """A case the user may act on as its own: rework it, report it delivered, mark its
    deadlines met. `doing` completes "Du kan kun … sager, som du selv er sagsbehandler på"."""
    case = queries.get_case(session, number)
    if not may_edit_case(user, case):
        raise Forbidden(f"Du kan kun {doing} sager, som du selv er sagsbehandler på.")
    return case


def log_in(request: Request, user_id: int) -> None:
    """Start a fresh session (a new CSRF token too, so a planted one dies with the old)."""
    request.session.clear()
    request.session["user_id"] = user_id
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.session["since"] = utcnow().isoformat()


def log_out(request: Request) -> None:
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
