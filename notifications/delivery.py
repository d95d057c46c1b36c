"""The two jobs behind the Celery tasks, as plain functions: the sweep (claim what is due,
hand ids to the queue after commit) and the delivery of one claimed reminder over SMTP.

Tests call these directly; the Celery tasks in notifications.tasks only wire them to the
process's engine, mailer and queue.
"""

import logging
import smtplib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from cases.db import write_session
from cases.models import Case, utcnow
from cases.settings import get_settings
from notifications import digest, outbox
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.config import current_rules
from notifications.email import (
    build_message,
    recipient_problem,
    render_parts,
    template_context,
)
from notifications.email import message_id as message_id_for
from notifications.follow import served_context
from notifications.models import Reminder
from notifications.reminders import plan_periodic
from notifications.rules import ReminderRules, in_office_hours

log = logging.getLogger(__name__)


# -- SMTP --------------------------------------------------------------------------------------

class TemporaryError(Exception):
    """Try again later: a 4xx reply, a refused or dropped connection."""


class ConnectionTrouble(TemporaryError):
    """The server cannot be reached at all: the next message would fare no better."""


class PermanentError(Exception):
    """Do not try again: a 5xx reply (unknown recipient, refused sender, ...)."""


def smtp_address() -> tuple[str, int]:
    settings = get_settings()
    return settings.smtp_host, settings.smtp_port


class _OutOfTime(Exception):
    """The message's time with the SMTP server ran out (Mailer.send's `within`)."""


class _TimedSMTP(smtplib.SMTP):
    """smtplib.SMTP whose every connect, read and write waits at most until `deadline`
    (time.monotonic()), so that the whole conversation for one message ends in time however
    many steps it has; smtplib's own timeout holds for each step alone."""

    deadline: float | None = None
    data_begun = False  # the DATA command went out: the server may have the message now

    def _time_left(self, timeout: float) -> float:
        if self.deadline is None:
            return timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _OutOfTime()
        return min(timeout, left)

    def _get_socket(self, host, port, timeout):
        return super()._get_socket(host, port, self._time_left(timeout))

    def send(self, s):
        if self.sock is not None:
            self.sock.settimeout(self._time_left(self.timeout))
        super().send(s)

    def getreply(self):
        if self.sock is not None:
            self.sock.settimeout(self._time_left(self.timeout))
        return super().getreply()

    def data(self, msg):
        self.data_begun = True
        return super().data(msg)


