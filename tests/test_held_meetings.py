"""Nothing more goes on the agenda of a meeting already held (its day is before today by the
product's clock), but as a meeting recorded afterwards (efterregistreret): the service refuses
it in Danish and writes nothing, the meeting page offers no "Sæt på dagsordenen" for it (only
"Registrér mødet efterfølgende"), and its decision form offers no held meeting to postpone a
case to (that would put the case on the held meeting's agenda)."""

from datetime import timedelta

import pytest
from servers import database_dump
from web_fixtures import as_role, days, make_case

from cases import queries
from cases.db import read_session, write_session
from cases.settings import get_settings
from meetings import queries as meeting_queries
from meetings.services import add_standing_item, create_meeting, place_case, publish_agenda
from workflow.errors import TransitionRefused

HELD = "Mødet er afholdt; dagsordenen kan ikke ændres."


def su_meeting(engine, day, at="10:00") -> int:
    with write_session(engine) as session:
        return create_meeting(session, body="SU", day=day, at=at).id


def su_case(engine) -> str:
    return make_case(engine, deciding_body="SU", committees=("SU",))


# -- the service -------------------------------------------------------------------------------

def test_the_service_refuses_placing_a_case_on_a_held_meeting_and_writes_nothing(web_engine):
    number = su_case(web_engine)
    meeting_id = su_meeting(web_engine, days(-8))
    before = database_dump(web_engine)
    for action in (lambda s: place_case(s, meeting_id, number, late_reason="Glemt"),
                   lambda s: add_standing_item(s, meeting_id, "meddelelser")):
        with pytest.raises(TransitionRefused) as refused, write_session(web_engine) as session:
            action(session)
        assert refused.value.message.startswith(HELD)
        assert database_dump(web_engine) == before


def test_a_held_meeting_is_still_recorded_afterwards(web_engine):
    number = su_case(web_engine)
    meeting_id = su_meeting(web_engine, days(-9))
    with write_session(web_engine) as session:
        item = place_case(session, meeting_id, number, afterwards=True)
        item_number = item.number
    with read_session(web_engine) as session:
        case = queries.get_case(session, number)
        event = queries.events(session, case.id)[-1]
    assert item_number == 1
    assert (event.trigger, event.payload.get(queries.RECORDED_AFTERWARDS)) == (
        "place_on_agenda", True)


def test_a_meeting_is_held_from_the_day_after_by_the_products_clock(web_engine, monkeypatch):
    day = days(60)
    meeting_id = su_meeting(web_engine, day)
    first, second = su_case(web_engine), su_case(web_engine)
    monkeypatch.setenv("SAGSGANG_TODAY", (day + timedelta(days=1)).isoformat())
    get_settings.cache_clear()
    with pytest.raises(TransitionRefused, match=HELD), write_session(web_engine) as session:
        place_case(session, meeting_id, first, late_reason="For sent")
    monkeypatch.setenv("SAGSGANG_TODAY", day.isoformat())  # on its day: not held yet
    get_settings.cache_clear()
    with write_session(web_engine) as session:
        place_case(session, meeting_id, second, late_reason="Hastesag")
    with read_session(web_engine) as session:
        assert [i.case_id for i in meeting_queries.items(session, meeting_id)] == [
            queries.get_case(session, second).id]


# -- the meeting page --------------------------------------------------------------------------

def test_the_meeting_page_offers_no_placing_on_a_held_meeting(web_app, web_engine):
    su_case(web_engine)  # in SU's queue: the page would offer it
    held = su_meeting(web_engine, days(-10))
    today = su_meeting(web_engine, days(0), at="23:58")
    client = as_role(web_app, "secretariat")
    held_page = client.get(f"/moeder/{held}").text
    assert "Sæt på dagsordenen" not in held_page
    assert 'id="koe"' not in held_page and "Tilføj fast punkt" not in held_page
    assert 'id="efterregistrering"' in held_page
    assert 'name="efterregistreret" value="1"' in held_page
    today_page = client.get(f"/moeder/{today}").text
    assert "Sæt på dagsordenen" in today_page and 'id="efterregistrering"' not in today_page


def test_the_decision_form_offers_no_held_meeting_to_postpone_to(web_app, web_engine):
    number = su_case(web_engine)
    recorded = su_meeting(web_engine, days(-30), at="09:01")
    held_later = su_meeting(web_engine, days(-20), at="09:02")
    coming = su_meeting(web_engine, days(20), at="09:03")
    with write_session(web_engine) as session:
        item_id = place_case(session, recorded, number, afterwards=True).id
        publish_agenda(session, recorded, actor="test")
        days_of = {m: f"{meeting_queries.get_meeting(session, m).starts_at:%d-%m-%Y}"
                   for m in (held_later, coming)}
    html = as_role(web_app, "secretariat").get(f"/moeder/{recorded}").text
    form = html[html.index(f'action="/punkter/{item_id}/beslutning"'):]
    start = form.index('name="to_meeting"')
    choice = form[start:form.index("</select>", start)]
    assert f'<option value="{coming}">{days_of[coming]}</option>' in choice
    assert f'<option value="{held_later}">' not in choice


def test_a_meeting_whose_day_has_passed_reads_as_held_not_planned(web_app, web_engine):
    """Stored as planned, a meeting of an earlier day is shown as "Afholdt" (list, page and
    command line); today's and later ones as planned, a cancelled one as cancelled."""
    from click.testing import CliRunner

    from cli.main import cli
    from meetings.services import cancel_meeting

    held, today_id, later = (su_meeting(web_engine, days(n)) for n in (-3, 0, 5))
    cancelled = su_meeting(web_engine, days(-2), at="11:00")
    with write_session(web_engine) as session:
        cancel_meeting(session, cancelled, reason="Ingen sager", actor="test")
    secretariat = as_role(web_app, "secretariat")
    listed = secretariat.get("/moeder?aflyste=1").text
    for meeting_id, label in ((held, "Afholdt"), (today_id, "Planlagt"), (later, "Planlagt"),
                              (cancelled, "Aflyst")):
        row = listed.split(f'href="/moeder/{meeting_id}"')[1].split("</tr>")[0]
        assert f"<td>{label}</td>" in row
        page = secretariat.get(f"/moeder/{meeting_id}").text
        assert f'<strong id="meeting-status">{label}</strong>' in page
    listing = CliRunner().invoke(cli, ["meeting", "list", "--all"],
                                 env={"DATABASE_URL": str(web_engine.url)}).output
    lines = {int(line.split()[0]): line for line in listing.splitlines() if line.strip()}
    assert "Afholdt" in lines[held] and "Planlagt" in lines[later] and "Aflyst" in lines[cancelled]
