"""The pages: login, CSRF, roles on the server, the case page's actions, the dashboard,
hostile input, closed items, follow and unsubscribe."""

import re

from sqlmodel import select
from web_fixtures import (
    OTHER_CENTRE,
    anonymous,
    as_role,
    csrf_of,
    days,
    logged_in,
    make_case,
    page_csrf,
)

from cases import actions, queries
from cases.db import read_session, write_session
from cases.models import Case
from notifications.models import Subscription


def _flash(client, path: str) -> str:
    html = client.get(path).text
    found = re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', html, re.S)
    return " ".join(found)


def _status(engine, number: str) -> str:
    with read_session(engine) as session:
        return queries.get_case(session, number).status


# -- access ------------------------------------------------------------------------------------

def test_it_sends_anonymous_visitors_to_the_login_page(web_app):
    client = anonymous(web_app)
    for path in ("/", "/koer", "/sager", "/sager/X-1", "/overblik", "/kalender", "/api-noegler"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path


def test_it_leaves_public_pages_open(web_app):
    client = anonymous(web_app)
    assert client.get("/offentlig").status_code == 200
    assert client.get("/login").status_code == 200
    assert client.get("/api/health").status_code == 200


def test_it_refuses_a_wrong_password_with_a_danish_message(web_app):
    client = anonymous(web_app)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "sekretariat", "password": "forkert",
                                           "csrf_token": token})
    assert response.status_code == 400
    assert "Forkert brugernavn eller adgangskode" in response.text
    assert client.get("/koer").status_code == 303


def test_it_refuses_a_login_post_without_csrf_token(web_app):
    response = anonymous(web_app).post("/login", data={"username": "sekretariat",
                                                       "password": "sekretariat-demo"})
    assert response.status_code == 403
    assert "Formularen kunne ikke godkendes" in response.text


def test_it_logs_out(web_app):
    client = as_role(web_app, "secretariat")
    assert client.get("/koer").status_code == 200
    client.post("/logout", data={"csrf_token": page_csrf(client)})
    assert client.get("/koer").status_code == 303


def test_it_checks_roles_on_the_server_for_pages(web_app, web_engine):
    number = make_case(web_engine)
    member = as_role(web_app, "member")
    assert member.get("/overblik").status_code == 403
    assert member.get("/koer").status_code == 403
    refused = member.post(f"/sager/{number}/beslutning", data={
        "csrf_token": page_csrf(member), "version": "2", "body": "SU", "wording": "anbefales",
        "meeting_date": "04-10-2022"})
    assert refused.status_code == 403
    assert _status(web_engine, number) == "committee"
    owner = as_role(web_app, "case_owner")
    assert owner.post(f"/sager/{number}/handling", data={
        "csrf_token": page_csrf(owner), "version": "2", "trigger": "withdraw",
        "reason": "x"}).status_code == 403
    assert _status(web_engine, number) == "committee"


# -- CSRF and hostile input --------------------------------------------------------------------

def test_it_refuses_a_forged_form_post_and_writes_nothing(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    form = {"version": "2", "body": "SU", "wording": "anbefales", "meeting_date": "04-10-2022"}
    assert client.post(f"/sager/{number}/beslutning", data=form).status_code == 403
    forged = client.post(f"/sager/{number}/beslutning", data={**form, "csrf_token": "x" * 43})
    assert forged.status_code == 403
    other_session_token = page_csrf(as_role(web_app, "secretariat"))
    assert client.post(f"/sager/{number}/beslutning",
                       data={**form, "csrf_token": other_session_token}).status_code == 403
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        assert case.version == 2
        assert sorted(queries.awaiting_bodies(session, case.id)) == ["BSU", "SU"]


def test_it_escapes_a_script_title_everywhere(web_app, web_engine):
    number = make_case(web_engine, title="<script>alert('x')</script> Farlig titel",
                       deadline=days(-3))
    client = as_role(web_app, "secretariat")
    for path in (f"/sager/{number}", "/koer", "/koer/SU", "/sager", "/overblik",
                 "/overblik/sager?figur=overdue"):
        html = client.get(path).text
        assert "&lt;script&gt;alert(" in html, path
        assert "<script>alert(" not in html, path


def test_it_sets_security_headers(web_app):
    response = anonymous(web_app).get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


# -- the case page -----------------------------------------------------------------------------

def test_it_offers_only_the_actions_valid_in_the_state(web_app, web_engine):
    draft = make_case(web_engine, submit=False)
    client = as_role(web_app, "secretariat")
    html = client.get(f"/sager/{draft}").text
    assert 'value="submit"' in html and 'value="close"' not in html
    assert "Registrér beslutning" not in html  # no body treats a draft


def test_it_records_a_decision_and_shows_the_history(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/beslutning", data={
        "csrf_token": page_csrf(client), "version": "2", "body": "SU", "wording": "anbefales",
        "meeting_date": "04-10-2022", "item_number": "11", "decision_text": "Anbefales."})
    assert response.status_code == 303
    html = client.get(f"/sager/{number}").text
    assert "Beslutningen «Anbefales» er registreret" in html
    assert "Afventer: Børne- og Skoleudvalget" in html
    history = html.split('id="beslutningshistorik"')[1]
    assert "04-10-2022" in history and "Socialudvalget" in history and ">11<" in history


