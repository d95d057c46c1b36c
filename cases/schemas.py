"""Validated input for the service layer (table models do not validate on construction):
a case as registered and edited, and each workflow action's arguments; the rules every text
and e-mail address that enters obeys (also where no model is used: hearings, meetings,
users); and pydantic's errors described in Danish."""

import re
from datetime import date
from email.utils import formataddr, getaddresses
from typing import Annotated, Any, ClassVar

import email_validator
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from cases.dates import parse_date
from cases.models import DEADLINE_KINDS
from workflow import decisions
from workflow.errors import InvalidInput
from workflow.machine import TRIGGER_LABELS

MAX_TEXT = 50_000
MAX_EMAIL = 254  # RFC 5321's limit of a path, and the columns' width

FIELD_LABELS = {
    "number": "sagsnummer",
    "title": "titel",
    "summary": "sammendrag",
    "background": "baggrund",
    "presentation": "sagsfremstilling",
    "economy": "økonomiske konsekvenser",
    "centre": "center",
    "owner_name": "sagsbehandler",
    "owner_email": "sagsbehandlers e-mail",
    "deciding_body": "beslutningen træffes af",
    "committees": "fagudvalg",
    "proposals": "indstilling",
    "attachments": "bilag",
    "deadlines": "frister",
    "due_date": "dato",
    "kind": "type",
    "description": "beskrivelse",
    "legal_basis": "hjemmel",
    "confidential": "lukket punkt",
    "recommended": "anbefales",
    # a workflow action's arguments
    "body": "organ",
    "bodies": "organer",
    "wording": "beslutning",
    "meeting_date": "mødedato",
    "item_number": "punktnummer",
    "agenda_item_id": "dagsordenspunkt",
    "decision_text": "beslutningens tekst",
    "proposal_decisions": "beslutning pr. indstillingspunkt",
    "minority": "mindretal",
    "reason": "begrundelse",
    "override_reason": "begrundelse for at fortsætte trods åben høring",
    "body_name": "organets navn",
    "replaced_by": "den nye sags nummer",
    "recipients": "eksterne modtagere",
    "to_meeting_date": "mødet, sagen er udsat til",
    "finance_again": "økonomiudvalget behandler sagen igen",
    "to_meeting": "mødet, sagen udsættes til",
    # the API's own request bodies and parameters (web.api)
    "trigger": "handling",
    "parties": "høringsparter",
    "party": "høringspart",
    "deadline": "høringsfrist",
    "opened_on": "høringens start",
    "blocking": "blokerende",
    "send_to_hearing": "send sagen i høring",
    "received_on": "modtaget",
    "text": "tekst",
    "closed_on": "afsluttet",
    "met_on": "overholdt",
    "status": "tilstand",
    "limit": "antal",
    "name": "navn",
}

# -- the rules of every text -------------------------------------------------------------------
# Control characters (NUL, ESC, backspace, ...) belong in no text: PostgreSQL cannot store NUL,
# and they garble pages, documents and mail. Line breaks and tabs belong only in texts of several
# lines (a Sagsfremstilling, a reason); a title, a name or an address is one line, and a CR/LF
# in one would end a mail header early or break the line it is shown on.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_NOT_IN_A_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
LINE_PROBLEM = "må ikke indeholde linjeskift eller styretegn"
TEXT_PROBLEM = "må ikke indeholde styretegn (fx NUL-tegn)"


def text_problem(value: str, *, lines: bool) -> str | None:
    """What is wrong with the characters of `value` ("må ikke indeholde ..."), or None."""
    if (_CONTROL if lines else _NOT_IN_A_LINE).search(value):
        return TEXT_PROBLEM if lines else LINE_PROBLEM
    return None


def checked_text(value: str | None, what: str, *, max_length: int, lines: bool = False) -> str:
    """`value` stripped, for input that no model validates: InvalidInput naming `what` (as a
    sentence starts: "Høringens titel") when it is too long or holds a character it may not."""
    value = (value or "").strip()
    if len(value) > max_length:
        raise InvalidInput(f"{what} må højst have {max_length} tegn.")
    problem = text_problem(value, lines=lines)
    if problem:
        raise InvalidInput(f"{what} {problem}.")
    return value


def _one_line(value: str) -> str:
    if text_problem(value, lines=False):
        raise ValueError(LINE_PROBLEM)
    return value


def _several_lines(value: str) -> str:
    if text_problem(value, lines=True):
        raise ValueError(TEXT_PROBLEM)
    return value


