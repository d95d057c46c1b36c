"""Closed is decided when something is served: a case that is (or becomes) a lukket punkt
shows none of its text in any output that needs no login or only a token.

Every text field of each case holds a marker naming the field (`mkA-case-summary-q`), and
every string column of every table that belongs to a case must hold one, so a new field is
covered the day it is added. Each case becomes closed at another point of its life: on the
agenda before it is published (A), on another agenda after it was published (B), marked
confidential after its followers' news was queued (C), and after it was decided and sent for
information (D). Two cases that stay open (O, P) prove that each output would show the text.

Then everything anonymous or token-only is collected, as served: every GET route of the web
app (the real app under uvicorn in its own process), anonymously and with the API token of a
member without rights, with every case, meeting, body, user, calendar secret and
unsubscribe token filled in, and the public search and the API's search for every case's
marker; the public agenda documents and the public search from the command line, earlier
publications included; and every mail the outbox delivers to a real SMTP server for people
who may not read the closed cases. The only markers allowed in them are the fields the public
sees of a closed item: its number, title and decision (DOMAIN: "number and title and its
decision, never its case text or attachments").
"""

import io
import itertools
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from bilag_samples import pdf_with_text
from click.testing import CliRunner
from pypdf import PdfReader
from servers import MailSink, WebServer
from sqlmodel import SQLModel, select

from cases import actions, files, services
from cases.db import make_engine, read_session, write_session
from cases.models import Case, CaseLink, Membership, User, membership_key, utcnow
from cases.settings import current_organisation, get_settings
from cli.main import cli
from meetings import queries as meeting_queries
from meetings.attendance import NoteEntry, VoteEntry
from meetings.calendar import local_day
from meetings.models import AgendaItem
from meetings.pdf import store_publication
from meetings.services import (
    add_item_note,
    create_meeting,
    place_case,
    publish_agenda,
    record_item_decision,
    record_vote,
    set_closed,
)
from notifications import citizens, delivery, outbox
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.email import confirm_token, follow_unsubscribe_token, unsubscribe_token
from notifications.models import CANCELLED, SENT, Reminder, Subscription
from notifications.rules import ReminderRules
from web.tokens import new_api_token, new_feed_token

SECRET = "closed-everywhere-test-secret-key-0123456789"
CENTRE = "Center for Voksne og Sundhed"
RULES = ReminderRules(office_hours_only=False)

# letter: (route, when the case becomes a lukket punkt)
SCENARIOS = {
    "A": ("council", "before_publication"),  # "Gør til lukket punkt" on the agenda
    "B": ("council", "after_publication"),  # closed on another body's agenda afterwards
    "C": ("council", "after_news"),  # made confidential once its news was queued
    "D": ("committee", "after_news"),  # decided, sent for information, then confidential
}
CONTROLS = {"O": "council", "P": "committee"}  # never closed

MARKER = re.compile(r"mk([A-Z])-([a-z_]+)-([a-z_]+)-q")

# What the public sees of a closed item: its number, title and decision.
PUBLIC = {("case", "number"), ("case", "title"), ("agenda_item", "title"),
          ("treatment", "decision_text"), ("treatment", "minority"),
          ("treatment", "proposal_decisions")}
# String columns that hold codes, states, configured names or actors, never a case's text.
CODES = {("case", "centre"), ("case", "deciding_body"), ("case", "status"),
         ("caselink", "kind"), ("deadline", "kind"), ("hearingparty", "body_code"),
         ("awaiting", "body_code"), ("awaiting", "delivered_by"),
         ("case_event", "actor"), ("case_event", "trigger"), ("case_event", "from_state"),
         ("case_event", "to_state"), ("case_event", "body"),
         ("treatment", "body_code"), ("treatment", "body_name"), ("treatment", "wording"),
         ("agenda_item", "standing"), ("agenda_item", "wording"),
         ("attachment", "digest"), ("attachment", "media_type")}
# Tables with a case_id that are not the case's text: what the outbox sends is checked in
# the mails themselves; a subscription says who follows.
NOT_CASE_TEXT = {"reminder", "web_subscription"}


