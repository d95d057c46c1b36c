"""Who may change what: every write route of the app × every role and the public.

The table WRITES below names every route that takes POST, PUT, PATCH or DELETE, pages and
API, with who may use it, written out here independently of workflow.access; a route added
later without a line in it fails `test_the_table_names_every_write_route`. Each line's probe
makes what its request needs (a fresh case, hearing, meeting or user) and the request that
does the write. Then, for each role:

- a role the table allows has its request carried out: something is written;
- any other is refused (the API with 401/403, a page with the login page or 403) and nothing
  in the database changed;
- a case owner on ANOTHER owner's case (same centre, or another centre's case with no
  sagsbehandler) is refused on every route that changes a case, and nothing changed.

Last, one probe against the real app in its own process (uvicorn, tests/servers.WebServer):
a case owner opening a hearing with an outside party on another owner's case gets 403, and
no outbox row and no mail follow, where the secretariat's same request mails that party.
"""

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from servers import MailSink, WebServer, organisation_file
from sqlmodel import select
from web_fixtures import (
    CENTRE,
    OTHER_CENTRE,
    ROLE_USERS,
    anonymous,
    as_role,
    bearer,
    csrf_of,
    days,
    make_case,
    new_number,
    page_csrf,
)

from cases import actions, queries, services
from cases.db import make_engine, read_session, write_session
from cases.models import Hearing, User
from meetings import services as meeting_services
from notifications import delivery
from notifications.email import confirm_token, follow_unsubscribe_token, unsubscribe_token
from notifications.models import Reminder, Subscription
from notifications.rules import ReminderRules
from web.tokens import new_api_token
from workflow.access import ALL_ROLES, may_change_case

ANONYMOUS = "anonymous"
EVERYONE = frozenset({*ALL_ROLES, ANONYMOUS})
LOGGED_IN = frozenset(ALL_ROLES)
CASE_WRITERS = frozenset({"secretariat", "case_owner", "admin"})
SECRETARIAT = frozenset({"secretariat", "admin"})
ADMIN = frozenset({"admin"})
MEMBER = frozenset({"member"})

# What a route changes. CASE: one case (the role's permission, then for a case owner only a
# case of their own); the other kinds have no per-case check.
CASE = "case"
NEW_CASE = "new case"  # registers a case (no existing case is changed)
MEETING = "meeting"
USERS = "users"
SELF = "self"  # the person's own login, API keys, calendar address, what they follow
LINK = "link"  # no login: the signed link in an email is the permission
PUBLIC_FORM = "public form"  # no login: anyone may sign up (throttled, web.citizens)
PROVIDER = "provider"  # no login, no CSRF token: the identity provider's signed token is all

OWNER_EMAIL = f"{ROLE_USERS['case_owner'][0]}@demo.sagsgang.invalid"  # as demo.users makes it
OTHER_OWNER = "anden.sagsbehandler@ballerup.dk"


@dataclass(frozen=True)
class Target:
    """Whose request it is, and whose case it changes."""

    engine: sa.Engine
    role: str
    owner_email: str = OWNER_EMAIL
    centre: str = CENTRE

    def case(self, **options) -> str:
        """A fresh case on its way through SU and BSU (deciding body KB)."""
        return make_case(self.engine, owner_email=self.owner_email, centre=self.centre,
                         **options)


@dataclass(frozen=True)
class Write:
    kind: str
    may: frozenset[str]  # who may (by role; on CASE routes a case owner: their own cases)
    probe: Callable[[Target], tuple[str, dict]]  # makes what it needs; (path, form or JSON)
    writes: bool = True  # False: it changes the session cookie only
    done: Callable[[httpx.Response], bool] | None = None  # how its success shows, if not so
    upload: bool = False  # sent as a form with a file (a Bilag), pages and API alike


# -- what the probes need ----------------------------------------------------------------------

_minutes = itertools.count(1)
_future_days = itertools.count(400, 3)
_names = itertools.count(1)


def version(t: Target, number: str) -> str:
    with read_session(t.engine) as session:
        return str(queries.get_case(session, number).version)


def deadline_of(t: Target) -> tuple[str, int]:
    number = t.case(deadline=days(30))
    with read_session(t.engine) as session:
        return number, queries.deadlines(session, queries.get_case(session, number).id)[0].id


