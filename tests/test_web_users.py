"""The admin pages for users ("Brugere"): who reaches them, create, edit, deactivate,
reactivate, new password, refused input (nothing written), CSRF, and `sagsgang user add`
going through the same checks."""

import re
from html import unescape

import pytest
from click.testing import CliRunner
from sqlmodel import select
from web_fixtures import (
    CENTRE,
    anonymous,
    as_role,
    bearer,
    logged_in,
    page_csrf,
)

from cases.db import make_engine, read_session, write_session
from cases.models import Membership, User
from web.auth import load_user
from web.passwords import verify_password
from web.tokens import new_api_token

OTHER_ROLES = ("secretariat", "case_owner", "manager", "member")
_counter = iter(range(1, 1_000_000))


def _username(prefix: str = "bruger") -> str:
    return f"{prefix}-{next(_counter)}"


def _dump(engine) -> tuple[list, list]:
    """Every users and memberships row, every column."""
    with read_session(engine) as session:
        users = [tuple(u.model_dump().items()) for u in session.exec(
            select(User).order_by(User.id))]
        memberships = [(m.user_id, m.body_code) for m in session.exec(
            select(Membership).order_by(Membership.user_id, Membership.body_code))]
    return users, memberships


def _user(engine, username: str) -> User:
    with read_session(engine) as session:
        return session.exec(select(User).where(User.username == username)).one()


def _bodies(engine, user_id: int) -> list[str]:
    with read_session(engine) as session:
        return sorted(session.exec(select(Membership.body_code)
                                   .where(Membership.user_id == user_id)))


def _flashes(html: str) -> str:
    """The flash and error messages on a page, as the reader sees them (unescaped)."""
    return unescape(" ".join(
        re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', html, re.S)
        + re.findall(r'<span class="field-error"[^>]*>(.*?)</span>', html, re.S)))


def _form(username: str, **overrides) -> dict:
    form = {"username": username, "name": "Nina Ny", "email": f"{username}@kommune.dk",
            "role": "member", "centre": "", "bodies": ["SU"],
            "password": "et-langt-kodeord"}
    form.update(overrides)
    return form


def _create(admin, username: str, **overrides):
    return admin.post("/brugere/ny", data={"csrf_token": page_csrf(admin, "/brugere/ny"),
                                           **_form(username, **overrides)})


def _existing_user(engine, **overrides) -> User:
    """A user made directly in the database (not through the pages under test)."""
    from web.passwords import hash_password

    username = _username("fast")
    with write_session(engine) as session:
        user = User(username=username, name="Frida Fast", email=f"{username}@kommune.dk",
                    role=overrides.get("role", "member"),
                    password_hash=hash_password(overrides.get("password", "fast-kodeord-1")))
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, body_code="BSU"))
    return _user(engine, username)


# -- who may ------------------------------------------------------------------------------------

def test_only_the_admin_reaches_the_user_pages_and_sees_the_link(web_app, web_engine):
    target = _existing_user(web_engine)
    admin = as_role(web_app, "admin")
    for path in ("/brugere", "/brugere/ny", f"/brugere/{target.id}"):
        assert admin.get(path).status_code == 200, path
    assert '<a href="/brugere">Brugere</a>' in admin.get("/sager").text
    for role in OTHER_ROLES:
        client = as_role(web_app, role)
        for path in ("/brugere", "/brugere/ny", f"/brugere/{target.id}"):
            refused = client.get(path)
            assert refused.status_code == 403, (role, path)
            assert "administrere brugere" in refused.text
        assert 'href="/brugere"' not in client.get("/sager").text, role
    anon = anonymous(web_app)
    for path in ("/brugere", "/brugere/ny", f"/brugere/{target.id}"):
        response = anon.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_only_the_admin_may_post_and_others_write_nothing(web_app, web_engine):
    target = _existing_user(web_engine)
    posts = [("/brugere/ny", _form(_username())),
             (f"/brugere/{target.id}", {**_form(""), "name": "Ændret", "role": "admin"}),
             (f"/brugere/{target.id}/deaktiver", {}),
             (f"/brugere/{target.id}/aktiver", {}),
             (f"/brugere/{target.id}/adgangskode", {"password": "overtaget-kodeord"})]
    before = _dump(web_engine)
    for role in OTHER_ROLES:
        client = as_role(web_app, role)
        token = page_csrf(client)
        for path, form in posts:
            assert client.post(path, data={"csrf_token": token, **form}).status_code == 403, \
                (role, path)
    anon = anonymous(web_app)
    for path, form in posts:
        response = anon.post(path, data=form)
        assert response.status_code == 303 and "/login" in response.headers["location"], path
    assert _dump(web_engine) == before


