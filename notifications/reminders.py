"""Which reminders a case or a meeting should have, kept in the outbox.

`refresh_case_reminders` reads the case's facts, asks the pure rules (notifications.rules)
which reminders are wanted now, inserts the missing ones and cancels the pending ones that
no longer apply. The beat's sweep calls it for every case whose audit log moved on, and for
the cases queued for a meeting an action changed (notifications.changes). Nothing is sent
here; the sweep finds due rows later.
"""

from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.dates import to_local
from cases.models import (
    Awaiting,
    Case,
    Deadline,
    Hearing,
    HearingParty,
    HearingResponse,
    Membership,
    User,
)
from cases.settings import current_organisation
from meetings import queries as meeting_queries
from meetings.calendar import agenda_deadlines, rules_for
from meetings.models import AGENDA_PUBLISHED, CANCELLED, MINUTES_APPROVAL, AgendaItem, Meeting
from meetings.services import finalise_due_minutes, plan_case
from notifications import outbox
from notifications.config import current_rules
from notifications.rules import (
    FINISHED_STATES,
    CaseFacts,
    DeadlineFacts,
    HearingFacts,
    MeetingFacts,
    NextMeeting,
    PartyFacts,
    Person,
    ReminderRules,
    RouteRisk,
    case_reminders,
    meeting_reminders,
    weekly_digest_reminders,
)
from workflow.machine import ACTIVE


def refresh_case_reminders(session: Session, case: Case, now: datetime,
                           rules: ReminderRules | None = None,
                           calendar: meeting_queries.Calendar | None = None) -> None:
    """Bring the case's outbox rows in line with its current state. `calendar`: the meeting
    calendar (meetings.queries.calendar), read once by a caller refreshing many cases; it is
    read here when not given."""
    rules = rules or current_rules()
    if not rules.enabled:
        return
    session.flush()
    wanted = case_reminders(case_facts(session, case, rules, now, calendar), rules, now)
    outbox.sync(session, wanted, outbox.rows_of_case(session, case.id), now, rules)


def plan_weekly_digests(session: Session, now: datetime,
                        rules: ReminderRules | None = None) -> int:
    """Insert this week's digest rows (idempotent: the dedupe key holds the week)."""
    rules = rules or current_rules()
    managers: dict[str, tuple[Person, ...]] = {}
    for user in session.exec(select(User).where(User.role == "manager", User.active,
                                                User.centre.is_not(None))):
        managers[user.centre] = managers.get(user.centre, ()) + (_person(user),)
    wanted = weekly_digest_reminders(managers, rules, now)
    outbox.insert_missing(session, wanted, now, rules)
    return len(wanted)


def _person(user: User) -> Person:
    return Person(email=user.email, name=user.name)


def _users(session: Session, *conditions) -> tuple[Person, ...]:
    query = select(User).where(User.active, User.email != "", *conditions).order_by(User.id)
    return tuple(_person(u) for u in session.exec(query))


def secretariat(session: Session, rules: ReminderRules) -> tuple[Person, ...]:
    found = _users(session, User.role == "secretariat")
    if not found and rules.secretariat_email:
        return (Person(email=rules.secretariat_email, name="Sekretariatet"),)
    return found


def body_members(session: Session, body_code: str) -> tuple[Person, ...]:
    members = select(Membership.user_id).where(Membership.body_code == body_code)
    return _users(session, User.id.in_(members))


# This runs after every action on a case, so its reads are plain statements built once
# (building a statement and loading ORM objects cost more than SQLite takes to answer).
_HEARINGS = select(Hearing.id, Hearing.title, Hearing.opened_on, Hearing.deadline,
                   Hearing.closed_on).where(Hearing.case_id == sa.bindparam("case")) \
    .order_by(Hearing.id)
_DEADLINES = select(Deadline.id, Deadline.due_date, Deadline.description, Deadline.met_on) \
    .where(Deadline.case_id == sa.bindparam("case")).order_by(Deadline.id)
_MANAGERS = select(User.email, User.name).where(
    User.active, User.email != "", User.role == "manager",
    User.centre == sa.bindparam("centre")).order_by(User.id)