def Line(max_length: int, min_length: int = 0):
    """A text of one line: a title, a name, a code."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length),
                     AfterValidator(_one_line)]


def Text(max_length: int):
    """A text of several lines: a Sagsfremstilling, a reason, a decision."""
    return Annotated[str, Field(max_length=max_length), AfterValidator(_several_lines)]


# -- e-mail addresses --------------------------------------------------------------------------
# Addresses are checked by email-validator (syntax only: no DNS lookup, the machine may be
# offline). RFC 2606's .invalid is allowed, as the library documents: the demo's people have
# such addresses, and no mail to one ever leaves (the mail server refuses it: a failed row).
if "invalid" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
    email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("invalid")
NOT_AN_EMAIL = "er ikke en gyldig e-mailadresse (fx navn@kommune.dk)"


def is_email(address: str) -> bool:
    """A plain address (no display name) that can stand in a mail header as it is: ASCII
    only, as a mail server without SMTPUTF8 takes it."""
    if not address.isascii() or len(address) > MAX_EMAIL:
        return False
    try:
        email_validator.validate_email(address, check_deliverability=False,
                                       allow_smtputf8=False, allow_display_name=False)
    except email_validator.EmailNotValidError:
        return False
    return True


def checked_email(address: str | None) -> str:
    """`address` stripped, or InvalidInput in Danish when it is not a valid address."""
    address = (address or "").strip()
    if not is_email(address):
        raise InvalidInput(f"«{address}» {NOT_AN_EMAIL}.")
    return address


# A hearing party with an address is written "Name <address>": one address in angle brackets
# at the end, and a name without brackets, quotes or @ (which would make it a second address).
_PARTY = re.compile(r'(?P<name>[^<>@"]*)<(?P<address>[^<>]*)>')


def party_address(party: str) -> tuple[str, str] | None:
    """(name, address) of a hearing party written with an address ("Kirkens Korshær
    <kk@example.org>", or the address alone); None for a name alone (a council's code, an
    organisation that gets no mail). Anything that could be read as another recipient than the
    one written is refused: the header the mail is sent with must name exactly that address."""
    if not any(sign in party for sign in "<>@"):
        return None
    found = _PARTY.fullmatch(party)
    if found:
        name, address = found["name"].strip(), found["address"].strip()
    elif "<" not in party and ">" not in party:
        name, address = party, party  # an address alone
    else:
        raise InvalidInput(f"Høringsparten «{party}» kan ikke læses. Skriv en part med "
                           "e-mailadresse som «Navn <navn@eksempel.dk>».")
    if not is_email(address):
        raise InvalidInput(f"Høringsparten «{party}»: «{address}» {NOT_AN_EMAIL}.")
    name = name or address
    if [a for _, a in getaddresses([formataddr((name, address))])] != [address]:
        raise InvalidInput(f"Høringsparten «{party}» kan ikke læses entydigt. Skriv den som "
                           "«Navn <navn@eksempel.dk>».")
    return name, address


def _to_date(value):
    try:
        return parse_date(value) if isinstance(value, str) else value
    except InvalidInput:
        raise ValueError("ugyldig dato (skriv dd-mm-åååå, fx 04-10-2022)") from None


DanishDate = Annotated[date, BeforeValidator(_to_date)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AttachmentIn(Strict):
    title: Line(300, 1)
    recommended: bool = False


class DeadlineIn(Strict):
    due_date: DanishDate
    kind: str = "statutory"
    description: Line(300, 1)
    legal_basis: Line(300) = ""

    @field_validator("kind")
    @classmethod
    def known_kind(cls, value: str) -> str:
        if value not in DEADLINE_KINDS:
            raise ValueError(f"skal være en af {', '.join(DEADLINE_KINDS)}")
        return value


def _email_or_empty(value: str) -> str:
    if value and not is_email(value):
        raise ValueError(NOT_AN_EMAIL)
    return value


def _proposals_not_blank(value: list[str]) -> list[str]:
    cleaned = [p.strip() for p in value]
    if any(not p or len(p) > 5000 for p in cleaned):
        raise ValueError("hvert punkt i indstillingen skal have 1-5000 tegn")
    if any(text_problem(p, lines=True) for p in cleaned):
        raise ValueError(f"indstillingens punkter {TEXT_PROBLEM}")
    return cleaned


# The rules of a case's text, one place for each: registering a case (CaseCreate) and editing
# it afterwards (CaseEdit) accept the same lengths and give the same messages.
Title = Line(300, 1)
LongText = Text(MAX_TEXT)
OwnerName = Line(200)
OwnerEmail = Annotated[str, Field(max_length=MAX_EMAIL), AfterValidator(_email_or_empty)]
BodyCode = Line(20, 1)
CaseNumber = Line(40, 1)
Proposals = Annotated[list[str], Field(max_length=50), AfterValidator(_proposals_not_blank)]
Attachments = Annotated[list[AttachmentIn], Field(max_length=200)]


def _as_list(value):
    """One body's code, or several (joint competence: "KNU og TMU")."""
    return [value] if isinstance(value, str) else value


