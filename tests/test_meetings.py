"""Meetings: the plan, agendas, late submission, send-back and postponed queues, minutes."""

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from cases import actions as case_actions
from cases import queries as case_queries
from cases import services as case_services
from cases.db import make_engine, read_session, write_session
from cases.models import Membership, User
from cases.settings import PROJECT_DIR
from meetings import queries, services
from meetings.documents import render_publication
from meetings.models import MINUTES_APPROVAL, MINUTES_FINAL, Meeting
from meetings.plan import load_plan, parse_csv_plan
from workflow.errors import InvalidInput, TransitionRefused, UserError

PLAN = PROJECT_DIR / "config" / "moedeplan-2022.toml"


def at(day: str, hour: int = 12) -> datetime:
    """An instant on a 2022 day given as dd-mm (noon UTC unless told)."""
    d, m = day.split("-")
    return datetime(2022, int(m), int(d), hour, tzinfo=UTC)


def new_case(session, org, number, *, deciding="SU", committees=("SU",), title=None,
             submit=True, confidential=False, now=None):
    case_services.create_case(session, {
        "number": number, "title": title or f"Sag {number}",
        "centre": "Center for Voksne og Sundhed", "deciding_body": deciding,
        "committees": list(committees), "proposals": ["Sagen godkendes."],
        "confidential": confidential}, actor="test", org=org, now=now or at("01-08"))
    if submit:
        case_actions.submit(session, number, actor="test", org=org,
                            now=now or at("01-08"))


@pytest.fixture
def db(any_db_url, org):
    engine = make_engine(any_db_url)
    with write_session(engine) as session:
        services.import_plan(session, load_plan(PLAN, org), org=org, now=at("01-08"))
    yield engine
    engine.dispose()


def meeting_of(session, body, day):
    d, m = day.split("-")
    return queries.meeting_by_body_day(session, body, date(2022, int(m), int(d)))


def place(session, org, body, day, number, now="15-08", **kw):
    meeting = meeting_of(session, body, day)
    return services.place_case(session, meeting.id, number, org=org, now=at(now), **kw)


def publish_and_decide(session, org, body, day, number_wordings, publish_on="15-08", **kw):
    meeting = meeting_of(session, body, day)
    services.publish_agenda(session, meeting.id, actor="test", org=org, now=at(publish_on))
    for item in queries.items(session, meeting.id):
        case = session.get(case_queries.Case, item.case_id) if item.case_id else None
        wording = number_wordings.get(case.number if case else item.title)
        if wording:
            services.record_item_decision(session, item.id, wording=wording, actor="test",
                                          org=org, now=meeting.starts_at, **kw)
    return meeting


def test_it_loads_the_autumn_plan_once(db, org):
    plan = load_plan(PLAN, org)
    assert {m.body_code for m in plan} >= {"KB", "ØU", "SU", "BSU", "SÆU"}
    with write_session(db) as session:
        created, existing = services.import_plan(session, plan, org=org)
    assert created == [] and existing == len(plan)
    with read_session(db) as session:
        su = [queries.meeting_day(m) for m in queries.meetings(session, body_code="SU")]
        kb = meeting_of(session, "KB", "28-11")
    assert date(2022, 9, 6) in su and date(2022, 10, 4) in su
    assert kb.starts_at == datetime(2022, 11, 28, 17, tzinfo=UTC)  # 18:00 winter time


def test_it_gives_the_first_or_last_meetings_in_time_order(db, org):
    with read_session(db) as session:
        every = queries.meetings(session, body_code="SU")
        assert queries.meetings(session, body_code="SU", first=2) == every[:2]
        assert queries.meetings(session, body_code="SU", last=3) == every[-3:]
        assert len(every) > 3


def test_it_refuses_a_plan_with_an_unknown_body(org):
    with pytest.raises(UserError, match="Ukendt organ"):
        parse_csv_plan("body,date\nXX,04-10-2022\n", org)
    with pytest.raises(InvalidInput, match="Ugyldig dato"):
        parse_csv_plan("body,date\nSU,31-02-2022\n", org)