def mark(letter: str, table: str, column: str) -> str:
    return f"mk{letter}-{table}-{column}-q"


def secret_markers(text: str, letters=tuple(SCENARIOS)) -> set[str]:
    """The markers of closed cases' text (not number, title or decision) in `text`, and of
    any case's not-public Bilag."""
    return {found.group(0) for found in MARKER.finditer(text)
            if (found.group(1) in letters and found.group(2, 3) not in PUBLIC)
            or found.group(2) == "hidden_attachment"}


def fields_shown(text: str, letter: str) -> set[tuple[str, str]]:
    return {found.group(2, 3) for found in MARKER.finditer(text) if found.group(1) == letter}


@dataclass
class World:
    numbers: dict[str, str] = field(default_factory=dict)
    meetings: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    # The open data's other ids (web.oparl): items, cases, memberships.
    item_ids: list[int] = field(default_factory=list)
    case_ids: list[int] = field(default_factory=list)
    membership_keys: list[str] = field(default_factory=list)
    no_rights: dict[str, str] = field(default_factory=dict)  # role in the test: address
    feed_tokens: dict[str, str] = field(default_factory=dict)
    api_token: str = ""
    attachments: list[int] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)


@dataclass
class Served:
    world: World
    pages: dict[str, str]  # "anonym GET /path" or "token GET /path": the body
    documents: dict[str, str]  # the command line's public documents
    mails: dict[str, list[str]]  # recipient without rights: each mail's decoded text


# -- the world ---------------------------------------------------------------------------------

def add_user(session, username: str, role: str, bodies=()) -> User:
    user = User(username=username, name=username.capitalize(), email=f"{username}@example.org",
                role=role, password_hash="x")
    session.add(user)
    session.flush()
    session.add_all(Membership(user_id=user.id, body_code=code) for code in bodies)
    session.flush()
    return user


def derive(engine) -> None:
    """The sweep's first steps: follow news, information notices and reminders."""
    notify_changed_cases(engine, rules=RULES)
    notify_changed_meetings(engine, rules=RULES)


