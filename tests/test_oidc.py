"""Single sign-on by OpenID Connect (web/oidc.py) against a real OpenID provider: the npm
package oidc-provider in its own Node process (tests/oidc/provider.js), and the web app under
uvicorn in its own. The tests drive the whole flow with HTTP requests as a browser does:
our login page, the provider's authorisation endpoint, its login and consent, our callback."""

import json
import os
import re
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey
from live_web import SECRET, client, copy_of, csrf, flashes, logged_in, try_login
from servers import WebServer, free_port, port_open, wait_for
from sqlmodel import select

from cases.db import make_engine, write_session
from cases.models import Membership, User
from cases.organisation import parse_organisation
from cases.settings import PROJECT_DIR, SettingsError
from demo.users import ensure_demo_users

slow = pytest.mark.slow  # the tests that start the provider and the app

OIDC_DIR = PROJECT_DIR / "tests" / "oidc"
CLIENT_ID, CLIENT_SECRET = "sagsgang", "klientens-hemmelighed-kun-til-test-0123456789"
CALLBACK = "/login/oidc/svar"
# The people at the provider, with their groups (config/ballerup.toml's [oidc] maps them).
ACCOUNTS = {
    "anne": {"name": "Anne Andersen", "email": "anne@ballerup.dk",
             "groups": ["sagsgang-sekretariat", "alle-medarbejdere"]},
    "bo": {"name": "Bo Bech", "email": "bo@ballerup.dk", "groups": ["su-medlemmer"]},
    "carl": {"name": "Carl Clausen", "email": "carl@ballerup.dk",
             "groups": ["alle-medarbejdere", "kantineudvalget"]},
    "dorte": {"name": "Dorte Due", "email": "dorte@ballerup.dk",
              "groups": ["sagsgang-sekretariat", "su-medlemmer"]},
    # preferred_username "sekretariat" is a local demo user's: the new user is another one.
    "eva": {"name": "Eva Eskildsen", "email": "eva@ballerup.dk",
            "preferred_username": "sekretariat", "groups": ["sagsgang-ledere"]},
    "finn": {"name": "Finn Fog", "email": "finn@ballerup.dk",
             "groups": ["sagsgang-sekretariat"]},
    "gitte": {"name": "Gitte Gram", "email": "gitte@ballerup.dk", "groups": ["su-medlemmer"]},
    "finn2": {"name": "Finn Anden", "email": "finn2@ballerup.dk",
              "groups": ["sagsgang-sekretariat"]},
    "hans": {"name": "Hans Holm", "groups": ["sagsgang-sekretariat"]},  # no e-mail address
    # As AD FS and many Keycloak realms: groups, name and e-mail only from userinfo.
    "ivan": {"name": "Ivan Iversen", "email": "ivan@ballerup.dk", "groups": ["sagsgang-ledere"],
             "userinfo_only": ["groups", "name", "email"]},
    # Entra ID's groups overage: too many groups for a token, only a pointer to Graph.
    "jens": {"name": "Jens Juhl", "email": "jens@ballerup.dk",
             "_claim_names": {"groups": "src1"},
             "_claim_sources": {"src1": {"endpoint": "https://graph.microsoft.com/v1.0/users/"
                                                     "jens/getMemberObjects"}}},
    "kim": {"name": "Kim Krog", "email": "kim@ballerup.dk", "groups": ["sagsgang-sekretariat"]},
    "lis": {"name": "Lis Lund", "email": "lis@ballerup.dk", "groups": ["sagsgang-sekretariat"]},
}
BACKCHANNEL = "/login/oidc/backchannel"


def npm_ci() -> None:
    """The provider's packages, as its package-lock.json pins them; installed once (make
    test installs them first, so a test run normally finds them)."""
    installed = OIDC_DIR / "node_modules" / ".package-lock.json"
    lock = OIDC_DIR / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    assert npm, "npm (Node.js) is needed for the OpenID provider of these tests"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR,
                   check=True, timeout=300)