def test_it_puts_a_case_sent_back_by_oeu_in_every_committees_queue(db, org):
    with write_session(db) as session:
        new_case(session, org, "DK-1", deciding="KB", committees=("BSU", "SU", "SÆU"))
        for body, day in (("BSU", "06-09"), ("SU", "06-09"), ("SÆU", "13-09")):
            place(session, org, body, day, "DK-1", now="20-08")
            publish_and_decide(session, org, body, day, {"DK-1": "taget_til_efterretning"},
                               publish_on="20-08")
        assert [c.number for c, _ in case_queries.queue(session, "ØU")] == ["DK-1"]
        place(session, org, "ØU", "20-09", "DK-1", now="14-09", late_reason="Haster")
        publish_and_decide(session, org, "ØU", "20-09", {"DK-1": "sendes_tilbage"},
                           publish_on="14-09", decision_text="Sendes tilbage til udvalgene.")
    with read_session(db) as session:
        for body in ("BSU", "SU", "SÆU"):
            entries = queries.agenda_queue(session, body)
            assert [(e.case.number, e.placed_on) for e in entries] == [("DK-1", None)]
        assert case_queries.queue(session, "ØU") == []
        history = case_queries.decision_history(session, case_queries.get_case(
            session, "DK-1").id)
    assert [(t.body_code, t.wording) for t in history][-1] == ("ØU", "sendes_tilbage")
    assert history[-1].agenda_item_id is not None and history[-1].item_number == 1


def test_it_keeps_a_postponed_case_in_the_queue(db, org):
    with write_session(db) as session:
        new_case(session, org, "P-1")
        place(session, org, "SU", "06-09", "P-1")
        assert queries.agenda_queue(session, "SU")[0].placed_on is not None
        publish_and_decide(session, org, "SU", "06-09", {"P-1": "udsat"})
    with read_session(db) as session:
        entries = queries.agenda_queue(session, "SU")
        assert [(e.case.number, e.placed_on) for e in entries] == [("P-1", None)]
    with write_session(db) as session:  # and it can go on the next agenda
        place(session, org, "SU", "04-10", "P-1", now="07-09")


def test_it_refuses_late_submission_unless_a_reason_is_given(db, org):
    with write_session(db) as session:
        new_case(session, org, "L-1")
    # SU 04-10-2022: 9 weekdays before is 21-09-2022.
    with write_session(db) as session:
        place(session, org, "SU", "04-10", "L-1", now="21-09")
        services.remove_item(session, queries.items(
            session, meeting_of(session, "SU", "04-10").id)[0].id)
    with pytest.raises(TransitionRefused, match="var 21-09-2022"):
        with write_session(db) as session:
            place(session, org, "SU", "04-10", "L-1", now="22-09")
    with write_session(db) as session:
        item = place(session, org, "SU", "04-10", "L-1", now="22-09",
                     late_reason="Ministeriets frist")
    assert item.late_reason == "Ministeriets frist"


def test_it_refuses_a_case_not_due_at_the_body(db, org):
    with write_session(db) as session:
        new_case(session, org, "N-1", committees=("SU",))
    with pytest.raises(TransitionRefused, match="afventer ikke behandling i BSU"):
        with write_session(db) as session:
            place(session, org, "BSU", "06-09", "N-1")
    with write_session(db) as session:
        place(session, org, "SU", "06-09", "N-1")
    with pytest.raises(InvalidInput, match="står allerede på dagsordenen"):
        with write_session(db) as session:
            place(session, org, "SU", "04-10", "N-1")


def test_it_returns_cases_of_a_cancelled_meeting_to_the_queue_and_moves_items(db, org):
    with write_session(db) as session:
        new_case(session, org, "C-1")
        new_case(session, org, "C-2")
        place(session, org, "SU", "06-09", "C-1")
        place(session, org, "SU", "04-10", "C-2")
        returned = services.cancel_meeting(session, meeting_of(session, "SU", "06-09").id,
                                           reason="Valg")
        moved = services.move_meeting(session, meeting_of(session, "SU", "04-10").id,
                                      day="05-10-2022", reason="Lokalet er optaget")
    assert returned == ["C-1"]
    with read_session(db) as session:
        placed = {e.case.number: e.placed_on for e in queries.agenda_queue(session, "SU")}
        assert placed["C-1"] is None
        assert queries.meeting_day(placed["C-2"]) == date(2022, 10, 5)
        assert placed["C-2"].id == moved.id and placed["C-2"].status == "moved"