# Who decides: one body, or several that share the competence (each must decide).
DecidingBodies = Annotated[list[BodyCode], BeforeValidator(_as_list),
                           Field(min_length=1, max_length=6)]


class CaseCreate(Strict):
    number: str = Field(min_length=1, max_length=40, pattern=r"^[\w./-]+$")
    title: Title
    summary: LongText = ""
    background: LongText = ""
    presentation: LongText = ""
    economy: LongText = ""
    centre: Line(200, 1)
    owner_name: OwnerName = ""
    owner_email: OwnerEmail = ""
    deciding_body: DecidingBodies
    committees: list[BodyCode] = Field(default_factory=list, max_length=20)
    confidential: bool = False
    proposals: Proposals = Field(default_factory=list)
    attachments: Attachments = Field(default_factory=list)
    deadlines: list[DeadlineIn] = Field(default_factory=list, max_length=20)
    replaces: CaseNumber | None = None  # the number of the case this new case replaces
    earlier: list[CaseNumber] = Field(default_factory=list, max_length=50)  # earlier cases


class CaseEdit(Strict):
    """A change to a registered case's text, as its owner reworks it: a field left out (or
    None) stays as it is; proposals and attachments, when given, replace the whole list.
    Number, deciding body, committees and state are not here: they belong to the workflow."""

    title: Title | None = None
    summary: LongText | None = None
    background: LongText | None = None
    presentation: LongText | None = None
    economy: LongText | None = None
    owner_name: OwnerName | None = None
    owner_email: OwnerEmail | None = None
    confidential: bool | None = None
    proposals: Proposals | None = None
    attachments: Attachments | None = None


# -- workflow actions --------------------------------------------------------------------------
# One model per workflow trigger. Its fields are exactly what that action's audit event keeps:
# the payload is `model_dump(mode="json", exclude_none=True)` (dates as ISO strings), and a
# replay fires the trigger with it again. What needs the organisation or the register (the
# body exists, the proposal is the case's, the replacing case exists) is checked by the
# service that runs the action (cases.services.transition).

ACTION_TEXT = 20_000
ActionText = Text(ACTION_TEXT)
Bodies = Annotated[list[BodyCode], Field(max_length=20)]
ItemNumber = Annotated[int, Field(ge=1, le=999)]
# A row's id given in a body: within the database's integer (PostgreSQL's is 32 bits).
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Recipients = Annotated[list[Line(200)], Field(max_length=30)]


def _decisions_per_proposal(value: list) -> list:
    """[{"number": 1, "text": "Godkendt"}, ...]: kept as given, the text unstripped (it is
    shown as written in the minutes)."""
    for item in value:
        if not (isinstance(item, dict) and set(item) == {"number", "text"}
                and type(item["number"]) is int and isinstance(item["text"], str)):
            raise ValueError("hvert punkt skal have et nummer og en tekst")
        if len(item["text"]) > ACTION_TEXT:
            raise ValueError(f"punkt {item['number']}: højst {ACTION_TEXT} tegn")
        if text_problem(item["text"], lines=True):
            raise ValueError(f"punkt {item['number']}: {TEXT_PROBLEM}")
    return value


ProposalDecisions = Annotated[list, Field(max_length=50), AfterValidator(_decisions_per_proposal)]


class ActionIn(Strict):
    """What every workflow action may carry: a reason (Begrundelse), shown on its audit event."""

    trigger: ClassVar[str]
    reason: ActionText | None = None

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data: Any) -> Any:
        """Leave out what was not given (None, a blank form field, an empty list), so that one
        form or command serves every action; refuse what this action does not take."""
        if not isinstance(data, dict):
            return data
        if isinstance(data.get("recipients"), list | tuple):  # a blank line names nobody
            data = {**data, "recipients": [str(name).strip() for name in data["recipients"]
                                           if str(name).strip()]}
        given = {key: value for key, value in data.items()
                 if value not in (None, [], ()) and not (isinstance(value, str)
                                                         and not value.strip())}
        taken = cls.model_fields  # read once: a property that costs a few µs each time
        refused = [key for key in given if key not in taken]
        if refused:
            raise ValueError(_not_taken(refused))
        return given