class OpenIdProvider:
    """oidc-provider on a free port, with our client and ACCOUNTS (rewritable: `set_groups`)."""

    def __init__(self, directory: Path, redirect_bases: list[str]):
        self.port = free_port()
        self.config_path = directory / "provider.json"
        self.log_path = directory / "provider.log"
        self.config = {"port": self.port, "client_id": CLIENT_ID,
                       "client_secret": CLIENT_SECRET,
                       "redirect_uris": [base + CALLBACK for base in redirect_bases],
                       "post_logout_redirect_uris": [base + "/login" for base in redirect_bases],
                       # the first app (the `sso` fixture's) hears of logins ended there
                       "backchannel_logout_uri": redirect_bases[0] + BACKCHANNEL,
                       "accounts": json.loads(json.dumps(ACCOUNTS))}

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set_groups(self, account: str, groups: list[str]) -> None:
        self.config["accounts"][account]["groups"] = groups
        self._write()

    def _write(self) -> None:
        draft = self.config_path.with_suffix(".tmp")
        draft.write_text(json.dumps(self.config), encoding="utf-8")
        draft.replace(self.config_path)  # the provider never reads half a file

    def __enter__(self):
        npm_ci()
        self._write()
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen([shutil.which("node"), "provider.js",
                                         str(self.config_path)], cwd=OIDC_DIR,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: port_open(self.port) or self.process.poll() is not None, 30,
                     what="the OpenID provider")
            assert self.process.poll() is None, self.log_path.read_text()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()


@dataclass
class Site:
    server: WebServer
    engine: object
    provider: OpenIdProvider


