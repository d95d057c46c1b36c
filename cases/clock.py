"""The product's clock: the one place that says what "now" and "today" are.

Every deadline, agenda, reminder and audit event reads the time from here (through
`cases.models.utcnow`, which is this `now`), so the whole product can be set to another day:
`SAGSGANG_TODAY` in the environment, or `sagsgang --today ...` for one command. That is how a
history is recorded and replayed through real agendas (a meeting held a year ago is
placed, published and decided "on its day"), and how the demo can run as of its meeting.

- `SAGSGANG_TODAY=2022-10-04`: the clock reads that day and runs on from there at the wall
  clock's pace (the time of day is the real one). Every process of an installation started
  the same day reads the same time, so the outbox's claims and timeouts, written by the
  beat and read by the workers, agree.
- `SAGSGANG_TODAY=2022-10-04T10:00` (Copenhagen time unless an offset is given): the clock
  stands still at that instant, for recording one step of a history at a known moment
  (not for running the workers: a mail to be retried later would wait for ever).

What must follow real time does not ask this clock but `wall_now`: logins and their
expiry, login throttling, API and feed tokens: security must not move with a setting.
Pure modules never read a clock at all: they are given `now`/`today`.
"""

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from cases.dates import COPENHAGEN
from cases.settings import get_settings


def wall_now() -> datetime:
    """The real time, whatever the product's clock is set to."""
    return datetime.now(UTC)


def now() -> datetime:
    """The product's now (aware UTC)."""
    setting = get_settings().today
    if setting is None:
        return wall_now()
    if isinstance(setting, datetime):
        return setting
    return wall_now() + _shift_to(setting)


def today() -> date:
    """The product's calendar day, in Copenhagen."""
    return now().astimezone(COPENHAGEN).date()


@lru_cache(maxsize=8)
def _shift_to(day: date) -> timedelta:
    """Whole days from the real day to `day`, taken once per process: the clock then runs
    on over midnight as the wall clock does."""
    real_day = wall_now().astimezone(COPENHAGEN).date()
    return timedelta(days=(day - real_day).days)