def _rows(session: Session, statement, **parameters) -> list:
    return session.connection().execute(statement, parameters).all()


def case_facts(session: Session, case: Case, rules: ReminderRules,
               now: datetime, calendar: meeting_queries.Calendar | None = None) -> CaseFacts:
    """The case's facts that the rules look at, read in the caller's transaction (flushed)."""
    if case.status in FINISHED_STATES:
        return CaseFacts(id=case.id, number=case.number, title=case.title, status=case.status,
                         centre=case.centre, owner=None)
    owner = Person(case.owner_email, case.owner_name) if case.owner_email else None
    hearings = tuple(_hearing_facts(session, h) for h in _rows(session, _HEARINGS,
                                                                 case=case.id))
    deadlines = tuple(
        DeadlineFacts(id=d.id, due_date=d.due_date, description=d.description,
                      met=d.met_on is not None)
        for d in _rows(session, _DEADLINES, case=case.id))
    return CaseFacts(
        id=case.id, number=case.number, title=case.title, status=case.status,
        centre=case.centre, owner=owner, hearings=hearings, deadlines=deadlines,
        managers=tuple(Person(email=u.email, name=u.name)
                       for u in _rows(session, _MANAGERS, centre=case.centre)),
        secretariat=secretariat(session, rules) if hearings else (),
        next_meetings=_next_meetings(session, case, now),
        route_risk=_route_risk(session, case, now, calendar) if deadlines else None,
    )


@lru_cache(maxsize=1)
def _next_meetings_query() -> sa.Select:
    """Per body whose queue the case is in: its next meeting not cancelled, whether the case
    is on that meeting's agenda and whether it is delivered for it; a body with no meeting
    ahead gives no row."""
    next_meeting = (select(Meeting.id)
                    .where(Meeting.body_code == Awaiting.body_code, Meeting.status != CANCELLED,
                           Meeting.starts_at >= sa.bindparam("now"))
                    .order_by(Meeting.starts_at).limit(1)
                    .correlate(Awaiting).scalar_subquery())
    placed = (select(AgendaItem.id)
              .where(AgendaItem.meeting_id == Meeting.id,
                     AgendaItem.case_id == sa.bindparam("case"))
              .correlate(Meeting).exists())
    return (select(Awaiting.body_code, Meeting.id, Meeting.starts_at, placed,
                   Awaiting.delivered_at.is_not(None))
            .join(Meeting, Meeting.id == next_meeting)
            .where(Awaiting.case_id == sa.bindparam("case"))
            .order_by(Awaiting.body_code))


def _next_meetings(session: Session, case: Case, now: datetime) -> tuple[NextMeeting, ...]:
    """For each body whose queue the case is in: that body's next meeting (meetings/)."""
    org = current_organisation()
    found = []
    for code, meeting_id, starts_at, placed, delivered in _rows(
            session, _next_meetings_query(), case=case.id, now=now):
        day = to_local(starts_at).date()
        body = org.body(code)
        weekdays = rules_for(org, code)
        dates = agenda_deadlines(body, day, weekdays)
        found.append(NextMeeting(body_code=code, body_name=body.name, meeting_id=meeting_id,
                                 day=day, submission=dates.submission, on_agenda=bool(placed),
                                 weekdays=weekdays, delivered=bool(delivered)))
    return tuple(found)


def _route_risk(session: Session, case: Case, now: datetime,
                calendar: meeting_queries.Calendar | None) -> RouteRisk | None:
    """The route planner's verdict, when the case no longer fits before its deadline."""
    if case.status not in ACTIVE:
        return None
    today = to_local(now).date()
    plan = plan_case(session, case.number, calendar=calendar)
    # No route at all (no meetings planned yet for some stage) is the secretariat's
    # planning gap, not news to escalate for every case.
    if plan is None or not plan.complete or plan.fits(today):
        return None
    since = plan.no_longer_fits_since
    return RouteRisk(deadline=plan.deadline, since=since, lines=tuple(plan.describe(today)))


# -- meetings ------------------------------------------------------------------------------------