@contextmanager
def site(directory: Path, migrated_sqlite, provider: OpenIdProvider, port: int, **settings):
    url = migrated_sqlite(directory / "web.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
    env = {"DATABASE_URL": url, "SAGSGANG_VAR_DIR": directory, "SAGSGANG_SECRET_KEY": SECRET,
           "SAGSGANG_SITE_URL": f"http://127.0.0.1:{port}",
           "SAGSGANG_OIDC_ISSUER": provider.issuer, "SAGSGANG_OIDC_CLIENT_ID": CLIENT_ID,
           "SAGSGANG_OIDC_CLIENT_SECRET": CLIENT_SECRET, **settings}
    try:
        with WebServer(env, directory, port=port) as server:
            yield Site(server, engine, provider)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def ports():
    # the app, the app without local passwords, the app that names the issuer otherwise
    return free_port(), free_port(), free_port()


@pytest.fixture(scope="module")
def provider(tmp_path_factory, ports):
    directory = tmp_path_factory.mktemp("provider")
    with OpenIdProvider(directory, [f"http://127.0.0.1:{port}" for port in ports]) as running:
        yield running


@pytest.fixture(scope="module")
def sso(tmp_path_factory, migrated_sqlite, provider, ports):
    with site(tmp_path_factory.mktemp("sso"), migrated_sqlite, provider, ports[0]) as running:
        yield running


# -- the flow ----------------------------------------------------------------------------------

def to_callback(browser: httpx.Client, sso: Site, account: str, next: str = "/") -> str:
    """Start at our login and go through the provider as `account`, up to the address the
    provider sends the browser back to (not followed: the caller decides who calls it)."""
    response = browser.get("/login/oidc", params={"next": next})
    for _ in range(10):
        assert response.status_code in (302, 303), (response.status_code, response.text)
        location = urljoin(str(response.url), response.headers["location"])
        if location.startswith(sso.server.url + CALLBACK):
            return location
        assert location.startswith(sso.provider.issuer), location
        if "/interaction/" in location:  # the login (and consent) page: log in as account
            location += "?" + urlencode({"account": account})
        response = browser.get(location)
    raise AssertionError("the provider never sent the browser back")


def sso_login(sso: Site, account: str, browser: httpx.Client | None = None,
              next: str = "/") -> tuple[httpx.Client, httpx.Response]:
    browser = browser or client(sso.server)
    return browser, browser.get(to_callback(browser, sso, account, next))


def refusal(browser: httpx.Client, response: httpx.Response) -> str:
    """The refused login's message, as the login page it sends the browser to shows it."""
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/login"
    return flashes(browser.get("/login").text)


def user_of(sso: Site, subject: str) -> tuple[User | None, set[str]]:
    with write_session(sso.engine) as session:
        user = session.exec(select(User).where(User.oidc_subject == subject)).first()
        bodies = set(session.exec(select(Membership.body_code).where(
            Membership.user_id == user.id))) if user else set()
        return user, bodies


# -- the mapping and the settings (no processes) ------------------------------------------------

def test_groups_give_the_role_that_may_do_the_most_and_their_bodies(org):
    mapping = org.oidc
    assert mapping.claim == "groups"
    assert mapping.role_for({"sagsgang-sagsbehandlere", "sagsgang-administratorer"}) == "admin"
    assert mapping.role_for({"sagsgang-ledere", "su-medlemmer"}) == "manager"
    assert mapping.role_for({"su-medlemmer", "kb-medlemmer"}) == "member"  # a body: a member
    assert mapping.bodies_for({"su-medlemmer", "kb-medlemmer", "x"}) == ("KB", "SU")
    assert mapping.centre_for({"center-voksne-sundhed"}) == "Center for Voksne og Sundhed"
    assert mapping.role_for({"alle-medarbejdere"}) is None
    assert mapping.role_for(set()) is None


@pytest.mark.parametrize("section, problem", [
    ({"roles": {"g": "chef"}}, "role must be one of"),
    ({"bodies": {"g": ["XX"]}}, "unknown body 'XX'"),
    ({"bodies": {"g": "SU"}}, "a list of body codes"),
    ({"centres": {"g": "Center for Ingenting"}}, "unknown centre"),
])
def test_a_wrong_oidc_section_stops_the_organisation_file(section, problem):
    data = {"bodies": [{"code": "SU", "name": "Socialudvalget", "kind": "standing_committee"}],
            "centres": [{"name": "Center for Voksne og Sundhed"}], "oidc": section}
    with pytest.raises(ValueError, match=problem):
        parse_organisation(data)


def test_a_provider_without_its_secret_stops_the_app(monkeypatch, sqlite_url):
    from web.app import create_app

    monkeypatch.setenv("SAGSGANG_OIDC_ISSUER", "https://login.example.dk/realms/ballerup")
    monkeypatch.setenv("SAGSGANG_OIDC_CLIENT_ID", "sagsgang")
    monkeypatch.delenv("SAGSGANG_OIDC_CLIENT_SECRET", raising=False)
    with pytest.raises(SettingsError, match="SAGSGANG_OIDC_CLIENT_SECRET"):
        create_app(sqlite_url)


def test_no_passwords_and_no_provider_stops_the_app(monkeypatch, sqlite_url):
    from web.app import create_app

    monkeypatch.delenv("SAGSGANG_OIDC_ISSUER", raising=False)
    monkeypatch.setenv("SAGSGANG_LOCAL_LOGIN", "false")
    with pytest.raises(SettingsError, match="ingen ville kunne logge ind"):
        create_app(sqlite_url)


def test_forms_may_end_at_the_provider_and_nowhere_else(monkeypatch):
    from web.app import _policy

    monkeypatch.delenv("SAGSGANG_OIDC_ISSUER", raising=False)
    assert "form-action 'self';" in _policy()
    monkeypatch.setenv("SAGSGANG_OIDC_ISSUER", "https://login.example.dk/realms/ballerup/")
    monkeypatch.setenv("SAGSGANG_OIDC_CLIENT_ID", "sagsgang")
    monkeypatch.setenv("SAGSGANG_OIDC_CLIENT_SECRET", "hemmelig")
    from cases.settings import load_settings
    load_settings()
    assert "form-action 'self' https://login.example.dk;" in _policy()


def test_a_provider_that_does_not_answer_refuses_the_login_with_a_message(monkeypatch,
                                                                         sqlite_url):
    from fastapi.testclient import TestClient

    from web.app import create_app

    monkeypatch.setenv("SAGSGANG_OIDC_ISSUER", f"http://127.0.0.1:{free_port()}")  # closed
    monkeypatch.setenv("SAGSGANG_OIDC_CLIENT_ID", "sagsgang")
    monkeypatch.setenv("SAGSGANG_OIDC_CLIENT_SECRET", "hemmelig")
    browser = TestClient(create_app(sqlite_url), follow_redirects=False)
    response = browser.get("/login/oidc")
    assert (response.status_code, response.headers["location"]) == (303, "/login")
    assert "Kommunens login svarer ikke lige nu" in flashes(browser.get("/login").text)


ISSUER = "https://login.example.dk/realms/ballerup"
NOW = 1_800_000_000


def logout_claims(**changes) -> dict:
    claims = {"iss": ISSUER, "aud": CLIENT_ID, "iat": NOW - 10, "jti": "j1", "sub": "anne",
              "sid": "s1", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}}
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def test_a_logout_token_names_the_subject_whose_sessions_end():
    from web.oidc import Provider, logout_subject

    provider = Provider(ISSUER, CLIENT_ID, CLIENT_SECRET, parse_organisation({}).oidc)
    assert logout_subject(logout_claims(), provider, NOW) == "anne"
    assert logout_subject(logout_claims(aud=["andet", CLIENT_ID]), provider, NOW) == "anne"


