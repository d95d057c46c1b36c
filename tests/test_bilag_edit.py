"""Editing a Bilag after upload: its title, whether it is recommended and whether it is public,
on the case page and through the API. A refused edit changes nothing (the page keeps what was
typed, with the message at its field); an edit is an audit event, so the search sweep indexes
the case again; a Bilag made not public is at once 404 to the public and left off the public
agenda, as meetings.bilag decides when it is served."""

import itertools
import re

import pytest
from sqlmodel import select
from web_fixtures import ROLE_USERS, anonymous, as_role, bearer, days, make_case, page_csrf

from cases import actions, files, queries, services
from cases.db import read_session, write_session
from cases.models import Attachment, CaseEvent
from cases.settings import current_organisation
from meetings import search
from meetings.services import create_meeting, place_case, publish_agenda
from notifications.changes import notify_changed_cases
from notifications.rules import ReminderRules
from workflow import access

OWNER_EMAIL = f"{ROLE_USERS['case_owner'][0]}@demo.sagsgang.invalid"
BILAG = b"%PDF-1.4\n%%EOF\n"  # the smallest PDF taken
_days = itertools.count(3000, 7)


@pytest.fixture(autouse=True)
def files_in_the_database(monkeypatch):
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_STORE", "database")


def attached(engine, title: str = "Kort over området", **options) -> tuple[str, int]:
    """A fresh case of the case owner's (SU only) with one Bilag: (number, its id)."""
    number = make_case(engine, owner_email=OWNER_EMAIL, deciding_body="SU",
                       committees=("SU",))
    with write_session(engine) as session:
        return number, files.attach(session, number, filename="kort.pdf", content=BILAG,
                                    title=title, actor="test", **options).id


def row(engine, attachment_id: int) -> Attachment:
    with read_session(engine) as session:
        return session.get(Attachment, attachment_id)


def events(engine, number: str) -> list[CaseEvent]:
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        return list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.seq)))


def snapshot(engine, number: str, attachment_id: int) -> tuple:
    found = row(engine, attachment_id)
    return (found.title, found.recommended, found.public, len(events(engine, number)))


def on_a_published_agenda(engine, number: str) -> int:
    with write_session(engine) as session:
        meeting = create_meeting(session, body="SU", day=days(next(_days)))
        place_case(session, meeting.id, number, late_reason="test")
        publish_agenda(session, meeting.id, actor="test")
        return meeting.id


