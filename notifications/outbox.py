"""The outbox's state changes, each a compare-and-set on the row's status.

pending ──sweep claims──▶ sending ──worker takes, sends──▶ sent
   ▲                        │  └── 4xx / connection error ──▶ pending (later, with backoff)
   │                        │  └── 5xx, too many attempts, a mail that cannot be built ──▶ failed
   └── stuck-claim sweeper ─┘  (an attempt: out of attempts, the sweeper fails it)
pending ──case moved on / recipient opted out──▶ cancelled

A claim carries a token; a worker may only take a claim whose token it was given and that no
worker took yet, so a message delivered twice by the broker (Redis visibility timeout, two
beats) sends once. Exactly-once email is impossible: a worker killed after the SMTP server
accepted a message and before the row was marked sent leaves it to the sweeper, which sends
it again (docs/engineering.md, "Celery and Redis").

A slow worker is not a dead one: its send is cut off before the sweeper may take its claim
back (Timing.send_deadline), and a mail it did send is recorded as sent even when its claim
was taken back meanwhile (mark_sent), so the next claim of that row sends nothing.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, func, select

from cases.settings import get_settings
from notifications.models import (
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    Reminder,
    ReminderOptOut,
)
from notifications.rules import ReminderRules, Wanted, next_send_time

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Timing:
    """How the sweep and the workers pace themselves: `timing()` from the settings; the
    defaults here are the settings' defaults, for tests that change one or two."""

    sweep_seconds: float = 30.0  # beat's interval between sweeps
    batch_size: int = 200  # at most this many claimed rows wait in the queue at a time
    task_size: int = 10  # ids per send task: fewer tasks and transactions per mail
    queue_timeout: timedelta = timedelta(minutes=10)  # claimed, no worker took it: lost
    send_timeout: timedelta = timedelta(minutes=5)  # a worker took it and never finished
    retry_base: timedelta = timedelta(minutes=1)  # first backoff; doubles per attempt
    retry_max: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    smtp_timeout: float = 30.0  # each step of an SMTP conversation; capped by send_deadline

    def send_deadline(self, claimed_at: datetime) -> datetime:
        """When a worker must be done with the SMTP server for a message it began under a
        claim stamped (taken or renewed) at `claimed_at`.

        The sweeper takes a claim back once it is send_timeout old; a worker begins a message
        only while its claim is younger than half that (deliver_batch renews it otherwise).
        Ending the conversation at three quarters gives every message at least a quarter of
        send_timeout with the server, and leaves a quarter to record it as sent (and for the
        clocks of worker and beat to differ) before the sweeper could let another worker
        send it too. A timeout per SMTP step alone would not do: a message takes several.
        """
        return claimed_at + self.send_timeout * 3 / 4


def timing() -> Timing:
    settings = get_settings()
    return Timing(
        sweep_seconds=settings.sweep_seconds,
        batch_size=settings.sweep_batch,
        task_size=settings.task_size,
        queue_timeout=timedelta(seconds=settings.queue_timeout_seconds),
        send_timeout=timedelta(seconds=settings.send_timeout_seconds),
        retry_base=timedelta(seconds=settings.retry_base_seconds),
        retry_max=timedelta(seconds=settings.retry_max_seconds),
        max_attempts=settings.max_attempts,
        smtp_timeout=settings.smtp_timeout_seconds,
    )


# -- keeping the outbox in line with what is wanted (inside the caller's transaction) ----------

_ROWS_OF_CASE = select(Reminder.id, Reminder.dedupe_key, Reminder.status).where(
    Reminder.case_id == sa.bindparam("case"))


def rows_of_case(session: Session, case_id: int) -> list[tuple[int, str, str]]:
    """The case's rows (the caller has flushed: a plain statement does not autoflush)."""
    return [tuple(row) for row in
            session.connection().execute(_ROWS_OF_CASE, {"case": case_id})]


