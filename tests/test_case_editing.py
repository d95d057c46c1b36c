"""Editing a registered case's text (the case owner reworks a case, also one sent back): the
service with its audit event and compare-and-set on the version, the command line, and the
"Redigér sag" page with its role matrix; bad input writes nothing."""

import re

import pytest
from click.testing import CliRunner
from servers import database_dump
from test_services import assert_replay_equals_stored
from web_fixtures import (
    CENTRE,
    OTHER_CENTRE,
    anonymous,
    as_role,
    make_case,
    page_csrf,
)

from cases import actions, queries, services
from cases.db import make_engine, read_session, write_session
from cli.main import cli
from demo.users import DEMO_USERS
from workflow.errors import Conflict, InvalidInput, NotFound, TransitionRefused

OWNER_EMAIL = next(f"{u}@demo.sagsgang.invalid" for u, _, _, role, _, _ in DEMO_USERS
                   if role == "case_owner")  # the demo case owner (centre: CENTRE)


def register(engine, number: str = "UU-1", **fields) -> None:
    data = {"number": number, "title": "Udsattestrategi", "centre": CENTRE,
            "deciding_body": "KB", "committees": ["SU"], "summary": "Kort sammendrag.",
            "owner_name": "Bo", "owner_email": "bo@ballerup.dk",
            "proposals": ["Strategien godkendes.", "Den sendes i høring."],
            "attachments": [{"title": "Strategi", "recommended": True}], **fields}
    with write_session(engine) as session:
        services.create_case(session, data, actor="test")


def edit(engine, number: str, data: dict, **kwargs):
    with write_session(engine) as session:
        return services.update_case(session, number, data, actor="sagsbehandler", **kwargs)


def stored(engine, number: str) -> dict:
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        return {"title": case.title, "summary": case.summary, "owner_email": case.owner_email,
                "confidential": case.confidential, "version": case.version,
                "status": case.status, "committees": case.committees,
                "proposals": [(p.number, p.text) for p in queries.proposals(session, case.id)],
                "attachments": [(a.number, a.title, a.recommended)
                                for a in queries.attachments(session, case.id)],
                "last_event": queries.events(session, case.id)[-1],
                "marked": case.last_seq > case.notified_seq}


# -- the service -------------------------------------------------------------------------------

def test_it_edits_the_text_and_logs_what_changed(db):
    register(db)
    before = stored(db, "UU-1")
    event = edit(db, "UU-1", {
        "title": "Udsattestrategi 2026", "summary": "Et nyt sammendrag.",
        "owner_email": "ny@ballerup.dk", "confidential": True,
        "proposals": ["Strategien godkendes med ændringer."],
        "attachments": [{"title": "Strategi, 2. udgave", "recommended": False},
                        {"title": "Høringsnotat", "recommended": True}]})
    after = stored(db, "UU-1")
    assert after["title"] == "Udsattestrategi 2026"
    assert after["summary"] == "Et nyt sammendrag."
    assert (after["owner_email"], after["confidential"]) == ("ny@ballerup.dk", True)
    assert after["proposals"] == [(1, "Strategien godkendes med ændringer.")]
    assert after["attachments"] == [(1, "Strategi, 2. udgave", False),
                                    (2, "Høringsnotat", True)]
    assert after["version"] == before["version"] + 1
    assert (after["status"], after["committees"]) == (before["status"], before["committees"])
    assert after["last_event"].id == event.id and event.trigger == "edit_case"
    assert (event.actor, event.from_state, event.to_state) == ("sagsbehandler", "draft",
                                                               "draft")
    assert event.payload == {
        "fields": ["title", "owner_email", "confidential", "summary", "proposals",
                   "attachments"],
        "values": {"title": {"old": "Udsattestrategi", "new": "Udsattestrategi 2026"},
                   "owner_email": {"old": "bo@ballerup.dk", "new": "ny@ballerup.dk"},
                   "confidential": {"old": False, "new": True}}}
    assert event.reason == ("Ændret: titel, sagsbehandlers e-mail, lukket punkt, sammendrag, "
                            "indstilling, bilag")
    assert after["marked"]  # the sweep refreshes its reminders (a new owner, a new title)
    assert_replay_equals_stored(db, "UU-1")