def hearing_of(t: Target) -> int:
    number = t.case()
    with write_session(t.engine) as session:
        return services.add_hearing(session, number, title="Høring", parties=["HR"],
                                    deadline=days(40), opened_on=days(0), actor="test").id


def future_meeting(t: Target, body: str = "SU") -> int:
    with write_session(t.engine) as session:
        return meeting_services.create_meeting(session, body=body,
                                               day=days(next(_future_days))).id


def held_meeting(t: Target, *, decided: bool = False, sent: bool = False) -> tuple[int, int]:
    """An SU meeting today with a fresh case on its published agenda: (meeting, item)."""
    number = t.case(committees=("SU",))
    with write_session(t.engine) as session:
        minute = next(_minutes)
        meeting = meeting_services.create_meeting(session, body="SU", day=days(0),
                                                  at=f"{minute // 60:02d}:{minute % 60:02d}")
        item = meeting_services.place_case(session, meeting.id, number, late_reason="Hastesag")
        meeting_services.publish_agenda(session, meeting.id, actor="test",
                                        late_reason="Hastesag")
        if decided:
            meeting_services.record_item_decision(session, item.id, wording="anbefales",
                                                  actor="test", decision_text="Anbefales.")
        if sent:
            meeting_services.send_minutes_for_approval(session, meeting.id)
        return meeting.id, item.id


def placed_item(t: Target) -> int:
    meeting_id, number = future_meeting(t), t.case()
    with write_session(t.engine) as session:
        return meeting_services.place_case(session, meeting_id, number,
                                           late_reason="Hastesag").id


def user_of(t: Target, role: str) -> int:
    """The demo user of the role (the public: the secretariat's, whose request is refused)."""
    username = ROLE_USERS.get(role, ROLE_USERS["secretariat"])[0]
    with read_session(t.engine) as session:
        return session.exec(select(User.id).where(User.username == username)).one()


def new_user(t: Target, *, active: bool = True) -> int:
    from web import users

    with write_session(t.engine) as session:
        user = users.create_user(session, username=f"ny{next(_names)}", name="Ny Bruger",
                                 email=f"ny{next(_names)}@ballerup.dk", role="case_owner",
                                 password="en-god-lang-adgangskode", centre=CENTRE)
        if not active:
            users.set_active(session, user.id, False, actor_id=user_of(t, "admin"))
        return user.id