def test_it_keeps_standing_items_and_publishes_a_supplementary_agenda(db, org):
    with write_session(db) as session:
        for number in ("S-1", "S-2", "S-3"):
            new_case(session, org, number)
        meeting = meeting_of(session, "SU", "04-10")
        services.add_standing_item(session, meeting.id, "meddelelser", now=at("15-08"))
        services.add_standing_item(session, meeting.id, "godkendelse_af_referat",
                                   now=at("15-08"))
        place(session, org, "SU", "04-10", "S-1")
        place(session, org, "SU", "04-10", "S-2", closed=True)
        titles = [i.title for i in queries.items(session, meeting.id)]
        assert titles == ["Meddelelser", "Sag S-1", "Sag S-2", "Godkendelse af referat"]
        first = services.publish_agenda(session, meeting.id, actor="sek", org=org,
                                        now=at("27-09"))
        item = place(session, org, "SU", "04-10", "S-3", now="29-09", late_reason="Hastesag")
        assert item.supplementary and item.number == 5
        # After SU's agenda deadline (28-09): the tillæg needs a reason too.
        second = services.publish_agenda(session, meeting.id, actor="sek", org=org,
                                         now=at("29-09"), late_reason="Hastesag")
        case_queries.get_case(session, "S-1").title = "Ny titel efter offentliggørelse"
    assert (first.seq, first.kind, second.seq, second.kind) == (1, "dagsorden", 2, "tillaeg")
    with read_session(db) as session:
        kept = queries.publications(session, meeting.id)
        html = render_publication(kept[0])
        supplement = render_publication(kept[1])
    assert "Sag S-1" in html and "Ny titel" not in html and "Sag S-3" not in html
    assert "Sag S-3" in supplement and "Tillægsdagsorden" in supplement
    with pytest.raises(InvalidInput, match="ingen nye punkter"):
        with write_session(db) as session:
            services.publish_agenda(session, meeting.id, actor="sek", org=org, now=at("30-09"))


def _members(session, body, names):
    for name in names:
        user = User(username=name.lower(), name=name, email=f"{name.lower()}@example.org",
                    role="member")
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, body_code=body))


def test_it_makes_the_minutes_final_when_every_member_approved(db, org):
    with write_session(db) as session:
        _members(session, "SU", ["Anna", "Bo"])
        new_case(session, org, "M-1")
        meeting = meeting_of(session, "SU", "06-09")
        place(session, org, "SU", "06-09", "M-1")
        services.add_standing_item(session, meeting.id, "godkendelse_af_referat",
                                   now=at("15-08"))
        publish_and_decide(session, org, "SU", "06-09", {
            "M-1": "godkendt", "Godkendelse af referat": "godkendt"})
        services.record_absence(session, meeting.id, username="bo", note="Sygdom")
        services.send_minutes_for_approval(session, meeting.id, org=org, now=at("07-09"))
        assert meeting.minutes_status == MINUTES_APPROVAL
        assert meeting.objection_deadline == date(2022, 9, 14)
        services.approve_minutes(session, meeting.id, username="anna", now=at("08-09"))
        services.approve_minutes(session, meeting.id, username="anna", now=at("08-09"))
        assert meeting.minutes_status == MINUTES_APPROVAL
        with pytest.raises(TransitionRefused, match="ikke medlem"):
            _members(session, "BSU", ["Carl"])
            services.approve_minutes(session, meeting.id, username="carl", now=at("08-09"))
    with write_session(db) as session:
        services.approve_minutes(session, meeting.id, username="bo", now=at("09-09"))
        final = session.get(Meeting, meeting.id)
        assert final.minutes_status == MINUTES_FINAL


def test_it_makes_the_minutes_final_when_the_objection_deadline_passed(db, org):
    with write_session(db) as session:
        _members(session, "SU", ["Anna"])
        new_case(session, org, "M-2")
        meeting = meeting_of(session, "SU", "06-09")
        place(session, org, "SU", "06-09", "M-2")
        with pytest.raises(TransitionRefused, match="ikke offentliggjort"):
            services.send_minutes_for_approval(session, meeting.id, org=org, now=at("07-09"))
        services.publish_agenda(session, meeting.id, actor="sek", org=org, now=at("15-08"))
        with pytest.raises(TransitionRefused, match="Punkt 1 mangler en beslutning"):
            services.send_minutes_for_approval(session, meeting.id, org=org, now=at("07-09"))
    with write_session(db) as session:
        item = queries.items(session, meeting.id)[0]
        services.record_item_decision(session, item.id, wording="Godkendt", actor="t", org=org,
                                      now=at("06-09", 18))
        services.send_minutes_for_approval(session, meeting.id, objection_deadline="12-09-2022",
                                           org=org, now=at("07-09"))
        assert services.finalise_due_minutes(session, now=at("12-09")) == []
        assert services.finalise_due_minutes(session, now=at("13-09")) == [meeting.id]
    with read_session(db) as session:
        assert session.get(Meeting, meeting.id).minutes_status == MINUTES_FINAL
        assert session.exec(select(Meeting).where(Meeting.minutes_status == MINUTES_FINAL)
                            ).one().id == meeting.id