@pytest.mark.parametrize("changes", [
    {"iss": "https://login.example.dk/realms/andet"},
    {"aud": "en-anden-klient"},
    {"iat": None},
    {"iat": NOW - 6 * 60},  # too old: a replayed token must not end later sessions
    {"iat": NOW + 5 * 60},  # issued in the future
    {"events": None},
    {"events": {"http://schemas.openid.net/event/something-else": {}}},
    {"events": {"http://schemas.openid.net/event/backchannel-logout": "ja"}},
    {"nonce": "n1"},  # an ID token is no logout token
    {"sub": None},  # only a session id: we end sessions by person
], ids=lambda changes: ",".join(f"{key}={value}" for key, value in changes.items()))
def test_a_logout_token_that_does_not_hold_is_refused(changes):
    from web.oidc import Provider, logout_subject

    provider = Provider(ISSUER, CLIENT_ID, CLIENT_SECRET, parse_organisation({}).oidc)
    with pytest.raises(JoseError):
        logout_subject(logout_claims(**changes), provider, NOW)


# -- tests against the provider --------------------------------------------------------------

@slow
def test_the_login_page_offers_the_municipalitys_login_and_passwords(sso):
    html = client(sso.server).get("/login").text
    assert "Log ind med Ballerup Kommune-konto" in html
    assert 'name="password"' in html


@slow
def test_a_first_login_creates_the_user_with_the_role_of_their_group(sso):
    browser, response = sso_login(sso, "anne", next="/kalender")
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/kalender"
    assert logged_in(browser)
    user, bodies = user_of(sso, "anne")
    assert (user.oidc_issuer, user.role, user.name, user.email, user.password_hash) == (
        sso.provider.issuer, "secretariat", "Anne Andersen", "anne@ballerup.dk", None)
    assert bodies == set()
    assert browser.get("/koer").status_code == 200  # the secretariat's queues


@slow
def test_a_member_group_makes_a_member_of_that_body(sso):
    browser, response = sso_login(sso, "bo")
    assert response.status_code == 303 and logged_in(browser)
    user, bodies = user_of(sso, "bo")
    assert (user.role, bodies) == ("member", {"SU"})
    assert browser.get("/koer").status_code == 403  # members have no queues