# -- create, edit, deactivate, password ------------------------------------------------------

def test_the_admin_creates_a_user_who_can_log_in(web_app, web_engine):
    admin = as_role(web_app, "admin")
    username = _username()
    response = _create(admin, username, role="case_owner", centre=CENTRE,
                       bodies=["SU", "BSU"], name="Nina Ny")
    assert response.status_code == 303 and response.headers["location"] == "/brugere"
    listing = admin.get("/brugere").text
    assert f"Brugeren {username} (Sagsbehandler) er oprettet." in _flashes(listing)
    row = re.search(rf"<tr>\s*<td><a href=\"/brugere/\d+\"><code>{username}</code></a>.*?</tr>",
                    listing, re.S).group(0)
    for shown in ("Nina Ny", f"{username}@kommune.dk", "Sagsbehandler", CENTRE,
                  "Børne- og Skoleudvalget, Socialudvalget",
                  "Aktiv"):
        assert shown in row, shown
    created = _user(web_engine, username)
    assert (created.role, created.centre, created.active) == ("case_owner", CENTRE, True)
    assert _bodies(web_engine, created.id) == ["BSU", "SU"]
    assert verify_password(created.password_hash, "et-langt-kodeord")
    assert "et-langt-kodeord" not in created.password_hash
    new = logged_in(web_app, username, "et-langt-kodeord")
    assert new.get("/sager").status_code == 200
    assert new.get("/brugere").status_code == 403


def test_a_centre_is_kept_only_for_case_owners_and_managers(web_app, web_engine):
    admin = as_role(web_app, "admin")
    username = _username()
    assert _create(admin, username, role="secretariat", centre=CENTRE).status_code == 303
    assert _user(web_engine, username).centre is None


def test_the_admin_edits_name_email_role_centre_and_bodies(web_app, web_engine):
    target = _existing_user(web_engine)
    admin = as_role(web_app, "admin")
    form = admin.get(f"/brugere/{target.id}").text
    assert 'value="BSU" checked' in form and "Frida Fast" in form
    response = admin.post(f"/brugere/{target.id}", data={
        "csrf_token": page_csrf(admin), "name": "Frida Flyttet", "email": "ff@kommune.dk",
        "role": "manager", "centre": CENTRE, "bodies": ["SU", "KB"]})
    assert response.status_code == 303
    assert f"Brugeren {target.username} er opdateret." in _flashes(admin.get("/brugere").text)
    changed = _user(web_engine, target.username)
    assert (changed.name, changed.email, changed.role, changed.centre) == (
        "Frida Flyttet", "ff@kommune.dk", "manager", CENTRE)
    assert changed.password_hash == target.password_hash
    assert _bodies(web_engine, target.id) == ["KB", "SU"]


def test_a_request_sees_the_user_with_every_body_they_are_a_member_of(web_engine):
    with write_session(web_engine) as session:
        users = {}
        for username, bodies in (("ingen", []), ("to", ["SU", "KB"])):
            user = User(username=username, name=username.title(), email=f"{username}@x.dk",
                        role="member")
            session.add(user)
            session.flush()
            session.add_all(Membership(user_id=user.id, body_code=code) for code in bodies)
            users[username] = user.id
        session.add(User(username="stoppet", name="Stoppet", email="s@x.dk", role="member",
                         active=False))
    with read_session(web_engine) as session:
        assert load_user(session, users["to"]).bodies == {"SU", "KB"}
        assert load_user(session, users["ingen"]).bodies == frozenset()
        stopped = session.exec(select(User.id).where(User.username == "stoppet")).one()
        assert load_user(session, stopped) is None
        assert load_user(session, 10**9) is None