def flashes(html: str) -> str:
    return " ".join(re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', html, re.S))


# -- the case page -----------------------------------------------------------------------------

def test_the_case_page_offers_each_bilag_a_form_with_its_values(web_app, web_engine):
    number, attachment_id = attached(web_engine, recommended=True, public=False)
    html = as_role(web_app, "case_owner").get(f"/sager/{number}").text
    form = html.split(f'id="bilag-{attachment_id}"')[1].split("</form>")[0]
    assert f'action="/sager/{number}/bilag/{attachment_id}"' in html
    assert 'value="Kort over området"' in form
    assert re.search(r'name="recommended" checked>', form)
    assert re.search(r'name="not_public" checked>', form)
    # Who may not change the case is offered no form.
    member = as_role(web_app, "member").get(f"/sager/{number}").text
    assert f'action="/sager/{number}/bilag/{attachment_id}"' not in member


def test_an_edit_on_the_case_page_changes_the_bilag_and_is_logged(web_app, web_engine):
    number, attachment_id = attached(web_engine)
    client = as_role(web_app, "case_owner")
    response = client.post(f"/sager/{number}/bilag/{attachment_id}", data={
        "csrf_token": page_csrf(client), "title": "  Kort over området, rettet ",
        "recommended": "on"})
    assert response.status_code == 303, response.text
    assert "Bilaget «Kort over området, rettet» er rettet." in \
        flashes(client.get(f"/sager/{number}").text)
    found = row(web_engine, attachment_id)
    assert (found.title, found.recommended, found.public) == \
        ("Kort over området, rettet", True, True)
    last = events(web_engine, number)[-1]
    assert (last.trigger, last.actor) == ("edit_case", ROLE_USERS["case_owner"][0])
    assert last.reason == "Bilag ændret (ny titel, anbefales): Kort over området, rettet"
    assert last.payload["attachment_id"] == attachment_id
    assert last.payload["changed"] == ["title", "recommended"]
    # The same form again changes nothing, and writes nothing.
    before = len(events(web_engine, number))
    client.post(f"/sager/{number}/bilag/{attachment_id}", data={
        "csrf_token": page_csrf(client), "title": "Kort over området, rettet",
        "recommended": "on"})
    assert "Ingen ændringer – bilaget er uændret." in flashes(client.get(f"/sager/{number}").text)
    assert len(events(web_engine, number)) == before


@pytest.mark.parametrize(("title", "message"), [
    ("   ", "Skriv bilagets titel."),
    ("Langt " * 60, "Bilagets titel må højst have 300 tegn.")])
def test_a_refused_edit_keeps_what_was_typed_and_says_why_at_the_field(web_app, web_engine,
                                                                       title, message):
    number, attachment_id = attached(web_engine)
    before = snapshot(web_engine, number, attachment_id)
    client = as_role(web_app, "case_owner")
    response = client.post(f"/sager/{number}/bilag/{attachment_id}", data={
        "csrf_token": page_csrf(client), "title": title, "recommended": "on",
        "not_public": "on"})
    assert response.status_code == 400
    html = response.text
    f = f"bilag-{attachment_id}"
    field = re.search(rf'<input id="{f}-title"[^>]*>', html).group(0)
    assert f'value="{title}"' in field and f'aria-describedby="{f}-title-fejl"' in field
    assert f'<span class="field-error" id="{f}-title-fejl">{message}</span>' in html
    form = html.split(f'id="{f}"')[1].split("</form>")[0]
    # The boxes as they were ticked, not as the Bilag is; the form shown open.
    assert 'name="recommended" checked>' in form and 'name="not_public" checked>' in form
    assert re.search(r"<details open><summary>Ret bilag 1</summary>", html)
    assert snapshot(web_engine, number, attachment_id) == before


def test_the_page_refuses_an_unknown_bilag_or_one_of_another_case(web_app, web_engine):
    number, attachment_id = attached(web_engine)
    other, others_bilag = attached(web_engine)
    client = as_role(web_app, "case_owner")
    before = snapshot(web_engine, other, others_bilag)
    for path in (f"/sager/{number}/bilag/{others_bilag}", f"/sager/{number}/bilag/99999999"):
        response = client.post(path, data={"csrf_token": page_csrf(client), "title": "Nyt"},
                               headers={"Referer": f"http://testserver/sager/{number}"})
        assert response.status_code == 303  # back to the page, with the message
        assert f"Sagen {number} har ikke det bilag." in \
            flashes(client.get(response.headers["location"]).text)
    assert snapshot(web_engine, other, others_bilag) == before


# -- the API -----------------------------------------------------------------------------------

def test_the_api_changes_only_what_it_is_given(web_app, web_engine, api_tokens):
    number, attachment_id = attached(web_engine, recommended=True)
    response = anonymous(web_app).post(f"/api/cases/{number}/attachments/{attachment_id}",
                                       json={"title": "Lokalplanens kort"},
                                       headers=bearer(api_tokens["secretariat"]))
    assert response.status_code == 200, response.text
    made = response.json()
    assert (made["id"], made["title"], made["recommended"], made["public"],
            made["changed"]) == (attachment_id, "Lokalplanens kort", True, True, ["title"])
    assert made["url"] == f"/bilag/{attachment_id}"
    found = row(web_engine, attachment_id)
    assert (found.title, found.recommended, found.public) == ("Lokalplanens kort", True, True)
    last = events(web_engine, number)[-1]
    assert last.actor == "api:sekretariat"
    assert last.reason == "Bilag ændret (ny titel): Lokalplanens kort"


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"title": ""}, 400, "Skriv bilagets titel."),
    ({"title": "x" * 301, "public": False}, 400, "Bilagets titel må højst have 300 tegn."),
    ({"title": "To\nlinjer"}, 400, "Bilagets titel"),
])
def test_the_api_refuses_invalid_input_in_danish_and_changes_nothing(web_app, web_engine,
                                                                     api_tokens, body, status,
                                                                     detail):
    number, attachment_id = attached(web_engine)
    before = snapshot(web_engine, number, attachment_id)
    response = anonymous(web_app).post(f"/api/cases/{number}/attachments/{attachment_id}",
                                       json=body, headers=bearer(api_tokens["secretariat"]))
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)
    assert snapshot(web_engine, number, attachment_id) == before


