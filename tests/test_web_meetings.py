"""The secretariat's meeting page: place, order, close, publish, record decisions."""

import re

from web_fixtures import (
    anonymous,
    as_role,
    days,
    make_case,
    page_csrf,
)

from cases import queries
from cases.db import read_session, write_session
from meetings.services import create_meeting


def test_it_assembles_publishes_and_decides_an_agenda(web_app, web_engine):
    first = make_case(web_engine, title="Første sag", committees=("SU", "BSU"))
    second = make_case(web_engine, title="Anden sag", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(0), at="00:00").id
    client = as_role(web_app, "secretariat")
    path = f"/moeder/{meeting_id}"
    for number in (first, second):
        response = client.post(f"{path}/placer", data={"csrf_token": page_csrf(client),
                                                       "number": number,
                                                       "late_reason": "Hastesag"})
        assert response.status_code == 303, response.text
    html = client.get(path).text
    assert "Punkt 1: Første sag" in html and "Punkt 2: Anden sag" in html
    second_id = re.findall(r'name="item_id" value="(\d+)"', html)[-1]
    client.post(f"{path}/flyt", data={"csrf_token": page_csrf(client), "item_id": second_id,
                                      "direction": "op"})
    client.post(f"/punkter/{second_id}/lukket", data={"csrf_token": page_csrf(client),
                                                       "closed": "on"})
    html = client.get(path).text
    assert "Punkt 1: Anden sag <span class=\"tag\">Lukket punkt</span>" in html
    client.post(f"{path}/offentliggoer", data={"csrf_token": page_csrf(client),
                                               "late_reason": "Mødet er i dag",
                                               "confirmed": "ja"})
    assert 'id="agenda-status">Offentliggjort' in client.get(path).text
    public = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    assert 'Punkt 2 <span class="titel">Første sag</span>' in public
    assert "Et sammendrag." in public
    first_id = re.findall(r'action="/punkter/(\d+)/beslutning"', client.get(path).text)[1]
    client.post(f"/punkter/{first_id}/beslutning", data={
        "csrf_token": page_csrf(client), "wording": "anbefales", "decision_text": "Anbefales."})
    with read_session(web_engine) as session:
        case = queries.get_case(session, first)
        assert queries.awaiting_bodies(session, case.id) == ["BSU"]
        assert queries.decision_history(session, case.id)[-1].item_number == 2


def test_it_lets_only_the_secretariat_change_an_agenda(web_app, web_engine):
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="BSU", day=days(61)).id
    number = make_case(web_engine, committees=("BSU",))
    member = as_role(web_app, "member")
    assert member.get(f"/moeder/{meeting_id}").status_code == 200
    refused = member.post(f"/moeder/{meeting_id}/placer", data={
        "csrf_token": page_csrf(member), "number": number})
    assert refused.status_code == 403
    assert as_role(web_app, "manager").post(f"/moeder/{meeting_id}/offentliggoer", data={
        "csrf_token": page_csrf(member)}).status_code == 403


def test_it_shows_the_public_only_what_was_published(web_app, web_engine):
    from meetings.services import place_case, publish_agenda

    first = make_case(web_engine, title="Offentliggjort sag", committees=("SU",))
    later = make_case(web_engine, title="Senere sag", summary="SENERE-TEKST", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(30)).id
        place_case(session, meeting_id, first)
        publish_agenda(session, meeting_id, actor="test")
        place_case(session, meeting_id, later, late_reason="Hastesag")
    public = anonymous(web_app)
    html = public.get(f"/offentlig/moeder/{meeting_id}").text
    assert "Offentliggjort sag" in html and "Senere sag" not in html
    with write_session(web_engine) as session:
        publish_agenda(session, meeting_id, actor="test")  # the tillægsdagsorden
    html = public.get(f"/offentlig/moeder/{meeting_id}").text
    assert "Senere sag" in html and "SENERE-TEKST" in html


def test_it_lets_members_approve_the_minutes_and_the_secretariat_record_absences(
        web_app, web_engine):
    from meetings.models import Attendance, MinutesApproval
    from meetings.services import place_case, publish_agenda, record_item_decision

    number = make_case(web_engine, title="Sag til referat", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(0), at="01:00").id
        item_id = place_case(session, meeting_id, number, late_reason="Hastesag").id
        publish_agenda(session, meeting_id, actor="test", late_reason="Hastesag")
        record_item_decision(session, item_id, wording="anbefales", actor="test",
                             decision_text="Anbefales.")
    path = f"/moeder/{meeting_id}/referat"
    member = as_role(web_app, "member")  # Mads Medlem, the one member of SU
    assert "Godkendt</button>" not in member.get(path).text  # not sent for approval yet
    refused = [
        as_role(web_app, "manager").post(f"{path}/godkend",
                                         data={"csrf_token": page_csrf(member)}),
        member.post(f"/moeder/{meeting_id}/fravaer",
                    data={"csrf_token": page_csrf(member), "name": "Nogen"}),
        member.post(f"{path}/send", data={"csrf_token": page_csrf(member)})]
    assert [r.status_code for r in refused] == [403, 403, 403]

    secretariat = as_role(web_app, "secretariat")
    secretariat.post(f"/moeder/{meeting_id}/fravaer", data={
        "csrf_token": page_csrf(secretariat), "name": "Pia <Fraværende>", "note": "Syg"})
    secretariat.post(f"{path}/send", data={"csrf_token": page_csrf(secretariat),
                                           "confirmed": "ja"})
    html = secretariat.get(path).text
    assert "Pia &lt;Fraværende&gt; (Syg)" in html and "Godkendt</button>" not in html
    assert 'id="minutes-status">Til godkendelse' in html

    from web_fixtures import logged_in
    other_body = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo")
    assert "Godkendt</button>" not in other_body.get(path).text
    other_body.post(f"{path}/godkend", data={"csrf_token": page_csrf(other_body)},
                    headers={"referer": f"http://testserver{path}"})
    assert "ikke medlem" in other_body.get(path).text

    assert "Anbefales." in member.get(path).text and "Godkendt</button>" in member.get(path).text
    member.post(f"{path}/godkend", data={"csrf_token": page_csrf(member)})
    html = member.get(path).text
    assert "Du har godkendt referatet." in html and "Godkendt</button>" not in html
    assert 'id="minutes-status">Endeligt' in html  # the body's only member approved
    with read_session(web_engine) as session:
        from sqlmodel import select
        approvals = session.exec(select(MinutesApproval).where(
            MinutesApproval.meeting_id == meeting_id)).all()
        absences = session.exec(select(Attendance).where(
            Attendance.meeting_id == meeting_id)).all()
    assert len(approvals) == 1 and [a.name for a in absences] == ["Pia <Fraværende>"]