def test_it_answers_a_stale_form_with_the_conflict_message(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    token = page_csrf(client)
    form = {"csrf_token": token, "version": "2", "wording": "anbefales",
            "meeting_date": "04-10-2022"}
    client.post(f"/sager/{number}/beslutning", data={**form, "body": "SU"})
    client.get(f"/sager/{number}")  # consume the success message
    stale = client.post(f"/sager/{number}/beslutning", data={**form, "body": "BSU"},
                        headers={"referer": f"http://testserver/sager/{number}"})
    # The page again, the message at the top of the form, what was typed kept.
    assert stale.status_code == 409
    assert "er ændret af en anden" in stale.text.split('id="beslutning-form"')[1]
    assert 'id="beslutning-meeting_date" name="meeting_date" value="04-10-2022"' in stale.text
    with read_session(web_engine) as session:
        assert queries.awaiting_bodies(session, queries.get_case(session, number).id) == ["BSU"]


def test_it_shows_a_refused_transition_as_a_message_not_an_error_page(web_app, web_engine):
    number = make_case(web_engine)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/sager/{number}/beslutning", data={
        "csrf_token": page_csrf(client), "version": "2", "body": "KMU",
        "wording": "anbefales", "meeting_date": "04-10-2022"},
        headers={"referer": f"http://testserver/sager/{number}"})
    assert response.status_code == 409
    assert "afventer ikke behandling i KMU" in response.text.split('id="beslutning-form"')[1]


def test_it_registers_a_case_deadline_and_hearing_from_forms(web_app, web_engine):
    client = as_role(web_app, "case_owner")
    number = "WEB-NY-1"
    response = client.post("/sager/ny", data={
        "csrf_token": page_csrf(client), "number": number, "title": "Ny politik",
        "centre": "Center for Voksne og Sundhed", "deciding_body": "KB",
        "committees": ["SU", "SÆU"], "proposals": "at politikken godkendes\nat den sendes ud",
        "deadline_date": "30-11-2030", "deadline_kind": "statutory",
        "deadline_description": "KB senest"})
    assert response.status_code == 303 and response.headers["location"] == f"/sager/{number}"
    client.post(f"/sager/{number}/frist", data={"csrf_token": page_csrf(client),
                                                "due_date": "01-12-2030", "kind": "external",
                                                "description": "Sendes til ministeriet"})
    client.post(f"/sager/{number}/hoering", data={
        "csrf_token": page_csrf(client), "title": "Høring i rådene", "parties": ["HR", "SR"],
        "deadline": "01-11-2030", "opened_on": "01-10-2030", "blocking": "on"})
    html = client.get(f"/sager/{number}").text
    assert "Ny politik" in html and "30-11-2030" in html and "01-12-2030" in html
    assert "Høring i rådene" in html and "Mangler svar fra: Handicaprådet, Seniorrådet" in html
    bad = client.post("/sager/ny", data={"csrf_token": page_csrf(client), "number": "x y",
                                         "title": "", "centre": "Ukendt",
                                         "deciding_body": "KB"})
    assert bad.status_code == 400 and "Ugyldigt input" in bad.text


