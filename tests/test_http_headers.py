"""What every HTTP answer carries, probed on the app running under uvicorn in its own process
(issue 10, item 9): a Content-Security-Policy on every answer (the API docs included, which are
served from the site itself), `Cache-Control: no-store` on every answer to someone signed in,
a `Secure` session cookie when the site is https, a new API key shown once and never put in
the session cookie, and an API key's last use kept.
"""

import json
import os
import re
from base64 import b64decode
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner
from sqlmodel import select
from web_fixtures import SECRET_KEY, bearer, csrf_of, http_client, served

from cases.db import read_session, write_session
from cases.models import ApiToken, User, utcnow
from web.tokens import new_api_token, new_feed_token

pytestmark = pytest.mark.slow  # starts the web server in a process of its own


@pytest.fixture(scope="module")
def server(web_db, tmp_path_factory):
    with served(web_db[0], tmp_path_factory.mktemp("headers-web")) as running:
        yield running


def user_id(engine, username: str) -> int:
    with read_session(engine) as session:
        return session.exec(select(User.id).where(User.username == username)).one()


def assert_policy(answer) -> None:
    """The answer may load only this site's own scripts, styles and frames none."""
    policy = answer.headers.get("content-security-policy", "")
    for rule in ("default-src 'self'", "script-src 'self'", "style-src 'self'",
                 "frame-ancestors 'none'"):
        assert rule in policy, (answer.url, policy)
    assert "unsafe" not in policy and "http" not in policy, (answer.url, policy)