def live_case(engine, world: World, users: dict[str, User], letter: str, route: str,
              when: str | None, day) -> None:
    """Register, hear, follow, place, publish and decide a case with a marker in every text
    field; close it at the point `when` names (None: never)."""
    def m(table, column):
        return mark(letter, table, column)

    today = local_day(utcnow())
    number = m("case", "number")
    world.numbers[letter] = number
    council = route == "council"
    with write_session(engine) as session:
        case = services.create_case(session, {
            "number": number, "title": f"Sag {m('case', 'title')}",
            "summary": f"Sammendrag {m('case', 'summary')}",
            "background": f"Baggrund {m('case', 'background')}",
            "presentation": f"Sagsfremstilling {m('case', 'presentation')}",
            "economy": f"Økonomi {m('case', 'economy')}", "centre": CENTRE,
            "owner_name": m("case", "owner_name"),
            "owner_email": f"{m('case', 'owner_email')}@example.dk",
            "deciding_body": "KB" if council else "SU",
            "committees": ["SU", "BSU"] if council else ["SU"],
            "proposals": [f"at {m('proposal', 'text')} godkendes"],
            "attachments": [{"title": f"Bilag {m('attachment', 'title')}",
                             "recommended": True}],
            "deadlines": [{"due_date": (today + timedelta(days=60)).isoformat(),
                           "kind": "statutory",
                           "description": f"Frist {m('deadline', 'description')}",
                           "legal_basis": m("deadline", "legal_basis")}],
            "earlier": ["E-1"]}, actor="sekr")
        # A Bilag as a file, public, with markers in its name and text; and one not public,
        # whose marker no one without rights may see even on an open case.
        bilag = files.attach(session, number, filename=f"{m('attachment', 'filename')}.pdf",
                             content=pdf_with_text(f"Bilagstekst {m('attachment', 'text')}"),
                             title=f"Fil {m('attachment', 'title')}", actor="sekr")
        hidden = files.attach(session, number, filename="internt.pdf", public=False,
                              content=pdf_with_text(m("hidden_attachment", "text")),
                              title=m("hidden_attachment", "title"), actor="sekr")
        world.attachments += [bilag.id, hidden.id]
        # No service writes a link's note yet; the column exists, so it holds a marker too.
        session.exec(select(CaseLink).where(CaseLink.case_id == case.id)).one().note = \
            m("caselink", "note")
        actions.submit(session, number, actor="sekr",
                       reason=f"Indsendt {m('case_event', 'reason')}")
        party = m("hearingparty", "name")
        hearing = services.add_hearing(
            session, number, title=f"Høring {m('hearing', 'title')}",
            parties=[f"{party} <{m('hearingparty', 'email')}@example.dk>"],
            deadline=today + timedelta(days=20), opened_on=today, blocking=False,
            actor="sekr")
        services.record_hearing_response(session, hearing.id, party=party, received_on=today,
                                         text=f"Svar {m('hearingresponse', 'text')}",
                                         actor="sekr")
        follower = users["follower"]
        session.add(Subscription(email=follower.email, user_id=follower.id, case_id=case.id,
                                 created_at=utcnow()))
        session.add(Subscription(email=world.no_rights["case_by_email"], case_id=case.id,
                                 created_at=utcnow()))
        meeting = create_meeting(session, body="SU", day=day)
        world.meetings.append(meeting.id)
        item = place_case(session, meeting.id, number)
        # Written by the referat importer and the late placement; here directly.
        item.text = m("agenda_item", "text")
        item.late_reason = m("agenda_item", "late_reason")
        item.attachments_note = m("agenda_item", "attachments_note")
        session.add(item)
        if when == "before_publication":
            set_closed(session, item.id, True)
        # Its PDFs kept as published (as the publish page and command do), while open.
        store_publication(session, publish_agenda(session, meeting.id, actor="sekr"))
        item_id, held = item.id, meeting.starts_at + timedelta(hours=1)
    derive(engine)
    if when == "after_publication":
        with write_session(engine) as session:
            other = create_meeting(session, body="BSU", day=day + timedelta(days=1))
            world.meetings.append(other.id)
            set_closed(session, place_case(session, other.id, number).id, True)
            publish_agenda(session, other.id, actor="sekr")
    with write_session(engine) as session:
        record_item_decision(
            session, item_id, wording="Anbefales" if council else "Godkendt", actor="sekr",
            decision_text=f"Beslutning {m('treatment', 'decision_text')}",
            minority=f"Mindretal {m('treatment', 'minority')}",
            proposal_decisions=[{"number": 1, "text": m("treatment", "proposal_decisions")}],
            now=held)
        # The item's vote and protocol note go with its text (meetings.attendance).
        record_vote(session, item_id, VoteEntry(proposal=1, counts={"for": 5, "imod": 2}),
                    now=held)
        add_item_note(session, item_id, NoteEntry(
            kind="protokol", who=m("item_note", "who"), text=f"Til protokol "
                                                             f"{m('item_note', 'text')}"),
                      now=held)
        if not council:
            actions.send_for_information(
                session, number, actor="sekr", bodies=["HR"],
                recipients=[m("case_event", "recipients")],
                reason=f"Til orientering {m('case_event', 'reason')}", now=held)
    derive(engine)
    if when == "after_news":
        with write_session(engine) as session:
            services.update_case(session, number, {"confidential": True}, actor="sekr",
                                 now=held + timedelta(minutes=5))
        derive(engine)
    world.unmarked += unmarked_fields(engine, number, letter)