class SubmitIn(ActionIn):
    trigger = "submit"
    override_reason: ActionText | None = None  # past an open blocking hearing


class EndHearingIn(ActionIn):
    trigger = "end_hearing"
    override_reason: ActionText | None = None


class WithdrawIn(ActionIn):
    trigger = "withdraw"


class CloseIn(ActionIn):
    trigger = "close"


class SendForInformationIn(ActionIn):
    """Who a decided case is sent to for information: bodies of the organisation (councils,
    committees) and outside authorities by name (Socialstyrelsen)."""

    trigger = "send_for_information"
    body: BodyCode | None = None
    bodies: Bodies | None = None
    recipients: Recipients | None = None

    @model_validator(mode="after")
    def _someone(self):
        if not (self.body or self.bodies or self.recipients):
            raise ValueError("Angiv, hvem sagen sendes til orientering hos: organer eller "
                             "eksterne modtagere.")
        return self


class TreatmentIn(ActionIn):
    """An action that records a body's treatment at a meeting (a Treatment row): with the
    body come the wording (or the action's own) and the meeting's date."""

    default_wording: ClassVar[str | None] = None
    body: BodyCode | None = None
    wording: Line(100) | None = None
    meeting_date: DanishDate | None = None
    item_number: ItemNumber | None = None
    agenda_item_id: RowId | None = None
    decision_text: ActionText | None = None
    proposal_decisions: ProposalDecisions | None = None
    minority: ActionText | None = None

    @field_validator("wording")
    @classmethod
    def _fitting_wording(cls, value: str) -> str:
        found = decisions.wording(value)
        if found is None:
            raise ValueError(f"ukendt beslutning {value!r}")
        if cls.trigger != "record_earlier" and found.trigger != cls.trigger:
            allowed = ", ".join(w.label for w in decisions.wordings_for(cls.trigger))
            raise ValueError(f"«{found.label}» passer ikke til handlingen "
                             f"«{TRIGGER_LABELS[cls.trigger]}»; mulige: {allowed}")
        return found.code

    def _treated_by(self) -> str | None:
        return self.body

    @model_validator(mode="after")
    def _whole_treatment(self):
        if self._treated_by() is None:
            if self.wording is not None:  # a treatment names who treated the case
                raise ValueError("Angiv organet, der har behandlet sagen.")
            return self
        if self.wording is None:
            if self.default_wording is None:
                raise ValueError("Angiv beslutningen (fx Anbefales, Godkendt, Taget til "
                                 "efterretning).")
            self.wording = self.default_wording
        if self.meeting_date is None:
            raise ValueError("Angiv mødedatoen for behandlingen.")
        return self


class TreatIn(TreatmentIn):
    trigger = "treat"
    body: BodyCode
    override_reason: ActionText | None = None  # a committee past an open blocking hearing


class PostponeIn(TreatmentIn):
    trigger = "postpone"
    default_wording = "udsat"
    body: BodyCode
    # Udsat til mødet den 08-11-2022: the body's meeting the case goes to. Resolved and the
    # item placed on its agenda by meetings.services (postponement to a named meeting).
    to_meeting_date: DanishDate | None = None


class SendBackIn(TreatmentIn):
    trigger = "send_back"
    default_wording = "sendes_tilbage"
    body: BodyCode
    bodies: Bodies | None = None  # the standing committees it goes back to


class ReferIn(TreatmentIn):
    """The council or the finance committee refers the case to committees (`bodies`); from
    the council, `finance_again` says whether the finance committee treats it again before it
    returns (not given: the organisation's `referral_finance_again`)."""

    trigger = "refer"
    default_wording = "henvist"
    body: BodyCode
    bodies: Bodies | None = None
    finance_again: bool | None = None


class SendToHearingIn(TreatmentIn):
    """From a draft no body; from a committee round, the committee that sends it."""

    trigger = "send_to_hearing"
    default_wording = "godkendt_til_hoering"


class ReplaceIn(TreatmentIn):
    trigger = "replace"
    default_wording = "ny_sag"
    replaced_by: CaseNumber | None = None

    @model_validator(mode="after")
    def _named(self):
        if self.replaced_by is None:
            raise ValueError("Angiv sagsnummeret på den nye sag, der erstatter denne.")
        return self


class RecordEarlierIn(TreatmentIn):
    """A treatment from before the case was registered here (Tidligere behandling), by a body
    of today or by one known only by its name (a committee since merged); any wording."""

    trigger = "record_earlier"
    body_name: Line(300) | None = None

    def _treated_by(self) -> str | None:
        return self.body or self.body_name

    @model_validator(mode="after")
    def _by_someone(self):
        if self._treated_by() is None:
            raise ValueError("Angiv organet, der har behandlet sagen.")
        return self


