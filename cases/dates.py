"""Dates and times as users write and read them: 04-10-2022, Europe/Copenhagen."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from workflow.errors import InvalidInput

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
# The two forms the forms and the API send, read without strptime: it costs ~25 µs, more than
# validating the rest of a workflow action's input. Anything else goes the long way.
_DANISH = re.compile(r"(\d\d)-(\d\d)-(\d{4})", re.ASCII)
_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)", re.ASCII)


def parse_date(raw: str | date) -> date:
    """A date written 04-10-2022 (the Danish way) or 2022-10-04; a clear error otherwise."""
    if isinstance(raw, date):
        return raw
    text = (raw or "").strip()
    try:
        if found := _DANISH.fullmatch(text):
            return date(int(found[3]), int(found[2]), int(found[1]))
        if found := _ISO.fullmatch(text):
            return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:  # 31-02-2022: refused below, as strptime refuses it
        pass
    for fmt in ("%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidInput(f"Ugyldig dato: {raw!r}. Skriv datoen som dd-mm-åååå, fx 04-10-2022.")


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%d-%m-%Y")


def to_local(instant: datetime) -> datetime:
    return instant.astimezone(COPENHAGEN)


def format_instant(instant: datetime | None) -> str:
    """An instant shown in Copenhagen time: 04-10-2022 17:00."""
    if instant is None:
        return ""
    return to_local(instant).strftime("%d-%m-%Y %H:%M")


def local_to_utc(day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Copenhagen on `day`, as an aware UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=COPENHAGEN).astimezone(UTC)


class Clock:
    """Historical instants for one case's events: each at its natural time, never earlier
    than the event before it."""

    def __init__(self):
        self.last: datetime | None = None

    def at(self, day: str | date | None = None, hour: int = 9) -> datetime:
        wanted = local_to_utc(parse_date(day), hour) if day else None
        if self.last is not None and (wanted is None or wanted <= self.last):
            wanted = self.last + timedelta(minutes=1)
        self.last = wanted
        return wanted