def case_tables() -> list[sa.Table]:
    """Every table that is part of a case: the case, and those pointing at it or at its
    hearings."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        targets = {fk.column.table.name for fk in table.foreign_keys}
        if table.name == "case" or (targets & {"case", "hearing"}
                                    and table.name not in NOT_CASE_TEXT):
            found.append(table)
    return found


def _rows_of_case(conn, table: sa.Table, case_id: int) -> list:
    if table.name == "case":
        return conn.execute(sa.select(table).where(table.c.id == case_id)).all()
    hearings = sa.select(sa.text("id")).select_from(sa.table("hearing")).where(
        sa.column("case_id") == case_id)
    conditions = []
    for fk in table.foreign_keys:
        if fk.column.table.name == "case":
            conditions.append(fk.parent == case_id)
        elif fk.column.table.name == "hearing":
            conditions.append(fk.parent.in_(hearings))
    return conn.execute(sa.select(table).where(sa.or_(*conditions))).all()


def unmarked_fields(engine, number: str, letter: str) -> list[str]:
    """The string columns of the case's tables that hold no marker in any of its rows."""
    missing = []
    with engine.connect() as conn:
        case_id = conn.execute(sa.text('SELECT id FROM "case" WHERE number = :n'),
                               {"n": number}).scalar_one()
        for table in case_tables():
            rows = _rows_of_case(conn, table, case_id)
            for column in table.columns:
                if not isinstance(column.type, sa.String) or \
                        (table.name, column.name) in CODES:
                    continue
                if not any(f"mk{letter}-" in (row._mapping[column.name] or "")
                           for row in rows):
                    missing.append(f"{table.name}.{column.name}")
    return missing


def build(engine) -> World:
    world = World(no_rights={"follower": "follower@example.org",
                             "watcher": "watcher@example.org", "informed": "hrmember@example.org",
                             "case_by_email": "borger@example.org",
                             "body_by_email": "udvalg@example.org",
                             "citizen_body": "borger.udvalg@example.org",
                             "citizen_phrase": "borger.soeg@example.org"})
    with write_session(engine) as session:
        add_user(session, "sekr", "secretariat")
        # Members of bodies on none of the cases' routes: they may not read a closed case.
        users = {"follower": add_user(session, "follower", "member", ["SÆU"]),
                 "watcher": add_user(session, "watcher", "member", ["SÆU"]),
                 "hrmember": add_user(session, "hrmember", "member", ["HR"])}
        session.add(Subscription(email=users["watcher"].email, user_id=users["watcher"].id,
                                 body_code="SU", created_at=utcnow()))
        session.add(Subscription(email=world.no_rights["body_by_email"], body_code="SU",
                                 created_at=utcnow()))
        # Citizens without an account (notifications.citizens): SU's agendas, and a phrase
        # every case's summary holds ("Sammendrag …").
        for who, fields in (("citizen_body", {"body_code": "SU"}),
                            ("citizen_phrase", {"phrase": "sammendrag"})):
            row = citizens.sign_up(session, email=world.no_rights[who], now=utcnow(), **fields)
            citizens.confirm(session, row, utcnow())
        world.feed_tokens = {name: new_feed_token(session, users[name].id)
                             for name in ("follower", "watcher")}
        world.api_token = new_api_token(session, users["follower"].id, "uden adgang")
        services.create_case(session, {"number": "E-1", "title": "En tidligere sag",
                                       "centre": CENTRE, "deciding_body": "SU"}, actor="sekr")
    today = local_day(utcnow())
    lives = [(letter, route, when) for letter, (route, when) in SCENARIOS.items()] + \
        [(letter, route, None) for letter, route in CONTROLS.items()]
    for offset, (letter, route, when) in enumerate(lives):
        live_case(engine, world, users, letter, route, when,
                  day=today + timedelta(days=30 + 7 * offset))
    with read_session(engine) as session:
        world.user_ids = list(session.exec(select(User.id)))
        world.item_ids = list(session.exec(select(AgendaItem.id)))
        world.case_ids = list(session.exec(select(Case.id)))
        world.membership_keys = [membership_key(m.user_id, m.body_code)
                                 for m in session.exec(select(Membership))]
    return world


# -- what is served ----------------------------------------------------------------------------

def get_routes(app) -> list[str]:
    """Every GET route of the app, also those of included routers."""
    def walk(routes, prefix=""):
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)
            elif "GET" in (getattr(route, "methods", None) or ()):
                yield prefix + route.path
    return sorted(set(walk(app.routes)))