def subscription(t: Target) -> int:
    with write_session(t.engine) as session:
        row = Subscription(email=f"f{next(_names)}@example.org", body_code="SU",
                           created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        return row.id


def citizen_sign_up(t: Target) -> int:
    """A citizen's sign-up without an account (web.citizens), not yet confirmed."""
    from notifications import citizens

    with write_session(t.engine) as session:
        return citizens.sign_up(session, email=f"borger{next(_names)}@example.org",
                                body_code="SU", now=datetime.now(UTC)).id


FOLLOWED_BODY = {"secretariat": "SU", "case_owner": "BSU", "manager": "SÆU", "member": "KMU",
                 "admin": "UGO", ANONYMOUS: "BEU"}  # each follows a body once


def _delivered(t: Target) -> str:
    number = t.case()
    with write_session(t.engine) as session:
        services.mark_delivered(session, number, "SU", actor="test")
    return number


def _two_items(t: Target) -> tuple[int, int]:
    meeting_id, numbers = future_meeting(t), [t.case(), t.case()]
    with write_session(t.engine) as session:
        for number in numbers:
            last = meeting_services.place_case(session, meeting_id, number,
                                               late_reason="Hastesag")
    return meeting_id, last.id


def attached(t: Target) -> tuple[str, int]:
    """A fresh case with a Bilag (a file): (number, attachment id)."""
    from cases import files

    number = t.case()
    with write_session(t.engine) as session:
        return number, files.attach(session, number, filename="a.pdf", content=BILAG,
                                    title="Bilag", actor="test").id


def _decision(t: Target) -> tuple[str, dict]:
    number = t.case()
    return f"/sager/{number}/beslutning", {"wording": "anbefales", "body": "SU",
                                           "meeting_date": "04-10-2022",
                                           "version": version(t, number)}


def _withdrawal(t: Target) -> tuple[str, dict]:
    number = t.case()
    return f"/sager/{number}/handling", {"trigger": "withdraw", "reason": "Trukket",
                                         "confirmed": "ja", "version": version(t, number)}


def _edit(t: Target) -> tuple[str, dict]:
    number = t.case()
    return f"/sager/{number}/rediger", {"title": "Testsag, omskrevet",
                                        "summary": "Et sammendrag.",
                                        "owner_email": t.owner_email,
                                        "proposals": "at sagen godkendes",
                                        "version": version(t, number)}


def _move_up(t: Target) -> tuple[str, dict]:
    meeting_id, second = _two_items(t)
    return f"/moeder/{meeting_id}/flyt", {"item_id": str(second), "direction": "op"}


def _hearing_form() -> dict:
    return {"title": "Høring om planen", "deadline": days(40).strftime("%d-%m-%Y"),
            "opened_on": days(0).strftime("%d-%m-%Y")}


# -- the table ---------------------------------------------------------------------------------

WRITES: dict[tuple[str, str], Write] = {
    # The JSON API.
    ("POST", "/api/cases"): Write(NEW_CASE, CASE_WRITERS, lambda t: ("/api/cases", {
        "number": new_number("W"), "title": "Ny sag", "centre": t.centre,
        "deciding_body": "SU", "committees": ["SU"], "proposals": ["at sagen godkendes"]})),
    ("POST", "/api/cases/{number:path}/transitions"): Write(CASE, SECRETARIAT, lambda t: (
        f"/api/cases/{t.case()}/transitions", {"trigger": "withdraw", "reason": "Trukket"})),
    ("POST", "/api/cases/{number:path}/decisions"): Write(CASE, SECRETARIAT, lambda t: (
        f"/api/cases/{t.case()}/decisions",
        {"body": "SU", "wording": "anbefales", "meeting_date": "04-10-2022"})),
    ("POST", "/api/cases/{number:path}/deadlines"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/api/cases/{t.case()}/deadlines",
        {"due_date": "01-12-2030", "kind": "statutory", "description": "Svarfrist"})),
    ("POST", "/api/cases/{number:path}/deadlines/{deadline_id}/met"): Write(
        CASE, CASE_WRITERS, lambda t: (
            "/api/cases/{}/deadlines/{}/met".format(*deadline_of(t)),
            {"met_on": days(0).strftime("%d-%m-%Y")})),
    ("POST", "/api/cases/{number:path}/hearings"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/api/cases/{t.case()}/hearings",
        {**_hearing_form(), "parties": ["Nabo Naboen <nabo@example.org>"]})),
    ("POST", "/api/hearings/{hearing_id}/responses"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/api/hearings/{hearing_of(t)}/responses",
        {"party": "HR", "received_on": days(0).strftime("%d-%m-%Y"), "text": "Vi støtter."})),
    ("POST", "/api/cases/{number:path}/attachments"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/api/cases/{t.case()}/attachments", {"title": "Et bilag"}), upload=True),
    ("POST", "/api/cases/{number:path}/attachments/{attachment_id}/remove"): Write(
        CASE, CASE_WRITERS, lambda t: (
            "/api/cases/{}/attachments/{}/remove".format(*attached(t)), {})),
    ("POST", "/api/cases/{number:path}/attachments/{attachment_id}"): Write(
        CASE, CASE_WRITERS, lambda t: (
            "/api/cases/{}/attachments/{}".format(*attached(t)), {"title": "Nyt navn"})),
    ("POST", "/api/meetings/{meeting_id}/attendance"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/api/meetings/{held_meeting(t)[0]}/attendance",
        {"entries": [{"name": "Pia Deltager", "party": "A"}]})),
    ("POST", "/api/items/{item_id}/votes"): Write(CASE, SECRETARIAT, lambda t: (
        f"/api/items/{held_meeting(t, decided=True)[1]}/votes",
        {"proposal": 1, "for_count": 3})),
    ("POST", "/api/items/{item_id}/notes"): Write(CASE, SECRETARIAT, lambda t: (
        f"/api/items/{held_meeting(t, decided=True)[1]}/notes",
        {"kind": "forbehold", "who": "V"})),
    ("POST", "/api/hearings/{hearing_id}/close"): Write(CASE, SECRETARIAT, lambda t: (
        f"/api/hearings/{hearing_of(t)}/close", {"closed_on": days(0).strftime("%d-%m-%Y")})),

    # Login and the person's own things.
    ("POST", "/login"): Write(SELF, EVERYONE, lambda t: (
        "/login", dict(zip(("username", "password"),
                           ROLE_USERS.get(t.role, ROLE_USERS["member"]), strict=True))),
        writes=False, done=lambda r: r.status_code == 303
        and not r.headers["location"].startswith("/login")),
    ("POST", "/logout"): Write(SELF, EVERYONE, lambda t: ("/logout", {}), writes=False,
                               done=lambda r: r.status_code == 303),
    # A real change would end the role's shared login and API key: the probe sends two new
    # passwords that differ, which reaches the check of the current one and changes nothing.
    ("POST", "/adgangskode"): Write(SELF, LOGGED_IN, lambda t: ("/adgangskode", {
        "current": ROLE_USERS[t.role][1] if t.role in ROLE_USERS else "",
        "password": "et-helt-nyt-kodeord-1", "repeated": "et-helt-nyt-kodeord-2"}),
        writes=False, done=lambda r: r.status_code == 400 and "ikke ens" in r.text),
    ("POST", "/kalender/ny-adresse"): Write(SELF, LOGGED_IN, lambda t: (
        "/kalender/ny-adresse", {})),
    ("POST", "/api-noegler"): Write(SELF, LOGGED_IN, lambda t: (
        "/api-noegler", {"name": "Mit system"})),
    ("POST", "/api-noegler/{token_id}/tilbagekald"): Write(SELF, LOGGED_IN, lambda t: (
        f"/api-noegler/{_own_token(t)}/tilbagekald", {})),
    # Following needs no ownership: a case owner may follow another owner's case.
    ("POST", "/sager/{number:path}/foelg"): Write(SELF, LOGGED_IN, lambda t: (
        f"/sager/{make_case(t.engine, owner_email=OTHER_OWNER)}/foelg", {})),
    ("POST", "/organer/{code}/foelg"): Write(SELF, LOGGED_IN, lambda t: (
        f"/organer/{FOLLOWED_BODY[t.role]}/foelg", {})),

    # The links in emails (no login).
    ("POST", "/afmeld/{token}"): Write(LINK, EVERYONE, lambda t: (
        f"/afmeld/{follow_unsubscribe_token(subscription(t))}", {})),
    ("POST", "/paamindelser/afmeld/{token}"): Write(LINK, EVERYONE, lambda t: (
        f"/paamindelser/afmeld/{unsubscribe_token(f'p{next(_names)}@example.org', '*')}",
        {})),
    ("POST", "/offentlig/foelg/bekraeft/{token}"): Write(LINK, EVERYONE, lambda t: (
        f"/offentlig/foelg/bekraeft/{confirm_token(citizen_sign_up(t))}", {})),

    # The identity provider's back-channel logout (server to server, web.oidc): a login or a
    # cookie gives nothing, the provider's signed logout token is the permission. This app
    # has no provider, so everyone alike gets 404 and nothing changes; tests/test_oidc.py
    # sends it the real provider's token and forged ones.
    ("POST", "/login/oidc/backchannel"): Write(PROVIDER, EVERYONE, lambda t: (
        "/login/oidc/backchannel", {"logout_token": "ikke.en.jwt"}), writes=False,
        done=lambda r: (r.status_code, r.text) == (404, "no single sign-on configured")),

    # The public portal's sign-up for email without an account (web.citizens).
    ("POST", "/offentlig/foelg"): Write(PUBLIC_FORM, EVERYONE, lambda t: (
        "/offentlig/foelg", {"email": f"borger{next(_names)}@example.org", "organ": "SU",
                             "phrase": ""})),

    # The case pages.
    ("POST", "/sager/ny"): Write(NEW_CASE, CASE_WRITERS, lambda t: ("/sager/ny", {
        "number": new_number("W"), "title": "Ny sag", "centre": t.centre,
        "deciding_body": "SU", "committees": "SU", "proposals": "at sagen godkendes"})),
    ("POST", "/sager/{number:path}/beslutning"): Write(CASE, SECRETARIAT, _decision),
    ("POST", "/sager/{number:path}/handling"): Write(CASE, SECRETARIAT, _withdrawal),
    ("POST", "/sager/{number:path}/frist"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/sager/{t.case()}/frist",
        {"due_date": "01-12-2030", "kind": "statutory", "description": "Svarfrist"})),
    ("POST", "/sager/{number:path}/frister/{deadline_id}/overholdt"): Write(
        CASE, CASE_WRITERS, lambda t: (
            "/sager/{}/frister/{}/overholdt".format(*deadline_of(t)), {"met_on": ""})),
    ("POST", "/sager/{number:path}/afleveret"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/sager/{t.case()}/afleveret", {"body": "SU"})),
    ("POST", "/sager/{number:path}/afleveret/fortryd"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/sager/{_delivered(t)}/afleveret/fortryd", {"body": "SU"})),
    ("POST", "/sager/{number:path}/rediger"): Write(CASE, CASE_WRITERS, _edit),
    ("POST", "/sager/{number:path}/bilag"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/sager/{t.case()}/bilag", {"title": "Et bilag"}), upload=True),
    ("POST", "/sager/{number:path}/bilag/{attachment_id}"): Write(CASE, CASE_WRITERS,
        lambda t: ("/sager/{}/bilag/{}".format(*attached(t)),
                   {"title": "Nyt navn", "not_public": "on"})),
    ("POST", "/sager/{number:path}/bilag/{attachment_id}/fjern"): Write(CASE, CASE_WRITERS,
        lambda t: ("/sager/{}/bilag/{}/fjern".format(*attached(t)), {})),
    ("POST", "/sager/{number:path}/hoering"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/sager/{t.case()}/hoering",
        {**_hearing_form(), "other_parties": "Nabo Naboen <nabo@example.org>"})),
    ("POST", "/hoeringer/{hearing_id}/svar"): Write(CASE, CASE_WRITERS, lambda t: (
        f"/hoeringer/{hearing_of(t)}/svar", {"party": "HR", "text": "Vi støtter."})),
    ("POST", "/hoeringer/{hearing_id}/afslut"): Write(CASE, SECRETARIAT, lambda t: (
        f"/hoeringer/{hearing_of(t)}/afslut", {"confirmed": "ja"})),

    # Meetings, agendas and minutes.
    ("POST", "/moeder/ny"): Write(MEETING, SECRETARIAT, lambda t: ("/moeder/ny", {
        "body": "SU", "date": days(next(_future_days)).strftime("%d-%m-%Y"), "time": "15:00"})),
    ("POST", "/moeder/{meeting_id}/flyt-moedet"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{future_meeting(t)}/flyt-moedet",
        {"date": days(next(_future_days)).strftime("%d-%m-%Y"), "reason": "Ny dato"})),
    ("POST", "/moeder/{meeting_id}/aflys"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{future_meeting(t)}/aflys", {"reason": "Intet på dagsordenen",
                                                 "confirmed": "ja"})),
    ("POST", "/moeder/{meeting_id}/placer"): Write(CASE, SECRETARIAT, lambda t: (
        f"/moeder/{future_meeting(t)}/placer", {"number": t.case(), "late_reason": "Hastesag"})),
    ("POST", "/moeder/{meeting_id}/fast-punkt"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{future_meeting(t)}/fast-punkt", {"kind": "meddelelser"})),
    ("POST", "/moeder/{meeting_id}/flyt"): Write(MEETING, SECRETARIAT, _move_up),
    ("POST", "/punkter/{item_id}/lukket"): Write(CASE, SECRETARIAT, lambda t: (
        f"/punkter/{placed_item(t)}/lukket", {"closed": "on"})),
    ("POST", "/moeder/{meeting_id}/offentliggoer"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{_meeting_of(t, placed_item(t))}/offentliggoer", {"late_reason": "Hastesag",
                                                                       "confirmed": "ja"})),
    ("POST", "/punkter/{item_id}/beslutning"): Write(CASE, SECRETARIAT, lambda t: (
        f"/punkter/{held_meeting(t)[1]}/beslutning",
        {"wording": "anbefales", "decision_text": "Anbefales."})),
    ("POST", "/moeder/{meeting_id}/referat/godkend"): Write(MEETING, MEMBER, lambda t: (
        f"/moeder/{held_meeting(t, decided=True, sent=True)[0]}/referat/godkend", {})),
    ("POST", "/moeder/{meeting_id}/fravaer"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{held_meeting(t)[0]}/fravaer", {"name": "Pia Fraværende"})),
    ("POST", "/moeder/{meeting_id}/fremmoede"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{held_meeting(t)[0]}/fremmoede", {"present": "Pia Deltager (A)"})),
    ("POST", "/punkter/{item_id}/afstemning"): Write(CASE, SECRETARIAT, lambda t: (
        f"/punkter/{held_meeting(t, decided=True)[1]}/afstemning",
        {"for_antal_1": "3", "note_kind_1": "protokol", "note_who_1": "A",
         "note_text_1": "Ført til protokol."})),
    ("POST", "/moeder/{meeting_id}/referat/send"): Write(MEETING, SECRETARIAT, lambda t: (
        f"/moeder/{held_meeting(t, decided=True)[0]}/referat/send", {"confirmed": "ja"})),

    # Users (Brugere).
    ("POST", "/brugere/ny"): Write(USERS, ADMIN, lambda t: ("/brugere/ny", {
        "username": f"ny{next(_names)}", "password": "en-god-lang-adgangskode",
        "name": "Ny Bruger", "email": f"ny{next(_names)}@ballerup.dk", "role": "manager"})),
    ("POST", "/brugere/{user_id}"): Write(USERS, ADMIN, lambda t: (
        f"/brugere/{new_user(t)}", {"name": "Nyt Navn", "email": "nyt.navn@ballerup.dk",
                                    "role": "case_owner", "centre": CENTRE})),
    ("POST", "/brugere/{user_id}/deaktiver"): Write(USERS, ADMIN, lambda t: (
        f"/brugere/{new_user(t)}/deaktiver", {})),
    ("POST", "/brugere/{user_id}/aktiver"): Write(USERS, ADMIN, lambda t: (
        f"/brugere/{new_user(t, active=False)}/aktiver", {})),
    ("POST", "/brugere/{user_id}/adgangskode"): Write(USERS, ADMIN, lambda t: (
        f"/brugere/{new_user(t)}/adgangskode", {"password": "en-ny-lang-adgangskode"})),
}


def _own_token(t: Target) -> int:
    from cases.models import ApiToken
    from web.passwords import token_hash

    with write_session(t.engine) as session:
        token = new_api_token(session, user_of(t, t.role), "Til tilbagekald")
        return session.exec(select(ApiToken.id).where(
            ApiToken.token_hash == token_hash(token))).one()


def _meeting_of(t: Target, item_id: int) -> int:
    from meetings import queries as meeting_queries

    with read_session(t.engine) as session:
        return meeting_queries.get_item(session, item_id).meeting_id


# -- asking the app ----------------------------------------------------------------------------

def write_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route of the app that writes. FastAPI keeps an included router
    as one entry of app.routes; iter_route_contexts walks into each."""
    return {(method, route.path) for route in iter_route_contexts(app.routes)
            for method in (route.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}}


def state(engine) -> dict:
    """Every row of every table, except what any request of a logged-in person may touch: a
    session of theirs (server-side sessions, login attempts) and when a key was last used."""
    with engine.connect() as conn:
        found = {}
        for name in sa.inspect(conn).get_table_names():
            if "session" in name or "login" in name:
                continue
            rows = conn.execute(sa.text(f'SELECT * FROM "{name}"')).mappings().all()
            found[name] = sorted(repr(sorted((k, v) for k, v in row.items()
                                             if not k.startswith("last_used"))) for row in rows)
        return found


# A Bilag's file (the smallest PDF taken), kept in the database store: in the state compared.
BILAG = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def files_in_the_database(monkeypatch):
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_STORE", "database")


@pytest.fixture
def clients(web_app):
    """One logged-in client per role, and one for the public (the API ignores the cookie).
    Logged in for each test: logging out, tested here too, ends every session of the user."""
    found = {role: as_role(web_app, role) for role in ALL_ROLES}
    found[ANONYMOUS] = anonymous(web_app)
    return found


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def send(web_app, clients, api_tokens, write: Write, role: str, path: str, data: dict):
    files = {"file": ("bilag.pdf", BILAG, "application/pdf")} if write.upload else None
    if is_api(path):
        headers = bearer(api_tokens[role]) if role != ANONYMOUS else {}
        if files:
            return anonymous(web_app).post(path, data=data, files=files, headers=headers)
        return anonymous(web_app).post(path, json=data, headers=headers)
    if write.writes:
        client = clients[role]
    else:  # logging in or out: a client of its own, so the shared ones keep their login
        client = anonymous(web_app) if role == ANONYMOUS else as_role(web_app, role)
    # The public gets a real CSRF token too (from the login page): refused for want of a
    # login, not of a token.
    token = csrf_of(client.get("/login").text) if role == ANONYMOUS else page_csrf(client)
    return client.post(path, data={**data, "csrf_token": token}, files=files)


def refused(path: str, role: str, response: httpx.Response) -> bool:
    if is_api(path):
        return response.status_code == (401 if role == ANONYMOUS else 403)
    if role == ANONYMOUS:
        return response.status_code == 303 and \
            response.headers["location"].startswith("/login?next=")
    return response.status_code == 403 and "Ingen adgang" in response.text


def carried_out(write: Write, response: httpx.Response) -> bool:
    if write.done is not None:
        return write.done(response)
    return response.status_code in (200, 201, 303) and \
        not response.headers.get("location", "").startswith("/login")


# -- the tests ---------------------------------------------------------------------------------

def test_the_table_names_every_write_route(web_app):
    routes = write_routes(web_app)
    assert len(routes) > 40  # the walk found the included routers' routes
    missing = sorted(routes - set(WRITES))
    assert not missing, f"write routes without a line in WRITES: {missing}"
    assert not sorted(set(WRITES) - routes), "lines in WRITES for routes that are gone"


ROLES = (*ALL_ROLES, ANONYMOUS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(WRITES), ids=[" ".join(k) for k in WRITES])
def test_each_role_may_do_what_the_table_says_and_nothing_else(web_app, web_engine, clients,
                                                               api_tokens, route, role):
    write = WRITES[route]
    path, data = write.probe(Target(web_engine, role))
    before = state(web_engine)
    response = send(web_app, clients, api_tokens, write, role, path, data)
    if role in write.may:
        assert carried_out(write, response), (response.status_code, response.text[:2000])
        if write.writes:
            assert state(web_engine) != before, "answered as done, but nothing was written"
    else:
        assert refused(path, role, response), (response.status_code, response.text[:2000])
        assert state(web_engine) == before


CASE_ROUTES = [route for route, write in WRITES.items() if write.kind == CASE]
SOMEONE_ELSES = {"another owner's": (OTHER_OWNER, CENTRE),
                 "another centre's, with no owner": ("", OTHER_CENTRE)}


@pytest.mark.parametrize("whose", SOMEONE_ELSES)
@pytest.mark.parametrize("route", CASE_ROUTES, ids=[" ".join(k) for k in CASE_ROUTES])
def test_a_case_owner_changes_nothing_on_someone_elses_case(web_app, web_engine, clients,
                                                            api_tokens, route, whose):
    owner_email, centre = SOMEONE_ELSES[whose]
    write = WRITES[route]
    path, data = write.probe(Target(web_engine, "case_owner", owner_email, centre))
    before = state(web_engine)
    response = send(web_app, clients, api_tokens, write, "case_owner", path, data)
    assert response.status_code == 403, response.text[:2000]
    message = response.json()["detail"] if is_api(path) else response.text
    if "case_owner" in write.may:  # the role may, on a case of their own
        assert "som du selv er sagsbehandler på." in message
    else:
        assert "Du har ikke adgang til at" in message
    assert state(web_engine) == before


def test_the_rule_lets_a_case_owner_change_only_their_own_cases():
    def may(role, permission="add_hearing", *, email="bo@ballerup.dk", centre=CENTRE,
            owner="Bo@Ballerup.dk ", case_centre=CENTRE):
        return may_change_case(role, permission, email=email, centre=centre,
                               case_owner_email=owner, case_centre=case_centre)

    assert may("case_owner")  # their own, whatever the case of the address
    assert not may("case_owner", owner=OTHER_OWNER)  # a colleague's in the same centre
    assert may("case_owner", owner="")  # their centre's, with no sagsbehandler named
    assert not may("case_owner", owner="", case_centre=OTHER_CENTRE)
    assert not may("case_owner", email="")  # a case owner with no address of their own
    assert not may("case_owner", "close_hearing")  # the role matrix first
    for role in ("secretariat", "admin"):
        assert may(role, owner=OTHER_OWNER, case_centre=OTHER_CENTRE, centre=None)
    for role in ("manager", "member"):
        assert not may(role)


def test_the_refusal_says_what_in_danish(web_app, web_engine, api_tokens):
    number = make_case(web_engine, owner_email=OTHER_OWNER)
    response = anonymous(web_app).post(
        f"/api/cases/{number}/deadlines", headers=bearer(api_tokens["case_owner"]),
        json={"due_date": "01-12-2030", "description": "Svarfrist"})
    assert response.status_code == 403
    assert response.json() == {"detail": "Du kan kun tilføje frister til sager, som du selv "
                                         "er sagsbehandler på."}


def test_a_case_owners_page_offers_no_changes_to_another_owners_case(web_app, web_engine):
    hearing_case = make_case(web_engine, owner_email=OTHER_OWNER)
    with write_session(web_engine) as session:
        services.add_hearing(session, hearing_case, title="Høring", parties=["HR"],
                             deadline=days(40), opened_on=days(0), actor="test")
    client = as_role(web_app, "case_owner")
    other = client.get(f"/sager/{hearing_case}").text
    own = client.get(f"/sager/{make_case(web_engine, owner_email=OWNER_EMAIL)}").text
    for form in ("/frist\"", "/hoering\"", "/svar\"", "/afleveret\"", "/rediger\""):
        assert form not in other
    for form in ("/frist\"", "/hoering\"", "/afleveret\"", "/rediger\""):
        assert form in own
    assert "/foelg\"" in other  # following is no change to the case


def test_nobody_revokes_another_persons_api_key(web_app, web_engine, clients):
    target = Target(web_engine, "secretariat")
    token_id = _own_token(target)
    before = state(web_engine)
    client = clients["admin"]
    client.post(f"/api-noegler/{token_id}/tilbagekald",
                data={"csrf_token": page_csrf(client)})
    assert state(web_engine) == before


# -- the real app in its own process -----------------------------------------------------------

RULES = ReminderRules(office_hours_only=False)


def sweep_and_send(engine, sink) -> None:
    """What beat and a worker do: derive the outbox rows of what changed, send what is due."""
    mailer = delivery.Mailer("127.0.0.1", sink.port, timeout=10)
    try:
        delivery.sweep(engine, lambda ids, token: delivery.deliver_batch(
            engine, ids, token, mailer, rules=RULES), now=datetime.now(UTC) + timedelta(
            hours=12), rules=RULES)
    finally:
        mailer.close()


def hearing_mail(sink, address: str) -> list:
    return [m for m in sink.handler.messages if address in str(m["To"])]


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_real_server_refuses_a_hearing_on_another_owners_case(tmp_path, migrated_sqlite,
                                                                  monkeypatch):
    from demo.users import ensure_demo_users

    organisation = organisation_file(tmp_path)
    monkeypatch.setenv("SAGSGANG_ORGANISATION", str(organisation))
    url = migrated_sqlite(tmp_path / "probe.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        ensure_demo_users(session)
        tokens = {role: new_api_token(session, session.exec(select(User.id).where(
            User.username == ROLE_USERS[role][0])).one(), "probe")
            for role in ("case_owner", "secretariat")}
        services.create_case(session, {
            "number": "P-1", "title": "Andens sag", "centre": CENTRE, "deciding_body": "SU",
            "owner_name": "Anden Sagsbehandler", "owner_email": OTHER_OWNER,
            "proposals": ["at sagen godkendes"]}, actor="test")
        actions.submit(session, "P-1", actor="test")
    hearing = {"title": "Høring om planen", "parties": ["Nabo Naboen <nabo@example.org>"],
               "deadline": days(40).strftime("%d-%m-%Y"),
               "opened_on": days(0).strftime("%d-%m-%Y")}
    env = {"DATABASE_URL": url, "SAGSGANG_VAR_DIR": tmp_path / "var",
           "SAGSGANG_ORGANISATION": organisation}
    try:
        with MailSink() as sink, WebServer(env, tmp_path) as server:
            sweep_and_send(engine, sink)  # what the case's own registration brings
            before = state(engine)
            refused = httpx.post(f"{server.url}/api/cases/P-1/hearings", json=hearing,
                                 headers=bearer(tokens["case_owner"]), timeout=30)
            assert refused.status_code == 403, server.tail()
            assert refused.json() == {"detail": "Du kan kun oprette høringer på sager, som du "
                                                "selv er sagsbehandler på."}
            sweep_and_send(engine, sink)
            assert state(engine) == before
            with read_session(engine) as session:
                assert not session.exec(select(Hearing)).all()
                assert not [r for r in session.exec(select(Reminder)).all()
                            if "nabo@example.org" in r.recipient]
            assert hearing_mail(sink, "nabo@example.org") == []

            # The same request from the secretariat: the party gets its mail at once.
            done = httpx.post(f"{server.url}/api/cases/P-1/hearings", json=hearing,
                              headers=bearer(tokens["secretariat"]), timeout=30)
            assert done.status_code == 201, done.text
            sweep_and_send(engine, sink)
            assert len(hearing_mail(sink, "nabo@example.org")) == 1
    finally:
        engine.dispose()
