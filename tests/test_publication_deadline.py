"""Publishing an agenda after the body's agenda deadline (KB: 4 hverdage before the meeting,
kommunestyrelsesloven § 8, stk. 4) needs a reason, which is kept on the publication and in
the audit log of each published case."""

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from servers import database_dump
from sqlmodel import select

from cases import actions as case_actions
from cases import services as case_services
from cases.db import read_session, write_session
from cases.models import CaseEvent, utcnow
from cli.main import cli
from meetings import queries, services
from meetings.calendar import agenda_deadlines, local_day, rules_for
from meetings.models import AGENDA_DRAFT, AGENDA_PUBLISHED, AgendaPublication, Meeting
from workflow.errors import TransitionRefused


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)  # 12:00 in Copenhagen


def new_cases(session, org, numbers, *, deciding: str, now: datetime) -> None:
    for number in numbers:
        case_services.create_case(session, {
            "number": number, "title": f"Sag {number}", "centre": "Center for Voksne og Sundhed",
            "deciding_body": deciding, "proposals": ["Sagen godkendes."]},
            actor="t", org=org, now=now)
        case_actions.submit(session, number, actor="t", org=org, now=now)


def cases_awaiting_kb(engine, org, numbers, *, finance_day: date) -> None:
    """KB cases through ØU's meeting on `finance_day` ("Indstilles til godkendelse")."""
    early = noon(finance_day - timedelta(days=30))
    with write_session(engine) as session:
        meeting = services.create_meeting(session, body="ØU", day=finance_day, org=org,
                                          now=early)
        new_cases(session, org, numbers, deciding="KB", now=early)
        for number in numbers:
            services.place_case(session, meeting.id, number, org=org, now=early)
        services.publish_agenda(session, meeting.id, actor="t", org=org, now=early)
        for item in queries.items(session, meeting.id):
            services.record_item_decision(session, item.id, wording="indstilles_til_godkendelse",
                                          actor="t", org=org, now=noon(finance_day))


def meeting_with_case(engine, org, *, body: str, day: date, number: str,
                      now: datetime) -> int:
    """A meeting of `body` with one case placed on it; a KB case comes through ØU."""
    if body == "KB":
        cases_awaiting_kb(engine, org, [number], finance_day=day - timedelta(days=13))
    with write_session(engine) as session:
        meeting = services.create_meeting(session, body=body, day=day, org=org, now=now)
        if body != "KB":
            new_cases(session, org, [number], deciding=body, now=now)
        services.place_case(session, meeting.id, number, org=org, now=now, late_reason="Test")
        return meeting.id


def late_events(engine) -> list[CaseEvent]:
    with read_session(engine) as session:
        return list(session.exec(select(CaseEvent).where(
            CaseEvent.trigger == "publish_agenda_late").order_by(CaseEvent.id)))


# KB meets Monday 07-11-2022: 4 weekdays before is Tuesday 01-11-2022.
KB_DAY = date(2022, 11, 7)


def test_it_publishes_kbs_agenda_on_time_without_a_reason(db, org):
    assert agenda_deadlines(org.body("KB"), KB_DAY, rules_for(org, "KB")).agenda_out == \
        date(2022, 11, 1)
    meeting_id = meeting_with_case(db, org, body="KB", day=KB_DAY, number="KB-1",
                                   now=noon(date(2022, 10, 3)))
    with write_session(db) as session:
        publication = services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                              now=noon(date(2022, 11, 1)), late_reason="")
    with read_session(db) as session:
        assert session.get(Meeting, meeting_id).agenda_status == AGENDA_PUBLISHED
        assert session.get(AgendaPublication, publication.id).late_reason == ""
    assert late_events(db) == []


def test_it_refuses_a_late_agenda_without_a_reason_and_writes_nothing(db, org):
    meeting_id = meeting_with_case(db, org, body="KB", day=KB_DAY, number="KB-2",
                                   now=noon(date(2022, 10, 3)))
    before = database_dump(db)
    for reason in ("", "   "):
        with pytest.raises(TransitionRefused) as refused:
            with write_session(db) as session:
                services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                        now=noon(date(2022, 11, 2)), late_reason=reason)
        assert refused.value.message == (
            "Fristen for at udsende dagsordenen til KB-mødet 07-11-2022 var 01-11-2022 "
            "(4 hverdage før mødet). Angiv en begrundelse for at offentliggøre dagsordenen "
            "alligevel.")
    assert database_dump(db) == before
    with read_session(db) as session:
        assert session.get(Meeting, meeting_id).agenda_status == AGENDA_DRAFT  # not locked


def test_it_publishes_a_late_agenda_with_its_reason_on_record(db, org):
    meeting_id = meeting_with_case(db, org, body="KB", day=KB_DAY, number="KB-3",
                                   now=noon(date(2022, 10, 3)))
    with write_session(db) as session:
        publication = services.publish_agenda(
            session, meeting_id, actor="sek", org=org, now=noon(date(2022, 11, 2)),
            late_reason="  Sagen om vinterberedskab kom først fra ØU i går.  ")
    with read_session(db) as session:
        stored = session.get(AgendaPublication, publication.id)
        assert session.get(Meeting, meeting_id).agenda_status == AGENDA_PUBLISHED
    assert stored.late_reason == "Sagen om vinterberedskab kom først fra ØU i går."
    [event] = late_events(db)
    assert (event.actor, event.body, event.reason) == (
        "sek", "KB", "Sagen om vinterberedskab kom først fra ØU i går.")
    assert event.payload["agenda_out"] == "2022-11-01"
    assert event.payload["published_on"] == "2022-11-02"
    assert event.payload["publication_id"] == publication.id