def rows_with_prefix(session: Session, prefix: str) -> list[tuple[int, str, str]]:
    """Rows whose key starts with `prefix`: a range over the unique key's index."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return list(session.exec(select(Reminder.id, Reminder.dedupe_key, Reminder.status)
                             .where(Reminder.dedupe_key >= prefix,
                                    Reminder.dedupe_key < upper)))


def sync(session: Session, wanted: list[Wanted], existing: list[tuple[int, str, str]],
         now: datetime, rules: ReminderRules) -> None:
    """Insert the wanted rows that are missing, cancel pending rows no longer wanted."""
    wanted = [w for w in wanted if not w.is_history(now, rules)]
    wanted_keys = {w.key for w in wanted}
    status_of = {key: (row_id, status) for row_id, key, status in existing}
    unwanted = [row_id for row_id, key, status in existing
                if status == PENDING and key not in wanted_keys]
    if unwanted:
        session.execute(sa.update(Reminder)
                        .where(Reminder.id.in_(unwanted), Reminder.status == PENDING)
                        .values(status=CANCELLED, last_error="Ikke længere aktuel.",
                                updated_at=now))
    revived = [w for w in wanted if status_of.get(w.key, (0, ""))[1] == CANCELLED]
    for item in revived:
        send_at = next_send_time(item.due_at, rules)
        session.execute(sa.update(Reminder)
                        .where(Reminder.id == status_of[item.key][0],
                               Reminder.status == CANCELLED)
                        .values(status=PENDING, due_at=item.due_at, next_attempt_at=send_at,
                                last_error="", updated_at=now))
    insert_missing(session, [w for w in wanted if w.key not in status_of], now, rules)


def insert_missing(session: Session, wanted: list[Wanted], now: datetime,
                   rules: ReminderRules) -> None:
    """Insert rows for these reminders; a key that exists already is left as it is. One due
    so long ago that it is history (a meeting recorded afterwards) is not queued."""
    wanted = [w for w in wanted if not w.is_history(now, rules)]
    if not wanted:
        return
    rows = [{"dedupe_key": w.key, "kind": w.kind, "case_id": w.case_id,
             "recipient": w.recipient.email, "recipient_name": w.recipient.name,
             "optional": w.optional, "context": w.context, "status": PENDING,
             "due_at": w.due_at, "next_attempt_at": next_send_time(w.due_at, rules),
             "attempts": 0, "last_error": "", "message_id": "", "created_at": now,
             "updated_at": now} for w in wanted]
    # A concurrent transaction may have inserted the same key: the unique key decides and
    # the loser inserts nothing, instead of failing the whole case action.
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(Reminder.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])
    session.connection().execute(statement, rows)


# -- the sweep (beat) ------------------------------------------------------------------------

def release_stuck(session: Session, now: datetime, timing: Timing) -> int:
    """Take back claims that no worker took in time, or that a worker never finished (it
    died, or its task crashed); returns how many.

    Each counts as an attempt, and a row out of attempts is failed: a message that stops its
    worker every time must not come back for ever, ahead of the others.
    """
    lost_in_queue = sa.and_(Reminder.started_at.is_(None),
                            Reminder.claimed_at < now - timing.queue_timeout)
    worker_died = sa.and_(Reminder.started_at.is_not(None),
                          Reminder.started_at < now - timing.send_timeout)
    earliest = now - min(timing.queue_timeout, timing.send_timeout)
    stuck = (Reminder.status == SENDING, Reminder.claimed_at < earliest,
             sa.or_(lost_in_queue, worker_died))
    # A worker counted its attempt when it took the claim; a claim lost in the queue counts
    # here. (SET expressions see the row as it was, on SQLite and PostgreSQL alike.)
    attempts = Reminder.attempts + sa.case((Reminder.started_at.is_(None), 1), else_=0)
    given_up = (sa.literal("Opgivet efter ") + sa.cast(attempts, sa.String)
                + sa.literal(" forsøg: afsendelsen gik i stå."))
    back = {"claim_token": None, "claimed_at": None, "started_at": None,
            "attempts": attempts, "updated_at": now}
    failed = session.execute(
        sa.update(Reminder).where(*stuck, attempts >= timing.max_attempts)
        .values(status=FAILED, last_error=given_up, **back)
        .execution_options(synchronize_session=False))
    released = session.execute(
        sa.update(Reminder).where(*stuck)
        .values(status=PENDING, last_error="Afsendelsen blev afbrudt; prøves igen.", **back)
        .execution_options(synchronize_session=False))
    return failed.rowcount + released.rowcount


def waiting_in_queue(session: Session) -> int:
    return session.exec(select(func.count()).select_from(Reminder).where(
        Reminder.status == SENDING, Reminder.started_at.is_(None))).one()


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    """The ids of due pending rows, oldest first: an index range over the due rows only."""
    # FOR UPDATE SKIP LOCKED on PostgreSQL keeps two sweeps off each other's rows; SQLite
    # drops it silently but serialises writers with BEGIN IMMEDIATE instead.
    query = (select(Reminder.id)
             .where(Reminder.status == PENDING, Reminder.next_attempt_at <= now)
             .order_by(Reminder.next_attempt_at).limit(limit)
             .with_for_update(skip_locked=True))
    return list(session.exec(query))


def claim_due(session: Session, now: datetime, limit: int) -> list[tuple[int, str]]:
    """Claim up to `limit` due rows; returns (id, claim token) pairs to enqueue after commit."""
    ids = due_ids(session, now, limit) if limit > 0 else []
    if not ids:
        return []
    token = uuid.uuid4().hex
    # The status test makes this a compare-and-set: a row another sweep claimed in the
    # meantime is skipped, never claimed twice.
    result = session.execute(
        sa.update(Reminder).where(Reminder.id.in_(ids), Reminder.status == PENDING)
        .values(status=SENDING, claim_token=token, claimed_at=now, started_at=None,
                updated_at=now)
        .returning(Reminder.id).execution_options(synchronize_session=False))
    return [(row_id, token) for row_id in sorted(result.scalars())]


def unclaim(session: Session, claims: list[tuple[int, str]], now: datetime, error: str) -> None:
    """Give back claims that could not be handed to the queue (broker down)."""
    for row_id, token in claims:
        session.execute(sa.update(Reminder)
                        .where(Reminder.id == row_id, Reminder.claim_token == token,
                               Reminder.status == SENDING, Reminder.started_at.is_(None))
                        .values(status=PENDING, claim_token=None, claimed_at=None,
                                last_error=error[:2000], updated_at=now))


# -- the worker --------------------------------------------------------------------------------

def take_claims(session: Session, row_ids: list[int], token: str,
                now: datetime) -> list[Reminder]:
    """The rows of this claim that no worker took yet, now taken; the others are left alone
    (a second delivery of the same message, or a claim already given back)."""
    result = session.execute(
        sa.update(Reminder)
        .where(Reminder.id.in_(row_ids), Reminder.status == SENDING,
               Reminder.claim_token == token, Reminder.started_at.is_(None))
        .values(started_at=now, attempts=Reminder.attempts + 1, updated_at=now)
        .returning(Reminder.id).execution_options(synchronize_session=False))
    taken = sorted(result.scalars())
    if not taken:
        return []
    return list(session.exec(select(Reminder).where(Reminder.id.in_(taken))
                             .order_by(Reminder.id).execution_options(populate_existing=True)))


def take_claim(session: Session, row_id: int, token: str, now: datetime) -> Reminder | None:
    taken = take_claims(session, [row_id], token, now)
    return taken[0] if taken else None


def renew_claim(session: Session, row_id: int, token: str, now: datetime) -> bool:
    """Just before sending: restamp the row's start, if the claim is still this worker's.

    A task's rows are all taken at once but sent one by one; without this, the sweep would
    give back the rows further down a slow batch and another worker would send them too.
    """
    result = session.execute(
        sa.update(Reminder)
        .where(Reminder.id == row_id, Reminder.claim_token == token,
               Reminder.status == SENDING)
        .values(started_at=now, updated_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def _finish(session: Session, row_id: int, token: str, **values) -> bool:
    result = session.execute(
        sa.update(Reminder)
        .where(Reminder.id == row_id, Reminder.status == SENDING,
               Reminder.claim_token == token)
        .values(**values).execution_options(synchronize_session=False))
    return result.rowcount == 1


def mark_sent(session: Session, row_id: int, token: str, now: datetime,
              message_id: str) -> bool:
    """Record a mail the SMTP server accepted; False if the row was marked sent already.

    Normally on the claim this worker holds. If the sweeper took that claim back meanwhile
    (the send outlived it), the mail went out all the same: the row is marked sent whatever
    became of it, so that the claim made since, when a worker takes it, sends nothing.
    """
    values = {"status": SENT, "sent_at": now, "message_id": message_id, "last_error": "",
              "updated_at": now}
    if _finish(session, row_id, token, **values):
        return True
    result = session.execute(
        sa.update(Reminder).where(Reminder.id == row_id, Reminder.status != SENT)
        .values(claim_token=None, **values).execution_options(synchronize_session=False))
    if result.rowcount:
        log.warning("reminder %s was sent after its claim had been taken back", row_id)
    return result.rowcount == 1


def mark_failed(session: Session, row_id: int, token: str, now: datetime, error: str) -> bool:
    return _finish(session, row_id, token, status=FAILED, last_error=error[:2000],
                   updated_at=now)


def mark_cancelled(session: Session, row_id: int, token: str, now: datetime,
                   reason: str) -> bool:
    return _finish(session, row_id, token, status=CANCELLED, last_error=reason,
                   updated_at=now)


def backoff(attempts: int, timing: Timing) -> timedelta:
    """1, 2, 4, … times the base delay, capped."""
    return min(timing.retry_base * (2 ** max(attempts - 1, 0)), timing.retry_max)


def mark_retry(session: Session, row: Reminder, token: str, now: datetime, error: str,
               timing: Timing, rules: ReminderRules) -> bool:
    """A temporary failure: try again later, or give up after too many attempts."""
    if row.attempts >= timing.max_attempts:
        return mark_failed(session, row.id, token, now,
                           f"Opgivet efter {row.attempts} forsøg: {error}")
    later = next_send_time(now + backoff(row.attempts, timing), rules)
    return _finish(session, row.id, token, status=PENDING, next_attempt_at=later,
                   last_error=error[:2000], claim_token=None, claimed_at=None,
                   started_at=None, updated_at=now)


# -- opting out ----------------------------------------------------------------------------------

def is_opted_out(session: Session, email: str, kind: str) -> bool:
    return session.exec(select(ReminderOptOut.email).where(
        ReminderOptOut.email == email.lower(),
        ReminderOptOut.kind.in_([kind, "*"]))).first() is not None


def opt_out(session: Session, email: str, kind: str, now: datetime) -> None:
    """Stop optional reminders of this kind ("*": all) to this address; idempotent."""
    email = email.lower()
    if session.get(ReminderOptOut, (email, kind)) is None:
        session.add(ReminderOptOut(email=email, kind=kind, created_at=now))
        session.flush()


# -- what the secretariat looks at -----------------------------------------------------------

def failed_rows(session: Session, limit: int = 200) -> list[Reminder]:
    return list(session.exec(select(Reminder).where(Reminder.status == FAILED)
                             .order_by(Reminder.updated_at.desc()).limit(limit)))


def retry_failed(session: Session, row_id: int, now: datetime, rules: ReminderRules) -> bool:
    """The secretariat fixed the address or the server: send a failed reminder again."""
    result = session.execute(
        sa.update(Reminder).where(Reminder.id == row_id, Reminder.status == FAILED)
        .values(status=PENDING, attempts=0, next_attempt_at=next_send_time(now, rules),
                claim_token=None, claimed_at=None, started_at=None, updated_at=now))
    return result.rowcount == 1


def counts_by_status(session: Session) -> dict[str, int]:
    rows = session.exec(select(Reminder.status, func.count()).group_by(Reminder.status))
    return dict(rows.all())