@slow
def test_role_and_memberships_are_taken_afresh_at_each_login(sso):
    sso_login(sso, "dorte")
    first, first_bodies = user_of(sso, "dorte")
    assert (first.role, first_bodies) == ("secretariat", {"SU"})
    sso.provider.set_groups("dorte", ["kb-medlemmer", "oeu-medlemmer"])
    browser, response = sso_login(sso, "dorte")
    assert response.status_code == 303 and logged_in(browser)
    again, bodies = user_of(sso, "dorte")
    assert again.id == first.id  # the same person, matched by subject
    assert (again.role, bodies) == ("member", {"KB", "ØU"})


@slow
def test_a_person_in_no_mapped_group_is_refused_and_no_user_is_made(sso):
    browser, response = sso_login(sso, "carl")
    message = refusal(browser, response)
    assert "Du har ikke adgang til sagsgang" in message
    assert "Ballerup Kommune" in message
    assert not logged_in(browser)
    assert user_of(sso, "carl") == (None, set())


@slow
def test_someone_who_left_every_mapped_group_is_refused_and_keeps_nothing_new(sso):
    sso_login(sso, "finn")
    sso.provider.set_groups("finn", ["kantineudvalget"])
    browser, response = sso_login(sso, "finn")
    assert "Du har ikke adgang til sagsgang" in refusal(browser, response)
    assert not logged_in(browser)


@slow
def test_a_deactivated_user_is_refused_at_the_provider_login_too(sso):
    from web import users

    sso_login(sso, "gitte")
    user, _ = user_of(sso, "gitte")
    with write_session(sso.engine) as session:
        users.set_active(session, user.id, False)
    browser, response = sso_login(sso, "gitte")
    assert "Din bruger i sagsgang er deaktiveret" in refusal(browser, response)
    assert not logged_in(browser)


@slow
def test_a_person_without_an_email_address_is_refused_and_no_user_is_made(sso):
    browser, response = sso_login(sso, "hans")
    message = refusal(browser, response)
    assert "Login via Ballerup Kommune kunne ikke gennemføres" in message
    assert "e-mailadresse" in message
    assert not logged_in(browser)
    assert user_of(sso, "hans") == (None, set())


@slow
def test_a_username_already_taken_locally_is_never_merged(sso):
    browser, response = sso_login(sso, "eva")
    assert response.status_code == 303 and logged_in(browser)
    user, _ = user_of(sso, "eva")
    assert user.username == "sekretariat-2" and user.role == "manager"
    assert user.centre is None
    with write_session(sso.engine) as session:  # the local demo user is untouched
        local = session.exec(select(User).where(User.username == "sekretariat")).one()
        assert (local.oidc_subject, local.role) == (None, "secretariat")