def test_it_asks_a_late_supplementary_agenda_for_a_reason_too(db, org):
    meeting_id = meeting_with_case(db, org, body="KB", day=KB_DAY, number="KB-4",
                                   now=noon(date(2022, 10, 3)))
    cases_awaiting_kb(db, org, ["KB-5"], finance_day=date(2022, 11, 1))
    with write_session(db) as session:
        services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                now=noon(date(2022, 10, 31)))
        services.place_case(session, meeting_id, "KB-5", org=org, now=noon(date(2022, 11, 3)),
                            late_reason="Hastesag")
    before = database_dump(db)
    with pytest.raises(TransitionRefused, match="udsende tillægsdagsordenen til KB-mødet"):
        with write_session(db) as session:
            services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                    now=noon(date(2022, 11, 3)))
    assert database_dump(db) == before
    with write_session(db) as session:
        supplement = services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                             now=noon(date(2022, 11, 3)),
                                             late_reason="Hastesag fra direktionen.")
    assert (supplement.kind, supplement.late_reason) == ("tillaeg", "Hastesag fra direktionen.")
    assert [e.reason for e in late_events(db)] == ["Hastesag fra direktionen."]


def test_it_counts_the_deadline_in_danish_weekdays_across_easter(db, org):
    """SU on Tuesday 11-04-2023, the day after Easter Monday. Four weekdays before, skipping
    Easter Monday, Good Friday and Maundy Thursday, is Friday 31-03-2023: publishing on
    Monday 03-04 is late, though only weekends would make it on time (deadline 05-04)."""
    day = date(2023, 4, 11)
    meeting_id = meeting_with_case(db, org, body="SU", day=day, number="E-1",
                                   now=noon(date(2023, 3, 1)))
    before = database_dump(db)
    with pytest.raises(TransitionRefused, match="var 31-03-2023"):
        with write_session(db) as session:
            services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                    now=noon(date(2023, 4, 3)))
    assert database_dump(db) == before
    with write_session(db) as session:
        on_time = services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                          now=noon(date(2023, 3, 31)))
    assert on_time.late_reason == "" and late_events(db) == []


def test_it_counts_the_deadline_in_danish_weekdays_across_christmas(db, org):
    """KB on Tuesday 02-01-2024 (New Year's Day is a Monday). Four weekdays before: 29-12
    (1), 28-12 (2), 27-12 (3), then 26-12 and 25-12 are holidays and 23-24 the weekend, so
    22-12-2023 (4). Counting only weekends, 27-12 would still be on time."""
    day = date(2024, 1, 2)
    meeting_id = meeting_with_case(db, org, body="KB", day=day, number="X-1",
                                   now=noon(date(2023, 12, 1)))
    before = database_dump(db)
    with pytest.raises(TransitionRefused, match="var 22-12-2023"):
        with write_session(db) as session:
            services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                    now=noon(date(2023, 12, 27)))
    assert database_dump(db) == before
    with write_session(db) as session:
        assert services.publish_agenda(session, meeting_id, actor="sek", org=org,
                                       now=noon(date(2023, 12, 22))).late_reason == ""


def test_it_does_not_refuse_to_record_a_meeting_already_held(db, org):
    """An imported referat publishes the agenda of a meeting held long ago: no notice can
    be given any more, so it is not refused (meetings.importer passes no reason)."""
    meeting_id = meeting_with_case(db, org, body="KB", day=KB_DAY, number="KB-6",
                                   now=noon(date(2022, 10, 3)))
    with write_session(db) as session:
        publication = services.publish_agenda(session, meeting_id, actor="import", org=org,
                                              now=noon(date(2022, 11, 8)))
    assert publication.late_reason == ""


def test_it_takes_the_reason_on_the_command_line(sqlite_url, monkeypatch, org):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    from cases.db import make_engine

    engine = make_engine(sqlite_url)
    # Two days ahead: always within the 4 weekdays, and the meeting is still to come.
    day = local_day(utcnow()) + timedelta(days=2)
    meeting_id = meeting_with_case(engine, org, body="SU", day=day, number="C-1",
                                   now=utcnow())
    ref = f"SU:{day:%d-%m-%Y}"
    runner = CliRunner()
    before = database_dump(engine)
    refused = runner.invoke(cli, ["meeting", "publish", ref])
    assert refused.exit_code == 1
    assert "Fejl: Fristen for at udsende dagsordenen til SU-mødet" in refused.output
    assert "Angiv en begrundelse" in refused.output and "Traceback" not in refused.output
    assert database_dump(engine) == before
    done = runner.invoke(cli, ["meeting", "publish", ref, "--late-reason", "Ekstraordinært møde"])
    assert done.exit_code == 0, done.output
    assert "Dagsordenen er offentliggjort (udgave 1) efter fristen: Ekstraordinært møde." \
        in done.output
    with read_session(engine) as session:
        [publication] = queries.publications(session, meeting_id)
    engine.dispose()
    assert publication.late_reason == "Ekstraordinært møde"