def test_the_api_refuses_an_unknown_bilag_one_of_another_case_and_a_title_only(
        web_app, web_engine, api_tokens):
    number, _ = attached(web_engine)
    other, others_bilag = attached(web_engine)
    with write_session(web_engine) as session:
        services.update_case(session, number, {"attachments": [{"title": "Kun en titel"}]},
                             actor="test")
        title_only = session.exec(select(Attachment.id).where(
            Attachment.title == "Kun en titel")).all()[-1]
    before = snapshot(web_engine, other, others_bilag)
    for attachment_id in (others_bilag, 99999999, title_only):
        response = anonymous(web_app).post(
            f"/api/cases/{number}/attachments/{attachment_id}", json={"public": False},
            headers=bearer(api_tokens["secretariat"]))
        assert response.status_code == 404
        assert response.json() == {"detail": f"Sagen {number} har ikke det bilag."}
    assert snapshot(web_engine, other, others_bilag) == before
    assert row(web_engine, title_only).public


def test_a_finished_cases_bilag_is_not_edited(web_app, web_engine, api_tokens):
    number, attachment_id = attached(web_engine)
    with write_session(web_engine) as session:
        actions.run_action(session, number, "withdraw", {"reason": "Trukket"}, actor="test")
    before = snapshot(web_engine, number, attachment_id)
    response = anonymous(web_app).post(f"/api/cases/{number}/attachments/{attachment_id}",
                                       json={"title": "Nyt"},
                                       headers=bearer(api_tokens["secretariat"]))
    assert response.status_code == 409
    assert "kan ikke længere redigeres" in response.json()["detail"]
    assert snapshot(web_engine, number, attachment_id) == before


# -- what follows from an edit -----------------------------------------------------------------

def test_a_bilag_made_not_public_is_at_once_404_to_the_public_and_off_the_public_agenda(
        web_app, web_engine, api_tokens):
    number, attachment_id = attached(web_engine, title="Naboernes indsigelser")
    meeting_id = on_a_published_agenda(web_engine, number)
    public = anonymous(web_app)
    assert public.get(f"/bilag/{attachment_id}").status_code == 200
    assert "Naboernes indsigelser" in public.get(f"/offentlig/moeder/{meeting_id}").text
    response = anonymous(web_app).post(f"/api/cases/{number}/attachments/{attachment_id}",
                                       json={"public": False},
                                       headers=bearer(api_tokens["secretariat"]))
    assert response.status_code == 200, response.text
    assert response.json()["public"] is False
    served = public.get(f"/bilag/{attachment_id}")
    assert served.status_code == 404 and "Bilaget findes ikke." in served.text
    assert "Naboernes indsigelser" not in public.get(f"/offentlig/moeder/{meeting_id}").text
    other = anonymous(web_app).get(f"/api/attachments/{attachment_id}",
                                   headers=bearer(api_tokens["other_member"]))
    assert other.status_code == 404  # a member of another body (BSU)
    # Who may read the case's closed text still reads it (SU's member, the secretariat).
    assert as_role(web_app, "member").get(f"/bilag/{attachment_id}").status_code == 200
    assert anonymous(web_app).get(f"/api/attachments/{attachment_id}", headers=bearer(
        api_tokens["secretariat"])).status_code == 200
    # The timeline everyone who reads the case sees does not name it.
    last = events(web_engine, number)[-1]
    assert last.reason == "Bilag ikke længere offentligt"


def test_the_sweep_indexes_the_edited_title(web_app, web_engine, api_tokens):
    number, attachment_id = attached(web_engine, title="Skitse af cykelstien")
    rules = ReminderRules(office_hours_only=False)
    notify_changed_cases(web_engine, rules=rules)
    staff = access.Viewer(role=access.SECRETARIAT)

    def found(text: str) -> set:
        with read_session(web_engine) as session:
            hits = search.search(current_organisation(), session, text, staff).hits
        return {(hit.kind, hit.case_number) for hit in hits}

    assert ("bilag", number) in found("cykelstien")
    response = anonymous(web_app).post(f"/api/cases/{number}/attachments/{attachment_id}",
                                       json={"title": "Tegning af gangbroen"},
                                       headers=bearer(api_tokens["secretariat"]))
    assert response.status_code == 200, response.text
    notify_changed_cases(web_engine, rules=rules)
    assert ("bilag", number) in found("gangbroerne")
    assert ("bilag", number) not in found("cykelstien")