def session_cookie(response) -> dict | None:
    """The session the answer's signed cookie holds (None when it sets none)."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == "sagsgang_session":
            value = rest.split(";", 1)[0]
            if value in ("", "null"):
                return {}
            return json.loads(b64decode(TimestampSigner(SECRET_KEY).unsign(value)))
    return None


# -- Content-Security-Policy -------------------------------------------------------------------

def test_every_answer_carries_the_content_security_policy(server, api_tokens):
    anonymous = http_client(server)
    api = http_client(server)
    api.headers.update(bearer(api_tokens["secretariat"]))
    signed_in = http_client(server, "sekretariat", "sekretariat-demo")
    answers = [anonymous.get(path) for path in (
        "/login", "/offentlig", "/api/docs", "/api/openapi.json", "/static/site.css",
        "/static/api-docs.js", "/feeds/organ/SU.ics", "/ingen-side", "/sager")]
    answers += [api.get("/api/cases"), api.put("/api/cases"), api.post("/api/cases", json=[]),
                signed_in.get("/sager"), signed_in.get("/moeder/99999999999999999999")]
    for answer in answers:
        assert_policy(answer)
        assert answer.headers["x-frame-options"] == "DENY", answer.url


def test_the_api_docs_are_served_from_the_site_itself(server):
    """Swagger UI from this site's own files, started by a script file: no CDN (so the docs
    work offline) and no inline script (which the policy forbids)."""
    client = http_client(server)
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert_policy(docs)
    html = docs.text
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert not re.search(r"<style|\sstyle=|\son\w+=", html), "inline style or handler"
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css",
            "/static/api-docs.js"} <= set(assets)
    for asset in assets:
        assert asset.startswith("/") and not asset.startswith("//"), asset
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert_policy(answer)
    assert 'data-openapi-url="/api/openapi.json"' in html
    assert client.get("/api/openapi.json").json()["info"]["title"] == "Sagsgang API"


CHROMIUM = os.environ.get("SAGSGANG_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update"]}


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_swagger_ui_shows_every_operation_offline_under_the_policy(server, page):
    """In a real Chromium that may reach nothing but the site: Swagger UI starts and lists
    every API operation, and the browser reports no violation of the policy."""
    foreign, violations = [], []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)

    def only_the_site(route):
        if route.request.url.startswith(server.url):
            return route.continue_()
        foreign.append(route.request.url)
        return route.abort()

    page.route("**/*", only_the_site)
    page.goto(server.url + "/api/docs")
    page.wait_for_selector(".opblock")
    spec = http_client(server).get("/api/openapi.json").json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert page.locator(".opblock").count() == operations
    assert page.locator(".opblock-summary-path").first.inner_text().startswith("/api/")
    assert foreign == [] and violations == []


# -- no-store ----------------------------------------------------------------------------------

def test_answers_to_someone_signed_in_are_never_stored(server, web_engine, api_tokens):
    signed_in = http_client(server, "sekretariat", "sekretariat-demo")
    api = http_client(server)
    api.headers.update(bearer(api_tokens["member"]))
    with write_session(web_engine) as session:
        feed = new_feed_token(session, user_id(web_engine, "sagsbehandler"))
    anonymous = http_client(server)
    personal = [signed_in.get("/sager"), signed_in.get("/"), signed_in.get("/offentlig"),
                signed_in.get("/ingen-side"), api.get("/api/cases"), api.get("/api/meetings"),
                api.get("/api/ingenting"), anonymous.get(f"/feeds/personlig/{feed}.ics"),
                anonymous.get("/feeds/personlig/forkert.ics")]
    for answer in personal:
        assert answer.headers.get("cache-control") == "no-store", answer.url
    login = http_client(server)
    logged_in = login.post("/login", data={
        "username": "leder", "password": "leder-demo", "next": "/",
        "csrf_token": csrf_of(login.get("/login").text)})
    assert logged_in.status_code == 303 and logged_in.headers["cache-control"] == "no-store"
    # What anyone may read can be cached as usual (the site's files, also when signed in).
    for answer in (anonymous.get("/offentlig"), anonymous.get("/static/site.css"),
                   anonymous.get("/feeds/organ/SU.ics"), signed_in.get("/static/site.css")):
        assert "no-store" not in answer.headers.get("cache-control", ""), answer.url


# -- cookies -----------------------------------------------------------------------------------

def test_the_session_cookie_is_secure_when_the_site_is_https(web_db, tmp_path_factory, server):
    plain = http_client(server).get("/login")
    assert "secure" not in plain.headers["set-cookie"].lower()
    with served(web_db[0], tmp_path_factory.mktemp("https-web"),
                SAGSGANG_SITE_URL="https://sager.ballerup.dk") as behind_tls:
        cookie = http_client(behind_tls).get("/login").headers["set-cookie"]
    assert cookie.startswith("sagsgang_session=")
    flags = [flag.strip().lower() for flag in cookie.split(";")]
    assert "secure" in flags and "httponly" in flags and "samesite=lax" in flags


def test_a_new_api_key_is_shown_once_and_never_put_in_the_session_cookie(server, web_engine):
    client = http_client(server, "sagsbehandler", "sagsbehandler-demo")
    form = csrf_of(client.get("/api-noegler").text)
    made = client.post("/api-noegler", data={"name": "ESDH", "csrf_token": form})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    key = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
    assert http_client(server).get("/api/cases", headers=bearer(key)).status_code == 200
    kept = session_cookie(made)
    assert kept is None or key not in json.dumps(kept)
    assert key not in made.headers.get("set-cookie", "")
    again = client.get("/api-noegler")
    assert key not in again.text and "id=\"new-token\"" not in again.text
    # The secret calendar address alike.
    made = client.post("/kalender/ny-adresse",
                       data={"csrf_token": csrf_of(client.get("/kalender").text)})
    address = re.search(r'<code id="feed-url">([^<]+)</code>', made.text).group(1)
    secret = address.rsplit("/", 1)[-1].removesuffix(".ics")
    kept = session_cookie(made)
    assert kept is None or secret not in json.dumps(kept)
    assert client.get(f"/feeds/personlig/{secret}.ics").status_code == 200
    for cookie in client.cookies.jar:
        value = json.loads(b64decode(TimestampSigner(SECRET_KEY).unsign(cookie.value)))
        assert key not in json.dumps(value) and secret not in json.dumps(value)


# -- last use of an API key --------------------------------------------------------------------

def test_an_api_keys_last_use_is_kept_to_the_minute(server, web_engine):
    with write_session(web_engine) as session:
        key = new_api_token(session, user_id(web_engine, "leder"), "Sidst brugt")
    client = http_client(server)

    def last_used():
        with read_session(web_engine) as session:
            return session.exec(select(ApiToken.last_used_at).where(
                ApiToken.name == "Sidst brugt")).one()

    assert last_used() is None
    before = utcnow()
    assert client.get("/api/cases", headers=bearer(key)).status_code == 200
    first = last_used()
    assert first is not None and before - timedelta(seconds=1) <= first <= utcnow()
    # Used again within the minute: nothing written (one write a minute, not one a request).
    assert client.get("/api/bodies", headers=bearer(key)).status_code == 200
    assert last_used() == first
    with write_session(web_engine) as session:
        row = session.exec(select(ApiToken).where(ApiToken.name == "Sidst brugt")).one()
        row.last_used_at = first - timedelta(hours=1)
        session.add(row)
    assert client.get("/api/bodies", headers=bearer(key)).status_code == 200
    assert last_used() > first - timedelta(hours=1)
    owner = http_client(server, "leder", "leder-demo")
    shown = re.search(r"<td>Sidst brugt</td><td>[^<]*</td><td>([^<]*)</td>",
                      owner.get("/api-noegler").text).group(1)
    assert re.fullmatch(r"\d\d-\d\d-\d{4} \d\d:\d\d", shown), shown