def urls(route: str, world: World, subscriptions: list[int]) -> list[tuple[str, str]]:
    """(label, path) for every value of the route's parameters."""
    org = current_organisation()
    tokens = {"/feeds/personlig/": [(f"kalender:{name}", token)
                                    for name, token in world.feed_tokens.items()],
              "/afmeld/": [(f"afmeld:{sid}", follow_unsubscribe_token(sid))
                           for sid in subscriptions],
              "/paamindelser/afmeld/": [(f"frameld:{who}", unsubscribe_token(email, "*"))
                                        for who, email in world.no_rights.items()],
              "/offentlig/foelg/bekraeft/": [(f"bekraeft:{sid}", confirm_token(sid))
                                             for sid in subscriptions]}
    values = {"number": [(n, quote(n, safe="")) for n in world.numbers.values()],
              "meeting_id": [(str(i), str(i)) for i in world.meetings],
              "code": [(b.code, quote(b.code)) for b in org.bodies],
              "user_id": [(str(i), str(i)) for i in world.user_ids],
              "attachment_id": [(str(i), str(i)) for i in world.attachments],
              "item_id": [(str(i), str(i)) for i in world.item_ids],
              "case_id": [(str(i), str(i)) for i in world.case_ids],
              "membership_key": [(k, quote(k, safe="")) for k in world.membership_keys],
              "year": [("2022", "2022")]}
    # The portal's years: the world's meetings are held within the coming three months.
    this_year = local_day(utcnow()).year
    values["aar"] = [(str(y), str(y)) for y in (this_year, this_year + 1)]
    names = re.findall(r"{(\w+)(?::\w+)?}", route)
    if not names:
        return [(route, route)]
    if names == ["token"]:
        found = [v for prefix, v in tokens.items() if route.startswith(prefix)]
        assert found, f"{route}: teach the test which token it takes"
        return [(route.replace("{token}", label), route.replace("{token}", value))
                for label, value in found[0]]
    for name in names:
        assert name in values, f"{route}: teach the test the values of {{{name}}}"
    filled = []
    for choice in itertools.product(*(values[name] for name in names)):
        label, path = route, route
        for name, (shown, value) in zip(names, choice, strict=True):
            parameter = re.compile(r"{" + name + r"(?::\w+)?}")
            label, path = parameter.sub(shown, label), parameter.sub(value, path)
        filled.append((label, path))
    return filled


def fetch_all(base_url: str, routes: list[str], world: World,
              subscriptions: list[int]) -> dict[str, str]:
    served = {}
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=60) as client:
        for route in routes:
            for label, path in with_bilag(route, urls(route, world, subscriptions)):
                for who, headers in (("anonym", {}),
                                     ("token", {"Authorization": f"Bearer {world.api_token}"})):
                    response = client.get(path, headers=headers)
                    # /readyz answers 503 when a part is missing (here: the mail server).
                    assert response.status_code < 500 or path == "/readyz", \
                        (path, response.text)
                    text = response.text
                    if response.headers.get("content-type", "") == "application/pdf":
                        text = pdf_text(response.content)
                    elif response.headers.get("content-type", "").startswith("text/calendar"):
                        text = text.replace("\r\n ", "").replace("\r\n\t", "")  # unfolded
                    served[f"{who} GET {label}"] = text
        served.update(search_all(client, world))
    return served


