"""The municipality's bodies, centres and rules, read from a TOML file.

Pure: no database. The shipped default is config/ballerup.toml; another
municipality (Aarhus: Byrådet and Magistraten) is another file.
"""

import tomllib
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

from workflow.errors import InvalidInput, NotFound
from workflow.machine import state_label

COUNCIL = "council"
FINANCE_COMMITTEE = "finance_committee"
STANDING_COMMITTEE = "standing_committee"
HEARING_COUNCIL = "hearing_council"
BODY_KINDS = (COUNCIL, FINANCE_COMMITTEE, STANDING_COMMITTEE, HEARING_COUNCIL)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Body:
    code: str
    name: str
    kind: str
    meeting_weekday: int = 1  # 0 = Monday
    meeting_time: time = time(17, 0)
    agenda_weekdays: int = 4
    material_weekdays: int = 4
    submission_weekdays: int = 9
    saturday_is_weekday: bool = False

    @property
    def is_committee(self) -> bool:
        return self.kind == STANDING_COMMITTEE


@dataclass(frozen=True)
class Organisation:
    name: str
    bodies: tuple[Body, ...]
    centres: tuple[str, ...]
    require_finance_statement: bool = True
    # A case the council refers to committees goes through the finance committee again on
    # its way back, unless the referral says otherwise.
    referral_finance_again: bool = False
    custom_days_off: tuple[str, ...] = ()  # "MM-DD"
    office_hours: tuple[time, time] = (time(8, 0), time(16, 0))
    _by_code: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        self._by_code.update({b.code: b for b in self.bodies})

    def body(self, code: str) -> Body:
        """The body with this abbreviation; a clear error for an unknown one."""
        try:
            return self._by_code[code]
        except KeyError:
            known = ", ".join(b.code for b in self.bodies)
            raise NotFound(f"Ukendt organ: {code!r}. Kendte organer: {known}") from None

    def body_name(self, code: str) -> str:
        """The body's name, or its code if it is no longer configured (old records)."""
        found = self._by_code.get(code)
        return found.name if found else code

    def state_label(self, state: str) -> str:
        """A case state in Danish, with this municipality's finance committee and council."""
        finance, council = self.finance_committee, self.council
        return state_label(state, finance_name=finance.name if finance else None,
                           council_name=council.name if council else None)

    def state_change(self, from_state: str | None, to_state: str) -> str:
        return f"{self.state_label(from_state or '')} → {self.state_label(to_state)}"

    def bodies_of_kind(self, kind: str) -> list[Body]:
        return [b for b in self.bodies if b.kind == kind]

    @property
    def council(self) -> Body | None:
        found = self.bodies_of_kind(COUNCIL)
        return found[0] if found else None

    @property
    def finance_committee(self) -> Body | None:
        found = self.bodies_of_kind(FINANCE_COMMITTEE)
        return found[0] if found else None

    def check_centre(self, centre: str) -> str:
        if centre not in self.centres:
            raise InvalidInput(
                f"Ukendt center: {centre!r}. Kendte centre: {', '.join(self.centres)}"
            )
        return centre


def parse_time(raw: str, where: str) -> time:
    try:
        hours, minutes = raw.split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise ValueError(f"{where}: expected HH:MM, got {raw!r}") from None


def _parse_body(raw: dict) -> Body:
    code = raw.get("code")
    where = f"body {code!r}"
    if not code or not raw.get("name"):
        raise ValueError(f"{where}: every body needs a code and a name")
    if raw.get("kind") not in BODY_KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(BODY_KINDS)}")
    weekday = raw.get("meeting_weekday", "tuesday")
    if weekday not in WEEKDAYS:
        raise ValueError(f"{where}: meeting_weekday must be one of {', '.join(WEEKDAYS)}")
    return Body(
        code=code,
        name=raw["name"],
        kind=raw["kind"],
        meeting_weekday=WEEKDAYS.index(weekday),
        meeting_time=parse_time(raw.get("meeting_time", "17:00"), where),
        agenda_weekdays=int(raw.get("agenda_weekdays", 4)),
        material_weekdays=int(raw.get("material_weekdays", 4)),
        submission_weekdays=int(raw.get("submission_weekdays", 9)),
        saturday_is_weekday=bool(raw.get("saturday_is_weekday", False)),
    )


def parse_organisation(data: dict) -> Organisation:
    municipality = data.get("municipality", {})
    bodies = tuple(_parse_body(raw) for raw in data.get("bodies", []))
    codes = [b.code for b in bodies]
    if len(set(codes)) != len(codes):
        raise ValueError("body codes must be unique")
    if len([b for b in bodies if b.kind == COUNCIL]) > 1:
        raise ValueError("at most one body of kind 'council'")
    hours = municipality.get("office_hours", ["08:00", "16:00"])
    return Organisation(
        name=municipality.get("name", "Kommunen"),
        bodies=bodies,
        centres=tuple(c["name"] for c in data.get("centres", [])),
        require_finance_statement=bool(municipality.get("require_finance_statement", True)),
        referral_finance_again=bool(municipality.get("referral_finance_again", False)),
        custom_days_off=tuple(municipality.get("custom_days_off", [])),
        office_hours=(parse_time(hours[0], "office_hours"), parse_time(hours[1], "office_hours")),
    )


def load_organisation(path: Path) -> Organisation:
    with open(path, "rb") as f:
        return parse_organisation(tomllib.load(f))