def test_it_changes_only_the_fields_given(db):
    register(db)
    edit(db, "UU-1", {"summary": "Kun sammendraget."})
    after = stored(db, "UU-1")
    assert after["title"] == "Udsattestrategi" and after["summary"] == "Kun sammendraget."
    assert after["proposals"] == [(1, "Strategien godkendes."), (2, "Den sendes i høring.")]
    assert after["last_event"].payload == {"fields": ["summary"], "values": {}}


def test_it_writes_nothing_when_nothing_changed(db):
    register(db)
    before = database_dump(db)
    assert edit(db, "UU-1", {"title": "  Udsattestrategi ",
                             "proposals": ["Strategien godkendes.", "Den sendes i høring."]},
                expected_version=1) is None
    assert database_dump(db) == before


def test_it_reworks_a_case_sent_back(db):
    register(db)
    act = dict(actor="sekretariat")
    with write_session(db) as session:
        actions.submit(session, "UU-1", **act)
        actions.record_decision(session, "UU-1", body="SU", wording="anbefales",
                                meeting_date="06-09-2022", **act)
        actions.record_decision(session, "UU-1", body="ØU", wording="sendes_tilbage",
                                meeting_date="20-09-2022", bodies=["SU"], reason="Mere belysning",
                                **act)
    version = stored(db, "UU-1")["version"]
    edit(db, "UU-1", {"presentation": "Omskrevet efter ØU."}, expected_version=version)
    after = stored(db, "UU-1")
    assert (after["status"], after["version"]) == ("committee", version + 1)
    assert_replay_equals_stored(db, "UU-1")


def _withdrawn(engine):
    with write_session(engine) as session:
        actions.withdraw(session, "UU-1", actor="t", reason="Udgår.")
    return "UU-1", {"title": "Ny titel"}, {}


BAD_INPUT = {
    "empty title": (lambda e: ("UU-1", {"title": "  "}, {}), InvalidInput,
                    "titel: må ikke være tom"),
    "301-char title": (lambda e: ("UU-1", {"title": "x" * 301}, {}), InvalidInput,
                       "titel: højst 300 tegn"),
    "bad owner email": (lambda e: ("UU-1", {"owner_email": "bo at ballerup"}, {}),
                        InvalidInput,
                        "sagsbehandlers e-mail: er ikke en gyldig e-mailadresse"),
    "blank proposal": (lambda e: ("UU-1", {"proposals": ["Godkendes.", " "]}, {}),
                       InvalidInput, "hvert punkt i indstillingen skal have 1-5000 tegn"),
    "attachment without title": (lambda e: ("UU-1", {"attachments": [{"title": ""}]}, {}),
                                 InvalidInput, "bilag nr. 1, titel: må ikke være tom"),
    "the deciding body": (lambda e: ("UU-1", {"title": "Ny", "deciding_body": "SU"}, {}),
                          InvalidInput, "Beslutningskompetence kan ikke redigeres her"),
    "an unknown field": (lambda e: ("UU-1", {"titel": "Ny"}, {}), InvalidInput,
                         "titel: ukendt felt"),
    "finished case": (_withdrawn, TransitionRefused,
                      "er trukket tilbage og kan ikke længere redigeres"),
    "stale version": (lambda e: ("UU-1", {"title": "Ny titel"}, {"expected_version": 7}),
                      Conflict, "er ændret af en anden, siden du hentede den"),
    "unknown case": (lambda e: ("UU-404", {"title": "Ny titel"}, {}), NotFound,
                     "Sagen 'UU-404' findes ikke"),
}


@pytest.mark.parametrize("case", BAD_INPUT, ids=list(BAD_INPUT))
def test_it_refuses_bad_input_and_writes_nothing(db, case):
    register(db)
    make_input, error, message = BAD_INPUT[case]
    number, data, kwargs = make_input(db)
    before = database_dump(db)
    with pytest.raises(error) as raised:
        edit(db, number, data, **kwargs)
    assert message in raised.value.message
    assert database_dump(db) == before


def test_it_gives_the_same_messages_as_registering_a_case(db):
    register(db)
    for field, value in (("title", "x" * 301), ("summary", "x" * 50_001),
                         ("owner_name", "x" * 201), ("owner_email", "ikke-en-adresse"),
                         ("proposals", ["x" * 5001]), ("attachments", [{"title": "x" * 301}])):
        with pytest.raises(InvalidInput) as creating:
            register(db, number="UU-2", **{field: value})
        with pytest.raises(InvalidInput) as editing:
            edit(db, "UU-1", {field: value})
        assert creating.value.message == editing.value.message, field


