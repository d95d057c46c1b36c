"""Emails to the people who follow a case or a body (web: "Følg sagen" / "Følg udvalget").

When a followed case moves (a workflow event), one outbox row per follower is added by the
sweep that derives the case's reminders from its audit log (notifications.changes), so news
is only ever of a change that was committed. When a followed body publishes an agenda, the
rows are added in the publishing transaction. The outbox then delivers them like reminders
(claims, retries, office hours). Each row's dedupe key names the event or the publication
and the subscription, so a repeated call adds nothing.

A closed case (lukket punkt: confidential, or closed on an agenda) gives those who follow it
through a body its number and title only; only those who follow the case itself and may
still read it get its news. That is decided twice: when the row is made (so the outbox keeps
no more than it may send), and again when the mail is built (`served_context`, called by the
delivery), because a case can become closed while its news waits to be sent. The members of
the bodies a decided case is sent to for information are told the same way.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.dates import COPENHAGEN
from cases.models import Case, CaseEvent, User
from cases.settings import current_organisation
from meetings.models import AgendaItem
from meetings.visibility import case_is_closed, item_is_closed, may_read, viewer_of
from notifications import outbox
from notifications.config import current_rules
from notifications.email import FOLLOW_AGENDA, FOLLOW_CASE, FOLLOW_MINUTES, FOLLOW_SEARCH
from notifications.models import CANCELLED, PENDING, Reminder, Subscription
from notifications.rules import Person, Wanted
from workflow import decisions
from workflow.machine import TRIGGER_LABELS


def followers_of_case(session: Session, case: Case) -> list[Subscription]:
    """Who follows this case directly or through a body on its route (still following).
    Not a citizen without an account: a case's news is no part of what the public portal
    shows (notifications.citizens)."""
    bodies = [code for code in {case.deciding_body, *case.committees} if code]
    return list(session.exec(select(Subscription).where(
        Subscription.ended_at.is_(None), Subscription.public.is_(False),
        (Subscription.case_id == case.id) | Subscription.body_code.in_(bodies))
        .order_by(Subscription.id)))


def counting():
    """The conditions of a subscription that gets mail: still following and, if a citizen
    signed it up without an account, confirmed (double opt-in: until then the address gets
    the confirmation mail and nothing else)."""
    return (Subscription.ended_at.is_(None),
            sa.or_(Subscription.public.is_(False), Subscription.confirmed_at.is_not(None)))


def followers_of_body(session: Session, body_code: str) -> list[Subscription]:
    """Who follows the body's agendas (a search phrase within the body is no following of
    all of it)."""
    return list(session.exec(select(Subscription).where(
        *counting(), Subscription.body_code == body_code,
        Subscription.search_phrase.is_(None)).order_by(Subscription.id)))


def one_per_address(subscriptions: list[Subscription]) -> list[Subscription]:
    """Someone following the case and a body on its route gets one email, through the
    case (it may say more)."""
    chosen: dict[str, Subscription] = {}
    for row in sorted(subscriptions, key=lambda s: (s.case_id is None, s.id)):
        chosen.setdefault(row.email.lower(), row)
    return sorted(chosen.values(), key=lambda s: s.id)


def case_moved(session: Session, case: Case, event: CaseEvent, now: datetime) -> int:
    """Queue news of this workflow event for the case's followers; returns rows wanted."""
    followers = one_per_address(followers_of_case(session, case))
    if not followers:
        return 0
    full = case_news(event)
    closed = case_is_closed(session, case)
    wanted = []
    for subscription in followers:
        reads_all = not closed or _may_still_read(session, case, subscription)
        context = {"case_number": case.number, "case_title": case.title,
                   "closed": closed, **(full if reads_all else {})}
        wanted.append(wanted_news(session, subscription, FOLLOW_CASE,
                              f"event:{event.id}", context, now))
    insert_news(session, wanted, now)
    return len(wanted)


def _may_still_read(session: Session, case: Case, subscription: Subscription | None) -> bool:
    """A closed case's news goes in full only to a follower of the case itself who, now, is
    still an active user allowed to read it (they may have left the body since)."""
    if subscription is None or subscription.case_id != case.id or subscription.user_id is None:
        return False
    viewer = viewer_of(session, session.get(User, subscription.user_id))
    return may_read(current_organisation(), session, case, viewer)


def case_news(event: CaseEvent) -> dict:
    payload = event.payload or {}
    found = decisions.BY_CODE.get(payload.get("wording") or "")
    org = current_organisation()
    body = event.body or payload.get("body")
    return {"action": TRIGGER_LABELS.get(event.trigger, event.trigger),
            "from_state": org.state_label(event.from_state or ""),
            "to_state": org.state_label(event.to_state),
            "body_name": payload.get("body_name") or (org.body_name(body) if body else ""),
            "decision": found.label if found else "",
            "decision_text": payload.get("decision_text", ""),
            "reason": event.reason or ""}


