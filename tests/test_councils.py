"""Councils as meeting bodies: Handicaprådet meets, a case it is heard on is on its queue and
agenda, and its decision on the item is its høringssvar (linked to the hearing and the item,
and in the case's history that the deciding body sees); its meeting has reminders and
standing items like a committee's. Through the command line and the API, on SQLite and
PostgreSQL."""

from datetime import timedelta

import pytest
from route_helpers import CENTRE, Both
from sqlmodel import select

from cases.dates import format_date
from cases.db import read_session
from cases.models import HearingResponse, utcnow
from meetings.calendar import local_day
from meetings.models import AgendaItem
from notifications.changes import notify_changed_meetings
from notifications.models import Reminder

TODAY = local_day(utcnow())


@pytest.fixture
def both(any_db_url, monkeypatch):
    b = Both(any_db_url, monkeypatch)
    yield b
    b.close()


def heard_by_hr(both, number: str) -> int:
    """A KB case via SU, in hearing with Handicaprådet; returns the hearing's id."""
    both.cli("case", "create", "--number", number, "--title", "Ny handicappolitik",
             "--centre", CENTRE, "--decided-by", "KB", "--committee", "SU")
    both.cli("case", "send-to-hearing", number, "--title", "Høring om handicappolitikken",
             "--party", "HR", "--deadline", format_date(TODAY + timedelta(days=30)),
             "--opened", format_date(TODAY))
    return both.get(f"/api/cases/{number}/hearings")[0]["id"]


def hr_meeting(both, days: int = 0) -> str:
    ref = f"HR:{format_date(TODAY + timedelta(days=days))}"
    both.cli("meeting", "create", "--body", "HR", "--date", ref.split(":")[1])
    return ref


def test_a_council_meeting_answers_a_hearing(both):
    hearing_id = heard_by_hr(both, "R-1")
    ref = hr_meeting(both)
    assert "R-1" in both.cli("meeting", "queue", "HR").output  # its queue: the hearing
    assert [c["number"] for c in both.get("/api/bodies/HR/queue")] == ["R-1"]
    both.cli("meeting", "standing", ref, "meddelelser", "--text", "Nyt fra formanden.")
    both.cli("meeting", "place", ref, "R-1", "--late-reason", "Hastesag")
    both.cli("meeting", "publish", ref, "--late-reason", "Hastesag")
    both.cli("meeting", "decide", ref, "2", "--decision", "Taget til efterretning",
             "--text", "Handicaprådet støtter politikken, men savner tilgængelighed.")
    with read_session(both.engine) as session:
        response = session.exec(select(HearingResponse)).one()
        item = session.exec(select(AgendaItem).where(AgendaItem.case_id.is_not(None))).one()
        assert (response.hearing_id, response.agenda_item_id) == (hearing_id, item.id)
        assert item.wording == "taget_til_efterretning"
    # The deciding bodies see it: the hearing's answers and the Beslutningshistorik.
    hearing = both.get("/api/cases/R-1/hearings")[0]
    assert hearing["responses"][0]["party"] == "Handicaprådet"
    assert "tilgængelighed" in hearing["responses"][0]["text"]
    history = both.get("/api/cases/R-1/history")
    assert [(h["body"], h["decision"]) for h in history] == [
        ("Handicaprådet", "Taget til efterretning")]
    assert both.get("/api/cases/R-1")["status"] == "hearing"  # the hearing is still open
    assert "Ingen sager afventer" in both.cli("meeting", "queue", "HR").output
    agenda = both.get(f"/api/meetings/{item.meeting_id}/agenda")
    assert [i["title"] for i in agenda["items"]] == ["Meddelelser", "Ny handicappolitik"]
    # The hearing over, the committee's agenda shows the council's answer.
    both.cli("case", "close-hearing", str(hearing_id), "--date", format_date(TODAY))
    su = f"SU:{format_date(TODAY + timedelta(days=35))}"
    both.cli("meeting", "create", "--body", "SU", "--date", su.split(":")[1])
    both.cli("meeting", "place", su, "R-1", "--late-reason", "Efter høringen")
    document = both.cli("meeting", "render", su).output
    assert "Handicaprådet støtter politikken, men savner tilgængelighed." in document


def test_a_council_cannot_take_a_case_it_is_not_heard_on(both):
    both.cli("case", "create", "--number", "R-2", "--title", "Andet", "--centre", CENTRE,
             "--decided-by", "SU")
    both.cli("case", "submit", "R-2")
    ref = hr_meeting(both, 3)
    out = both.cli("meeting", "place", ref, "R-2", "--late-reason", "x", ok=False).output
    assert "afventer ikke behandling i HR" in out


