"""The backward route planner on the seed's dates and a Ballerup-like autumn 2022 calendar."""

from datetime import UTC, date, datetime

import pytest

from cases import services as case_services
from cases.db import make_engine, read_session, write_session
from cases.settings import PROJECT_DIR
from meetings import services
from meetings.plan import load_plan
from meetings.planner import no_longer_fits, plan_route, remaining_stages
from workflow.machine import CaseFlow

PLAN = PROJECT_DIR / "config" / "moedeplan-2022.toml"


@pytest.fixture(scope="module")
def calendar(org):
    days: dict[str, list[date]] = {}
    for meeting in load_plan(PLAN, org):
        days.setdefault(meeting.body_code, []).append(meeting.day)
    return days


def d(text: str) -> date:
    day, month, year = text.split("-")
    return date(int(year), int(month), int(day))


def test_it_plans_the_rammeaftale_back_from_kb_by_30_november(calendar, org):
    plan = plan_route(stages=[["SU", "BSU"], ["ØU"], ["KB"]], deadline=d("30-11-2022"),
                      calendar=calendar, org=org)
    assert [(s.body_code, s.meeting) for s in plan.steps] == [
        ("SU", d("01-11-2022")), ("BSU", d("01-11-2022")), ("ØU", d("22-11-2022")),
        ("KB", d("28-11-2022"))]
    su, _, oeu, kb = plan.steps
    assert su.submission == d("19-10-2022")  # 9 weekdays before Tuesday 01-11
    assert oeu.submission == d("09-11-2022")
    assert kb.agenda_out == d("22-11-2022") and kb.material == d("23-11-2022")
    assert plan.hearing_closes_by == d("18-10-2022")
    # On the seed's meeting day the route fits; it stops fitting the day after 19-10-2022.
    assert plan.fits(d("04-10-2022")) and plan.fits(d("19-10-2022"))
    assert not plan.fits(d("20-10-2022"))
    assert plan.no_longer_fits_since == d("20-10-2022")


def test_it_plans_the_danmarkskort_after_the_send_back_to_the_year_end(calendar, org):
    # After SU's treatment on 04-10-2022, BSU and SÆU still have to treat it again.
    flow = CaseFlow(deciding_body="KB", deciding_stage="council",
                    committees=["BSU", "SU", "SÆU"], finance_body="ØU", council_body="KB",
                    state="committee", pending=["BSU", "SÆU"])
    stages = remaining_stages(flow)
    assert stages == [["BSU", "SÆU"], ["ØU"], ["KB"]]
    plan = plan_route(stages=stages, deadline=d("31-12-2022"), calendar=calendar, org=org)
    assert [(s.body_code, s.meeting) for s in plan.steps] == [
        ("BSU", d("29-11-2022")), ("SÆU", d("29-11-2022")), ("ØU", d("13-12-2022")),
        ("KB", d("19-12-2022"))]
    assert plan.no_longer_fits_since == d("17-11-2022")


def test_it_says_from_which_day_a_route_no_longer_fits(calendar, org):
    # A KMU case that KB must decide by 30-11-2022: KMU's last useful meeting is 08-11-2022,
    # whose submission deadline is 26-10-2022.
    plan = plan_route(stages=[["KMU"], ["ØU"], ["KB"]], deadline=d("30-11-2022"),
                      calendar=calendar, org=org)
    assert plan.steps[0].meeting == d("08-11-2022")
    assert plan.fits(d("26-10-2022"))
    assert no_longer_fits(plan, d("27-10-2022"))
    assert plan.no_longer_fits_since == d("27-10-2022")
    text = "\n".join(plan.describe(d("01-11-2022")))
    assert "kan ikke længere nås" in text and "siden 27-10-2022" in text


def test_it_says_when_the_calendar_has_no_meeting_in_time(calendar, org):
    plan = plan_route(stages=[["SU"], ["ØU"], ["KB"]], deadline=d("20-08-2022"),
                      calendar=calendar, org=org)
    assert not plan.complete and not plan.fits(d("01-01-2022"))
    assert "KB har intet møde senest 20-08-2022" in plan.problem


def test_it_plans_the_remaining_stages_from_the_workflow_state():
    base = dict(deciding_body="KB", deciding_stage="council", committees=["SU"],
                finance_body="ØU", council_body="KB")
    assert remaining_stages(CaseFlow(**base)) == [["SU"], ["ØU"], ["KB"]]
    assert remaining_stages(CaseFlow(**base, state="finance")) == [["ØU"], ["KB"]]
    assert remaining_stages(CaseFlow(**base, state="council")) == [["KB"]]
    assert remaining_stages(CaseFlow(**base, state="decided")) == []
    committee_case = CaseFlow(deciding_body="SU", deciding_stage="committee", committees=["SU"],
                              finance_body="ØU", council_body="KB")
    assert remaining_stages(committee_case) == [["SU"]]


def test_it_plans_a_stored_case_and_finds_those_that_no_longer_fit(sqlite_url, org):
    engine = make_engine(sqlite_url)
    now = datetime(2022, 10, 1, tzinfo=UTC)
    with write_session(engine) as session:
        services.import_plan(session, load_plan(PLAN, org), org=org, now=now)
        for number, committee in (("RA-1", "SU"), ("KL-1", "KMU")):
            case_services.create_case(session, {
                "number": number, "title": f"Sag {number}", "centre": "Center for By og Miljø",
                "deciding_body": "KB", "committees": [committee],
                "deadlines": [{"due_date": "30-11-2022", "description": "KB senest"}]},
                actor="t", org=org, now=now)
    with read_session(engine) as session:
        plan = services.plan_case(session, "RA-1", org=org)
        late = services.routes_no_longer_fitting(session, today=d("27-10-2022"), org=org)
        early = services.routes_no_longer_fitting(session, today=d("19-10-2022"), org=org)
    engine.dispose()
    assert [s.body_code for s in plan.steps] == ["SU", "ØU", "KB"]
    assert [c.number for c, _ in late] == ["KL-1", "RA-1"]
    assert early == []


def test_the_dashboards_verdicts_are_kept_between_visits_and_follow_the_calendar(
        calendar, org, monkeypatch):
    """The dashboard plans every active case on each visit; the verdicts are kept between
    visits (views.dashboard.PlanMemo), and a calendar changed in any way is planned anew."""
    from types import SimpleNamespace

    from views import dashboard

    planned = []
    monkeypatch.setattr(dashboard, "_plan_memo", None)  # none kept from an earlier test
    monkeypatch.setattr(dashboard, "plan_route",
                        lambda **route: planned.append(route) or plan_route(**route))
    rows = [SimpleNamespace(id=case_id, status="committee", deciding_body="SU",
                            committees='["SU"]', finance_statement=False, due=d("30-11-2022"),
                            waiting="SU") for case_id in (1, 2)]
    today = d("03-10-2022")
    assert dashboard.planned_at_risk(org, rows, calendar, today) == []
    assert len(planned) == 1  # the two cases share their plan
    assert dashboard.planned_at_risk(org, rows, calendar, today) == []
    assert len(planned) == 1  # the second visit plans nothing
    # Another day, another verdict: by 10-11 the submission for Socialudvalget's last
    # meeting in time (01-11) has passed.
    assert dashboard.planned_at_risk(org, rows, calendar, d("10-11-2022")) == [1, 2]
    assert len(planned) == 2
    # Socialudvalget's meetings before the deadline cancelled: both cases are at risk.
    later = {**calendar, "SU": [day for day in calendar["SU"] if day > d("30-11-2022")]}
    assert dashboard.planned_at_risk(org, rows, later, today) == [1, 2]
    assert len(planned) == 3