def test_it_bumps_the_version_so_a_form_read_before_the_edit_is_stale(db):
    register(db)
    with write_session(db) as session:
        actions.submit(session, "UU-1", actor="t")
    shown = stored(db, "UU-1")["version"]
    edit(db, "UU-1", {"title": "Redigeret titel"})  # no expected version: still bumps it
    assert stored(db, "UU-1")["version"] == shown + 1
    before = database_dump(db)
    with pytest.raises(Conflict), write_session(db) as session:
        actions.record_decision(session, "UU-1", body="SU", wording="anbefales",
                                meeting_date="04-10-2022", actor="t", expected_version=shown)
    with pytest.raises(Conflict):
        edit(db, "UU-1", {"title": "Anden redaktørs titel"}, expected_version=shown)
    assert database_dump(db) == before
    with write_session(db) as session:
        actions.record_decision(session, "UU-1", body="SU", wording="anbefales",
                                meeting_date="04-10-2022", actor="t",
                                expected_version=shown + 1)
    assert stored(db, "UU-1")["version"] == shown + 2


# -- the command line --------------------------------------------------------------------------

@pytest.fixture
def run(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    return lambda *args: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)


def test_it_edits_a_case_from_the_command_line(run, sqlite_url):
    engine = make_engine(sqlite_url)
    register(engine)
    result = run("case", "edit", "UU-1", "--title", "Udsattestrategi 2026",
                 "--proposal", "Strategien godkendes.", "--proposal", "Der følges op i 2027.")
    assert result.exit_code == 0, result.output
    assert result.output == "Sag UU-1 er redigeret: titel, indstilling (version 2).\n"
    assert stored(engine, "UU-1")["proposals"] == [(1, "Strategien godkendes."),
                                                   (2, "Der følges op i 2027.")]
    assert "Sag UU-1: Udsattestrategi 2026" in run("case", "show", "UU-1").output
    history = run("case", "history", "UU-1", "--events").output
    assert "Sag redigeret" in history and "Ændret: titel, indstilling" in history
    assert run("case", "edit", "UU-1", "--title", "Udsattestrategi 2026").output == \
        "Sag UU-1 er uændret (version 2).\n"

    before = database_dump(engine)
    for args, message in ((("--title", ""), "titel: må ikke være tom"),
                          (("--title", "x" * 301), "titel: højst 300 tegn"),
                          ((), "Angiv mindst ét felt"),
                          (("--title", "Ny", "--version", "1"), "er ændret af en anden")):
        refused = CliRunner().invoke(cli, ["case", "edit", "UU-1", *args])
        assert refused.exit_code == 1 and message in refused.output, refused.output
    assert database_dump(engine) == before
    engine.dispose()


# -- the "Redigér sag" page --------------------------------------------------------------------