def test_a_committee_decision_cannot_be_a_hearing_answer_elsewhere(both):
    heard_by_hr(both, "R-3")
    refused = both.post("/api/cases/R-3/decisions", {
        "body": "HR", "wording": "Høringssvar afgivet", "meeting_date": format_date(TODAY)},
        status=400)
    assert "registreres på høringspartens eget møde" in refused["detail"]


def test_a_council_meeting_gets_agenda_reminders_like_a_committees(both):
    hr_meeting(both, 40)
    notify_changed_meetings(both.engine)
    with read_session(both.engine) as session:
        kinds = {r.kind for r in session.exec(select(Reminder))}
    assert "agenda_due" in kinds


def test_a_councils_own_items_and_minutes(both, tmp_path):
    ref = hr_meeting(both)
    both.cli("meeting", "standing", ref, "meddelelser")
    both.cli("meeting", "standing", ref, "orientering", "--title",
             "Orientering om tilgængelighed i idrætshallerne", "--text", "Ved formanden.")
    both.cli("meeting", "standing", ref, "orientering", "--title", "Rådets årsberetning")
    again = both.cli("meeting", "standing", ref, "meddelelser", ok=False).output
    assert "allerede punktet «Meddelelser»" in again
    both.cli("meeting", "publish", ref, "--late-reason", "Første møde")
    both.cli("meeting", "decide", ref, "2", "--decision", "Taget til efterretning",
             "--text", "Rådet tog orienteringen til efterretning.")
    for number in ("1", "3"):
        both.cli("meeting", "decide", ref, number, "--decision", "Taget til efterretning")
    both.cli("meeting", "send-minutes", ref)
    out = tmp_path / "referat.html"
    both.cli("meeting", "render", ref, "--kind", "referat", "--out", str(out))
    minutes = out.read_text(encoding="utf-8")
    assert "Handicaprådet" in minutes
    assert "Orientering om tilgængelighed i idrætshallerne" in minutes
    assert "Rådet tog orienteringen til efterretning." in minutes
    meeting_id = both.get("/api/meetings?body=HR")[0]["id"]
    titles = [i["title"] for i in both.get(f"/api/meetings/{meeting_id}/agenda")["items"]]
    assert titles == ["Meddelelser", "Orientering om tilgængelighed i idrætshallerne",
                      "Rådets årsberetning"]


def test_a_councils_meeting_plan_and_agenda_deadlines(both, tmp_path):
    from cases.organisation import load_organisation
    from cases.settings import PROJECT_DIR
    from meetings.queries import next_meetings

    days = [TODAY + timedelta(days=n) for n in (30, 58)]
    plan = tmp_path / "plan.toml"
    plan.write_text('place = "Ballerup Rådhus"\n[[bodies]]\ncode = "HR"\ndates = ['
                    + ", ".join(f'"{format_date(d)}"' for d in days) + "]\n", encoding="utf-8")
    assert "2 møder oprettet" in both.cli("meeting", "import-plan", str(plan)).output
    listed = both.cli("meeting", "list", "--body", "HR").output
    assert all(format_date(d) in listed for d in days)
    org = load_organisation(PROJECT_DIR / "config" / "ballerup.toml")
    with read_session(both.engine) as session:
        coming = next_meetings(session, org, "HR", TODAY)
    assert [local_day(m["starts_at"]) for m in coming] == days
    assert all(m["submission"] < m["agenda_out"] < local_day(m["starts_at"]) for m in coming)
    assert [to_local_time(m["starts_at"]) for m in coming] == ["16:00", "16:00"]


def to_local_time(instant) -> str:
    from cases.dates import to_local
    return f"{to_local(instant):%H:%M}"


def test_the_secretariat_sees_a_councils_hearings_on_the_queue_pages(both):
    """/koer lists the councils too: their queue is the hearings they are to answer."""
    from web_fixtures import logged_in

    heard_by_hr(both, "R-9")
    hr_meeting(both, days=7)
    secretariat = logged_in(both.api.app, "sekretariat", "sekretariat-demo")
    overview = secretariat.get("/koer")
    assert overview.status_code == 200
    council = overview.text.split('id="koe-HR"')[1].split("</section>")[0]
    assert "Handicaprådet" in council and "R-9" in council
    own = secretariat.get("/koer/HR")
    assert own.status_code == 200 and "R-9" in own.text
    assert "Ikke på en dagsorden" in own.text