def refresh_meeting_reminders(session: Session, meeting, now: datetime,
                              rules: ReminderRules | None = None) -> None:
    """Bring a meeting's outbox rows (agenda, minutes) in line with it. The sweep calls this
    for every meeting an action marked (notifications.changes); the periodic planner calls it
    again for recent meetings, as a safety net."""
    rules = rules or current_rules()
    if not rules.enabled:
        return
    session.flush()
    wanted = meeting_reminders(meeting_facts(session, meeting, rules), rules, now)
    outbox.sync(session, wanted, outbox.rows_with_prefix(session, f"meeting:{meeting.id}:"),
                now, rules)


def meeting_facts(session: Session, meeting, rules: ReminderRules) -> MeetingFacts:
    org = current_organisation()
    body = org.body(meeting.body_code)
    day = to_local(meeting.starts_at).date()
    publications = meeting_queries.publications(session, meeting.id)
    published_at = publications[0].published_at if publications and \
        meeting.agenda_status == AGENDA_PUBLISHED else None
    members = body_members(session, meeting.body_code)
    weekdays = rules_for(org, body.code)
    approved = frozenset(user.email.lower() for _, user in
                         meeting_queries.approvals(session, meeting.id))
    return MeetingFacts(
        id=meeting.id, body_code=body.code, body_name=body.name, day=day,
        agenda_out=agenda_deadlines(body, day, weekdays).agenda_out,
        cancelled=meeting.status == CANCELLED, agenda_published_at=published_at,
        minutes_in_approval=meeting.minutes_status == MINUTES_APPROVAL,
        objection_deadline=meeting.objection_deadline, members=members, approved=approved,
        secretariat=secretariat(session, rules), weekdays=weekdays)


def plan_periodic(session: Session, now: datetime, rules: ReminderRules | None = None) -> dict:
    """A safety net for what changes with time alone, not with an action.

    Case and meeting actions are followed by the sweep (notifications.changes). What no action
    triggers: a route that stops fitting as days pass (route_at_risk), minutes that become
    final when the objection deadline passes, reminders no longer wanted once their day is
    over, and the weekly digests. It also repairs rows of a meeting changed outside the
    service layer (a data load writing rows directly). Idempotent: dedupe keys.
    """
    rules = rules or current_rules()
    if not rules.enabled:
        return {}
    finalised = finalise_due_minutes(session, now)  # marks them for the sweep
    cases = list(session.exec(select(Case).where(Case.status.not_in(FINISHED_STATES))))
    calendar = meeting_queries.calendar(session)
    for case in cases:
        refresh_case_reminders(session, case, now, rules, calendar)
    meetings = list(session.exec(select(Meeting).where(sa.or_(
        Meeting.starts_at.between(now - timedelta(days=7), now + timedelta(days=60)),
        Meeting.minutes_status == MINUTES_APPROVAL))))
    for meeting in meetings:
        refresh_meeting_reminders(session, meeting, now, rules)
    return {"cases": len(cases), "meetings": len(meetings), "minutes_final": len(finalised),
            "digests": plan_weekly_digests(session, now, rules)}


def _hearing_facts(session: Session, hearing) -> HearingFacts:
    """`hearing`: a Hearing, or a row with its columns."""
    answered = set(session.exec(select(HearingResponse.party_id)
                                .where(HearingResponse.hearing_id == hearing.id)))
    parties = []
    for party in session.exec(select(HearingParty).where(HearingParty.hearing_id == hearing.id)
                              .order_by(HearingParty.id)):
        if party.email:
            recipients = (Person(party.email, party.name),)
        elif party.body_code:
            recipients = body_members(session, party.body_code)
        else:
            recipients = ()  # a party known by name only: the secretariat contacts it
        parties.append(PartyFacts(id=party.id, name=party.name, recipients=recipients,
                                  responded=party.id in answered))
    return HearingFacts(id=hearing.id, title=hearing.title, opened_on=hearing.opened_on,
                        deadline=hearing.deadline, closed=hearing.closed_on is not None,
                        parties=tuple(parties))