def test_it_stores_meetings_on_the_dst_days_in_utc_and_finds_them_by_local_day(db, org):
    from meetings.documents import meeting_header

    with write_session(db) as session:
        spring = services.create_meeting(session, body="KB", day="29-03-2026", org=org)
        autumn = services.create_meeting(session, body="KB", day="25-10-2026", at="18:00",
                                         org=org)
        night = services.create_meeting(session, body="SU", day="25-10-2026", at="00:30",
                                        org=org)
    with read_session(db) as session:
        found = {m.id: m for m in queries.meetings(session, body_code="KB")}
        assert found[spring.id].starts_at == datetime(2026, 3, 29, 16, tzinfo=UTC)
        assert found[autumn.id].starts_at == datetime(2026, 10, 25, 17, tzinfo=UTC)
        assert meeting_header(found[autumn.id], org)["time"] == "18:00"
        # 00:30 local on 25-10 is 22:30 UTC the day before: still found on its local day.
        assert queries.find_meeting(session, "SU", date(2026, 10, 25)).id == night.id
        assert queries.find_meeting(session, "SU", date(2026, 10, 24)) is None


def agenda_log(session, number) -> list[tuple]:
    """The case's agenda events: (trigger, actor, body, reason, payload without ids)."""
    case = case_queries.get_case(session, number)
    return [(e.trigger, e.actor, e.body, e.reason,
             {k: v for k, v in e.payload.items() if k not in ("meeting_id", "agenda_item_id")})
            for e in case_queries.events(session, case.id) if "agenda" in e.trigger]


def test_it_records_placing_moving_and_removing_a_case_on_an_agenda_in_the_case_log(db, org):
    with write_session(db) as session:
        new_case(session, org, "A-1")
        new_case(session, org, "A-2")
        meeting = meeting_of(session, "SU", "04-10")
        first = place(session, org, "SU", "04-10", "A-1", actor="sek")
        second = place(session, org, "SU", "04-10", "A-2", actor="sek")
        services.order_items(session, meeting.id, [second.id, first.id], actor="sek",
                             now=at("16-08"))
        services.move_meeting(session, meeting.id, day="05-10-2022", reason="Lokalet er optaget",
                              actor="sek", now=at("17-08"))
        services.remove_item(session, second.id, actor="sek", now=at("18-08"))
        place(session, org, "SU", "06-09", "A-2", now="19-08", actor="sek")
        services.cancel_meeting(session, meeting_of(session, "SU", "06-09").id, reason="Valg",
                                actor="sek", now=at("20-08"))
    on_4_10 = {"meeting_date": "2022-10-04"}
    on_5_10 = {"meeting_date": "2022-10-05"}
    with read_session(db) as session:
        assert agenda_log(session, "A-1") == [
            ("place_on_agenda", "sek", "SU", "", {**on_4_10, "item_number": 1,
                                                  "supplementary": False, "closed": False}),
            ("move_on_agenda", "sek", "SU", "", {**on_4_10, "item_number": 2,
                                                 "from_item_number": 1}),
            ("move_on_agenda", "sek", "SU", "Lokalet er optaget",
             {**on_5_10, "item_number": 2, "from_date": "2022-10-04"}),
            ("move_on_agenda", "sek", "SU", "", {**on_5_10, "item_number": 1,
                                                 "from_item_number": 2}),
        ]
        assert agenda_log(session, "A-2") == [
            ("place_on_agenda", "sek", "SU", "", {**on_4_10, "item_number": 2,
                                                  "supplementary": False, "closed": False}),
            ("move_on_agenda", "sek", "SU", "", {**on_4_10, "item_number": 1,
                                                 "from_item_number": 2}),
            ("move_on_agenda", "sek", "SU", "Lokalet er optaget",
             {**on_5_10, "item_number": 1, "from_date": "2022-10-04"}),
            ("remove_from_agenda", "sek", "SU", "", {**on_5_10, "item_number": 1}),
            ("place_on_agenda", "sek", "SU", "", {"meeting_date": "2022-09-06", "item_number": 1,
                                                  "supplementary": False, "closed": False}),
            ("remove_from_agenda", "sek", "SU", "Valg", {"meeting_date": "2022-09-06",
                                                         "item_number": 1,
                                                         "meeting_cancelled": True}),
        ]


def test_it_keeps_a_late_reason_in_the_log_and_replays_past_agenda_events(db, org):
    with write_session(db) as session:
        new_case(session, org, "R-1", deciding="KB", committees=("SU",))
        place(session, org, "SU", "04-10", "R-1", now="22-09", late_reason="Ministeriets frist")
        publish_and_decide(session, org, "SU", "04-10", {"R-1": "anbefales"},
                           publish_on="27-09")
    with read_session(db) as session:
        [placed] = agenda_log(session, "R-1")
        assert placed[0] == "place_on_agenda" and placed[3] == "Ministeriets frist"
        case = case_queries.get_case(session, "R-1")
        assert case.status == "finance"
        # The audit log, agenda events and all, replays to the stored state.
        replayed = case_services.replayed_flow(session, case)
        stored = case_services.current_flow(session, org, case)
        assert case_services.flow_summary(replayed) == case_services.flow_summary(stored)