class Mailer:
    """One SMTP connection per process, opened on first use and reopened after an error."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.connection: _TimedSMTP | None = None

    def send(self, message, within: float | None = None) -> None:
        """Send one message, done with the server within `within` seconds (None: no limit
        beyond the timeout of each step)."""
        deadline = None if within is None else time.monotonic() + within
        try:
            for last_go in (False, True):
                try:
                    return self._send_once(message, deadline)
                except smtplib.SMTPServerDisconnected as error:
                    began = self.connection is not None and self.connection.data_begun
                    self.close()
                    # A server that dropped an idle connection before this message began
                    # gets one more go. Once DATA went out it may have the message: sending
                    # it again at once could deliver it twice, so later, with backoff.
                    if began or last_go:
                        raise ConnectionTrouble(
                            f"SMTP-forbindelsen blev afbrudt: {error}") from None
        finally:
            if self.connection is not None:
                self.connection.deadline = None

    def _send_once(self, message, deadline: float | None) -> None:
        try:
            if self.connection is None:
                self.connection = self._connect(deadline)
            self.connection.deadline, self.connection.data_begun = deadline, False
            refused = self.connection.send_message(message)
        except smtplib.SMTPServerDisconnected:
            raise
        except _OutOfTime:
            self._abandon()
            raise ConnectionTrouble("SMTP-serveren svarede ikke i tide; prøves igen "
                                    "senere.") from None
        except smtplib.SMTPRecipientsRefused as error:
            self._reset()
            code, reply = next(iter(error.recipients.values()))
            raise _classified(code, reply) from None
        except smtplib.SMTPResponseException as error:
            self._reset()
            raise _classified(error.smtp_code, error.smtp_error) from None
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ConnectionTrouble(f"SMTP-forbindelsen fejlede: {error}") from None
        if refused:
            code, reply = next(iter(refused.values()))
            raise _classified(code, reply)

    def _connect(self, deadline: float | None) -> _TimedSMTP:
        connection = _TimedSMTP(timeout=self.timeout)
        connection.deadline = deadline
        try:
            code, reply = connection.connect(self.host, self.port)
        except BaseException:
            connection.close()
            raise
        if code != 220:
            connection.close()
            raise smtplib.SMTPConnectError(code, reply)
        return connection

    def _reset(self) -> None:
        try:
            self.connection.rset()
        except Exception:  # noqa: BLE001 - any trouble: start afresh next time
            self.close()

    def _abandon(self) -> None:
        """Drop the connection without a goodbye: it stopped in the middle of a message."""
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.deadline = None
            try:
                self.connection.quit()
            except Exception:  # noqa: BLE001 - closing a broken connection may fail too
                pass
            self.connection.close()
            self.connection = None


def _classified(code: int, reply) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    message = f"SMTP-serveren svarede {code} {text}"
    return PermanentError(message) if 500 <= code < 600 else TemporaryError(message)


# -- delivering one reminder -------------------------------------------------------------------

@dataclass
class Prepared:
    row: Reminder
    message: object | None  # the email, or None when the row was settled already


def deliver(engine: sa.Engine, row_id: int, token: str, mailer: Mailer, **options) -> str:
    """Send one claimed reminder; returns what happened (sent, skipped, retry, failed, ...)."""
    outcomes = deliver_batch(engine, [row_id], token, mailer, **options)
    return next(iter(outcomes))


def deliver_batch(engine: sa.Engine, row_ids: list[int], token: str, mailer: Mailer, *,
                  now: Callable[[], datetime] = utcnow, rules: ReminderRules | None = None,
                  timing: outbox.Timing | None = None) -> Counter:
    """Send the claimed reminders of one task, each marked as soon as it is sent.

    Taking the whole claim is one transaction; marking after a send is one per message, and so
    is renewing the claim before a send once the batch is half its send_timeout old. So a
    worker killed mid-batch leaves at most the one message in flight unmarked, and a slow
    batch never outlives its claim. A message that cannot be built or sent fails on its own
    row; the rest of the batch goes on.
    """
    rules = rules or current_rules()
    timing = timing or outbox.timing()
    outcomes = Counter()
    taken_at = now()
    with write_session(engine) as session:
        rows = outbox.take_claims(session, row_ids, token, taken_at)
        outcomes["skipped"] += len(row_ids) - len(rows)
        prepared = [_prepare(session, row, token, now()) for row in rows]
    unreachable = None
    for item in prepared:
        row = item.row
        if item.message is None:
            outcomes[row.status] += 1
            continue
        if unreachable:
            # No point waiting for the same timeout again: retry these later as well.
            with write_session(engine) as session:
                outbox.mark_retry(session, row, token, now(), unreachable, timing, rules)
            outcomes["retry"] += 1
            continue
        # The sweep gives a row back only once its claim is send_timeout old; while the batch
        # is younger than half that, no row of it can have been given back, so the write that
        # renews the claim is needed only for the later messages of a slow batch.
        claimed_at = taken_at
        if now() - taken_at >= timing.send_timeout / 2:
            claimed_at = now()
            with write_session(engine) as session:
                still_ours = outbox.renew_claim(session, row.id, token, claimed_at)
            if not still_ours:
                # The sweep gave the row back while earlier messages were sent: another
                # worker has it now.
                outcomes["skipped"] += 1
                continue
        within = (timing.send_deadline(claimed_at) - now()).total_seconds()
        outcome = _send_one(engine, mailer, row, token, item.message, within, now, rules,
                            timing)
        if outcome == "unreachable":
            unreachable, outcome = row.last_error, "retry"
        outcomes[outcome] += 1
    return +outcomes


def _send_one(engine, mailer: Mailer, row: Reminder, token: str, message, within: float,
              now, rules: ReminderRules, timing: outbox.Timing) -> str:
    try:
        mailer.send(message, within)
    except TemporaryError as error:
        row.last_error = str(error)
        with write_session(engine) as session:
            outbox.mark_retry(session, row, token, now(), str(error), timing, rules)
        return "unreachable" if isinstance(error, ConnectionTrouble) else "retry"
    except PermanentError as error:
        with write_session(engine) as session:
            outbox.mark_failed(session, row.id, token, now(), str(error))
        return "failed"
    except Exception:  # noqa: BLE001 - one message that breaks the sender must not stop the rest
        log.exception("reminder %s could not be sent", row.id)
        mailer.close()  # its state is unknown: start afresh with the next message
        with write_session(engine) as session:
            outbox.mark_failed(session, row.id, token, now(),
                               "Mailen kunne ikke sendes; fejlen står i arbejderens log.")
        return "failed"
    with write_session(engine) as session:
        marked = outbox.mark_sent(session, row.id, token, now(), message["Message-ID"])
    if not marked:
        log.warning("reminder %s was sent but marked sent already", row.id)
    return "sent"


def _prepare(session: Session, row: Reminder, token: str, now: datetime) -> Prepared:
    """The email for a taken row; or settle the row here (opted out, an address that cannot
    be used, a mail that cannot be built)."""
    if row.optional and outbox.is_opted_out(session, row.recipient, row.kind):
        outbox.mark_cancelled(session, row.id, token, now, "Modtageren har frameldt sig.")
        row.status = "cancelled"
        return Prepared(row, None)
    problem = recipient_problem(row.recipient, row.recipient_name)
    if problem:
        log.warning("reminder %s: %s", row.id, problem)
        return _failed(session, row, token, now, problem)
    try:
        # In a savepoint: a failed query while rendering leaves the other rows' transaction
        # usable.
        with session.begin_nested():
            message = render_message(session, row, now)
    except Exception:  # noqa: BLE001 - a broken template must not crash-loop
        log.exception("reminder %s could not be built", row.id)
        return _failed(session, row, token, now,
                       "Mailen kunne ikke dannes; fejlen står i arbejderens log.")
    return Prepared(row, message)


def _failed(session: Session, row: Reminder, token: str, now: datetime, reason: str) -> Prepared:
    outbox.mark_failed(session, row.id, token, now, reason)
    row.status = "failed"
    return Prepared(row, None)


def render_message(session: Session, row: Reminder, now: datetime):
    case = session.get(Case, row.case_id) if row.case_id else None
    extra = digest.digest_context(session, row.context["centre"], now) \
        if row.kind == "weekly_digest" else None
    # Closed is decided now: the case may have become a lukket punkt since the row was made.
    context = template_context(kind=row.kind, recipient=row.recipient,
                               recipient_name=row.recipient_name, optional=row.optional,
                               context=served_context(session, row.kind, row.context),
                               case=case, extra=extra)
    subject, text, html = render_parts(row.kind, context)
    return build_message(dedupe_key=row.dedupe_key, recipient=row.recipient,
                         recipient_name=row.recipient_name, subject=subject, text=text,
                         html=html, unsubscribe=context["unsubscribe_url"], now=now)


def expected_message_id(row: Reminder) -> str:
    return message_id_for(row.dedupe_key)


# -- the sweep ---------------------------------------------------------------------------------

def sweep(engine: sa.Engine, enqueue: Callable[[list[int], str], None], *,
          now: datetime | None = None, rules: ReminderRules | None = None,
          timing: outbox.Timing | None = None) -> dict:
    """Derive the reminders of changed cases, give back stuck claims, claim due rows and hand
    them to the queue after commit, a few ids per task."""
    rules = rules or current_rules()
    timing = timing or outbox.timing()
    now = now or utcnow()
    # First: a reminder that a case or meeting action made obsolete is cancelled before it
    # is claimed.
    changed = notify_changed_cases(engine, now, rules)
    changed_meetings = notify_changed_meetings(engine, now, rules)
    with write_session(engine) as session:
        released = outbox.release_stuck(session, now, timing)
        claims = []
        if in_office_hours(now, rules):
            # Keep at most a batch waiting in the queue: a backlog stays in the table,
            # where it costs nothing, and claims never wait in the queue for long.
            room = timing.batch_size - outbox.waiting_in_queue(session)
            claims = outbox.claim_due(session, now, room)
    chunks = [claims[i:i + timing.task_size] for i in range(0, len(claims), timing.task_size)]
    enqueued = 0
    for index, chunk in enumerate(chunks):
        try:
            enqueue([row_id for row_id, _ in chunk], chunk[0][1])
        except Exception as error:  # noqa: BLE001 - broker down: give the rest back now
            rest = [claim for later in chunks[index:] for claim in later]
            log.warning("could not enqueue reminders (%s); giving %d claims back",
                        error, len(rest))
            with write_session(engine) as session:
                outbox.unclaim(session, rest, utcnow(), f"Køen kunne ikke nås: {error}")
            break
        enqueued += len(chunk)
    return {"changed": changed, "changed_meetings": changed_meetings, "released": released,
            "claimed": len(claims), "enqueued": enqueued}


def plan(engine: sa.Engine, *, now: datetime | None = None,
         rules: ReminderRules | None = None) -> dict:
    """Reminders that follow from time passing and meetings; this week's digests."""
    with write_session(engine) as session:
        return plan_periodic(session, now or utcnow(), rules)


def default_mailer() -> Mailer:
    host, port = smtp_address()
    return Mailer(host, port, timeout=outbox.timing().smtp_timeout)