def test_deactivating_ends_sessions_and_logins_and_reactivating_restores_them(web_app, web_engine):
    target = _existing_user(web_engine, role="secretariat", password="fast-kodeord-2")
    their_session = logged_in(web_app, target.username, "fast-kodeord-2")
    assert their_session.get("/koer").status_code == 200
    with write_session(web_engine) as session:
        api_key = new_api_token(session, target.id, "test")
    assert anonymous(web_app).get("/api/cases", headers=bearer(api_key)).status_code == 200
    admin = as_role(web_app, "admin")
    response = admin.post(f"/brugere/{target.id}/deaktiver", data={
        "csrf_token": page_csrf(admin)})
    assert response.status_code == 303
    assert "er deaktiveret" in _flashes(admin.get("/brugere").text)
    assert _user(web_engine, target.username).active is False
    refused = their_session.get("/koer")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    assert anonymous(web_app).get("/api/cases", headers=bearer(api_key)).status_code == 401
    with pytest.raises(AssertionError):
        logged_in(web_app, target.username, "fast-kodeord-2")
    assert "Deaktiveret" in admin.get("/brugere").text
    admin.post(f"/brugere/{target.id}/aktiver", data={"csrf_token": page_csrf(admin)})
    assert _user(web_engine, target.username).active is True
    assert "Tidligere logins og API-nøgler virker ikke" in _flashes(admin.get("/brugere").text)
    assert logged_in(web_app, target.username, "fast-kodeord-2").get("/koer").status_code == 200
    # Nothing from before comes back with the reactivation.
    assert their_session.get("/koer").status_code == 303
    assert anonymous(web_app).get("/api/cases", headers=bearer(api_key)).status_code == 401


def test_a_new_password_works_and_the_old_one_does_not(web_app, web_engine):
    target = _existing_user(web_engine, password="gammelt-kodeord")
    admin = as_role(web_app, "admin")
    response = admin.post(f"/brugere/{target.id}/adgangskode", data={
        "csrf_token": page_csrf(admin), "password": "helt-nyt-kodeord"})
    assert response.status_code == 303
    assert "har fået en ny adgangskode" in _flashes(admin.get(f"/brugere/{target.id}").text)
    assert logged_in(web_app, target.username, "helt-nyt-kodeord").get(
        "/sager").status_code == 200
    with pytest.raises(AssertionError):
        logged_in(web_app, target.username, "gammelt-kodeord")


def test_the_admin_setting_their_own_password_stays_logged_in_here_only(web_app, web_engine):
    target = _existing_user(web_engine, role="admin", password="fast-kodeord-3")
    here = logged_in(web_app, target.username, "fast-kodeord-3")
    elsewhere = logged_in(web_app, target.username, "fast-kodeord-3")
    response = here.post(f"/brugere/{target.id}/adgangskode", data={
        "csrf_token": page_csrf(here), "password": "rød-kano-på-furesøen"})
    assert response.status_code == 303
    assert here.get("/brugere").status_code == 200
    assert elsewhere.get("/brugere").status_code == 303


@pytest.mark.parametrize("fields, message", [
    ({"current": "forkert-kodeord", "password": "rød-kano-på-furesøen",
      "repeated": "rød-kano-på-furesøen"}, "Den nuværende adgangskode er forkert."),
    ({"password": "rød-kano-på-furesøen", "repeated": "rød-kano-på-arresø"},
     "De to nye adgangskoder er ikke ens."),
    ({"password": "fast-kodeord-4", "repeated": "fast-kodeord-4"},
     "Den nye adgangskode skal være en anden end den nuværende."),
    ({"password": "kort", "repeated": "kort"}, "Adgangskoden skal have mindst 10 tegn."),
])
def test_a_refused_own_password_change_shows_why_and_changes_nothing(web_app, web_engine,
                                                                     fields, message):
    target = _existing_user(web_engine, password="fast-kodeord-4")
    client = logged_in(web_app, target.username, "fast-kodeord-4")
    before = _dump(web_engine)
    response = client.post("/adgangskode", data={
        "csrf_token": page_csrf(client, "/adgangskode"), "current": "fast-kodeord-4",
        **fields})
    assert response.status_code == 400
    assert message in _flashes(response.text)
    assert _dump(web_engine) == before
    assert client.get("/kalender").status_code == 200


