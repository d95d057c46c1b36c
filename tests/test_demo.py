"""The demo: the seed meeting's 13 items (11 cases, 2 standing items) and the new UUC case,
loaded from our data file through the service layer, each case with its end state and full
history as of just after SU's meeting of 04-10-2022."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from servers import database_dump
from shared_material import seed_agenda

from cases import queries, services
from cases.dates import to_local
from cases.db import make_engine, read_session
from cases.models import Membership, User
from cli.main import cli
from demo.cases import load_demo, read_data

N = "SU-20221004-{:02d}".format


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory, migrated_sqlite):
    """One loaded demo database for the read-only checks of this module."""
    url = migrated_sqlite(tmp_path_factory.mktemp("demo") / "demo.db")
    report = load_demo(url)
    assert report.loaded
    engine = make_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(demo_db):
    with read_session(demo_db) as session:
        yield session


def history(session, number) -> list[tuple]:
    case = queries.get_case(session, number)
    return [(t.body_code or t.body_name, t.meeting_date.strftime("%d-%m-%Y"), t.item_number,
             t.wording) for t in queries.decision_history(session, case.id)]


def state(session, number) -> tuple[str, list[str]]:
    case = queries.get_case(session, number)
    return case.status, sorted(queries.awaiting_bodies(session, case.id))


# -- the data file ---------------------------------------------------------------------------

def test_it_has_one_case_per_seed_item_and_the_new_uuc_case():
    data = read_data()
    cases = data["cases"]
    assert sorted(c["item"] for c in cases if "item" in c) == [1, *range(3, 13)]
    (meeting,) = data["meetings"]
    assert [(e["item"], e.get("standing")) for e in meeting["items"] if "case" not in e] == [
        (2, "meddelelser"), (13, "godkendelse_af_referat")]
    assert [c["number"] for c in cases if "item" not in c] == ["SU-20221004-08-NY"]
    for case in cases:
        assert {"number", "title", "deciding_body", "committees", "proposals"} <= set(case)
        for treatment in case.get("treatments", []):
            assert {"date", "wording", "text"} <= set(treatment)
            assert "body" in treatment or "body_name" in treatment


def _shingles(text: str, size: int) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def _our_texts(data: dict) -> list[str]:
    texts = []
    for case in data["cases"]:
        texts += [case["title"], case.get("summary", ""), *case["proposals"]]
        for treatment in case.get("treatments", []):
            texts += [treatment.get("text", ""), treatment.get("minority", ""),
                      treatment.get("reason", "")]
            texts += [p["text"] for p in treatment.get("proposals", [])]
        for response in case.get("hearing", {}).get("responses", []):
            texts.append(response["text"])
    for meeting in data["meetings"]:
        texts += [e.get("text", "") for e in meeting["items"]]
    return texts


def test_it_words_the_facts_in_its_own_words():
    """No run of eight words from the published agenda appears in our data file."""
    seed = _shingles(seed_agenda(), 8)
    copied = [text for text in _our_texts(read_data()) if _shingles(text, 8) & seed]
    assert copied == []


# -- the 13 scenarios ------------------------------------------------------------------------

@pytest.mark.parametrize("item", [1, 3, 6, 9])
def test_it_ends_su_cases_taken_note_of_as_decided(session, item):
    assert state(session, N(item)) == ("decided", [])
    assert history(session, N(item))[-1] == ("SU", "04-10-2022", item, "taget_til_efterretning")


def test_it_puts_13_items_on_the_agenda_with_the_standing_items_without_a_case(session):
    from meetings import queries as meeting_queries

    meeting = meeting_queries.find_meeting(session, "SU", date(2022, 10, 4))
    items = meeting_queries.items(session, meeting.id)
    assert [i.number for i in items] == list(range(1, 14))
    assert [(i.number, i.standing, i.case_id) for i in items if i.case_id is None] == [
        (2, "meddelelser", None), (13, "godkendelse_af_referat", None)]
    assert (items[1].title, items[1].wording) == ("Meddelelser", "taget_til_efterretning")
    assert items[1].text.startswith("1. ")
    assert items[12].decided_at is None  # approved by the members clicking "Godkendt"
    numbers = {queries.get_case(session, N(n)).id: n for n in (1, *range(3, 13))}
    assert {i.case_id: i.number for i in items if i.case_id} == numbers


def test_it_keeps_ssps_attachments_with_one_recommended(session):
    case = queries.get_case(session, N(3))
    attachments = queries.attachments(session, case.id)
    assert (len(attachments), sum(a.recommended for a in attachments)) == (4, 1)
    assert case.centre == "Center for Børne- og Ungerådgivning"


def test_it_sends_the_kolonihave_status_to_oeu_for_information(session):
    assert state(session, N(4)) == ("informing", [])
    case = queries.get_case(session, N(4))
    last = queries.events(session, case.id)[-1]
    assert (last.trigger, last.body, last.from_state) == ("send_for_information", "ØU",
                                                          "decided")


def test_it_has_the_udsattestrategi_in_hearing_after_su(session):
    assert state(session, N(5)) == ("hearing", [])
    assert history(session, N(5)) == [("SU", "09-08-2022", 7, "behandlet"),
                                      ("SU", "04-10-2022", 5, "godkendt_til_hoering")]
    case = queries.get_case(session, N(5))
    (hearing,) = queries.hearings(session, case.id)
    assert hearing.closed_on is None and hearing.blocking
    assert [p.body_code for p in queries.hearing_parties(session, hearing.id)] == [
        "HR", "SR", "PR", "IR"]
    (treatment,) = [t for t in queries.decision_history(session, case.id)
                    if t.meeting_date == date(2022, 10, 4)]
    assert [p["number"] for p in treatment.proposal_decisions] == [1, 2]
    assert "november 2022" in treatment.proposal_decisions[1]["text"]
    assert queries.events(session, case.id)[-1].trigger == "send_to_hearing"


def test_it_keeps_hjemloesetaellingens_earlier_treatments_by_the_former_committee(session):
    assert history(session, N(6)) == [
        ("Social- og Sundhedsudvalget", "01-10-2019", 2, "behandlet"),
        ("Social- og Sundhedsudvalget", "02-03-2021", 12, "behandlet"),
        ("SU", "04-10-2022", 6, "taget_til_efterretning")]
    case = queries.get_case(session, N(6))
    assert [e.trigger for e in queries.events(session, case.id)] == [
        "create", "record_earlier", "record_earlier", "submit", "treat"]


def test_it_records_the_studietur_decision_per_proposal(session):
    case = queries.get_case(session, N(7))
    (treatment,) = queries.decision_history(session, case.id)
    assert treatment.wording == "godkendt"
    assert [p["number"] for p in treatment.proposal_decisions] == [1, 2]
    assert "8.-11. februar 2023" in treatment.proposal_decisions[0]["text"]


def test_it_replaces_uuc_maglemosen_by_a_new_case_for_bsu_and_su_together(session):
    assert state(session, N(8)) == ("replaced", [])
    assert history(session, N(8)) == [("SU", "04-10-2022", 8, "ny_sag")]
    assert state(session, "SU-20221004-08-NY") == ("committee", ["BSU", "SU"])
    old, new = queries.get_case(session, N(8)), queries.get_case(session, "SU-20221004-08-NY")
    assert old.replaced_by_id == new.id
    assert [(link.kind, other.number) for link, other in queries.links(session, new.id)] == [
        ("replaces", N(8))]
    assert new.deciding_body == "KB"
    for body in ("BSU", "SU"):
        assert "SU-20221004-08-NY" in [c.number for c, _ in queries.queue(session, body)]


def test_it_has_handicapraadets_hearing_answer_before_su_noted_it(session):
    case = queries.get_case(session, N(9))
    (hearing,) = queries.hearings(session, case.id)
    (response,) = queries.hearing_responses(session, hearing.id)
    assert (response.received_on, hearing.closed_on) == (date(2022, 9, 5), date(2022, 9, 5))
    assert [e.trigger for e in queries.events(session, case.id)] == [
        "create", "send_to_hearing", "hearing_response", "close_hearing", "end_hearing",
        "treat"]


def test_it_keeps_the_rammeaftale_deadlines_and_awaits_bsu(session):
    assert state(session, N(10)) == ("committee", ["BSU"])
    assert history(session, N(10)) == [("SU", "04-10-2022", 10, "indstilles_til_godkendelse")]
    case = queries.get_case(session, N(10))
    assert [(d.due_date, d.kind) for d in queries.deadlines(session, case.id)] == [
        (date(2022, 11, 30), "external"), (date(2022, 12, 1), "external")]


def test_it_carries_danmarkskort_through_the_send_back(session):
    assert state(session, N(11)) == ("committee", ["BSU", "SÆU"])
    assert history(session, N(11)) == [
        ("BSU", "06-09-2022", 4, "taget_til_efterretning"),
        ("SU", "06-09-2022", None, "taget_til_efterretning"),
        ("SÆU", "13-09-2022", 15, "taget_til_efterretning"),
        ("ØU", "20-09-2022", None, "sendes_tilbage"),
        ("SU", "04-10-2022", 11, "indstilles_til_godkendelse")]
    case = queries.get_case(session, N(11))
    (deadline,) = queries.deadlines(session, case.id)
    assert (deadline.due_date, deadline.kind, deadline.legal_basis) == (
        date(2022, 12, 31), "statutory", "retssikkerhedsloven § 79 b")
    send_back = [e for e in queries.events(session, case.id) if e.trigger == "send_back"][0]
    assert sorted(send_back.payload["bodies"]) == ["BSU", "SU", "SÆU"]
    assert send_back.reason
    # The audit log carries the historical times, not the time of loading.
    assert to_local(send_back.at).date() == date(2022, 9, 20)


def test_it_has_the_klimapolitik_comment_decided_by_su(session):
    assert state(session, N(12)) == ("decided", [])
    case = queries.get_case(session, N(12))
    assert (case.deciding_body, case.committees) == ("SU", ["SU"])
    assert "april" in case.summary  # the policy's own, longer timeline
    treatments = queries.decision_history(session, case.id)
    assert [(t.body_code, t.wording) for t in treatments] == [("KMU", "behandlet"),
                                                              ("SU", "godkendt")]
    assert "87 pct." in treatments[1].minority


def test_it_replays_every_demo_case_to_its_stored_state(session):
    org = services.current_organisation()
    for spec in read_data()["cases"]:
        case = queries.get_case(session, spec["number"])
        assert services.flow_summary(services.replayed_flow(session, case)) == \
            services.flow_summary(services.current_flow(session, org, case)), case.number


def test_it_creates_demo_users_with_the_members_of_su(session):
    roles = {u.role for u in session.exec(sa.select(User)).scalars()}
    assert {"secretariat", "manager", "member"} <= roles
    members = session.exec(sa.select(Membership).where(Membership.body_code == "SU")).all()
    assert len(members) >= 5


# -- loading -----------------------------------------------------------------------------------

def test_it_loads_once_and_then_changes_nothing(any_db_url):
    first = load_demo(any_db_url)
    assert first.loaded and len(first.cases) == 12 + 7  # the seed's and today's
    before = database_dump(any_db_url)
    second = load_demo(any_db_url)
    assert not second.loaded
    assert database_dump(any_db_url) == before


def test_it_loads_from_the_command_line(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    first = runner.invoke(cli, ["demo"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Demoen er indlæst: 19 sager")
    second = runner.invoke(cli, ["demo"])
    assert "allerede indlæst" in second.output
    shown = runner.invoke(cli, ["case", "show", N(11)]).output
    assert "20-09-2022 Økonomiudvalget: Sendes tilbage til fagudvalgene" in shown


# -- the present: work under way on the day the demo is loaded ---------------------------------

DAY = date(2031, 3, 5)  # any day: every date of the present is computed from it


@pytest.fixture(scope="module")
def present_db(tmp_path_factory, migrated_sqlite):
    url = migrated_sqlite(tmp_path_factory.mktemp("present") / "demo.db")
    assert load_demo(url, today=DAY).loaded
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_it_plans_meetings_from_the_day_it_is_loaded(present_db):
    from cases.settings import current_organisation
    from meetings.queries import next_meetings

    with read_session(present_db) as session:
        for body in ("SU", "SÆU", "ØU", "KB"):
            coming = next_meetings(session, current_organisation(), body, DAY, limit=10)
            assert len(coming) == 6, body
            assert all(to_local(m["starts_at"]).date() > DAY for m in coming)
            assert to_local(coming[0]["starts_at"]).date() < DAY + timedelta(weeks=4)
    # The seed's meeting stays history.
    with read_session(present_db) as session:
        assert state(session, N(1)) == ("decided", [])


def test_it_has_cases_under_way_some_at_risk_and_one_overdue(present_db):
    from cases.settings import current_organisation
    from views import dashboard

    with read_session(present_db) as session:
        figures = {f.key: {c.number for c in f.cases if c.number.startswith("31-")}
                   for f in dashboard.figures(
            session, current_organisation(), dashboard.Filters(), today=DAY,
            now=datetime(2031, 3, 5, 12, tzinfo=UTC), stale_weeks=6, limit=100)}
        assert figures["overdue"] == {"31-104"}
        assert {"31-102", "31-103"} <= figures["at_risk"]
        assert "31-101" not in figures["at_risk"] | figures["overdue"]
        assert figures["missing_responses"] == set()  # the hearing's deadline is ahead
        deadlines = [d.due_date for n in range(101, 108) for d in
                     queries.deadlines(session, queries.get_case(session, f"31-{n}").id)]
        assert sum(d > DAY for d in deadlines) == 6


def test_it_has_a_closed_item_on_a_coming_agenda(present_db):
    from meetings.models import AgendaItem, Meeting
    from meetings.visibility import case_is_closed

    with read_session(present_db) as session:
        case = queries.get_case(session, "31-107")
        assert case_is_closed(session, case)
        (meeting,) = session.exec(sa.select(Meeting).join(
            AgendaItem, AgendaItem.meeting_id == Meeting.id)
            .where(AgendaItem.case_id == case.id)).scalars()
        assert meeting.body_code == "SU" and to_local(meeting.starts_at).date() > DAY


def test_its_hearing_asks_the_councils_by_mail(present_db):
    from notifications.changes import notify_changed_cases
    from notifications.models import Reminder

    notify_changed_cases(present_db, now=datetime(2031, 3, 5, 12, tzinfo=UTC))
    with read_session(present_db) as session:
        asked = {r.recipient for r in session.exec(sa.select(Reminder).where(
            Reminder.kind == "hearing_request")).scalars()}
    assert asked == {"hr-kontakt@demo.sagsgang.invalid", "sr-kontakt@demo.sagsgang.invalid"}


def test_its_manager_has_a_centre_and_the_actors_are_people(present_db):
    with read_session(present_db) as session:
        leader = session.exec(sa.select(User).where(User.username == "leder")).scalar_one()
        assert leader.centre == "Center for Voksne og Sundhed"
        actors = set(session.exec(sa.text("select distinct actor from case_event")).scalars())
        usernames = set(session.exec(sa.select(User.username)).scalars())
        assert actors <= usernames


def test_its_mail_goes_out_at_once_when_run_with_its_own_mail_sink(monkeypatch):
    from notifications.config import current_rules

    monkeypatch.setenv("SAGSGANG_OFFICE_HOURS_ONLY", "false")
    assert current_rules().office_hours_only is False
    monkeypatch.delenv("SAGSGANG_OFFICE_HOURS_ONLY")
    from cases.settings import get_settings
    get_settings.cache_clear()
    assert current_rules().office_hours_only is True  # the organisation file's