@slow
def test_logout_ends_the_session_and_the_login_at_the_provider(sso):
    browser, response = sso_login(sso, "anne")
    assert logged_in(browser)
    copied = copy_of(browser)
    assert logged_in(copied)
    response = browser.post("/logout", data={"csrf_token": csrf(browser, "/kalender")})
    assert response.status_code == 303
    location = urlsplit(response.headers["location"])
    assert urlunsplit((*location[:3], "", "")) == sso.provider.issuer + "/session/end"
    query = parse_qs(location.query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["post_logout_redirect_uri"] == [sso.server.url + "/login"]
    # The provider's own end-session page answers (it asks whether to log out there too).
    assert browser.get(response.headers["location"]).status_code == 200
    assert not logged_in(browser)
    assert not logged_in(copied)  # the old cookie is dead, copied or not


@slow
def test_a_local_login_logs_out_without_the_provider(sso):
    browser = client(sso.server)
    assert try_login(browser, "leder", "leder-demo").status_code == 303
    response = browser.post("/logout", data={"csrf_token": csrf(browser, "/kalender")})
    assert response.headers["location"] == "/login"


@slow
def test_an_answer_meant_for_another_browser_is_refused(sso):
    """The state: a code sent to someone else's browser (a planted login) is not taken."""
    victim = client(sso.server)
    callback = to_callback(client(sso.server), sso, "anne")  # the attacker's own login
    response = victim.get(callback)
    assert "blev afvist" in refusal(victim, response)
    assert not logged_in(victim)
    tampered = client(sso.server)
    own = urlsplit(to_callback(tampered, sso, "anne"))
    query = {key: values[0] for key, values in parse_qs(own.query).items()}
    response = tampered.get(CALLBACK, params={**query, "state": query["state"] + "x"})
    assert "blev afvist" in refusal(tampered, response)
    assert not logged_in(tampered)


@slow
def test_a_stolen_code_is_refused_without_its_verifier(sso):
    """PKCE: a code made for another browser's challenge, brought with this browser's own
    state, is refused by the provider (this browser's verifier does not fit)."""
    stolen = parse_qs(urlsplit(to_callback(client(sso.server), sso, "anne")).query)["code"][0]
    thief = client(sso.server)
    own = urlsplit(to_callback(thief, sso, "bo"))
    query = {key: values[0] for key, values in parse_qs(own.query).items()}
    response = thief.get(CALLBACK, params={**query, "code": stolen})
    assert "blev afvist" in refusal(thief, response)
    assert not logged_in(thief)
    refused = sso.provider.log_path.read_text()
    assert "grant refused: code_verifier does not match code_challenge" in refused


@slow
def test_without_local_passwords_only_the_municipalitys_login_is_offered(
        tmp_path_factory, migrated_sqlite, provider, ports):
    with site(tmp_path_factory.mktemp("sso-only"), migrated_sqlite, provider, ports[1],
              SAGSGANG_LOCAL_LOGIN="false") as only:
        browser = client(only.server)
        html = browser.get("/login").text
        assert "Log ind med Ballerup Kommune-konto" in html
        assert 'name="password"' not in html
        # No password form to take a CSRF token from: refused before the token is asked for.
        response = browser.post("/login", data={"username": "sekretariat",
                                                "password": "sekretariat-demo"})
        assert response.status_code == 303 and response.headers["location"] == "/login"
        assert "Der logges ikke ind med adgangskode" in flashes(browser.get("/login").text)
        assert not logged_in(browser)
        browser, response = sso_login(only, "anne")  # the provider's login works
        assert response.status_code == 303 and logged_in(browser)


@slow
def test_an_id_token_from_another_issuer_than_the_configured_one_is_refused(
        tmp_path_factory, migrated_sqlite, provider, ports):
    """The same provider reached as localhost: its ID tokens name 127.0.0.1 as issuer, which
    is not the issuer configured, so they are refused (whatever its metadata says)."""
    with site(tmp_path_factory.mktemp("sso-issuer"), migrated_sqlite, provider, ports[2],
              SAGSGANG_OIDC_ISSUER=provider.issuer.replace("127.0.0.1", "localhost")) as other:
        browser = client(other.server)
        response = browser.get("/login/oidc")
        location = response.headers["location"]
        assert "/auth?" in location
        for _ in range(10):
            if location.startswith(other.server.url + CALLBACK):
                break
            if "/interaction/" in location:
                location += "?" + urlencode({"account": "anne"})
            response = browser.get(location)
            location = urljoin(str(response.url), response.headers["location"])
        response = browser.get(location)
        assert "blev afvist" in refusal(browser, response)
        assert not logged_in(browser)
        assert "OpenID Connect login refused: invalid_claim: Invalid claim: 'iss'" in \
            other.server.tail(50)


@slow
def test_groups_name_and_email_only_in_userinfo_are_read_from_there(sso):
    """As AD FS and many Keycloak realms: the ID token has no groups; the userinfo endpoint,
    asked with the access token, has them (and here the name and e-mail address too)."""
    browser, response = sso_login(sso, "ivan")
    assert response.status_code == 303 and logged_in(browser)
    user, _ = user_of(sso, "ivan")
    assert (user.role, user.name, user.email) == ("manager", "Ivan Iversen", "ivan@ballerup.dk")


@slow
def test_entra_ids_groups_overage_is_refused_with_what_to_configure(sso):
    browser, response = sso_login(sso, "jens")
    message = refusal(browser, response)
    assert "så mange grupper" in message
    assert "Groups assigned to the application" in message and "app-roller" in message
    assert not logged_in(browser)
    assert user_of(sso, "jens") == (None, set())
    assert "OpenID Connect login of subject jens refused: the 'groups' claim is not in the " \
        "token but kept elsewhere (Entra ID's groups overage" in sso.server.tail(50)


def epoch_of(sso: Site, subject: str) -> int:
    return user_of(sso, subject)[0].session_epoch


@slow
def test_a_logout_at_the_provider_ends_every_session_here_by_back_channel(sso):
    """The real flow: the person ends their login on the provider's end-session page; the
    provider posts a logout token to our back-channel address, and every session of theirs
    here ends, in this browser and another."""
    browser, _ = sso_login(sso, "kim")
    elsewhere, _ = sso_login(sso, "kim")
    epoch = epoch_of(sso, "kim")
    copied = copy_of(browser)
    assert logged_in(copied) and logged_in(elsewhere)
    page = browser.get(sso.provider.issuer + "/session/end")
    xsrf = re.search(r'name="xsrf" value="([^"]+)"', page.text).group(1)
    response = browser.post(sso.provider.issuer + "/session/end/confirm",
                            data={"xsrf": xsrf, "logout": "yes"})
    assert response.status_code in (302, 303), response.text
    assert "back-channel logout of kim answered" in sso.provider.log_path.read_text()
    assert not logged_in(copied)
    assert not logged_in(elsewhere)
    assert epoch_of(sso, "kim") == epoch + 1


@slow
def test_a_forged_logout_token_is_refused_and_the_session_lives(sso):
    """Signed by another key under the provider's own key id, otherwise as the provider's:
    refused with 400, and nothing changes. Garbage and no token at all are refused too."""
    browser, _ = sso_login(sso, "lis")
    epoch = epoch_of(sso, "lis")
    kid = httpx.get(sso.provider.issuer + "/jwks").json()["keys"][0]["kid"]
    forger = RSAKey.generate_key(2048, parameters={"kid": kid})
    forged = jwt.encode({"alg": "RS256", "kid": kid, "typ": "logout+jwt"}, {
        "iss": sso.provider.issuer, "aud": CLIENT_ID, "iat": int(time.time()), "jti": "f1",
        "sub": "lis", "events": {"http://schemas.openid.net/event/backchannel-logout": {}}},
        forger)
    for sent in ({"logout_token": forged}, {"logout_token": "ikke.en.jwt"}, {}):
        response = httpx.post(sso.server.url + BACKCHANNEL, data=sent, timeout=30)
        assert (response.status_code, response.text) == (400, "invalid logout_token"), sent
        assert response.headers["cache-control"] == "no-store"
    assert logged_in(browser)
    assert epoch_of(sso, "lis") == epoch
    assert "back-channel logout refused: bad_signature" in sso.server.tail(50)


# -- in a real browser ---------------------------------------------------------------------------

CHROMIUM = os.environ.get("SAGSGANG_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update"]}


@slow
@pytest.mark.browser
@pytest.mark.timeout(120)
def test_in_chromium_the_login_and_the_logout_go_through_the_provider(sso, page):
    """The forms that end at the provider (our login button, the logout) are let through by
    the security policy (Chromium applies form-action to where a form's answer redirects)."""
    page.goto(sso.server.url + "/login")
    page.click("text=Log ind med Ballerup Kommune-konto")
    page.wait_for_url(f"{sso.provider.issuer}/interaction/**")
    page.goto(page.url + "?account=finn2")
    page.wait_for_url(f"{sso.server.url}/**")
    assert "Log ud (Finn Anden)" in page.content()
    page.click("text=Log ud")
    page.wait_for_url(f"{sso.provider.issuer}/session/end**")