def agenda_published(session: Session, meeting, publication, now: datetime) -> int:
    """Queue news of a published agenda (or tillægsdagsorden) for the body's followers."""
    followers = one_per_address(followers_of_body(session, meeting.body_code))
    if not followers:
        return 0
    items = session.exec(select(AgendaItem).where(AgendaItem.published_in == publication.id)
                         .order_by(AgendaItem.number)).all()
    shown = []
    for item in items:
        case = session.get(Case, item.case_id) if item.case_id else None
        closed = item_is_closed(session, item, case)
        shown.append({"number": item.number, "title": item.title, "closed": closed,
                      "case_number": case.number if case and not closed else ""})
    context = {"body": current_organisation().body_name(meeting.body_code),
               "meeting_id": meeting.id,
               "meeting_day": meeting.starts_at.astimezone(COPENHAGEN).date().isoformat(),
               "supplementary": publication.kind == "tillaeg", "items": shown}
    wanted = [wanted_news(session, subscription, FOLLOW_AGENDA, f"agenda:{publication.id}",
                      context, now) for subscription in followers]
    insert_news(session, wanted, now)
    return len(wanted)


# -- when the mail is built --------------------------------------------------------------------

# What an information notice says of the decision; of a closed case it says none of it.
INFORMATION_DETAILS = {"decided_by": "", "decided_on": "", "decision": "", "decision_text": "",
                       "note": ""}


def served_context(session: Session, kind: str, context: dict) -> dict:
    """The row's context as it may be sent now: news of a case that has become closed since
    the row was made keeps only what a closed case's news may say to this recipient."""
    number = context.get("case_number")
    if kind in (FOLLOW_AGENDA, FOLLOW_MINUTES, FOLLOW_SEARCH):
        return context | {"items": [_agenda_line(session, item)
                                    for item in context.get("items", [])]}
    if kind not in (FOLLOW_CASE, "case_information") or not number:
        return context
    case = _case(session, number)
    if case is not None and not case_is_closed(session, case):
        return context
    if kind == "case_information":
        return context | INFORMATION_DETAILS | {"closed": True}
    subscription = session.get(Subscription, context.get("subscription_id") or 0)
    if case is not None and _may_still_read(session, case, subscription):
        return context
    return {key: context[key] for key in ("case_number", "case_title", "subscription_id")
            if key in context} | {"closed": True}


def _agenda_line(session: Session, item: dict) -> dict:
    """A published agenda's line: an item whose case is closed now says so, without its
    case's number; a line that names its item (`item_id`: the citizens' mails, which also
    quote the item's text and decision) is asked of the item itself, and keeps only its
    number and title once the item is closed."""
    if item.get("item_id"):
        row = session.get(AgendaItem, item["item_id"])
        if row is not None and not item_is_closed(session, row):
            return item
        return {key: item.get(key) for key in ("item_id", "number", "title")} | {
            "closed": True, "case_number": ""}
    if item.get("closed") or not item.get("case_number"):
        return item
    case = _case(session, item["case_number"])
    if case is not None and not case_is_closed(session, case):
        return item
    return item | {"closed": True, "case_number": ""}


def _case(session: Session, number: str) -> Case | None:
    return session.exec(select(Case).where(Case.number == number)).first()


def cancel_pending(session: Session, subscription_id: int, now: datetime) -> None:
    """The follower unsubscribed: what is still waiting for them is not sent."""

    ids = [row_id for row_id, _, status in
           outbox.rows_with_prefix(session, subscription_prefix(subscription_id))
           if status == PENDING]
    if ids:
        session.execute(sa.update(Reminder)
                        .where(Reminder.id.in_(ids), Reminder.status == PENDING)
                        .values(status=CANCELLED, last_error="Modtageren følger ikke længere.",
                                updated_at=now))


def subscription_prefix(subscription_id: int) -> str:
    return f"follow:{subscription_id}:"


def wanted_news(session: Session, subscription: Subscription, kind: str, what: str,
            context: dict, now: datetime) -> Wanted:
    name = ""
    if subscription.user_id:
        user = session.get(User, subscription.user_id)
        name = user.name if user else ""
    # No case_id on the row: the reminders' refresh of a case cancels that case's rows it
    # did not plan itself, and these it did not plan.
    return Wanted(key=f"{subscription_prefix(subscription.id)}{what}", kind=kind,
                  recipient=Person(email=subscription.email, name=name), due_at=now,
                  optional=False, context={**context, "subscription_id": subscription.id})


def insert_news(session: Session, wanted: list[Wanted], now: datetime) -> None:
    outbox.insert_missing(session, wanted, now, current_rules())


