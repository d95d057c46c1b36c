"""Reminders and follow news for the cases and meetings that changed.

A case action writes the case and its audit event, nothing more: it stays fast, and a fault
in the reminder rules can never stop a secretariat from recording a decision. What follows
from it for the outbox is derived here, from the database alone: every case whose latest
audit event (`case.last_seq`) is past the one its notifications were derived up to
(`case.notified_seq`) has its reminders refreshed, its followers are told of each workflow
event since, and when it was sent for information, the members of those bodies get a
notice. Nothing is lost: the marker is written in the action's own transaction, and a case
stays marked until a refresh of it commits.

Meetings are marked the same way (`meeting.changed_seq` past `meeting.notified_seq`): for
each, the meeting's own reminders (agenda, minutes) and those of every case in its body's
queue are refreshed, and the body's followers are told of each agenda not yet told
(`agenda_publication.followers_notified_at`), and citizens following without an account of
its agendas and final minutes (notifications.citizens).

The search index follows the same markers: a changed case is indexed again, a marked
meeting has its items indexed again (meetings.search), in the same transaction.

The beat's sweep runs this before it claims due rows (notifications.delivery.sweep), so a
reminder that an action made obsolete is cancelled before it can be claimed. Each case is
taken by a compare-and-set on `notified_seq`, so two sweeps never derive one case at once;
the outbox's dedupe keys make a repeat harmless anyway.
"""

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import queries
from cases.db import read_session, write_session
from cases.models import UNNOTIFIED, Case, CaseEvent, utcnow
from cases.services import information_bodies
from cases.settings import current_organisation
from meetings import queries as meeting_queries
from meetings import search
from meetings.calendar import local_day
from meetings.models import MINUTES_FINAL, AgendaPublication, Meeting
from meetings.visibility import case_is_closed
from notifications import citizens, outbox
from notifications.config import current_rules
from notifications.follow import agenda_published, case_moved
from notifications.reminders import (
    body_members,
    refresh_case_reminders,
    refresh_meeting_reminders,
)
from notifications.rules import ReminderRules, information_notices, is_history
from workflow import decisions
from workflow.machine import MACHINE

log = logging.getLogger(__name__)

_CASE = Case.__table__
# In random order: cases that keep failing must not fill every batch ahead of the others.
_UNNOTIFIED_CASES = select(_CASE.c.id, _CASE.c.notified_seq, _CASE.c.last_seq) \
    .where(sa.text(UNNOTIFIED)).order_by(sa.func.random()).limit(sa.bindparam("limit"))
_TAKE = _CASE.update().where(_CASE.c.id == sa.bindparam("case"),
                             _CASE.c.notified_seq == sa.bindparam("seen"))


def notify_changed_cases(engine: sa.Engine, now: datetime | None = None,
                         rules: ReminderRules | None = None, limit: int = 500) -> int:
    """Derive the outbox rows of up to `limit` changed cases, each in its own transaction;
    returns how many were done. A case that fails is logged and stays marked for next time:
    one bad case never holds up the others or the sweep."""
    rules = rules or current_rules()
    with read_session(engine) as session:
        changed = session.connection().execute(_UNNOTIFIED_CASES, {"limit": limit}).all()
        # Read once for the pass: a meeting moved meanwhile is marked, and its sweep
        # refreshes the cases it concerns.
        calendar = meeting_queries.calendar(session) if changed else {}
    done = 0
    for case_id, seen, upto in changed:
        try:
            with write_session(engine) as session:
                done += notify_case(session, case_id, seen=seen, upto=upto,
                                    now=now or utcnow(), rules=rules, calendar=calendar)
        except Exception:  # noqa: BLE001 - logged; the case is tried again next sweep
            log.exception("could not derive the reminders of case %s", case_id)
    return done


def notify_case(session: Session, case_id: int, *, seen: int, upto: int, now: datetime,
                rules: ReminderRules | None = None,
                calendar: meeting_queries.Calendar | None = None) -> bool:
    """Refresh one case's reminders and tell its followers of its workflow events with seq
    in (seen, upto]; False if another sweep took the case first. `calendar`: the meeting
    calendar, when the caller read it for many cases."""
    taken = session.connection().execute(_TAKE, {"case": case_id, "seen": seen,
                                                 "notified_seq": upto}).rowcount
    if taken != 1:
        return False
    case = session.get(Case, case_id)
    events = session.exec(select(CaseEvent).where(
        CaseEvent.case_id == case_id, CaseEvent.seq > seen, CaseEvent.seq <= upto,
        CaseEvent.trigger.in_(list(MACHINE.events))).order_by(CaseEvent.seq))
    rules = rules or current_rules()
    afterwards = queries.items_recorded_afterwards(session, case_id)
    for event in events:
        if _is_past_news(event, afterwards, now, rules):
            continue
        case_moved(session, case, event, now)
        if event.trigger == "send_for_information":
            tell_informed_bodies(session, case, event, now, rules)
    refresh_case_reminders(session, case, now, rules, calendar)
    search.index_case(current_organisation(), session, case_id)  # with the marker: never lost
    return True


def _is_past_news(event: CaseEvent, afterwards: set[int], now: datetime,
                  rules: ReminderRules) -> bool:
    """An event recorded long ago by the clock (a history replayed with the clock set back),
    or a decision on a meeting entered afterwards, is told to no follower."""
    return is_history(event.at, now, rules) or \
        event.payload.get("agenda_item_id") in afterwards


