"""Dates and times as users write and read them: 04-10-2022, Europe/Copenhagen."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from workflow.errors import InvalidInput

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def parse_date(raw: str | date) -> date:
    """A date written 04-10-2022 (the Danish way) or 2022-10-04; a clear error otherwise."""
    if isinstance(raw, date):
        return raw
    text = (raw or "").strip()
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