def test_every_user_reaches_their_own_password_page_from_the_menu(web_app):
    for role in (*OTHER_ROLES, "admin"):
        page = as_role(web_app, role).get("/adgangskode")
        assert page.status_code == 200 and "Nuværende adgangskode" in page.text, role
        assert '<a href="/adgangskode">Adgangskode</a>' in page.text
    assert anonymous(web_app).get("/adgangskode").status_code == 303


def test_a_script_in_a_name_is_shown_escaped(web_app, web_engine):
    admin = as_role(web_app, "admin")
    username = _username()
    _create(admin, username, name="<script>alert('x')</script> Farlig")
    for path in ("/brugere", f"/brugere/{_user(web_engine, username).id}"):
        html = admin.get(path).text
        assert "&lt;script&gt;alert(" in html, path
        assert "<script>alert(" not in html, path


# -- refused input writes nothing --------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"bodies": ["SU", "XYZ"]}, "Ukendt organ: 'XYZ'"),
    ({"role": "case_owner", "centre": "Center for Ingenting"}, "Ukendt center"),
    ({"username": "medlem"}, "Brugernavnet «medlem» er allerede i brug."),
    ({"username": "MEDLEM"}, "Brugernavnet «MEDLEM» er allerede i brug."),
    ({"password": "kort-kode"}, "Adgangskoden skal have mindst 10 tegn."),
    ({"email": "ikke-en-adresse"}, "er ikke en gyldig e-mailadresse"),
    ({"name": "   "}, "Skriv brugerens navn."),
    ({"name": "x" * 201}, "Brugerens navn må højst have 200 tegn."),
    ({"username": "to ord"}, "ingen mellemrum"),
    ({"role": "superuser"}, "Ukendt rolle"),
])
def test_a_refused_new_user_shows_the_message_and_writes_nothing(web_app, web_engine, overrides,
                                                                 message):
    admin = as_role(web_app, "admin")
    before = _dump(web_engine)
    overrides = dict(overrides)
    response = _create(admin, overrides.pop("username", _username()), **overrides)
    assert response.status_code == 400
    assert message in _flashes(response.text)
    assert 'value="Nina Ny"' in response.text or "name" in overrides  # the form is kept
    assert _dump(web_engine) == before


@pytest.mark.parametrize("overrides, message", [
    ({"bodies": ["SU", "XYZ"]}, "Ukendt organ: 'XYZ'"),
    ({"role": "manager", "centre": "Center for Ingenting"}, "Ukendt center"),
    ({"email": "a@b"}, "er ikke en gyldig e-mailadresse"),
])
def test_a_refused_edit_shows_the_message_and_writes_nothing(web_app, web_engine, overrides,
                                                             message):
    target = _existing_user(web_engine)
    admin = as_role(web_app, "admin")
    before = _dump(web_engine)
    form = {"name": "Ændret Navn", "email": "ny@kommune.dk", "role": "member", "centre": "",
            "bodies": ["SU"], **overrides}
    response = admin.post(f"/brugere/{target.id}", data={"csrf_token": page_csrf(admin),
                                                         **form})
    assert response.status_code == 400
    assert message in _flashes(response.text)
    assert _dump(web_engine) == before


