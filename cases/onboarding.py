"""Onboarding: the cases a municipality has under way when it starts using sagsgang, read
from its ESDH export (CSV or JSON; the format is in docs/onboarding.md) and registered through
the case services.

One case is imported by `import_case` in the caller's write transaction; the command line
(cli.onboarding) gives each case its own. A refused case rolls back alone and leaves no rows,
while the others go in: the file can be corrected and run again, since a case whose number is
registered is left as it is ("uændret"). All-or-nothing over hundreds of cases would hold the
database's writer for the whole file and let one bad row stop the municipality's start.

A case's history is replayed as the demo replays the seed's (demo.cases): registered on its
day, its treatments recorded by the same action a meeting's decision uses
(cases.actions.record_decision), its hearings opened and closed, each at its historical time
(cases.dates.Clock). State, queues and Beslutningshistorik are therefore what the workflow
makes of that history, and a history that does not lead to the state the export names is
refused, not forced. Every audit event the import writes is flagged `imported`.
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, func, select

from cases import actions, queries, services
from cases.dates import Clock, format_date, parse_date, to_local
from cases.models import DEADLINE_KINDS, Case, User, utcnow
from cases.organisation import Organisation
from cases.schemas import is_email
from workflow import decisions
from workflow.errors import InvalidInput, UserError
from workflow.machine import (
    ACTIVE,
    CLOSED,
    COMMITTEE,
    COUNCIL,
    DECIDED,
    DRAFT,
    FINANCE,
    HEARING,
    STATE_LABELS,
    WITHDRAWN,
)

CREATED = "oprettet"
UNCHANGED = "uændret"

# The states a case can be carried over in; the others (sent for information, replaced) need
# facts an export does not hold.
IMPORTABLE_STATES = (DRAFT, HEARING, COMMITTEE, FINANCE, COUNCIL, DECIDED, CLOSED, WITHDRAWN)
CASE_FIELDS = ("sagsnummer", "titel", "sagsbehandler", "center", "beslutningskompetence",
               "fagudvalg", "tilstand", "oprettet", "sammendrag", "lukket", "behandlinger",
               "frister", "høringer")
TREATMENT_FIELDS = ("dato", "organ", "punkt", "beslutning", "tekst", "til", "tidligere")
DEADLINE_FIELDS = ("dato", "type", "beskrivelse", "hjemmel")
HEARING_FIELDS = ("titel", "parter", "frist", "åbnet", "afsluttet")
# A CSV row holds a case's lists in numbered columns: behandling1_dato, frist2_type, ...
CSV_GROUPS = {"behandling": "behandlinger", "frist": "frister", "høring": "høringer"}
CSV_GROUP_COLUMN = re.compile(r"^(behandling|frist|høring)(\d{1,2})_(\w+)$")
DEADLINE_KIND_NAMES = {label.lower(): kind for kind, label in DEADLINE_KINDS.items()} | {
    label.split()[0].lower(): kind for kind, label in DEADLINE_KINDS.items()} | {
    kind: kind for kind in DEADLINE_KINDS}
YES = ("ja", "j", "x", "1", "true")
NO = ("nej", "n", "", "0", "false")


# -- the file ----------------------------------------------------------------------------------

@dataclass
class Row:
    """One case of the file as written: its row number as the user sees it (a spreadsheet's
    row, the header being row 1; a JSON list's position, from 1) and its fields."""

    number: int
    fields: dict
    problem: str = ""  # why it cannot be read at all

    @property
    def case_number(self) -> str:
        return str(self.fields.get("sagsnummer") or "").strip()


def read_rows(path: Path) -> list[Row]:
    """The file's cases, by its ending (.csv or .json); a clear error if it cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput(f"Filen {path.name} kan ikke læses: {error}") from None
    if path.suffix.lower() == ".json":
        return json_rows(text)
    if path.suffix.lower() == ".csv":
        return csv_rows(text)
    raise InvalidInput(f"Filen {path.name} skal ende på .csv eller .json.")


def json_rows(text: str) -> list[Row]:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"Filen er ikke gyldig JSON: {error}.") from None
    if isinstance(data, dict) and list(data) == ["sager"]:
        data = data["sager"]
    if not isinstance(data, list):
        raise InvalidInput("JSON-filen skal være en liste af sager (eller {\"sager\": [...]}).")
    return [Row(number, fields) if isinstance(fields, dict) else
            Row(number, {}, "Sagen skal være et objekt med sagens felter.")
            for number, fields in enumerate(data, start=1)]


def csv_rows(text: str) -> list[Row]:
    """A CSV export, separated by semicolons (as Danish Excel writes it) or commas."""
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames or "sagsnummer" not in [n.strip() for n in reader.fieldnames]:
        raise InvalidInput("CSV-filens første linje skal være kolonnernes navne, med "
                           "«sagsnummer» blandt dem.")
    rows = []
    for number, raw in enumerate(reader, start=2):
        if None in raw:  # csv's key for the cells beyond the header's columns
            rows.append(Row(number, {"sagsnummer": raw.get("sagsnummer") or ""},
                            "Rækken har flere celler end der er kolonner."))
        else:
            rows.append(Row(number, _grouped({(k or "").strip(): v for k, v in raw.items()})))
    return rows


def _grouped(raw: dict) -> dict:
    """A CSV row's numbered columns gathered into lists, as a JSON case holds them; a group
    whose cells are all empty is left out. Lists in a cell (fagudvalg, parter, til) are
    separated by commas."""
    fields: dict = {}
    groups: dict[tuple[str, int], dict] = {}
    for name, value in raw.items():
        value = value or ""  # None: a row shorter than the header
        found = CSV_GROUP_COLUMN.match(name)
        if found:
            groups.setdefault((found[1], int(found[2])), {})[found[3]] = value
        else:
            fields[name] = value
    for (group, _), entry in sorted(groups.items()):
        if any(value.strip() for value in entry.values()):
            fields.setdefault(CSV_GROUPS[group], []).append(entry)
    return fields


# -- one case, as read -------------------------------------------------------------------------

@dataclass
class TreatmentIn:
    day: date
    body: str  # a configured body's code, or the name of one no longer configured
    known_body: bool
    wording: str  # a code of workflow.decisions
    item: int | None = None
    text: str = ""
    to: list[str] = field(default_factory=list)  # send back / refer: the committees
    earlier: bool = False  # from before the case's route here (Tidligere behandling)

    def describe(self, org: Organisation) -> str:
        name = org.body_name(self.body) if self.known_body else self.body
        return f"Behandlingen {format_date(self.day)} i {name}"


@dataclass
class HearingIn:
    title: str
    parties: list[str]
    deadline: date
    opened: date
    closed: date | None = None


@dataclass
class CaseIn:
    number: str
    title: str
    centre: str
    deciding: list[str]
    committees: list[str]
    state: str
    owner: str = ""
    registered: date | None = None
    summary: str = ""
    confidential: bool = False
    treatments: list[TreatmentIn] = field(default_factory=list)
    deadlines: list[dict] = field(default_factory=list)
    hearings: list[HearingIn] = field(default_factory=list)

    def first_day(self) -> date | None:
        days = [t.day for t in self.treatments] + [h.opened for h in self.hearings]
        return min(days, default=None)


def read_case(org: Organisation, row: Row) -> CaseIn:
    """The case a row describes, checked against the organisation; InvalidInput (Danish,
    naming the field) for the first thing that is wrong."""
    if row.problem:
        raise InvalidInput(row.problem)
    fields = row.fields
    _known_fields(fields, CASE_FIELDS, "")
    number = _text(fields, "sagsnummer")
    if not number:
        raise InvalidInput("Sagsnummeret mangler.")
    state = _state(_text(fields, "tilstand"))
    deciding = [_body(org, name, "beslutningskompetence")
                for name in _names(fields.get("beslutningskompetence"))]
    if not deciding:
        raise InvalidInput("Beslutningskompetencen mangler (organets forkortelse eller navn).")
    case = CaseIn(
        number=number, title=_text(fields, "titel"), centre=_text(fields, "center"),
        deciding=deciding,
        committees=[_body(org, name, "fagudvalg") for name in _names(fields.get("fagudvalg"))],
        state=state, owner=_text(fields, "sagsbehandler"),
        registered=_date(fields.get("oprettet"), "oprettet") if _text(fields, "oprettet")
        else None,
        summary=_text(fields, "sammendrag"), confidential=_yes(fields.get("lukket"), "lukket"))
    case.treatments = [_treatment(org, entry, n)
                       for n, entry in enumerate(_list(fields, "behandlinger"), start=1)]
    case.deadlines = [_deadline(entry, n)
                      for n, entry in enumerate(_list(fields, "frister"), start=1)]
    case.hearings = [_hearing(entry, n)
                     for n, entry in enumerate(_list(fields, "høringer"), start=1)]
    return case


def _known_fields(fields: dict, known: tuple[str, ...], where: str) -> None:
    # An empty cell of an unknown column is a spreadsheet's column other rows fill.
    unknown = [name for name, value in fields.items() if name not in known and value != ""]
    if unknown:
        raise InvalidInput(f"{where}Ukendt felt «{unknown[0]}». Kendte felter: "
                           f"{', '.join(known)}.")


def _text(fields: dict, name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if isinstance(value, bool | list | dict):
        raise InvalidInput(f"Feltet «{name}» skal være tekst.")
    return " ".join(str(value).split()) if name != "tekst" else str(value).strip()


def _names(value) -> list[str]:
    """A list of names: a JSON list, or a cell of names separated by commas."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [" ".join(str(item).split()) for item in items if str(item).strip()]


def _list(fields: dict, name: str) -> list[dict]:
    value = fields.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise InvalidInput(f"Feltet «{name}» skal være en liste af objekter.")
    return value


def _body(org: Organisation, name: str, where: str) -> str:
    code = org.code_for(name)
    if code is None:
        raise InvalidInput(f"«{name}» ({where}) er ikke et kendt organ.")
    return code


def _state(text: str) -> str:
    lowered = text.lower()
    for state in IMPORTABLE_STATES:
        if lowered in (state, STATE_LABELS[state].lower()):
            return state
    for state, label in STATE_LABELS.items():
        if lowered in (state, label.lower()):
            raise InvalidInput(f"En sag kan ikke indlæses i tilstanden «{label}»; indlæs den "
                               "som afgjort eller afsluttet.")
    known = ", ".join(f"«{STATE_LABELS[s]}»" for s in IMPORTABLE_STATES)
    raise InvalidInput(f"Ukendt tilstand «{text}». Kendte: {known}.")


def _date(value, where: str) -> date:
    try:
        return parse_date(str(value or ""))
    except InvalidInput as error:
        raise InvalidInput(f"{where.capitalize()}: {error.message}") from None


def _yes(value, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in YES or text in NO:
        return text in YES
    raise InvalidInput(f"Feltet «{where}» skal være ja eller nej, ikke «{value}».")


def _treatment(org: Organisation, entry: dict, n: int) -> TreatmentIn:
    where = f"Behandling {n}: "
    _known_fields(entry, TREATMENT_FIELDS, where)
    name = _text(entry, "organ")
    if not name:
        raise InvalidInput(f"{where}organet mangler.")
    found = decisions.wording(_text(entry, "beslutning"))
    if found is None or found.trigger == "answer_hearing":
        known = ", ".join(w.label for w in decisions.WORDINGS if w.trigger != "answer_hearing")
        raise InvalidInput(f"{where}ukendt beslutning «{_text(entry, 'beslutning')}». "
                           f"Kendte: {known}.")
    item = _text(entry, "punkt")
    if item and not item.isdigit():
        raise InvalidInput(f"{where}punktet skal være et nummer, ikke «{item}».")
    code = org.code_for(name)
    return TreatmentIn(
        day=_date(entry.get("dato"), f"{where}dato"), body=code or name,
        known_body=code is not None, wording=found.code, item=int(item) if item else None,
        text=_text(entry, "tekst"),
        to=[_body(org, body, "til") for body in _names(entry.get("til"))],
        earlier=_yes(entry.get("tidligere"), "tidligere") or found.trigger == "record_earlier")


def _deadline(entry: dict, n: int) -> dict:
    where = f"Frist {n}: "
    _known_fields(entry, DEADLINE_FIELDS, where)
    kind = DEADLINE_KIND_NAMES.get(_text(entry, "type").lower() or "statutory")
    if kind is None:
        raise InvalidInput(f"{where}ukendt type «{_text(entry, 'type')}». Kendte: "
                           f"{', '.join(DEADLINE_KINDS.values())}.")
    return {"due_date": _date(entry.get("dato"), f"{where}dato"), "kind": kind,
            "description": _text(entry, "beskrivelse"), "legal_basis": _text(entry, "hjemmel")}


def _hearing(entry: dict, n: int) -> HearingIn:
    where = f"Høring {n}: "
    _known_fields(entry, HEARING_FIELDS, where)
    closed = _text(entry, "afsluttet")
    return HearingIn(title=_text(entry, "titel"), parties=_names(entry.get("parter")),
                     deadline=_date(entry.get("frist"), f"{where}frist"),
                     opened=_date(entry.get("åbnet"), f"{where}åbnet"),
                     closed=_date(closed, f"{where}afsluttet") if closed else None)


# -- one case, registered ----------------------------------------------------------------------

def import_case(session: Session, org: Organisation, row: Row, *, actor: str) -> str:
    """Register the row's case with its history, in the caller's transaction: CREATED, or
    UNCHANGED when its number is registered already. A UserError (Danish) refuses it; the
    caller rolls back, so a refused case leaves no rows."""
    if row.case_number and session.exec(
            select(Case.id).where(Case.number == row.case_number)).first() is not None:
        return UNCHANGED
    case = read_case(org, row)
    with services.importing(session):
        _register(session, org, case, actor)
    return CREATED


def _register(session: Session, org: Organisation, case: CaseIn, actor: str) -> None:
    owner_name, owner_email = _owner(session, case.owner)
    clock = Clock()
    registered = case.registered or case.first_day() or to_local(utcnow()).date()
    services.create_case(session, {
        "number": case.number, "title": case.title, "summary": case.summary,
        "centre": case.centre, "owner_name": owner_name, "owner_email": owner_email,
        "deciding_body": case.deciding, "committees": case.committees,
        "confidential": case.confidential, "deadlines": case.deadlines},
        actor=actor, org=org, now=clock.at(registered, 9))
    History(session, org, case, clock, actor).replay()
    stored = queries.get_case(session, case.number)
    if stored.status != case.state:
        raise InvalidInput(f"Behandlingerne fører sagen til «{org.state_label(stored.status)}»"
                           f", men filen siger «{org.state_label(case.state)}».")


def _owner(session: Session, owner: str) -> tuple[str, str]:
    """The case owner's name and address, from a user's login or e-mail address; an address
    nobody here has yet is kept as the address alone."""
    if not owner:
        return "", ""
    lowered = owner.lower()
    user = session.exec(select(User).where(
        sa.or_(func.lower(User.username) == lowered, func.lower(User.email) == lowered))).first()
    if user is not None:
        return user.name, user.email
    if is_email(owner):
        return "", owner
    raise InvalidInput(f"Sagsbehandleren «{owner}» er hverken en bruger eller en "
                       "e-mailadresse.")


class History:
    """Replays one case's treatments and hearings in the order of their days: a hearing
    opens in the morning, closes in the afternoon, a body treats the case in the evening."""

    def __init__(self, session: Session, org: Organisation, case: CaseIn, clock: Clock,
                 actor: str):
        self.session, self.org, self.case, self.clock, self.actor = \
            session, org, case, clock, actor
        self.opened: dict[int, int] = {}  # the case's hearings by their index: their row id
        # A committee's "Godkendt og sendes i høring" opens the hearing that opens that day.
        self.by_decision = {self._hearing_opened_by(t): t for t in case.treatments
                            if t.wording == "godkendt_til_hoering"}

    def replay(self) -> None:
        for _day, _order, kind, index in sorted(self._steps()):
            if kind == "treatment":
                self._treat(self.case.treatments[index])
            elif kind == "open":
                self._open(index)
            else:
                self._close(index)
        self._reach(self.case.state)

    def _steps(self) -> list[tuple[date, int, str, int]]:
        # In the order of the day: 9 o'clock, 15 o'clock, the evening meeting.
        steps = [(t.day, 2, "treatment", n) for n, t in enumerate(self.case.treatments)]
        for n, hearing in enumerate(self.case.hearings):
            if n not in self.by_decision:
                steps.append((hearing.opened, 0, "open", n))
            if hearing.closed:
                steps.append((hearing.closed, 1, "close", n))
        return steps

    def _hearing_opened_by(self, treatment: TreatmentIn) -> int:
        for n, hearing in enumerate(self.case.hearings):
            if hearing.opened == treatment.day:
                return n
        raise InvalidInput(f"{treatment.describe(self.org)} sender sagen i høring, men ingen "
                           "høring i filen åbner den dag.")

    def _state(self) -> str:
        return queries.get_case(self.session, self.case.number).status

    def _treat(self, treatment: TreatmentIn) -> None:
        when = self.clock.at(treatment.day, 19)
        arguments = dict(wording=treatment.wording, meeting_date=treatment.day,
                         item_number=treatment.item, decision_text=treatment.text)
        try:
            if treatment.earlier or not treatment.known_body:
                who = {"body": treatment.body} if treatment.known_body else \
                    {"body_name": treatment.body}
                actions.record_earlier(self.session, self.case.number, actor=self.actor,
                                       org=self.org, now=when, **arguments, **who)
                return
            if self._state() == DRAFT:
                actions.submit(self.session, self.case.number, actor=self.actor, org=self.org,
                               now=when)
            if treatment.wording == "godkendt_til_hoering":
                self._open(self._hearing_opened_by(treatment), body=treatment.body,
                           when=when, **arguments)
                return
            sends_back = decisions.BY_CODE[treatment.wording].trigger == "send_back"
            actions.record_decision(self.session, self.case.number, actor=self.actor,
                                    org=self.org, now=when, body=treatment.body,
                                    bodies=treatment.to or None,
                                    reason=(treatment.text or "Sendt tilbage") if sends_back
                                    else None, **arguments)
        except UserError as error:
            raise InvalidInput(f"{treatment.describe(self.org)}: {error.message}") from None

    def _open(self, index: int, *, body: str | None = None, when=None, **decision) -> None:
        hearing = self.case.hearings[index]
        when = when or self.clock.at(hearing.opened, 9)
        arguments = dict(title=hearing.title, parties=hearing.parties,
                         deadline=hearing.deadline, opened_on=hearing.opened,
                         actor=self.actor, org=self.org, now=when)
        try:
            if body or self._state() == DRAFT:  # the case waits in hearing
                decision.pop("wording", None)
                found = services.send_to_hearing(
                    self.session, self.case.number, body=body,
                    wording="godkendt_til_hoering" if body else None, **decision, **arguments)
            else:  # a hearing beside the route: the case goes on meanwhile
                found = services.add_hearing(self.session, self.case.number, blocking=False,
                                             **arguments)
        except UserError as error:
            raise InvalidInput(f"Høringen «{hearing.title}»: {error.message}") from None
        self.opened[index] = found.id

    def _close(self, index: int) -> None:
        hearing = self.case.hearings[index]
        if index not in self.opened:
            raise InvalidInput(f"Høringen «{hearing.title}» afsluttes, før den er åbnet.")
        try:
            services.close_hearing(self.session, self.opened[index], closed_on=hearing.closed,
                                   actor=self.actor, org=self.org,
                                   now=self.clock.at(hearing.closed, 15))
        except UserError as error:
            raise InvalidInput(f"Høringen «{hearing.title}»: {error.message}") from None

    def _reach(self, wanted: str) -> None:
        """What the export's state says happened after the last treatment: a case under way
        was sent to its committees, a decided one closed, a withdrawn one withdrawn."""
        state = self._state()
        arguments = dict(actor=self.actor, org=self.org, now=self.clock.at())
        if state == DRAFT and wanted in (COMMITTEE, FINANCE):
            actions.submit(self.session, self.case.number, **arguments)
        elif state == DECIDED and wanted == CLOSED:
            actions.close(self.session, self.case.number, **arguments)
        elif state in ACTIVE and wanted == WITHDRAWN:
            actions.withdraw(self.session, self.case.number,
                             reason="Trukket tilbage i det tidligere sagssystem", **arguments)
