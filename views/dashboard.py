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
        # The trigger as a literal, so that the partial index on it applies
        # (cases.models.CASE_EVENT_SEND_BACK_INDEX).
        return sa.and_(Case.status == COMMITTEE, sa.exists().where(
            CaseEvent.case_id == Case.id,
            CaseEvent.trigger == sa.bindparam("send_back", "send_back", literal_execute=True)))
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


# The waiting bodies of a case (its Awaiting rows) as one text, joined by a character no body
# code holds: read with the case's row, not by a query of their own.
WAITING_SEPARATOR = "\x1f"


def risk_columns(today: date) -> list:
    """What the at-risk verdict needs of an active case, as columns of its row: its state,
    route, earliest open deadline from today (`due`) and the bodies it waits for."""
    # A correlated MIN per active case (not a JOIN ... GROUP BY, which SQLite answers by
    # scanning the whole case table in id order).
    due = (select(func.min(Deadline.due_date))
           .where(Deadline.case_id == Case.id, Deadline.met_on.is_(None),
                  Deadline.due_date >= today).scalar_subquery().label("due"))
    waiting = (select(func.aggregate_strings(Awaiting.body_code, WAITING_SEPARATOR))
               .where(Awaiting.case_id == Case.id).scalar_subquery().label("waiting"))
    # The committees as their JSON text: a few distinct lists among a thousand cases, each
    # decoded once below instead of once per case by the driver.
    return [Case.status, Case.deciding_body,
            sa.cast(Case.committees, sa.Text).label("committees"), Case.finance_statement,
            due, waiting]


def at_risk_ids(session: Session, org: Organisation, filters: Filters, today: date,
                rows: list | None = None) -> list[int]:
    """Active cases with an open future deadline whose remaining route no longer fits.

    With a meeting calendar, the route planner (meetings.planner) decides; without one, a
    cautious estimate of a week per remaining step. `rows`: the active cases matching the
    filters with their risk_columns, when the caller has read them already.
    """
    if rows is None:
        rows = session.execute(select(Case.id, *risk_columns(today))
                               .where(active_cases(org, filters))).all()
    rows = [row for row in rows if row.due is not None]
    if not rows:
        return []
    calendar = meeting_calendar(session, since=today)
    if calendar:
        return planned_at_risk(org, rows, calendar, today)
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


def planned_at_risk(org: Organisation, rows: list, calendar: dict[str, list[date]],
                    today: date) -> list[int]:
    """The ids among `rows` whose remaining route, by the route planner, no longer fits.

    Cases alike in state, committees and queues share their stages, worked out once; alike
    in deadline too, they share one plan (the benchmark's 775 active cases with a deadline
    make 164 routes and 640 plans). Both are kept between visits (PlanMemo).
    """
    memo = plan_memo(org, calendar)
    risky = []
    for row in rows:
        route = (row.status, row.deciding_body, row.committees, row.finance_statement,
                 row.waiting)
        stages = memo.routes.get(route)
        if stages is None:
            waiting = sorted(row.waiting.split(WAITING_SEPARATOR)) if row.waiting else []
            stages = memo.routes[route] = stages_left(org, row, json.loads(row.committees),
                                                      waiting)
        plan = (stages, row.due, today)
        fits = memo.verdicts.get(plan)
        if fits is None:
            fits = memo.verdicts[plan] = not stages or plan_route(
                stages=[list(stage) for stage in stages], deadline=row.due,
                calendar=calendar, org=org).fits(today)
        if not fits:
            risky.append(row.id)
    return risky


class PlanMemo:
    """The stages of each route and the verdict of each plan (stages, deadline, today) for
    one organisation and one meeting calendar, kept between requests. Both depend on nothing
    else, and every visit to the dashboard asks the same few hundred again (planning them
    anew cost some 4 of the page's 24 ms of CPU with 1,000 cases under way). A calendar
    changed in any way (a meeting added, moved or cancelled) or another organisation starts
    a new memo."""

    LIMIT = 20_000  # plans kept; a calendar unchanged for months gathers a set a day

    def __init__(self, org: Organisation, calendar_key: tuple):
        self.org, self.calendar_key = org, calendar_key
        self.routes: dict[tuple, tuple] = {}
        self.verdicts: dict[tuple, bool] = {}


_plan_memo: PlanMemo | None = None


def plan_memo(org: Organisation, calendar: dict[str, list[date]]) -> PlanMemo:
    """The memo for this organisation and calendar (compared in full: a few hundred days).
    Threads of a web process may race to replace it; each then plans alike, and the values
    are the same whoever stores them."""
    global _plan_memo
    key = tuple(sorted((code, tuple(days)) for code, days in calendar.items()))
    memo = _plan_memo
    if memo is None or memo.org is not org or memo.calendar_key != key \
            or len(memo.verdicts) > PlanMemo.LIMIT:
        memo = _plan_memo = PlanMemo(org, key)
    return memo


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

    One query returns each active case with a flag per figure (EXISTS lookups by case_id)
    and what its at-risk verdict needs, so the dashboard costs one index range scan however
    many figures it shows.
    """
    keys = [k for k in FIGURES if k != "at_risk"]
    flags = [sa.case((figure_condition(k, today, now, stale_weeks), 1), else_=0).label(k)
             for k in keys]
    rows = session.execute(select(Case.id, Case.number, Case.title, Case.confidential,
                                  Case.updated_at, *flags, *risk_columns(today))
                           .where(active_cases(org, filters))
                           .order_by(Case.updated_at, Case.number)).all()
    risky = set(at_risk_ids(session, org, filters, today, rows))
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