def test_the_admin_cannot_remove_their_own_admin_role_or_deactivate_themself(web_app, web_engine):
    admin = as_role(web_app, "admin")
    me = _user(web_engine, "admin")
    before = _dump(web_engine)
    demoted = admin.post(f"/brugere/{me.id}", data={
        "csrf_token": page_csrf(admin), "name": me.name, "email": me.email,
        "role": "secretariat"})
    assert demoted.status_code == 400
    assert "Du kan ikke fjerne din egen administratorrolle." in _flashes(demoted.text)
    page = admin.get(f"/brugere/{me.id}").text
    assert "/deaktiver" not in page and "Du kan ikke deaktivere dig selv." in page
    deactivated = admin.post(f"/brugere/{me.id}/deaktiver", data={
        "csrf_token": page_csrf(admin)})
    assert deactivated.status_code == 303
    assert "Du kan ikke deaktivere dig selv." in _flashes(
        admin.get(deactivated.headers["location"]).text)
    short = admin.post(f"/brugere/{me.id}/adgangskode", data={
        "csrf_token": page_csrf(admin), "password": "kort"})
    assert short.status_code == 303
    assert "mindst 10 tegn" in _flashes(admin.get(short.headers["location"]).text)
    assert _dump(web_engine) == before
    assert admin.get("/brugere").status_code == 200  # still an admin, still logged in


def test_an_unknown_user_is_not_found(web_app, web_engine):
    admin = as_role(web_app, "admin")
    assert admin.get("/brugere/999999").status_code == 404
    before = _dump(web_engine)
    admin.post("/brugere/999999/deaktiver", data={"csrf_token": page_csrf(admin)})
    assert _dump(web_engine) == before


# -- CSRF -------------------------------------------------------------------------------------

def test_a_forged_or_missing_csrf_token_is_refused_and_writes_nothing(web_app, web_engine):
    target = _existing_user(web_engine)
    admin = as_role(web_app, "admin")
    other_session_token = page_csrf(as_role(web_app, "admin"))
    posts = [("/brugere/ny", _form(_username())),
             (f"/brugere/{target.id}", {**_form(""), "name": "Ændret"}),
             (f"/brugere/{target.id}/deaktiver", {}),
             (f"/brugere/{target.id}/adgangskode", {"password": "overtaget-kodeord"})]
    before = _dump(web_engine)
    for path, form in posts:
        for token in (None, "x" * 43, other_session_token):
            data = form if token is None else {**form, "csrf_token": token}
            response = admin.post(path, data=data)
            assert response.status_code == 403, (path, token)
            assert "Formularen kunne ikke godkendes" in response.text
    assert _dump(web_engine) == before


# -- the command line uses the same checks -----------------------------------------------------

def test_the_command_line_adds_users_through_the_same_checks(sqlite_url, monkeypatch):
    from cli.main import cli

    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    base = ["--name", "Ole", "--role", "case_owner", "--password", "langt-kodeord"]
    ok = runner.invoke(cli, ["user", "add", "ole", "--email", "ole@x.dk",
                             "--centre", CENTRE, "--member-of", "SU", *base])
    assert ok.exit_code == 0, ok.output
    assert "Bruger ole (Sagsbehandler) oprettet." in ok.output
    refused = {
        "er ikke en gyldig e-mailadresse": ["user", "add", "bo", "--email", "bo", *base],
        "er allerede i brug": ["user", "add", "OLE", "--email", "o@x.dk", *base],
        "Ukendt organ": ["user", "add", "bo", "--email", "b@x.dk", "--member-of", "XYZ",
                         *base],
    }
    for message, arguments in refused.items():
        result = runner.invoke(cli, arguments)
        assert result.exit_code == 1 and message in result.output, (message, result.output)
    engine = make_engine(sqlite_url)
    with read_session(engine) as session:
        assert session.exec(select(User.username)).all() == ["ole"]
        assert session.exec(select(Membership.body_code)).all() == ["SU"]
    engine.dispose()


@pytest.mark.parametrize("overrides, field", [
    ({"email": "ikke-en-adresse"}, "email"), ({"password": "kort-kode"}, "password"),
    ({"username": "to ord"}, "username"), ({"bodies": ["SU", "XYZ"]}, "bodies"),
])
def test_a_refused_new_user_says_it_at_the_field_and_on_top(web_app, overrides, field):
    admin = as_role(web_app, "admin")
    overrides = dict(overrides)
    html = _create(admin, overrides.pop("username", _username()), **overrides).text
    assert re.search(rf'id="bruger-{field}"[^>]*aria-describedby="bruger-{field}-fejl"', html)
    assert f'id="bruger-{field}-fejl"' in html
    assert f'href="#bruger-{field}"' in html.split('class="error-summary"')[1]
