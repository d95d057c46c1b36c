"""Attendance and votes as a referat writes them: pure, without the database.

A referat lists each member under Deltog, Afbud or Fraværende ("Anna Andersen (A)"), the
substitutes ("Carl Carlsen (A) for Bo Berg"), who took no part in some items ("Anna
Andersen: 20-21"), and per item how the vote went ("For: A, V (7). Imod: Ø (2).") and what
was asked to be written in the minutes. The command line and the web form take the same
lines, read here into entries the meeting actions check against the database
(meetings.services.record_attendance, record_vote); the words the documents show are made
here too, so screen, print, PDF, API and command line say the same.
"""

import re
from dataclasses import dataclass, field

from workflow.errors import InvalidInput

ATTENDED = "deltog"
SENT_APOLOGIES = "afbud"
ABSENT = "fravaerende"
ATTENDANCE_STATUSES = {ATTENDED: "Deltog", SENT_APOLOGIES: "Afbud", ABSENT: "Fraværende"}

VOTE_FOR = "for"
VOTE_AGAINST = "imod"
VOTE_ABSTAIN = "undlod"
VOTE_CHOICES = {VOTE_FOR: "For", VOTE_AGAINST: "Imod", VOTE_ABSTAIN: "Undlod"}

MINORITY_NOTE = "mindretal"
RESERVATION = "forbehold"
PROTOCOL_NOTE = "protokol"
NOTE_KINDS = {MINORITY_NOTE: "Mindretalsudtalelse", RESERVATION: "Forbehold",
              PROTOCOL_NOTE: "Protokolbemærkning"}
# What people also call them (a referat says "protokoltilførsel").
NOTE_KIND_NAMES = {MINORITY_NOTE: MINORITY_NOTE, "mindretalsudtalelse": MINORITY_NOTE,
                   RESERVATION: RESERVATION, PROTOCOL_NOTE: PROTOCOL_NOTE,
                   "protokolbemærkning": PROTOCOL_NOTE, "protokoltilførsel": PROTOCOL_NOTE}

# "Anna Andersen (A) – sygdom": a name, its party in brackets, a note after a dash.
PERSON = re.compile(r"^(?P<name>[^()]+?)\s*(?:\((?P<party>[^()]{1,100})\))?"
                    r"(?:\s+[–-]\s+(?P<note>.+))?$")
SUBSTITUTE = re.compile(r"^(?P<who>.+?)\s+for\s+(?P<member>.+)$")
NAME_SEPARATORS = re.compile(r"\s*[,;\n]\s*|\s+og\s+")


@dataclass
class AttendanceEntry:
    """One person on the list: a member (by username, or by name) or any name."""

    name: str = ""
    username: str | None = None
    status: str = ATTENDED
    party: str = ""
    substitute_for: str = ""  # the member they stood in for
    not_under: list[int] = field(default_factory=list)  # item numbers they took no part in
    note: str = ""


@dataclass
class VoteEntry:
    """The vote on one proposal (None: the item as a whole): names per choice (members,
    people on the attendance list, or parties), and counts where given (else counted)."""

    proposal: int | None = None
    names: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int | None] = field(default_factory=dict)


@dataclass
class NoteEntry:
    kind: str
    who: str
    text: str = ""


# -- reading what was typed --------------------------------------------------------------------

def split_names(raw: str | list[str] | tuple[str, ...]) -> list[str]:
    """"Anna, Bo og Carl" (or several values, as a repeated option gives): the names."""
    values = [raw] if isinstance(raw, str) else list(raw)
    return [name.strip() for value in values for name in NAME_SEPARATORS.split(value or "")
            if name.strip()]


def parse_person(raw: str, status: str = ATTENDED) -> AttendanceEntry:
    found = PERSON.match(" ".join(raw.split()))
    if not found:
        raise InvalidInput(f"Kan ikke læse {raw.strip()!r}; skriv fx «Anna Andersen (A)».")
    return AttendanceEntry(name=found["name"].strip(), status=status,
                           party=(found["party"] or "").strip(),
                           note=(found["note"] or "").strip())


def parse_substitute(raw: str) -> AttendanceEntry:
    """"Carl Carlsen (A) for Bo Berg": Carl took part in Bo's place."""
    found = SUBSTITUTE.match(" ".join(raw.split()))
    if not found:
        raise InvalidInput(f"Skriv en stedfortræder som «Navn for Medlem» (fik {raw.strip()!r}).")
    entry = parse_person(found["who"])
    entry.substitute_for = found["member"].strip()
    return entry


