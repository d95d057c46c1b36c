"""Which reminders a case should have, kept in the outbox in the same transaction.

The service layer calls `refresh_case_reminders` at the end of every change to a case,
inside its transaction.
"""

from datetime import datetime

from sqlmodel import Session

from cases.models import Case


def refresh_case_reminders(session: Session, case: Case, now: datetime) -> None:
    """Bring the case's outbox rows in line with its current state (see notifications/)."""
    return None