def with_bilag(route: str, paths: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A PDF route also as the samlet dagsorden med bilag (?med_bilag=1)."""
    if not route.endswith("/pdf"):
        return paths
    return paths + [(f"{label}?med_bilag=1", f"{path}?med_bilag=1") for label, path in paths]


def pdf_text(content: bytes) -> str:
    """The text of a PDF, as pypdf reads it back (a marker is one word: never broken)."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def search_all(client: httpx.Client, world: World) -> dict[str, str]:
    """The public search page and the API's search, for each case's marker (all its texts),
    without the highlights (they would split a marker)."""
    found = {}
    for letter in [*SCENARIOS, *CONTROLS]:
        for who, path, headers in (
                ("anonym", "/offentlig/soeg", {}),
                ("token", "/api/search", {"Authorization": f"Bearer {world.api_token}"})):
            response = client.get(path, params={"q": f"mk{letter}", "antal": 100},
                                  headers=headers)
            assert response.status_code == 200, (path, response.text)
            found[f"{who} GET {path}?q=mk{letter}"] = unmarked(response.text)
    return found


def unmarked(text: str) -> str:
    """A search result without its highlights: a marker is whole again, so it is seen."""
    return text.replace("<mark>", "").replace("</mark>", "")


def render_documents(engine, world: World, folder) -> dict[str, str]:
    """The public agenda and minutes, now and as each agenda was published, as HTML and as
    PDF (a publication's PDF as it was kept, if it was)."""
    runner = CliRunner()
    found = {}
    with read_session(engine) as session:
        publications = {m: [p.seq for p in meeting_queries.publications(session, m)]
                        for m in world.meetings}
    for meeting_id, seqs in publications.items():
        commands = [["--kind", "dagsorden"], ["--kind", "referat"]] + \
            [["--publication", str(seq)] for seq in seqs]
        for extra in commands:
            args = ["meeting", "render", str(meeting_id), "--public", *extra]
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, result.output
            found[" ".join(args)] = result.output
        # The PDFs, each also as the samlet dagsorden med bilag.
        for extra in commands + [[*extra, "--med-bilag"] for extra in commands[1:]]:
            out = folder / f"{meeting_id}-{'-'.join(extra)}.pdf"
            args = ["meeting", "pdf", str(meeting_id), "--public", *extra, "--out", str(out)]
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, result.output
            found[" ".join(args[:-2])] = pdf_text(out.read_bytes())
    for letter in [*SCENARIOS, *CONTROLS]:
        args = ["search", f"mk{letter}", "--offentlig", "--antal", "100", "--json"]
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        found[" ".join(args)] = unmarked(result.output)
    return found


def deliver_all(engine) -> dict[str, list[str]]:
    """Send every row the outbox holds (whenever due) to a real SMTP server; the mails as
    received, decoded, by recipient."""
    later = utcnow() + timedelta(days=400)
    with MailSink() as sink:
        mailer = delivery.Mailer("127.0.0.1", sink.port, timeout=10)
        while True:
            with write_session(engine) as session:
                claims = outbox.claim_due(session, later, 200)
            if not claims:
                break
            delivery.deliver_batch(engine, [row_id for row_id, _ in claims], claims[0][1],
                                   mailer, rules=RULES)
        mailer.close()
        messages = list(sink.handler.messages)
    with read_session(engine) as session:
        unsent = session.exec(select(Reminder.kind, Reminder.status, Reminder.last_error)
                              .where(Reminder.status.not_in([SENT, CANCELLED]))).all()
    assert not unsent, unsent
    mails: dict[str, list[str]] = {}
    for message in messages:
        parts = [str(message["Subject"])] + [part.get_content() for part in message.walk()
                                             if part.get_content_maintype() == "text"]
        for recipient in message["To"].addresses:
            mails.setdefault(recipient.addr_spec.lower(), []).append("\n".join(parts))
    return mails


@pytest.fixture(scope="module")
def served(tmp_path_factory, migrated_sqlite) -> Served:
    from web.app import create_app

    folder = tmp_path_factory.mktemp("closed")
    url = migrated_sqlite(folder / "closed.db")
    env = {"DATABASE_URL": url, "SAGSGANG_SECRET_KEY": SECRET, "SAGSGANG_VAR_DIR": str(folder),
           "SAGSGANG_OPARL_REQUESTS_PER_MINUTE": "100000"}  # the crawl asks the open data a lot
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        get_settings.cache_clear()
        engine = make_engine(url)
        try:
            world = build(engine)
            mails = deliver_all(engine)
            documents = render_documents(engine, world, folder)
            with read_session(engine) as session:
                subscriptions = list(session.exec(select(Subscription.id)))
            routes = get_routes(create_app(url))
            with WebServer(env, folder) as server:
                pages = fetch_all(server.url, routes, world, subscriptions)
        finally:
            engine.dispose()
            get_settings.cache_clear()
    no_rights = set(world.no_rights.values())
    return Served(world, pages, documents,
                  {to: found for to, found in mails.items() if to in no_rights})


slow = pytest.mark.slow  # the `served` fixture starts the web app under uvicorn


def assert_no_leaks(outputs: dict[str, str]) -> None:
    found = sorted(f"{name}: {marker}" for name, text in outputs.items()
                   for marker in secret_markers(text))
    assert not found, "closed text served:\n" + "\n".join(found)


def shown_anywhere(outputs: dict[str, str], letter: str, *, where: str = "") -> set:
    return {found for name, text in outputs.items() if where in name
            for found in fields_shown(text, letter)}


# -- the tests ---------------------------------------------------------------------------------

@slow
def test_every_text_field_of_a_case_holds_a_marker(served):
    assert served.world.unmarked == [], (
        "A string column of a case's tables holds no marker: give it one in live_case, or "
        "list it in CODES (a code, not text) or PUBLIC (the public may see it)")


@slow
def test_the_public_pages_and_feeds_show_no_closed_text(served):
    anonymous = {name: text for name, text in served.pages.items()
                 if name.startswith("anonym ")}
    assert_no_leaks(anonymous)
    # The open cases show their text there: the search looks where text would be.
    assert ("case", "summary") in shown_anywhere(anonymous, "O", where="/offentlig/moeder/")
    assert ("case", "summary") in shown_anywhere(anonymous, "O", where="/offentlig/soeg?")
    assert ("deadline", "description") in shown_anywhere(anonymous, "O", where="/feeds/sag/")
    assert ("attachment", "text") in shown_anywhere(anonymous, "O", where="GET /bilag/")
    # The open data (web.oparl): the open case's Bilag by title, the decisions of all.
    assert ("attachment", "title") in shown_anywhere(anonymous, "O", where="/oparl/v1/")
    assert ("treatment", "decision_text") in shown_anywhere(anonymous, "A", where="/oparl/v1/")
    assert ("case", "title") in shown_anywhere(anonymous, "A", where="/eksport.csv")


@slow
def test_a_followers_calendar_drops_a_case_that_became_closed(served):
    feeds = {name: text for name, text in served.pages.items() if "kalender:" in name}
    assert_no_leaks(feeds)
    shown = shown_anywhere(feeds, "O", where="kalender:follower")
    assert {("deadline", "description"), ("hearing", "title")} <= shown


@slow
def test_the_api_shows_no_closed_text_to_a_member_without_rights(served):
    api = {name: text for name, text in served.pages.items() if name.startswith("token ")}
    assert_no_leaks(api)
    assert ("case", "summary") in shown_anywhere(api, "O", where="/api/cases/")
    assert ("item_note", "text") in shown_anywhere(api, "O", where="/api/meetings/")
    assert ("attachment", "text") in shown_anywhere(api, "O", where="/api/attachments/")
    assert ("case", "summary") in shown_anywhere(api, "O", where="/api/search?")


@slow
def test_the_public_documents_show_no_closed_text_even_as_published_earlier(served):
    assert_no_leaks(served.documents)
    assert ("case", "summary") in shown_anywhere(served.documents, "O", where="--publication")
    assert ("case", "summary") in shown_anywhere(served.documents, "O", where="--offentlig")
    # An open item's votes and notes are in the public minutes; a closed one's are not.
    assert ("item_note", "text") in shown_anywhere(served.documents, "O",
                                                   where="--kind referat")
    # The closed cases are there, as number, title and decision.
    for letter in SCENARIOS:
        assert ("case", "title") in shown_anywhere(served.documents, letter)


@slow
def test_mails_to_people_without_rights_show_no_closed_text(served):
    mails = {f"{to} #{n}": text for to, found in served.mails.items()
             for n, text in enumerate(found)}
    assert set(served.mails) == set(served.world.no_rights.values())  # each got mail
    assert_no_leaks(mails)
    follower = served.world.no_rights["follower"]
    assert ("case_event", "reason") in shown_anywhere(mails, "O", where=follower)
    informed = served.world.no_rights["informed"]
    assert ("case_event", "reason") in shown_anywhere(mails, "P", where=informed)
    citizen = served.world.no_rights["citizen_phrase"]  # quotes the matching open text
    assert ("case", "summary") in shown_anywhere(mails, "O", where=citizen)


# -- mail queued while open, sent once closed (in this process: no web app needed) ------------

def test_news_queued_while_a_case_was_open_is_sent_closed(engine):
    """Each kind of news is queued while the case is open and built after it became closed:
    what is sent is decided then (follow news, information notice, agenda news)."""
    today = local_day(utcnow())
    with write_session(engine) as session:
        add_user(session, "sekr", "secretariat")
        users = {"follower": add_user(session, "follower", "member", ["BSU"]),
                 "informed": add_user(session, "informed", "member", ["HR"]),
                 "watcher": add_user(session, "watcher", "member", ["BSU"])}
        session.add(Subscription(email=users["watcher"].email, user_id=users["watcher"].id,
                                 body_code="SU", created_at=utcnow()))
        case = services.create_case(session, {
            "number": "N-1", "title": "Sag om en borger", "centre": CENTRE,
            "deciding_body": "SU", "summary": "SAMMENDRAG-MARKØR",
            "proposals": ["at sagen godkendes"]}, actor="sekr")
        session.add(Subscription(email=users["follower"].email, user_id=users["follower"].id,
                                 case_id=case.id, created_at=utcnow()))
        actions.submit(session, "N-1", actor="sekr", reason="BEGRUNDELSE-MARKØR")
        meeting = create_meeting(session, body="SU", day=today + timedelta(days=30))
        item = place_case(session, meeting.id, "N-1")
        publish_agenda(session, meeting.id, actor="sekr")
        held = meeting.starts_at + timedelta(hours=1)
        record_item_decision(session, item.id, wording="Godkendt", actor="sekr",
                             decision_text="Godkendt.", now=held)
        actions.send_for_information(session, "N-1", actor="sekr", bodies=["HR"],
                                     reason="NOTE-MARKØR", now=held)
    derive(engine)
    with read_session(engine) as session:
        queued = " ".join(str(row.context) for row in session.exec(select(Reminder)))
    assert "BEGRUNDELSE-MARKØR" in queued and "NOTE-MARKØR" in queued  # queued in full
    with write_session(engine) as session:
        services.update_case(session, "N-1", {"confidential": True}, actor="sekr",
                             now=held + timedelta(minutes=5))
    mails = deliver_all(engine)
    for name in users:
        for text in mails[f"{name}@example.org"]:
            assert "Sag om en borger" in text  # its title is public
            for marker in ("BEGRUNDELSE-MARKØR", "NOTE-MARKØR", "SAMMENDRAG-MARKØR"):
                assert marker not in text
    assert any("lukket punkt" in text for text in mails["follower@example.org"])
    assert any("Sag om en borger (lukket punkt)" in text
               for text in mails["watcher@example.org"])


@slow
def test_the_pdfs_show_no_closed_text_even_as_kept_when_published(served):
    """The public PDFs (pages, API, command line), read back with pypdf. Each agenda's PDFs
    were kept when it was published, while every case was open: those of the cases closed
    since are made anew, never served as kept."""
    pdfs = {name: text for name, text in (served.pages | served.documents).items()
            if "pdf" in name}
    assert any("/offentlig/moeder/" in name for name in pdfs)
    assert any("--publication" in name for name in pdfs)
    assert_no_leaks(pdfs)
    assert ("case", "summary") in shown_anywhere(pdfs, "O", where="--publication")
    # The samlet ones carry an open case's public Bilag file, and nothing closed.
    for where in ("--med-bilag", "?med_bilag=1"):
        assert ("attachment", "text") in shown_anywhere(pdfs, "O", where=where)
    assert ("case", "summary") in shown_anywhere(pdfs, "O", where="anonym GET /offentlig/")
    for letter in SCENARIOS:
        assert ("case", "title") in shown_anywhere(pdfs, letter)
