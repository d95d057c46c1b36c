"""The managers' dashboard: what is overdue, at risk, sent back, missing answers or stuck.

Every figure starts from the active cases (`Case.status IN ACTIVE`, indexed), never from
the whole history: a municipality has a few hundred cases under way and a growing pile of
closed ones, so the cost follows the active cases, not the 100,000 in the register. The
per-case conditions are EXISTS lookups on indexed case_id columns.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlmodel import Session, func, select

from cases.models import Awaiting, Case, CaseEvent, Deadline, Hearing, HearingParty, HearingResponse
from cases.organisation import (
    COUNCIL,
    FINANCE_COMMITTEE,
    HEARING_COUNCIL,
    Organisation,
)
from cases.services import start_flow
from meetings.planner import plan_route, remaining_stages
from meetings.queries import calendar as meeting_calendar
from workflow.machine import ACTIVE, COMMITTEE, DRAFT, HEARING

FIGURES = {
    "overdue": "Overskredne frister",
    "at_risk": "I fare (ruten når ikke frem før fristen)",
    "sent_back": "Sendt tilbage",
    "missing_responses": "Manglende høringssvar",
    "stale": "Ingen bevægelse",
}

# A case needs at least this many days per remaining step of its route (a meeting a week
# and the secretariat's submission deadline before it): the fallback estimate of "at risk"
# when no meeting calendar is available.
DAYS_PER_STEP = 7
SUBMISSION_LEAD_DAYS = 14


@dataclass(frozen=True)
class Filters:
    centre: str | None = None
    body: str | None = None

    def query(self) -> dict:
        return {k: v for k, v in (("centre", self.centre), ("organ", self.body)) if v}


# Spelled with literal values so that the partial index ix_web_case_active applies (a
# planner cannot match a partial index's condition against bound parameters).
ACTIVE_CONDITION = Case.status.in_(sa.bindparam("active_states", list(ACTIVE), expanding=True,
                                                literal_execute=True))


def active_cases(org: Organisation, filters: Filters):
    """The WHERE clause for active cases matching the filters."""
    conditions = [ACTIVE_CONDITION]
    if filters.centre:
        conditions.append(Case.centre == filters.centre)
    if filters.body:
        conditions.append(_on_route(org, filters.body))
    return sa.and_(*conditions)


def _on_route(org: Organisation, code: str):
    body = org.body(code)
    if body.kind == COUNCIL:
        return Case.deciding_body == code
    if body.kind == FINANCE_COMMITTEE:
        deciding = [code] + ([org.council.code] if org.council else [])
        return Case.deciding_body.in_(deciding)
    if body.kind == HEARING_COUNCIL:
        return sa.exists().where(Hearing.case_id == Case.id, HearingParty.hearing_id == Hearing.id,
                                 HearingParty.body_code == code)
    # JSON text holds the code as json.dumps writes it ("\u00d8U"); contains() escapes it.
    return sa.or_(Case.deciding_body == code,
                  sa.cast(Case.committees, sa.Text).contains(json.dumps(code), autoescape=True))


def figure_condition(figure: str, today: date, now: datetime, stale_weeks: int):
    if figure == "overdue":
        # The earliest unmet deadline, per case by its index. Not EXISTS: PostgreSQL turns
        # that into a hash of every overdue deadline in the archive (closed cases included).
        earliest = (select(func.min(Deadline.due_date))
                    .where(Deadline.case_id == Case.id, Deadline.met_on.is_(None))
                    .scalar_subquery())
        return earliest < today
    if figure == "sent_back":
        return sa.and_(Case.status == COMMITTEE, sa.exists().where(
            CaseEvent.case_id == Case.id, CaseEvent.trigger == "send_back"))
    if figure == "missing_responses":
        unanswered = sa.exists().where(
            HearingParty.hearing_id == Hearing.id,
            ~sa.exists().where(HearingResponse.party_id == HearingParty.id))
        return sa.exists().where(Hearing.case_id == Case.id, Hearing.closed_on.is_(None),
                                 Hearing.deadline < today, unanswered)
    if figure == "stale":
        return Case.updated_at < now - timedelta(weeks=stale_weeks)
    raise KeyError(figure)


# -- at risk -----------------------------------------------------------------------------------

def steps_left(status: str, to_council: bool, has_finance: bool) -> int:
    """How many meeting steps the case still needs (parallel committees count as one)."""
    after_committees = (2 if has_finance else 1) if to_council else 0
    if status in (DRAFT, HEARING, COMMITTEE):
        return 1 + after_committees
    if status == "finance":
        return 2 if to_council else 1
    if status == "council":
        return 1
    return 0


def route_fits(*, status: str, to_council: bool, has_finance: bool, due: date,
               today: date, hearing_deadline: date | None = None) -> bool:
    """A cautious estimate: does the remaining route reach its last meeting before `due`?"""
    start = max(today, hearing_deadline or today)
    needed = steps_left(status, to_council, has_finance) * DAYS_PER_STEP + SUBMISSION_LEAD_DAYS
    return start + timedelta(days=needed) <= due


def at_risk_ids(session: Session, org: Organisation, filters: Filters, today: date) -> list[int]:
    """Active cases with an open future deadline whose remaining route no longer fits.

    With a meeting calendar, the route planner (meetings.planner) decides; without one, a
    cautious estimate of a week per remaining step.
    """
    # A correlated MIN per active case (not a JOIN ... GROUP BY, which SQLite answers by
    # scanning the whole case table in id order).
    due = (select(func.min(Deadline.due_date))
           .where(Deadline.case_id == Case.id, Deadline.met_on.is_(None),
                  Deadline.due_date >= today).scalar_subquery().label("due"))
    # The committees as their JSON text: a few distinct lists among a thousand cases, each
    # decoded once below instead of once per case by the driver.
    rows = [row for row in session.execute(
        select(Case.id, Case.status, Case.deciding_body,
               sa.cast(Case.committees, sa.Text).label("committees"),
               Case.finance_statement, due).where(active_cases(org, filters))).all()
        if row.due is not None]
    if not rows:
        return []
    calendar = meeting_calendar(session, since=today)
    if calendar:
        return planned_at_risk(session, org, filters, rows, calendar, today)
    ids = [case.id for case in rows]
    council = org.council.code if org.council else None
    hearing_ends = dict(session.execute(
        select(Hearing.case_id, func.max(Hearing.deadline))
        .where(Hearing.case_id.in_(ids), Hearing.closed_on.is_(None))
        .group_by(Hearing.case_id)).all())
    return [case.id for case in rows
            if not route_fits(status=case.status, to_council=case.deciding_body == council,
                              has_finance=org.finance_committee is not None, due=case.due,
                              today=today, hearing_deadline=hearing_ends.get(case.id))]


def planned_at_risk(session: Session, org: Organisation, filters: Filters, rows: list,
                    calendar: dict[str, list[date]], today: date) -> list[int]:
    """The ids among `rows` whose remaining route, by the route planner, no longer fits.

    Cases alike in state, committees and queues share their stages, worked out once; alike
    in deadline too, they share one plan (the benchmark's 775 active cases with a deadline
    make 164 routes and 640 plans).
    """
    pending: dict[int, list[str]] = {}
    for case_id, code in session.execute(
            select(Awaiting.case_id, Awaiting.body_code)
            .where(Awaiting.case_id.in_(select(Case.id).where(active_cases(org, filters))))
            .order_by(Awaiting.case_id, Awaiting.body_code)).all():
        pending.setdefault(case_id, []).append(code)
    routes: dict[tuple, tuple] = {}
    verdicts: dict[tuple, bool] = {}
    risky = []
    for row in rows:
        waiting = pending.get(row.id, [])
        route = (row.status, row.deciding_body, row.committees, row.finance_statement,
                 tuple(waiting))
        if route not in routes:
            routes[route] = stages_left(org, row, json.loads(row.committees), waiting)
        plan = (routes[route], row.due)
        if plan not in verdicts:
            verdicts[plan] = not plan[0] or plan_route(
                stages=[list(stage) for stage in plan[0]], deadline=row.due,
                calendar=calendar, org=org).fits(today)
        if not verdicts[plan]:
            risky.append(row.id)
    return risky


def stages_left(org: Organisation, row, committees: list[str],
                pending: list[str]) -> tuple[tuple[str, ...], ...]:
    """The stages still ahead of an active case (a row of its status, deciding body and
    finance statement), by the workflow's own rule (meetings.planner.remaining_stages)."""
    flow = start_flow(org, SimpleNamespace(deciding_body=row.deciding_body,
                                           committees=committees, joint_bodies=[]))
    flow.state = row.status
    flow.pending = pending
    flow.finance_statement = row.finance_statement
    return tuple(tuple(stage) for stage in remaining_stages(flow))