def test_the_new_case_form_names_joint_competence(web_app, web_engine):
    client = as_role(web_app, "case_owner")
    form = client.get("/sager/ny").text
    assert "Fælles beslutningskompetence" in form and 'name="joint_bodies"' in form
    response = client.post("/sager/ny", data={
        "csrf_token": page_csrf(client), "number": "WEB-FÆLLES-1", "title": "Fælles plan",
        "centre": "Center for Voksne og Sundhed", "deciding_body": "SU",
        "joint_bodies": ["BSU"]})
    assert response.status_code == 303
    with read_session(web_engine) as session:
        case = session.exec(select(Case).where(Case.number == "WEB-FÆLLES-1")).one()
        assert (case.deciding_body, case.joint_bodies) == ("SU", ["BSU"])
        assert {"SU", "BSU"} <= set(case.committees)
    # Shared only by committees: refused in Danish, the ticks kept, nothing written.
    refused = client.post("/sager/ny", data={
        "csrf_token": page_csrf(client), "number": "WEB-FÆLLES-2", "title": "Fælles plan",
        "centre": "Center for Voksne og Sundhed", "deciding_body": "KB",
        "joint_bodies": ["BSU"]})
    assert refused.status_code == 400
    assert "deles af fagudvalg" in refused.text
    kept = 'value="BSU" aria-describedby="faelles-hjaelp" checked'
    assert kept in refused.text
    with read_session(web_engine) as session:
        assert session.exec(select(Case).where(Case.number == "WEB-FÆLLES-2")).first() is None


# -- closed items ------------------------------------------------------------------------------

def test_it_shows_a_closed_item_only_to_members_of_its_bodies(web_app, web_engine):
    number = make_case(web_engine, confidential=True, committees=("SU",), summary="FORTROLIG-42")
    own = as_role(web_app, "member").get(f"/sager/{number}").text
    assert "FORTROLIG-42" in own
    other = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo").get(f"/sager/{number}").text
    assert "FORTROLIG-42" not in other and "lukket punkt" in other.lower()
    assert "FORTROLIG-42" in as_role(web_app, "manager").get(f"/sager/{number}").text


# -- dashboard ---------------------------------------------------------------------------------

def test_it_counts_overdue_cases_with_filters_and_links(web_app, web_engine):
    overdue = make_case(web_engine, title="Forsinket sag", deadline=days(-5))
    elsewhere = make_case(web_engine, title="Anden centers sag", deadline=days(-5),
                          centre=OTHER_CENTRE, committees=("KMU",))
    client = as_role(web_app, "manager")
    html = client.get("/overblik").text
    assert overdue in html and "<svg" in html
    assert "/overblik/sager?figur=overdue" in html
    filtered = client.get("/overblik", params={"centre": OTHER_CENTRE}).text
    figure = filtered.split('id="figur-overdue"')[1].split("</section>")[0]
    assert elsewhere in figure and overdue not in figure
    by_body = client.get("/overblik", params={"organ": "KMU"}).text
    figure = by_body.split('id="figur-overdue"')[1].split("</section>")[0]
    assert elsewhere in figure and overdue not in figure
    listed = client.get("/overblik/sager", params={"figur": "overdue"}).text
    assert overdue in listed and elsewhere in listed


def test_it_lists_cases_sent_back_and_missing_responses(web_app, web_engine):
    from cases import services
    number = make_case(web_engine, committees=("SU",))
    with write_session(web_engine) as session:
        actions.treat(session, number, actor="t", body="SU",
                      wording="anbefales", meeting_date="06-09-2022")
        actions.send_back(session, number, actor="t", body="ØU",
                          wording="sendes_tilbage", meeting_date="20-09-2022",
                          bodies=["SU"], reason="Mere belysning")
        services.add_hearing(session, number, title="Høring", parties=["HR"],
                             deadline=days(-2), opened_on=days(-20), actor="t")
    client = as_role(web_app, "manager")
    sent_back = client.get("/overblik/sager", params={"figur": "sent_back"}).text
    assert number in sent_back
    missing = client.get("/overblik/sager", params={"figur": "missing_responses"}).text
    assert number in missing


def test_it_flags_a_case_whose_route_no_longer_fits(web_app, web_engine):
    at_risk = make_case(web_engine, deadline=days(10))
    fine = make_case(web_engine, deadline=days(200))
    html = as_role(web_app, "manager").get("/overblik/sager", params={"figur": "at_risk"}).text
    assert at_risk in html and fine not in html


# -- follow and unsubscribe --------------------------------------------------------------------

def test_it_follows_a_case_and_unsubscribes_without_login(web_app, web_engine):
    from web.follow import unsubscribe_path

    number = make_case(web_engine)
    client = as_role(web_app, "case_owner")
    client.post(f"/sager/{number}/foelg", data={"csrf_token": page_csrf(client)})
    assert "Du følger nu sagen" in _flash(client, f"/sager/{number}")
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        subscription = session.exec(select(Subscription).where(
            Subscription.case_id == case.id)).one()
    path = unsubscribe_path(subscription.id)
    stranger = anonymous(web_app)
    assert f"sag {number}" in stranger.get(path).text
    done = stranger.post(path)
    assert done.status_code == 200 and "Du får ikke længere e-mails" in done.text
    with read_session(web_engine) as session:
        assert session.get(Subscription, subscription.id).ended_at is not None
    assert stranger.get(path[:-3] + "abc").status_code == 404


