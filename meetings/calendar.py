"""Danish weekday (hverdag) arithmetic for agenda deadlines. Pure: no database, no clock.

A weekday is Monday to Friday (and Saturday for a body that counts it), except Danish public
holidays and the organisation's custom days off (24 and 31 December in Ballerup). Public
holidays come from the maintained `holidays` library; `HOLIDAY_CORRECTIONS` below is the one
place to correct it should it ever be wrong (checked with holidays 0.109: Store Bededag is a
holiday up to 2023 and gone from 2024, as the law says, so no correction is needed today).

Counting convention (kommunestyrelsesloven § 8, stk. 4: "senest 4 hverdage før mødet"): the
meeting day itself is not counted. For a Monday meeting, 4 weekdays before is the Tuesday of
the week before (Fri 1, Thu 2, Wed 3, Tue 4).

These functions are the stable interface other parts use (notifications.rules counts every
reminder's weekdays here: `WeekdayRules`, `rules_for`, `agenda_deadlines`, `is_weekday`,
`weekdays_before`, `add_weekdays`, `local_instant`): keep their signatures.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from cases.dates import COPENHAGEN

SATURDAY = 5
SUNDAY = 6

# Corrections to the holiday library, {date: name or None}; None removes a day the library
# lists wrongly. Empty: the library matched the law for every year we checked (see tests).
HOLIDAY_CORRECTIONS: dict[date, str | None] = {}


@dataclass(frozen=True)
class WeekdayRules:
    """What counts as a weekday for one body."""

    custom_days_off: tuple[str, ...] = ()  # "MM-DD", e.g. "12-24"
    saturday_is_weekday: bool = False


def rules_for(org, body_code: str | None = None) -> WeekdayRules:
    """The weekday rules of an organisation, for one of its bodies (Saturday rule) or none."""
    saturday = org.body(body_code).saturday_is_weekday if body_code else False
    return WeekdayRules(custom_days_off=tuple(org.custom_days_off),
                        saturday_is_weekday=saturday)


@lru_cache(maxsize=64)
def public_holidays(year: int) -> dict[date, str]:
    """Danish public holidays of a year, with Danish names."""
    found = dict(holidays.Denmark(years=year, language="da").items())
    for day, name in HOLIDAY_CORRECTIONS.items():
        if day.year != year:
            continue
        if name is None:
            found.pop(day, None)
        else:
            found[day] = name
    return found


def day_off_reason(day: date, rules: WeekdayRules) -> str | None:
    """Why `day` is not a weekday (a holiday's name, "Fridag", "Weekend"), or None."""
    holiday = public_holidays(day.year).get(day)
    if holiday:
        return holiday
    if day.strftime("%m-%d") in rules.custom_days_off:
        return "Fridag"
    if day.weekday() == SUNDAY or (day.weekday() == SATURDAY and not rules.saturday_is_weekday):
        return "Weekend"
    return None


def is_weekday(day: date, rules: WeekdayRules) -> bool:
    return day_off_reason(day, rules) is None


# Kept: the dashboard plans the route of every case under way, asking the same few meeting
# days over and over (the rules are a frozen value, so the answer depends on the arguments only).
@lru_cache(maxsize=8192)
def add_weekdays(day: date, n: int, rules: WeekdayRules) -> date:
    """The n-th weekday after `day` (n > 0) or before it (n < 0); `day` itself not counted.

    n == 0 gives `day` if it is a weekday, else the nearest weekday before it.
    """
    step = 1 if n > 0 else -1
    remaining = abs(n)
    current = day
    if remaining == 0:
        while not is_weekday(current, rules):
            current -= timedelta(days=1)
        return current
    while remaining:
        current += timedelta(days=step)
        if is_weekday(current, rules):
            remaining -= 1
    return current


def weekdays_before(day: date, n: int, rules: WeekdayRules) -> date:
    """The date n weekdays before `day` ("senest 4 hverdage før mødet")."""
    if n < 0:
        raise ValueError("n must be zero or more")
    return add_weekdays(day, -n, rules)


def weekdays_between(start: date, end: date, rules: WeekdayRules) -> int:
    """How many weekdays lie after `start` up to and including `end` (negative if end < start)."""
    if end < start:
        return -weekdays_between(end, start, rules)
    return sum(1 for offset in range(1, (end - start).days + 1)
               if is_weekday(start + timedelta(days=offset), rules))


@dataclass(frozen=True)
class AgendaDeadlines:
    """A meeting's deadlines, each a calendar date in Europe/Copenhagen."""

    meeting: date
    submission: date  # the secretariat's internal deadline for the case owner
    agenda_out: date  # the agenda is sent to the members at the latest
    material: date  # the material is available at the latest


def agenda_deadlines(body, meeting_day: date, rules: WeekdayRules) -> AgendaDeadlines:
    """The submission, agenda-out and material dates of a meeting of `body` (a Body)."""
    return AgendaDeadlines(
        meeting=meeting_day,
        submission=weekdays_before(meeting_day, body.submission_weekdays, rules),
        agenda_out=weekdays_before(meeting_day, body.agenda_weekdays, rules),
        material=weekdays_before(meeting_day, body.material_weekdays, rules),
    )


def local_instant(day: date, at: time = time(0, 0)) -> datetime:
    """A wall-clock time in Copenhagen as an aware UTC instant (DST applied for that day).

    A time that does not exist (02:30 on the last Sunday of March) is read with the offset
    before the change; a repeated one (02:30 in late October) as its first occurrence.
    """
    local = datetime(day.year, day.month, day.day, at.hour, at.minute, tzinfo=COPENHAGEN)
    return local.astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """The last instant of a Copenhagen calendar day, as UTC (a deadline "by 30-11")."""
    return local_instant(day + timedelta(days=1)) - timedelta(microseconds=1)


def local_day(instant: datetime) -> date:
    """The Copenhagen calendar day of an instant."""
    return instant.astimezone(COPENHAGEN).date()