# -- the figures -------------------------------------------------------------------------------

@dataclass
class Figure:
    key: str
    label: str
    count: int
    cases: list[Case]


def figure_cases(session: Session, org: Organisation, figure: str, filters: Filters, *,
                 today: date, now: datetime, stale_weeks: int, limit: int) -> tuple[int, list]:
    """(how many, the first `limit` of them) for one figure."""
    if figure == "at_risk":
        ids = at_risk_ids(session, org, filters, today)
        cases = list(session.exec(select(Case).where(Case.id.in_(ids[:limit]))
                                  .order_by(Case.number))) if ids else []
        return len(ids), cases
    where = sa.and_(active_cases(org, filters),
                    figure_condition(figure, today, now, stale_weeks))
    count = session.exec(select(func.count()).select_from(Case).where(where)).one()
    cases = list(session.exec(select(Case).where(where).order_by(Case.updated_at, Case.number)
                              .limit(limit))) if count else []
    return count, cases


def figures(session: Session, org: Organisation, filters: Filters, *, today: date,
            now: datetime, stale_weeks: int, limit: int = 8) -> list[Figure]:
    """Every figure's count and first cases, from one pass over the active cases.

    One query returns each active case with a flag per figure (EXISTS lookups by case_id),
    so the dashboard costs one index range scan however many figures it shows.
    """
    keys = [k for k in FIGURES if k != "at_risk"]
    flags = [sa.case((figure_condition(k, today, now, stale_weeks), 1), else_=0).label(k)
             for k in keys]
    rows = session.execute(select(Case.id, Case.number, Case.title, Case.confidential,
                                  Case.updated_at, *flags)
                           .where(active_cases(org, filters))
                           .order_by(Case.updated_at, Case.number)).all()
    risky = set(at_risk_ids(session, org, filters, today))
    result = []
    for key, label in FIGURES.items():
        if key == "stale":
            label = f"{label} i {stale_weeks} uger"
        hits = [r for r in rows if (r.id in risky if key == "at_risk" else getattr(r, key))]
        result.append(Figure(key=key, label=label, count=len(hits), cases=hits[:limit]))
    return result


