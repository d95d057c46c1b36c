"""The municipality's bodies, centres and rules, read from a TOML file.

Pure: no database. The shipped default is config/ballerup.toml; another
municipality (Aarhus: Byrådet and Magistraten) is another file.
"""

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path

from workflow import access
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


DEFAULT_COLOUR = "#0b5cad"
# The lightest background the colour stands on (site.css: the page) and the text on it.
PAGE_BACKGROUND = "#f6f7f9"
MIN_CONTRAST = 4.5  # WCAG 2.1 AA, normal text
_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _luminance(colour: str) -> float:
    """WCAG's relative luminance of "#rrggbb"."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    """WCAG's contrast ratio of two "#rrggbb" colours (1 to 21)."""
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def check_colour(raw: str) -> str:
    """The portal colour, if it is "#rrggbb" and white text on it (and it as text on the
    page) keeps WCAG AA contrast; the file is refused otherwise, as a page would not be."""
    if not _HEX.fullmatch(raw):
        raise ValueError(f"municipality.colour: expected #rrggbb, got {raw!r}")
    ratio = min(contrast(raw, "#ffffff"), contrast(raw, PAGE_BACKGROUND))
    if ratio < MIN_CONTRAST:
        raise ValueError(f"municipality.colour {raw}: contrast {ratio:.1f}:1 (white text on it, "
                         f"it as text on the page), "
                         f"WCAG AA needs {MIN_CONTRAST}:1; choose a darker colour")
    return raw.lower()


# Several groups giving roles: the role that may do the most wins.
ROLE_PRECEDENCE = (access.ADMIN, access.SECRETARIAT, access.MANAGER, access.CASE_OWNER,
                   access.MEMBER)


@dataclass(frozen=True)
class OidcMapping:
    """The [oidc] section: the municipality's identity provider (SAGSGANG_OIDC_ISSUER and
    SAGSGANG_OIDC_CLIENT_ID override issuer and client_id; the secret is only ever in the
    environment) and how the groups in its `claim` become a role, bodies and a centre."""

    issuer: str = ""
    client_id: str = ""
    claim: str = "groups"
    roles: tuple[tuple[str, str], ...] = ()  # (group, role)
    bodies: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (group, body codes)
    centres: tuple[tuple[str, str], ...] = ()  # (group, centre)

    def role_for(self, groups: set[str]) -> str | None:
        """The role these groups give; a member of a body's group is at least a member;
        None: no mapped group at all (no login)."""
        roles = {role for group, role in self.roles if group in groups}
        if not roles and self.bodies_for(groups):
            roles = {access.MEMBER}
        return next((role for role in ROLE_PRECEDENCE if role in roles), None)

    def bodies_for(self, groups: set[str]) -> tuple[str, ...]:
        codes = [code for group, codes in self.bodies if group in groups for code in codes]
        return tuple(dict.fromkeys(codes))

    def centre_for(self, groups: set[str]) -> str | None:
        return next((centre for group, centre in self.centres if group in groups), None)


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
    oidc: OidcMapping = OidcMapping()
    logo: str = ""  # an image file for the PDF's cover (the file's path, resolved on load)
    # The portal's colour (links, buttons, its header band): "#0b5cad" unless the file says.
    colour: str = DEFAULT_COLOUR
    contact_email: str = ""  # the accessibility statement's written and telephone contact
    contact_phone: str = ""
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

    def code_for(self, code_or_name: str) -> str | None:
        """The code of a body written by its code (SU) or its name, also in the genitive
        ("Socialudvalgets"); None for one not configured."""
        text = " ".join(code_or_name.split())
        if text in self._by_code:
            return text
        by_name = {b.name.lower(): b.code for b in self.bodies}
        lowered = text.lower()
        return by_name.get(lowered) or by_name.get(lowered.removesuffix("s"))

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


def _parse_oidc(raw: dict, codes: list[str], centres: tuple[str, ...]) -> OidcMapping:
    roles = raw.get("roles", {})
    bodies = raw.get("bodies", {})
    group_centres = raw.get("centres", {})
    for group, role in roles.items():
        if role not in ROLE_PRECEDENCE:
            raise ValueError(f"oidc.roles {group!r}: role must be one of "
                             f"{', '.join(ROLE_PRECEDENCE)}")
    for group, listed in bodies.items():
        if not isinstance(listed, list) or not listed:
            raise ValueError(f"oidc.bodies {group!r}: a list of body codes")
        unknown = [code for code in listed if code not in codes]
        if unknown:
            raise ValueError(f"oidc.bodies {group!r}: unknown body {unknown[0]!r}")
    for group, centre in group_centres.items():
        if centre not in centres:
            raise ValueError(f"oidc.centres {group!r}: unknown centre {centre!r}")
    return OidcMapping(
        issuer=str(raw.get("issuer", "")).rstrip("/"), client_id=str(raw.get("client_id", "")),
        claim=str(raw.get("claim", "groups")), roles=tuple(roles.items()),
        bodies=tuple((group, tuple(listed)) for group, listed in bodies.items()),
        centres=tuple(group_centres.items()))


def parse_organisation(data: dict) -> Organisation:
    municipality = data.get("municipality", {})
    bodies = tuple(_parse_body(raw) for raw in data.get("bodies", []))
    codes = [b.code for b in bodies]
    if len(set(codes)) != len(codes):
        raise ValueError("body codes must be unique")
    if len([b for b in bodies if b.kind == COUNCIL]) > 1:
        raise ValueError("at most one body of kind 'council'")
    hours = municipality.get("office_hours", ["08:00", "16:00"])
    centres = tuple(c["name"] for c in data.get("centres", []))
    return Organisation(
        name=municipality.get("name", "Kommunen"),
        bodies=bodies,
        centres=centres,
        oidc=_parse_oidc(data.get("oidc", {}), codes, centres),
        require_finance_statement=bool(municipality.get("require_finance_statement", True)),
        referral_finance_again=bool(municipality.get("referral_finance_again", False)),
        custom_days_off=tuple(municipality.get("custom_days_off", [])),
        office_hours=(parse_time(hours[0], "office_hours"), parse_time(hours[1], "office_hours")),
        logo=str(municipality.get("logo", "")),
        colour=check_colour(str(municipality.get("colour", DEFAULT_COLOUR))),
        contact_email=str(municipality.get("contact_email", "")),
        contact_phone=str(municipality.get("contact_phone", "")),
    )


def load_organisation(path: Path) -> Organisation:
    with open(path, "rb") as f:
        org = parse_organisation(tomllib.load(f))
    if org.logo:  # relative to the organisation file
        org = replace(org, logo=str((Path(path).parent / org.logo).resolve()))
    return org