def _edit_form(client, number: str) -> dict:
    """The form as the page shows it, ready to post back."""
    html = client.get(f"/sager/{number}/rediger").text
    fields = dict(re.findall(r'<input name="(\w+)" value="([^"]*)"', html))
    fields.update(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    fields.update(re.findall(r'<textarea name="(\w+)">([^<]*)</textarea>', html))
    fields["owner_email"] = re.search(r'name="owner_email" type="email" value="([^"]*)"',
                                      html).group(1)
    return fields


def test_it_edits_a_case_from_its_page(web_app, web_engine):
    number = make_case(web_engine, title="Gammel titel")
    client = as_role(web_app, "secretariat")
    page = client.get(f"/sager/{number}").text
    assert f'href="/sager/{number}/rediger"' in page
    form = _edit_form(client, number)
    assert form["title"] == "Gammel titel" and form["proposals"] == "at sagen godkendes"
    assert form["version"] == "2"
    response = client.post(f"/sager/{number}/rediger", data={
        **form, "title": "<script>alert('x')</script> Ny titel",
        "proposals": "at sagen godkendes\nat der følges op",
        "attachment_title_1": "Notat", "attachment_recommended_1": "on",
        "attachment_title_3": "Bilag uden anbefaling"})
    assert response.status_code == 303 and response.headers["location"] == f"/sager/{number}"
    html = client.get(f"/sager/{number}").text
    assert "Sagen er redigeret. Ændret: titel, indstilling, bilag." in html
    assert "&lt;script&gt;alert(" in html and "<script>alert(" not in html
    assert "<li>at der følges op</li>" in html
    assert "1. Notat (anbefales)" in html and "2. Bilag uden anbefaling</li>" in html
    assert 'name="version" value="3"' in html  # the workflow's forms post the new version
    timeline = html.split('id="tidslinje"')[1]
    assert "Ændret: titel, indstilling, bilag" in timeline
    assert "Sag redigeret" in timeline and "edit_case" not in timeline
    edit_page = client.get(f"/sager/{number}/rediger").text
    assert "&lt;script&gt;alert(" in edit_page and "<script>alert(" not in edit_page


def test_it_keeps_the_workflows_version_check_after_an_edit(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    form = _edit_form(client, number)
    client.post(f"/sager/{number}/rediger", data={**form, "summary": "Nyt sammendrag."})
    decision = {"csrf_token": page_csrf(client), "body": "SU", "wording": "anbefales",
                "meeting_date": "04-10-2022"}
    stale = client.post(f"/sager/{number}/beslutning", data={**decision, "version": "2"},
                        headers={"referer": f"http://testserver/sager/{number}"})
    assert stale.status_code == 409
    assert "er ændret af en anden" in stale.text
    assert stored(web_engine, number)["status"] == "committee"
    with read_session(web_engine) as session:
        assert sorted(queries.awaiting_bodies(
            session, queries.get_case(session, number).id)) == ["BSU", "SU"]
    client.post(f"/sager/{number}/beslutning", data={**decision, "version": "3"})
    with read_session(web_engine) as session:
        assert queries.awaiting_bodies(session,
                                       queries.get_case(session, number).id) == ["BSU"]


def test_it_answers_bad_input_and_a_stale_form_with_the_form_and_writes_nothing(web_app,
                                                                                 web_engine):
    number = make_case(web_engine, title="Uændret titel")
    client = as_role(web_app, "secretariat")
    form = _edit_form(client, number)
    before = database_dump(web_engine)
    empty = client.post(f"/sager/{number}/rediger", data={**form, "title": "",
                                                          "summary": "Mit arbejde"})
    assert empty.status_code == 400 and "titel: må ikke være tom" in empty.text
    assert "Mit arbejde" in empty.text  # what was typed is kept
    long = client.post(f"/sager/{number}/rediger", data={**form, "title": "x" * 301})
    assert long.status_code == 400 and "titel: højst 300 tegn" in long.text
    stale = client.post(f"/sager/{number}/rediger", data={**form, "version": "1",
                                                          "title": "Ny titel"})
    assert stale.status_code == 409 and "er ændret af en anden" in stale.text
    assert database_dump(web_engine) == before


def test_it_refuses_to_edit_a_finished_case(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    form = _edit_form(client, number)
    with write_session(web_engine) as session:
        actions.withdraw(session, number, actor="t", reason="Udgår.")
    assert f"/sager/{number}/rediger" not in client.get(f"/sager/{number}").text
    shown = client.get(f"/sager/{number}/rediger")
    assert shown.status_code == 409 and "kan ikke længere redigeres" in shown.text
    before = database_dump(web_engine)
    posted = client.post(f"/sager/{number}/rediger", data={**form, "version": "3",
                                                           "title": "Ny titel"})
    assert posted.status_code == 409 and "kan ikke længere redigeres" in posted.text
    assert database_dump(web_engine) == before


@pytest.mark.parametrize("role", ["member", "manager"])
def test_it_refuses_members_and_managers(web_app, web_engine, role):
    number = make_case(web_engine)
    form = _edit_form(as_role(web_app, "secretariat"), number)
    client = as_role(web_app, role)
    assert f"/sager/{number}/rediger" not in client.get(f"/sager/{number}").text
    assert client.get(f"/sager/{number}/rediger").status_code == 403
    before = database_dump(web_engine)
    refused = client.post(f"/sager/{number}/rediger", data={
        **form, "csrf_token": page_csrf(client), "title": "Ny titel"})
    assert refused.status_code == 403 and "redigere sager" in refused.text
    assert database_dump(web_engine) == before


def test_it_sends_anonymous_visitors_to_the_login_page(web_app, web_engine):
    number = make_case(web_engine)
    client = anonymous(web_app)
    shown = client.get(f"/sager/{number}/rediger")
    assert shown.status_code == 303
    assert shown.headers["location"] == f"/login?next=/sager/{number}/rediger"
    before = database_dump(web_engine)
    posted = client.post(f"/sager/{number}/rediger", data={"title": "Ny", "version": "2"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/login")
    assert database_dump(web_engine) == before


def test_it_refuses_a_post_without_the_csrf_token(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    form = _edit_form(client, number)
    before = database_dump(web_engine)
    for token in (None, "x" * 43):
        data = {**form, "title": "Ny titel"}
        data.pop("csrf_token")
        if token:
            data["csrf_token"] = token
        assert client.post(f"/sager/{number}/rediger", data=data).status_code == 403
    assert database_dump(web_engine) == before


def test_it_lets_a_case_owner_edit_their_own_cases_only(web_app, web_engine):
    own = make_case(web_engine, owner_email=OWNER_EMAIL.upper())
    unnamed = make_case(web_engine)  # no sagsbehandler named: the owning centre writes it
    colleagues = make_case(web_engine, owner_email="kollega@ballerup.dk")
    other_centre = make_case(web_engine, centre=OTHER_CENTRE, committees=("KMU",))
    secretariat = as_role(web_app, "secretariat")
    forms = {n: _edit_form(secretariat, n) for n in (own, unnamed, colleagues, other_centre)}
    client = as_role(web_app, "case_owner")
    for number in (own, unnamed):
        assert f"/sager/{number}/rediger" in client.get(f"/sager/{number}").text
        response = client.post(f"/sager/{number}/rediger", data={
            **forms[number], "csrf_token": page_csrf(client), "title": "Sagsbehandlerens"})
        assert response.status_code == 303, number
        assert stored(web_engine, number)["title"] == "Sagsbehandlerens"
        assert stored(web_engine, number)["last_event"].actor == "sagsbehandler"
    before = database_dump(web_engine)
    for number in (colleagues, other_centre):
        assert f"/sager/{number}/rediger" not in client.get(f"/sager/{number}").text
        assert client.get(f"/sager/{number}/rediger").status_code == 403
        refused = client.post(f"/sager/{number}/rediger", data={
            **forms[number], "csrf_token": page_csrf(client), "title": "Ikke min"})
        assert refused.status_code == 403 and "selv er sagsbehandler på" in refused.text
    assert database_dump(web_engine) == before


def test_it_leaves_the_lukket_punkt_to_the_secretariat(web_app, web_engine):
    """Whether a case is closed decides what the public and the mails see: a case owner's
    form shows it but cannot change it; the secretariat's can."""
    number = make_case(web_engine, owner_email=OWNER_EMAIL, confidential=True)
    owner = as_role(web_app, "case_owner")
    form = _edit_form(owner, number)
    assert re.search(r'name="confidential" checked disabled', owner.get(
        f"/sager/{number}/rediger").text)
    response = owner.post(f"/sager/{number}/rediger", data={
        **form, "csrf_token": page_csrf(owner), "title": "Ny titel"})  # no "confidential"
    assert response.status_code == 303
    assert (stored(web_engine, number)["title"], stored(web_engine, number)["confidential"]) == (
        "Ny titel", True)
    secretariat = as_role(web_app, "secretariat")
    form = _edit_form(secretariat, number)
    secretariat.post(f"/sager/{number}/rediger",
                     data={**form, "csrf_token": page_csrf(secretariat)})
    assert stored(web_engine, number)["confidential"] is False


def test_it_keeps_a_proposal_written_over_several_lines_whole(web_app, web_engine):
    number = make_case(web_engine)
    with write_session(web_engine) as session:
        services.update_case(session, number, {"proposals": [
            "at planen godkendes med:\n- tidsplan\n- budget", "at der følges op"]},
            actor="cli")
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/rediger", data={
        **_edit_form(client, number), "csrf_token": page_csrf(client), "title": "Ny titel"})
    assert response.status_code == 303
    assert stored(web_engine, number)["proposals"] == [
        (1, "at planen godkendes med:\n- tidsplan\n- budget"), (2, "at der følges op")]
