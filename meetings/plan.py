"""The yearly meeting plan (mødeplan) as a file: pure parsing, no database.

TOML (see config/moedeplan-2022.toml):

    place = "Ballerup Rådhus"          # default place
    [[bodies]]
    code = "SU"
    place = "Mødelokale B"             # optional, per body
    dates = ["09-08-2022", "06-09-2022 16:00"]   # a time overrides the body's meeting_time

CSV with a header line: body,date,time,place (time and place may be empty).
"""

import csv
import io
import tomllib
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from cases.dates import parse_date
from cases.organisation import Organisation
from workflow.errors import InvalidInput


@dataclass(frozen=True)
class PlannedMeeting:
    body_code: str
    day: date
    at: time
    place: str


def _parse_time(raw: str, where: str) -> time:
    try:
        hours, minutes = raw.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(f"{where}: ugyldigt klokkeslæt {raw!r}; skriv fx 17:00.") from None


def _entry(org: Organisation, code: str, raw_day: str, raw_time: str, place: str,
           where: str) -> PlannedMeeting:
    body = org.body(code)
    try:
        day = parse_date(raw_day)
    except InvalidInput as error:
        raise InvalidInput(f"{where}: {error.message}") from None
    at = _parse_time(raw_time, where) if raw_time.strip() else body.meeting_time
    return PlannedMeeting(body_code=body.code, day=day, at=at, place=place.strip())


def parse_toml_plan(text: str, org: Organisation) -> list[PlannedMeeting]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInput(f"Mødeplanen kan ikke læses: {error}") from None
    default_place = str(data.get("place", ""))
    found = []
    for number, body in enumerate(data.get("bodies", []), start=1):
        code = body.get("code")
        if not code or not isinstance(body.get("dates"), list):
            raise InvalidInput(f"Mødeplanen, organ nr. {number}: angiv code og dates.")
        for raw in body["dates"]:
            day_part, _, time_part = str(raw).strip().partition(" ")
            found.append(_entry(org, code, day_part, time_part, body.get("place", default_place),
                                f"Mødeplanen, {code} {raw}"))
    return _sorted_unique(found)


def parse_csv_plan(text: str, org: Organisation) -> list[PlannedMeeting]:
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"body", "date"} <= set(reader.fieldnames):
        raise InvalidInput("Mødeplanen (CSV) skal have kolonnerne body,date[,time,place].")
    found = [_entry(org, (row.get("body") or "").strip(), row.get("date") or "",
                    row.get("time") or "", row.get("place") or "", f"Mødeplanen, linje {n}")
             for n, row in enumerate(reader, start=2)]
    return _sorted_unique(found)


def _sorted_unique(found: list[PlannedMeeting]) -> list[PlannedMeeting]:
    keys = [(m.body_code, m.day, m.at) for m in found]
    if len(set(keys)) != len(keys):
        twice = sorted({k for k in keys if keys.count(k) > 1})[0]
        raise InvalidInput(f"Mødeplanen nævner {twice[0]} {twice[1]:%d-%m-%Y} to gange.")
    return sorted(found, key=lambda m: (m.day, m.at, m.body_code))


def load_plan(path: Path, org: Organisation) -> list[PlannedMeeting]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise InvalidInput(f"Mødeplanen {path} kan ikke åbnes: {error.strerror}.") from None
    if str(path).lower().endswith(".csv"):
        return parse_csv_plan(text, org)
    return parse_toml_plan(text, org)