def overdue_deadlines(session: Session, case_ids: list[int], today: date) -> dict[int, date]:
    """The earliest overdue deadline of each case (for the lists)."""
    if not case_ids:
        return {}
    return dict(session.execute(
        select(Deadline.case_id, func.min(Deadline.due_date))
        .where(Deadline.case_id.in_(case_ids), Deadline.met_on.is_(None),
               Deadline.due_date < today).group_by(Deadline.case_id)).all())


def deadlines_by_week(session: Session, org: Organisation, filters: Filters, *, today: date,
                      weeks: int = 12) -> list[tuple[date, int, int]]:
    """(Monday of the week, case deadlines, høringsfrister) for the coming weeks."""
    monday = today - timedelta(days=today.weekday())
    end = monday + timedelta(weeks=weeks)
    # Driven from the active cases (IN on the case_id index), not from the date range,
    # which also holds the archive's deadlines.
    active_ids = select(Case.id).where(active_cases(org, filters))
    case_days = session.exec(
        select(Deadline.due_date).where(Deadline.case_id.in_(active_ids),
                                        Deadline.met_on.is_(None),
                                        Deadline.due_date >= monday, Deadline.due_date < end)
    ).all()
    hearing_days = session.exec(
        select(Hearing.deadline).where(Hearing.case_id.in_(active_ids),
                                       Hearing.closed_on.is_(None),
                                       Hearing.deadline >= monday, Hearing.deadline < end)
    ).all()
    counts = {monday + timedelta(weeks=i): [0, 0] for i in range(weeks)}
    for day in case_days:
        counts[day - timedelta(days=day.weekday())][0] += 1
    for day in hearing_days:
        counts[day - timedelta(days=day.weekday())][1] += 1
    return [(week, c, h) for week, (c, h) in counts.items()]


def week_cases(session: Session, org: Organisation, filters: Filters, week: date,
               limit: int) -> tuple[int, list[Case]]:
    """Active cases with a deadline or høringsfrist in the week starting `week`."""
    end = week + timedelta(days=7)
    where = sa.and_(active_cases(org, filters), sa.or_(
        sa.exists().where(Deadline.case_id == Case.id, Deadline.met_on.is_(None),
                          Deadline.due_date >= week, Deadline.due_date < end),
        sa.exists().where(Hearing.case_id == Case.id, Hearing.closed_on.is_(None),
                          Hearing.deadline >= week, Hearing.deadline < end)))
    count = session.exec(select(func.count()).select_from(Case).where(where)).one()
    cases = list(session.exec(select(Case).where(where).order_by(Case.number).limit(limit)))
    return count, cases