def _site_path(url: str) -> str:
    from cases.settings import get_settings

    site_url = get_settings().site_url
    assert url.startswith(site_url + "/")
    return url[len(site_url):]


def test_it_serves_the_reminders_opt_out_link_without_login(web_app, web_engine):
    from notifications.email import unsubscribe_url
    from notifications.outbox import is_opted_out

    path = _site_path(unsubscribe_url("Ole@Example.org", "deadline_warning"))
    stranger = anonymous(web_app)
    shown = stranger.get(path)
    assert shown.status_code == 200 and "Frist nærmer sig" in shown.text
    assert "ole@example.org" in shown.text
    # A GET (a link preview, a mail scanner) stops nothing.
    with read_session(web_engine) as session:
        assert not is_opted_out(session, "ole@example.org", "deadline_warning")
    done = stranger.post(path)
    assert done.status_code == 200 and "Du får ikke længere e-mails" in done.text
    with read_session(web_engine) as session:
        assert is_opted_out(session, "ole@example.org", "deadline_warning")
        assert not is_opted_out(session, "ole@example.org", "hearing_reminder")
    assert "Du får ikke længere e-mails" in stranger.get(path).text


def test_it_refuses_forged_and_crossed_unsubscribe_links(web_app, web_engine):
    from notifications.email import follow_unsubscribe_token, unsubscribe_token
    from notifications.outbox import is_opted_out

    stranger = anonymous(web_app)
    reminder_token = unsubscribe_token("eve@example.org", "*")
    for path in [f"/paamindelser/afmeld/{reminder_token[:-3]}abc",
                 f"/afmeld/{reminder_token}",  # a reminder token is no subscription
                 f"/paamindelser/afmeld/{follow_unsubscribe_token(1)}",
                 "/afmeld/999999.bad"]:
        assert stranger.get(path).status_code == 404, path
        refused = stranger.post(path)
        assert refused.status_code == 404 and "ugyldigt" in refused.text, path
    with read_session(web_engine) as session:
        assert not is_opted_out(session, "eve@example.org", "deadline_warning")


def test_it_makes_and_revokes_api_keys_per_user(web_app, web_engine):
    client = as_role(web_app, "case_owner")
    html = client.post("/api-noegler", data={"csrf_token": page_csrf(client),
                                              "name": "ESDH"}).text  # shown in the answer only
    token = re.search(r'<code id="new-token">([^<]+)</code>', html).group(1)
    assert "new-token" not in client.get("/api-noegler").text
    api = anonymous(web_app)
    assert api.get("/api/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    key_id = re.search(r'/api-noegler/(\d+)/tilbagekald', html).group(1)
    other = as_role(web_app, "admin")
    refused = other.post(f"/api-noegler/{key_id}/tilbagekald",
                         data={"csrf_token": page_csrf(other)},
                         headers={"referer": "http://testserver/api-noegler"})
    assert "findes ikke" in _flash(other, "/api-noegler") and refused.status_code == 303
    assert api.get("/api/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    client.post(f"/api-noegler/{key_id}/tilbagekald", data={"csrf_token": page_csrf(client)})
    assert api.get("/api/cases", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_it_keeps_the_active_index_in_step_with_the_workflow(sqlite_url):
    """The migrated partial index names exactly the workflow's active states."""
    import sqlalchemy as sa

    from workflow.machine import ACTIVE

    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master "
                                   "WHERE name = 'ix_web_case_active'").scalar_one()
    engine.dispose()
    named = set(sql.split("IN (", 1)[1].split(")", 1)[0].replace("'", "").split(", "))
    assert named == set(ACTIVE)


def test_it_shows_an_item_closed_on_the_agenda_only_to_members_of_its_bodies(web_app, web_engine):
    from web_fixtures import close_on_agenda

    number = make_case(web_engine, committees=("SU",), summary="LUKKET-PÅ-DAGSORDEN-1")
    close_on_agenda(web_engine, number)
    other = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo").get(f"/sager/{number}").text
    assert "LUKKET-PÅ-DAGSORDEN-1" not in other and "lukket punkt" in other.lower()
    own = as_role(web_app, "member").get(f"/sager/{number}").text
    assert "LUKKET-PÅ-DAGSORDEN-1" in own
    assert f"/feeds/sag/{number}.ics" not in own  # no public feed offered for it
