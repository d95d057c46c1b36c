"""Fixtures and helpers for the web tests: a migrated database with one user per role,
logged-in test clients, API tokens, and cases made through the real service layer.

The fixtures (web_db, web_app, web_engine, api_tokens) reach the tests through conftest.py;
a test module imports only the helpers."""

import re
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cases import actions, services
from cases.db import make_engine, write_session
from cases.models import Membership, User
from demo.users import DEMO_USERS, ensure_demo_users
from web.passwords import hash_password
from web.tokens import new_api_token

ROLE_USERS = {role: (username, password) for username, password, _, role, _, _ in DEMO_USERS}
CENTRE = "Center for Voksne og Sundhed"
OTHER_CENTRE = "Center for By og Miljø"


@pytest.fixture(scope="module")
def web_db(tmp_path_factory, migrated_sqlite):
    """A migrated SQLite database with the demo users (one per role) and an extra member of
    BSU only; shared by a test module (tests make their own cases with unique numbers)."""
    url = migrated_sqlite(tmp_path_factory.mktemp("web") / "web.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
        other = User(username="bsu-medlem", name="Bente BSU", email="bente@demo.invalid",
                     role="member", password_hash=hash_password("bsu-medlem-demo"))
        session.add(other)
        session.flush()
        session.add(Membership(user_id=other.id, body_code="BSU"))
    yield url, engine
    engine.dispose()


@pytest.fixture(scope="module")
def web_app(web_db):
    from web.app import create_app

    return create_app(web_db[0])


@pytest.fixture(scope="module")
def web_engine(web_db):
    """The engine on the module's web database (conftest's `engine` is a fresh one per test)."""
    return web_db[1]


def anonymous(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, follow_redirects=False)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def logged_in(app, username: str, password: str) -> TestClient:
    client = anonymous(app)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return client


def as_role(app, role: str) -> TestClient:
    return logged_in(app, *ROLE_USERS[role])


def page_csrf(client: TestClient, path: str = "/kalender") -> str:
    return csrf_of(client.get(path).text)


@pytest.fixture(scope="module")
def api_tokens(web_db):
    """One API token per role (and "other_member": the BSU-only member)."""
    _, engine = web_db
    tokens = {}
    with write_session(engine) as session:
        from sqlmodel import select
        for username, role in [(u, r) for u, _, _, r, _, _ in DEMO_USERS] + \
                [("bsu-medlem", "other_member")]:
            user_id = session.exec(select(User.id).where(User.username == username)).one()
            tokens[role] = new_api_token(session, user_id, f"test {role}")
    return tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


_counter = iter(range(1, 1_000_000))


def new_number(prefix: str = "T") -> str:
    return f"{prefix}-{next(_counter):05d}"


def make_case(engine, *, number: str | None = None, title: str = "Testsag",
              deciding_body: str = "KB", committees=("SU", "BSU"), submit: bool = True,
              confidential: bool = False, summary: str = "Et sammendrag.",
              centre: str = CENTRE, deadline: date | None = None,
              owner_email: str = "") -> str:
    number = number or new_number()
    data = {"number": number, "title": title, "centre": centre, "deciding_body": deciding_body,
            "committees": list(committees), "confidential": confidential, "summary": summary,
            "proposals": ["at sagen godkendes"], "owner_email": owner_email}
    if deadline:
        data["deadlines"] = [{"due_date": deadline.isoformat(), "description": "KB senest",
                              "kind": "statutory"}]
    with write_session(engine) as session:
        services.create_case(session, data, actor="test")
        if submit:
            actions.submit(session, number, actor="test")
    return number


def member(session, username: str, bodies):
    """A member of `bodies`, added in `session`; the Viewer the closed rule sees them as."""
    from workflow.access import Viewer

    user = User(username=username, name=username, email=f"{username}@example.org",
                role="member", password_hash="x")
    session.add(user)
    session.flush()
    session.add_all(Membership(user_id=user.id, body_code=code) for code in bodies)
    session.flush()
    return Viewer(role="member", bodies=frozenset(bodies))


def today() -> date:
    from web.pages import today as web_today
    return web_today()


def days(n: int) -> date:
    return today() + timedelta(days=n)


_meeting_days = iter(range(200, 100_000, 7))


def close_on_agenda(engine, number: str, body: str = "SU") -> int:
    """Place the case on a new meeting of the body and mark its item closed ("Gør til lukket
    punkt"), as the secretariat does; returns the item id."""
    from meetings.services import create_meeting, place_case, set_closed

    with write_session(engine) as session:
        meeting = create_meeting(session, body=body, day=days(next(_meeting_days)))
        item = place_case(session, meeting.id, number, late_reason="test")
        set_closed(session, item.id, True)
        return item.id


# -- the app in its own process ----------------------------------------------------------------

SECRET_KEY = "the-tests-own-secret-key-of-40-characters"


@contextmanager
def served(url: str, log_dir: Path, **env):
    """The web app under uvicorn in its own process (tests/servers.WebServer) on the database
    at `url`, with a known secret key (so a test can read the session cookie it signs)."""
    from servers import WebServer

    settings = {"DATABASE_URL": url, "SAGSGANG_VAR_DIR": str(log_dir),
                "SAGSGANG_SECRET_KEY": SECRET_KEY, **env}
    with WebServer(settings, log_dir) as server:
        yield server


def http_client(server, username: str | None = None, password: str | None = None):
    """An httpx client on the served app; logged in when a username is given."""
    import httpx

    client = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    if username:
        token = csrf_of(client.get("/login").text)
        response = client.post("/login", data={"username": username, "password": password,
                                               "csrf_token": token, "next": "/"})
        assert response.status_code == 303, response.text
    return client
