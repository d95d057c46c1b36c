"""Following a case or a body by email, and the unsubscribe link that needs no login.

The link carries the subscription id signed by the one unsubscribe-token scheme of
notifications.email (the reminders' opt-out links use it too). Who follows what is read by
notifications.follow when a case moves or a body publishes an agenda.
"""

from sqlmodel import Session, select

from cases.models import utcnow
from notifications.email import (
    FOLLOW_UNSUBSCRIBE_PATH,
    follow_unsubscribe_token,
    read_follow_token,
)
from notifications.follow import cancel_pending
from notifications.models import Subscription
from web.auth import CurrentUser
from workflow.errors import NotFound


def unsubscribe_path(subscription_id: int) -> str:
    return f"{FOLLOW_UNSUBSCRIBE_PATH}{follow_unsubscribe_token(subscription_id)}"


def subscription_for_token(session: Session, token: str) -> Subscription:
    subscription_id = read_follow_token(token)
    found = session.get(Subscription, subscription_id) if subscription_id else None
    if found is None:
        raise NotFound("Afmeldingslinket er ugyldigt.")
    return found


def _active(user_id: int, case_id: int | None, body_code: str | None):
    return select(Subscription).where(Subscription.user_id == user_id,
                                      Subscription.case_id == case_id if case_id else
                                      Subscription.case_id.is_(None),
                                      Subscription.body_code == body_code if body_code else
                                      Subscription.body_code.is_(None),
                                      Subscription.ended_at.is_(None))


def is_following(session: Session, user: CurrentUser, *, case_id: int | None = None,
                 body_code: str | None = None) -> bool:
    return session.exec(_active(user.id, case_id, body_code)).first() is not None


def start(session: Session, user: CurrentUser, *, case_id: int | None = None,
          body_code: str | None = None) -> Subscription:
    found = session.exec(_active(user.id, case_id, body_code)).first()
    if found:
        return found
    row = Subscription(email=user.email, user_id=user.id, case_id=case_id, body_code=body_code,
                       created_at=utcnow())
    session.add(row)
    session.flush()
    return row


def stop(session: Session, user: CurrentUser, *, case_id: int | None = None,
         body_code: str | None = None) -> None:
    for row in session.exec(_active(user.id, case_id, body_code)).all():
        end(session, row)


def end(session: Session, subscription: Subscription) -> None:
    subscription.ended_at = subscription.ended_at or utcnow()
    session.add(subscription)
    cancel_pending(session, subscription.id, subscription.ended_at)