# The input model of each workflow trigger, in the order of TRIGGER_LABELS.
ACTION_INPUTS: dict[str, type[ActionIn]] = {model.trigger: model for model in (
    SubmitIn, SendToHearingIn, EndHearingIn, TreatIn, PostponeIn, SendBackIn, ReferIn,
    WithdrawIn, ReplaceIn, SendForInformationIn, CloseIn, RecordEarlierIn)}


def _not_taken(keys: list[str]) -> str:
    """Why the given keys are refused: one another action takes ("Eksterne modtagere angives
    kun ved «Send til orientering»"), or one no action knows."""
    sentences, unknown = [], []
    for key in sorted(keys):
        takers = [f"«{TRIGGER_LABELS[t]}»" for t, m in ACTION_INPUTS.items()
                  if key in m.model_fields]
        if takers:
            sentences.append(f"{FIELD_LABELS[key].capitalize()} angives kun ved "
                             f"{', '.join(takers)}.")
        else:
            unknown.append(key)
    if unknown:
        sentences.append(f"Ukendte oplysninger: {', '.join(unknown)}.")
    return " ".join(sentences)


def validated(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate `data`, turning pydantic's errors into one Danish message."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(describe(error)) from None


def describe(error: ValidationError | list[dict]) -> str:
    """One Danish message for all of pydantic's errors ("Ugyldigt input – titel: må ikke være
    tom; fagudvalg: skal være en liste"): never pydantic's English."""
    problems = error.errors() if isinstance(error, ValidationError) else error
    parts = []
    for problem in problems:
        if problem["type"] == "json_invalid":  # its place is a character offset: no field
            parts.append("indholdet er ikke gyldig JSON")
            continue
        where = _place(problem["loc"])
        if where:
            parts.append(f"{where}: {_danish(problem)}")
        elif problem["type"] in ("value_error", "assertion_error"):
            parts.append(_danish(problem))  # a check of the whole input words its own sentence
        else:
            parts.append(f"indholdet {_danish(problem)}")
    return "Ugyldigt input – " + "; ".join(parts)


def _place(loc: tuple) -> str:
    """Where a problem is, in words: ("deadlines", 0, "due_date") → "frister nr. 1, dato"."""
    words: list[str] = []
    for part in loc:
        if isinstance(part, int) and words:
            words[-1] += f" nr. {part + 1}"
        else:
            words.append(FIELD_LABELS.get(str(part), str(part)))
    return ", ".join(words)


# What each of pydantic's error types means, in Danish; {name} is filled from its context.
_PROBLEMS = {
    "string_too_short": "må ikke være tom",
    "string_too_long": "højst {max_length} tegn",
    "too_short": "mindst {min_length} elementer",
    "too_long": "højst {max_length} elementer",
    "string_pattern_mismatch": "må kun indeholde bogstaver, tal og . / - _",
    "extra_forbidden": "ukendt felt",
    "missing": "skal udfyldes",
    "int_type": "skal være et helt tal",
    "int_parsing": "skal være et helt tal",
    "int_from_float": "skal være et helt tal",
    "int_parsing_size": "er et for stort tal",
    "float_type": "skal være et tal",
    "float_parsing": "skal være et tal",
    "finite_number": "skal være et tal",
    "greater_than": "skal være større end {gt}",
    "greater_than_equal": "skal være mindst {ge}",
    "less_than": "skal være mindre end {lt}",
    "less_than_equal": "må højst være {le}",
    "string_type": "skal være tekst",
    "string_unicode": "skal være tekst",
    "list_type": "skal være en liste",
    "tuple_type": "skal være en liste",
    "set_type": "skal være en liste",
    "dict_type": "skal være et objekt med felter",
    "model_type": "skal være et objekt med felter",
    "model_attributes_type": "skal være et objekt med felter",
    "bool_type": "skal være ja eller nej",
    "bool_parsing": "skal være ja eller nej",
    "literal_error": "er ikke en af de mulige værdier",
    "enum": "er ikke en af de mulige værdier",
    "none_required": "skal være tom",
}


def _danish(problem: dict) -> str:
    kind = problem["type"]
    ctx = problem.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):  # our own validators' Danish sentences
        return str(ctx.get("error", "er ugyldig"))
    if kind.startswith(("date", "time")):
        return "ugyldig dato (skriv dd-mm-åååå)"
    try:
        return _PROBLEMS.get(kind, "er ugyldig").format(**ctx)
    except (KeyError, IndexError):
        return "er ugyldig"