_MEETING = Meeting.__table__
_CHANGED_MEETINGS = select(_MEETING.c.id, _MEETING.c.notified_seq, _MEETING.c.changed_seq) \
    .where(_MEETING.c.notified_seq < _MEETING.c.changed_seq) \
    .order_by(sa.func.random()).limit(sa.bindparam("limit"))
_TAKE_MEETING = _MEETING.update().where(_MEETING.c.id == sa.bindparam("meeting"),
                                        _MEETING.c.notified_seq == sa.bindparam("seen"))


def notify_changed_meetings(engine: sa.Engine, now: datetime | None = None,
                            rules: ReminderRules | None = None, limit: int = 100) -> int:
    """As notify_changed_cases, for meetings: each in its own transaction, a failing one
    logged and left marked. A case queued for several changed meetings (a meeting plan
    imported) is refreshed once per pass."""
    rules = rules or current_rules()
    with read_session(engine) as session:
        changed = session.connection().execute(_CHANGED_MEETINGS, {"limit": limit}).all()
        calendar = meeting_queries.calendar(session) if changed else {}  # once, as for cases
    done, refreshed = 0, set()
    for meeting_id, seen, upto in changed:
        try:
            with write_session(engine) as session:
                cases = notify_meeting(session, meeting_id, seen=seen, upto=upto,
                                       now=now or utcnow(), rules=rules, skip=refreshed,
                                       calendar=calendar)
        except Exception:  # noqa: BLE001 - logged; the meeting is tried again next sweep
            log.exception("could not derive the reminders of meeting %s", meeting_id)
            continue
        if cases is not None:
            done += 1
            refreshed |= cases
    return done


def notify_meeting(session: Session, meeting_id: int, *, seen: int, upto: int, now: datetime,
                   rules: ReminderRules,
                   skip: set[int] | frozenset[int] = frozenset(),
                   calendar: meeting_queries.Calendar | None = None) -> set[int] | None:
    """Refresh one meeting's reminders, and after a change of when it is (schedule_seq past
    `seen`) those of its body's queue (but the cases in `skip`), and tell followers of its
    new agendas (`calendar`: the meeting calendar, when the caller read it for a pass).
    Returns the ids of the cases refreshed, or None if another sweep took the meeting
    first."""
    taken = session.connection().execute(_TAKE_MEETING, {"meeting": meeting_id, "seen": seen,
                                                         "notified_seq": upto}).rowcount
    if taken != 1:
        return None
    meeting = session.get(Meeting, meeting_id)
    search.index_meeting(session, meeting_id)
    untold = session.exec(select(AgendaPublication).where(
        AgendaPublication.meeting_id == meeting_id,
        AgendaPublication.followers_notified_at.is_(None)).order_by(AgendaPublication.seq))
    for publication in untold:
        # An agenda published after its meeting (entered afterwards, or replayed with the
        # clock set back) is no news.
        if not is_history(publication.published_at, now, rules) and \
                local_day(publication.published_at) <= local_day(meeting.starts_at):
            agenda_published(session, meeting, publication, now)
            citizens.publication_news(session, meeting, publication, now)
        publication.followers_notified_at = now
        session.add(publication)
    if meeting.minutes_status == MINUTES_FINAL:  # the dedupe keys tell each once
        citizens.minutes_published(session, meeting, now)
    refresh_meeting_reminders(session, meeting, now, rules)
    if meeting.schedule_seq <= seen:  # its agenda or minutes changed: the queue did not
        return set()
    cases = [case for case in meeting_queries.queued_cases(session, meeting.body_code)
             if case.id not in skip]
    if calendar is None:
        calendar = meeting_queries.calendar(session)
    for case in cases:
        refresh_case_reminders(session, case, now, rules, calendar)
    return {case.id for case in cases}


def tell_informed_bodies(session: Session, case: Case, event: CaseEvent, now: datetime,
                         rules: ReminderRules) -> None:
    """The members of the bodies a decided case was sent to for information get a notice
    with the decision; of a closed case (lukket punkt) only its number and title."""
    org = current_organisation()
    codes = information_bodies(event.payload)
    members = tuple(person for code in codes for person in body_members(session, code))
    context = {"case_number": case.number, "case_title": case.title,
               "bodies": [org.body_name(code) for code in codes],
               "closed": case_is_closed(session, case), "decided_by": "", "decided_on": "",
               "decision": "", "decision_text": "", "note": ""}
    if not context["closed"]:
        context.update(_decision(session, case), note=event.reason or "")
    outbox.insert_missing(session, information_notices(event.id, members, rules, now,
                                                       **context), now, rules)


def _decision(session: Session, case: Case) -> dict:
    """The deciding body's latest decision on the case, as the notice quotes it."""
    found = [t for t in queries.decision_history(session, case.id)
             if t.body_code == case.deciding_body]
    if not found:
        return {}
    latest = found[-1]
    wording = decisions.BY_CODE.get(latest.wording)
    return {"decided_by": latest.body_name, "decided_on": latest.meeting_date.isoformat(),
            "decision": wording.label if wording else latest.wording,
            "decision_text": latest.decision_text}


def skip_news(session: Session, case: Case, now: datetime) -> None:
    """The case's reminders as of now, without news of its past: for a history loaded rather
    than lived (the demo), whose followers should not get a mail per old event."""
    session.flush()
    session.connection().execute(_CASE.update().where(_CASE.c.id == case.id)
                                 .values(notified_seq=_CASE.c.last_seq))
    refresh_case_reminders(session, case, now)
    search.index_case(current_organisation(), session, case.id)
