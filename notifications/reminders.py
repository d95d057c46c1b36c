"""Which reminders a case should have, kept in the outbox in the same transaction.

The service layer calls `refresh_case_reminders` at the end of every change to a case,
inside its transaction: it reads the case's facts, asks the pure rules (notifications.rules)
which reminders are wanted now, inserts the missing ones and cancels the pending ones that
no longer apply. Nothing is sent here; the beat's sweep finds due rows later.
"""

from datetime import datetime

from sqlmodel import Session, select

from cases.models import (
    Case,
    Deadline,
    Hearing,
    HearingParty,
    HearingResponse,
    Membership,
    User,
)
from notifications import outbox
from notifications.rules import (
    FINISHED_STATES,
    CaseFacts,
    DeadlineFacts,
    HearingFacts,
    PartyFacts,
    Person,
    ReminderRules,
    case_reminders,
    current_rules,
    weekly_digest_reminders,
)


def refresh_case_reminders(session: Session, case: Case, now: datetime,
                           rules: ReminderRules | None = None) -> None:
    """Bring the case's outbox rows in line with its current state."""
    rules = rules or current_rules()
    if not rules.enabled:
        return
    session.flush()
    wanted = case_reminders(case_facts(session, case, rules), rules, now)
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


def case_facts(session: Session, case: Case, rules: ReminderRules) -> CaseFacts:
    """The case's facts that the rules look at, read in the caller's transaction."""
    if case.status in FINISHED_STATES:
        return CaseFacts(id=case.id, number=case.number, title=case.title, status=case.status,
                         centre=case.centre, owner=None)
    owner = Person(case.owner_email, case.owner_name) if case.owner_email else None
    hearings = tuple(_hearing_facts(session, h) for h in session.exec(
        select(Hearing).where(Hearing.case_id == case.id).order_by(Hearing.id)))
    deadlines = tuple(
        DeadlineFacts(id=d.id, due_date=d.due_date, description=d.description,
                      met=d.met_on is not None)
        for d in session.exec(select(Deadline).where(Deadline.case_id == case.id)
                              .order_by(Deadline.id)))
    return CaseFacts(
        id=case.id, number=case.number, title=case.title, status=case.status,
        centre=case.centre, owner=owner, hearings=hearings, deadlines=deadlines,
        managers=_users(session, User.role == "manager", User.centre == case.centre),
        secretariat=secretariat(session, rules) if hearings else (),
    )


def _hearing_facts(session: Session, hearing: Hearing) -> HearingFacts:
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
