"""Helpers for tests against the web app running under uvicorn in its own process
(tests/servers.py WebServer): a database for it, people in it, and httpx clients that log in
and keep their cookies as a browser does."""

import re
from contextlib import contextmanager
from html import unescape
from itertools import count

import httpx
from servers import WebServer
from sqlmodel import select

from cases.db import make_engine, write_session
from cases.models import User
from demo.users import ensure_demo_users
from web.passwords import hash_password
from web.tokens import new_api_token

SECRET = "s" * 40
_numbers = count(1)


@contextmanager
def live_site(directory, migrated_sqlite, *, workers: int = 1, **settings):
    """A migrated SQLite database with the demo users, and the web app serving it; yields
    (server, engine). `settings` are extra environment variables for the server."""
    url = migrated_sqlite(directory / "web.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
    env = {"DATABASE_URL": url, "SAGSGANG_VAR_DIR": directory, "SAGSGANG_SECRET_KEY": SECRET,
           **settings}
    try:
        with WebServer(env, directory, workers=workers) as server:
            yield server, engine
    finally:
        engine.dispose()


def new_user(engine, role: str = "secretariat") -> tuple[str, str, int]:
    """A user of our own (username, password, id), so that tests never share one."""
    number = next(_numbers)
    username, password = f"person-{number}", f"gult-tog-over-ringsted-{number}"
    with write_session(engine) as session:
        user = User(username=username, name=f"Person {number}", role=role,
                    email=f"{username}@kommune.dk", password_hash=hash_password(password))
        session.add(user)
        session.flush()
        return username, password, user.id


def user_id(engine, username: str) -> int:
    with write_session(engine) as session:
        return session.exec(select(User.id).where(User.username == username)).one()


def api_key(engine, user_id: int) -> str:
    with write_session(engine) as session:
        return new_api_token(session, user_id, "integration")


def client(server, **headers) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30,
                        headers=headers)


def csrf(browser: httpx.Client, path: str = "/login") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', browser.get(path).text).group(1)


def try_login(browser: httpx.Client, username: str, password: str) -> httpx.Response:
    return browser.post("/login", data={"username": username, "password": password,
                                        "csrf_token": csrf(browser), "next": "/"})


def login(server, username: str, password: str) -> httpx.Client:
    browser = client(server)
    response = try_login(browser, username, password)
    assert response.status_code == 303, response.text
    return browser


def copy_of(browser: httpx.Client) -> httpx.Client:
    """Another client holding the very same cookie (a copied or stolen one)."""
    copied = httpx.Client(base_url=browser.base_url, follow_redirects=False, timeout=30)
    copied.cookies.update(browser.cookies)
    return copied


def logged_in(browser: httpx.Client) -> bool:
    """Whether a page that needs a login answers, or sends the browser to the login page."""
    response = browser.get("/kalender")
    assert response.status_code in (200, 303), response.text
    if response.status_code == 303:
        assert response.headers["location"].startswith("/login"), response.headers
    return response.status_code == 200


def api_works(server, key: str) -> bool:
    response = httpx.get(f"{server.url}/api/cases", headers={"Authorization": f"Bearer {key}"},
                         timeout=30)
    assert response.status_code in (200, 401), response.text
    return response.status_code == 200


def flashes(html: str) -> str:
    """The flash and error messages on a page, as the reader sees them."""
    return unescape(" ".join(re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', html,
                                        re.S)))
