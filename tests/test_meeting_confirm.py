"""What cannot be undone on a meeting is confirmed first: publishing the agenda, cancelling
the meeting, sending the minutes for approval. Unconfirmed, the page says what will happen
and nothing is written; posted again from that page (`confirmed=ja`), it is done."""

import html as markup
import re

from servers import database_dump
from web_fixtures import as_role, days, make_case, page_csrf

from cases.db import read_session, write_session
from meetings import queries as meeting_queries
from meetings.services import create_meeting, place_case, publish_agenda, record_item_decision


def meeting_with_case(engine, day_offset: int, title: str) -> tuple[int, str]:
    number = make_case(engine, title=title, committees=("SU",), deciding_body="SU")
    with write_session(engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(day_offset), at="01:00").id
        place_case(session, meeting_id, number, late_reason="Hastesag")
    return meeting_id, number


def confirmation(response) -> dict:
    """The confirmation page's form: its action, hidden fields and button."""
    assert response.status_code == 200, response.text[:2000]
    page = response.text
    form = page[page.index('<form method="post" action="', page.index('class="card confirm"')):]
    form = form[:form.index("</form>")]
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form))
    return {"page": markup.unescape(page), "action": re.search(r'action="([^"]+)"', form)[1],
            "fields": {k: markup.unescape(v) for k, v in fields.items()},
            "button": re.search(r'<button type="submit" class="danger">([^<]+)</button>',
                                form)[1]}


def confirm(client, asked: dict):
    """Click the "Ja, …" button: post the confirmation page's form as it is."""
    return client.post(asked["action"], data=asked["fields"])


def test_publishing_the_agenda_is_confirmed_first(web_app, web_engine):
    meeting_id, number = meeting_with_case(web_engine, 1, "Sag på en dagsorden")
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    asked = confirmation(client.post(f"{path}/offentliggoer", data={
        "csrf_token": page_csrf(client, path), "late_reason": "Hastesag <i>nu</i>"}))
    assert database_dump(web_engine) == before  # nothing written
    assert "Offentliggør dagsordenen?" in asked["page"]
    assert "Dagsordenen (1 punkt) offentliggøres for alle og sendes til medlemmerne af " \
           "Socialudvalget" in asked["page"]
    assert "Det kan ikke gøres om." in asked["page"]
    assert "Hastesag <i>nu</i>" in asked["page"]
    assert f'href="{path}" class="button-link">Fortryd – gå tilbage til mødet</a>' \
        in asked["page"]
    assert asked["button"] == "Ja, offentliggør dagsordenen"
    assert (asked["action"], asked["fields"]["confirmed"], asked["fields"]["late_reason"]) == (
        f"{path}/offentliggoer", "ja", "Hastesag <i>nu</i>")
    assert 'id="agenda-status">Under udarbejdelse' in client.get(path).text

    assert confirm(client, asked).status_code == 303
    with read_session(web_engine) as session:
        [publication] = meeting_queries.publications(session, meeting_id)
        assert meeting_queries.get_meeting(session, meeting_id).agenda_status == "published"
    assert publication.late_reason == "Hastesag <i>nu</i>"

    # A later item goes on a tillægsdagsorden, confirmed the same way.
    later = make_case(web_engine, title="Senere sag", committees=("SU",), deciding_body="SU")
    with write_session(web_engine) as session:
        place_case(session, meeting_id, later, late_reason="Hastesag")
    before = database_dump(web_engine)
    asked = confirmation(client.post(f"{path}/offentliggoer", data={
        "csrf_token": page_csrf(client, path), "late_reason": "Hastesag"}))
    assert database_dump(web_engine) == before
    assert "Tillægsdagsordenen (punkt 2) offentliggøres for alle" in asked["page"]
    assert asked["button"] == "Ja, offentliggør tillægsdagsordenen"


def test_a_refused_publication_is_said_at_once_not_asked(web_app, web_engine):
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(40)).id
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    refused = client.post(f"{path}/offentliggoer", data={"csrf_token": page_csrf(client, path)},
                          headers={"referer": f"http://testserver{path}"})
    assert refused.status_code == 303
    assert "Dagsordenen har ingen punkter." in client.get(path).text


def test_cancelling_a_meeting_is_confirmed_first(web_app, web_engine):
    meeting_id, number = meeting_with_case(web_engine, 131, "Sag på et møde, der måske aflyses")
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    before = database_dump(web_engine)
    asked = confirmation(client.post(f"{path}/aflys", data={
        "csrf_token": page_csrf(client, path), "reason": "Ikke beslutningsdygtigt"}))
    assert database_dump(web_engine) == before
    assert "Aflys mødet?" in asked["page"]
    assert f"Sagerne på dagsordenen ({number}) går tilbage i køen hos " \
           "Socialudvalget" in asked["page"]
    assert "Begrundelse: <span class=\"text\">Ikke beslutningsdygtigt</span>" in asked["page"]
    assert asked["button"] == "Ja, aflys mødet"
    with read_session(web_engine) as session:
        assert meeting_queries.get_meeting(session, meeting_id).status != "cancelled"

    assert confirm(client, asked).status_code == 303
    with read_session(web_engine) as session:
        meeting = meeting_queries.get_meeting(session, meeting_id)
    assert (meeting.status, meeting.status_reason) == ("cancelled", "Ikke beslutningsdygtigt")


def test_sending_the_minutes_for_approval_is_confirmed_first(web_app, web_engine):
    number = make_case(web_engine, title="Sag til et referat", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(0), at="00:30").id
        item_id = place_case(session, meeting_id, number, late_reason="Hastesag").id
        publish_agenda(session, meeting_id, actor="test", late_reason="Hastesag")
        record_item_decision(session, item_id, wording="anbefales", actor="test")
    path = f"/moeder/{meeting_id}/referat"
    client = as_role(web_app, "secretariat")
    deadline = days(20).strftime("%d-%m-%Y")
    before = database_dump(web_engine)
    asked = confirmation(client.post(f"{path}/send", data={
        "csrf_token": page_csrf(client, path), "objection_deadline": deadline}))
    assert database_dump(web_engine) == before
    assert "Send referatet til godkendelse?" in asked["page"]
    assert f"indsigelsesfristen {deadline} er overstået" in asked["page"]
    assert f'href="{path}" class="button-link">Fortryd – gå tilbage til referatet</a>' \
        in asked["page"]
    assert asked["fields"]["objection_deadline"] == deadline
    with read_session(web_engine) as session:
        assert meeting_queries.get_meeting(session, meeting_id).minutes_status == "none"

    assert confirm(client, asked).status_code == 303
    with read_session(web_engine) as session:
        meeting = meeting_queries.get_meeting(session, meeting_id)
    assert (meeting.minutes_status, f"{meeting.objection_deadline:%d-%m-%Y}") == (
        "approval", deadline)