def test_it_asks_for_a_reason_to_publish_an_agenda_after_its_deadline(web_app, web_engine):
    from servers import database_dump

    from cases.settings import current_organisation
    from meetings.calendar import agenda_deadlines, rules_for
    from meetings.models import AgendaPublication
    from meetings.services import place_case

    number = make_case(web_engine, title="Sag til et møde om to dage", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(2), at="02:00").id
        place_case(session, meeting_id, number, late_reason="Hastesag")
    org = current_organisation()
    deadline = agenda_deadlines(org.body("SU"), days(2), rules_for(org, "SU")).agenda_out
    path = f"/moeder/{meeting_id}"
    client = as_role(web_app, "secretariat")
    html = client.get(path).text
    form = html[html.index('id="offentliggoer"'):]
    form = form[:form.index("</form>")]
    assert f'id="agenda-deadline">{deadline:%d-%m-%Y}</strong>' in form
    assert 'name="late_reason"' in form

    before = database_dump(web_engine)
    refused = client.post(f"{path}/offentliggoer", data={"csrf_token": page_csrf(client)})
    assert refused.status_code == 303
    assert database_dump(web_engine) == before
    html = client.get(path).text
    assert "Fristen for at udsende dagsordenen til SU-mødet" in html
    assert 'id="agenda-status">Under udarbejdelse' in html
    member, manager = as_role(web_app, "member"), as_role(web_app, "manager")
    refused = [
        client.post(f"{path}/offentliggoer", data={"late_reason": "Uden token"}),
        client.post(f"{path}/offentliggoer", data={"csrf_token": "x" * 43,
                                                   "late_reason": "Falsk token"}),
        member.post(f"{path}/offentliggoer", data={"csrf_token": page_csrf(member),
                                                   "late_reason": "Medlem"}),
        manager.post(f"{path}/offentliggoer", data={"csrf_token": page_csrf(manager),
                                                    "late_reason": "Leder"})]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert database_dump(web_engine) == before

    reason = "Ekstraordinært møde <script>alert(1)</script>"
    done = client.post(f"{path}/offentliggoer", data={"csrf_token": page_csrf(client),
                                                      "late_reason": reason,
                                                      "confirmed": "ja"})
    assert done.status_code == 303
    assert 'id="agenda-status">Offentliggjort' in client.get(path).text
    with read_session(web_engine) as session:
        from sqlmodel import select
        [publication] = session.exec(select(AgendaPublication).where(
            AgendaPublication.meeting_id == meeting_id)).all()
        [event] = [e for e in queries.events(session, queries.get_case(session, number).id)
                   if e.trigger == "publish_agenda_late"]
    assert publication.late_reason == reason and publication.actor == "sekretariat"
    assert (event.reason, event.actor) == (reason, "sekretariat")


def test_it_offers_only_the_moves_that_can_be_made(web_app, web_engine):
    """The first item has no "Op", the last no "Ned"; a held meeting takes no more items."""
    from meetings.services import place_case

    numbers = [make_case(web_engine, title=f"Sag {n} i rækken", committees=("SU",))
               for n in (1, 2, 3)]
    make_case(web_engine, title="Sag, der venter i køen", committees=("SU",))
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(70)).id
        held_id = create_meeting(session, body="SU", day=days(-3)).id
        for number in numbers:
            place_case(session, meeting_id, number)
    client = as_role(web_app, "secretariat")
    html = client.get(f"/moeder/{meeting_id}").text
    items = html[html.index('id="punkter"'):html.index('id="dokument"')].split('<article')[1:]
    buttons = [re.findall(r'class="secondary">(Op|Ned)</button>', item) for item in items]
    assert buttons == [["Ned"], ["Op", "Ned"], ["Op"]]
    assert 'id="koe"' in html and ">Sæt på dagsordenen</button>" in html

    held = client.get(f"/moeder/{held_id}").text
    assert 'id="koe"' not in held and "Sæt på dagsordenen" not in held