def parse_item_numbers(raw: str) -> list[int]:
    """"20-21, 23" → [20, 21, 23]."""
    numbers = []
    for part in re.split(r"\s*(?:,|\bog\b)\s*", raw.strip()):
        first, dash, last = part.replace("–", "-").partition("-")
        if not first.strip().isdigit() or (dash and not last.strip().isdigit()):
            raise InvalidInput(f"Ugyldige punktnumre {raw.strip()!r}; skriv fx 20-21 eller "
                               "3, 5.")
        start, end = int(first), int(last) if dash else int(first)
        if end < start or end - start > 500:
            raise InvalidInput(f"Ugyldige punktnumre {raw.strip()!r}; skriv fx 20-21.")
        numbers.extend(range(start, end + 1))
    return sorted(set(numbers))


def parse_not_under(raw: str) -> tuple[str, list[int]]:
    """"Anna Andersen: 20-21" → ("Anna Andersen", [20, 21])."""
    name, colon, numbers = raw.rpartition(":")
    if not colon or not name.strip():
        raise InvalidInput(f"Skriv «Navn: punkter», fx «Anna Andersen: 20-21» "
                           f"(fik {raw.strip()!r}).")
    return " ".join(name.split()), parse_item_numbers(numbers)


def attendance_entries(*, present=(), apologies=(), absent=(), substitutes=(),
                       not_under=()) -> list[AttendanceEntry]:
    """The whole list from its parts, as typed (each a list of lines or comma-separated
    names); "not under" names someone already on the list as taking part."""
    entries = [parse_person(raw) for raw in split_names(present)]
    entries += [parse_substitute(raw) for raw in _lines(substitutes)]
    entries += [parse_person(raw, SENT_APOLOGIES) for raw in split_names(apologies)]
    entries += [parse_person(raw, ABSENT) for raw in split_names(absent)]
    by_name = {}
    for entry in entries:
        if entry.name.casefold() in by_name:
            raise InvalidInput(f"{entry.name} står mere end én gang på fremmødelisten.")
        by_name[entry.name.casefold()] = entry
    for raw in _lines(not_under):
        name, numbers = parse_not_under(raw)
        entry = by_name.get(name.casefold())
        if entry is None or entry.status != ATTENDED:
            raise InvalidInput(f"{name} står ikke som deltager på fremmødelisten; kun en "
                               "deltager kan have punkter, vedkommende ikke deltog under.")
        entry.not_under = sorted({*entry.not_under, *numbers})
    return entries


def _lines(raw) -> list[str]:
    values = [raw] if isinstance(raw, str) else list(raw)
    return [line.strip() for value in values for line in (value or "").splitlines()
            if line.strip()]


def note_kind(raw: str) -> str:
    found = NOTE_KIND_NAMES.get((raw or "").strip().lower())
    if found is None:
        raise InvalidInput(f"Ukendt slags bemærkning {raw!r}; vælg mindretalsudtalelse, "
                           "forbehold eller protokolbemærkning.")
    return found


# -- the words the documents show --------------------------------------------------------------

def item_ranges(numbers: list[int]) -> str:
    """[20, 21, 23] → "20-21, 23"."""
    parts, numbers = [], sorted(numbers)
    start = previous = None
    for number in [*numbers, None]:
        if start is not None and number == previous + 1:
            previous = number
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = number
    return ", ".join(parts)


def person_label(name: str, party: str = "", substitute_for: str = "", note: str = "",
                 not_under: list[int] | None = None) -> str:
    """"Carl Carlsen (A), stedfortræder for Bo Berg, deltog ikke under punkt 20-21"."""
    text = f"{name} ({party})" if party else name
    if substitute_for:
        text += f", stedfortræder for {substitute_for}"
    if not_under:
        text += f", deltog ikke under punkt {item_ranges(not_under)}"
    if note:
        text += f" ({note})"
    return text


def vote_groups(names: dict[str, list[str]], counts: dict[str, int]) -> list[dict]:
    """For, Imod and Undlod with their names and counts, those with neither left out."""
    return [{"choice": choice, "label": label, "names": list(names.get(choice, [])),
             "count": counts.get(choice, 0)}
            for choice, label in VOTE_CHOICES.items()
            if counts.get(choice, 0) or names.get(choice)]


def vote_text(groups: list[dict]) -> str:
    """"For: Anna Andersen, Bo Berg (2). Imod: Ø (1).\""""
    parts = [f"{g['label']}: {', '.join(g['names'])} ({g['count']})" if g["names"]
             else f"{g['label']}: {g['count']}" for g in groups]
    return ". ".join(parts) + "." if parts else ""


def note_sentence(kind: str, who: str, text: str) -> str:
    """How the minutes write a note: "Mindretallet (Ø) ønsker ført til protokol: ..."."""
    text = text.strip()
    if kind == MINORITY_NOTE:
        return f"Mindretallet ({who}) ønsker ført til protokol: {text}"
    if kind == RESERVATION:
        return f"{who} tager forbehold: {text}" if text else f"{who} tager forbehold."
    return f"{who} ønsker ført til protokol: {text}"
