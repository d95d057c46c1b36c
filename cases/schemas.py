"""Validated input for the service layer (table models do not validate on construction):
a case as registered and edited, and each workflow action's arguments."""

import re
from datetime import date
from typing import Annotated, Any, ClassVar

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
EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")

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
}


def _to_date(value):
    try:
        return parse_date(value) if isinstance(value, str) else value
    except InvalidInput:
        raise ValueError("ugyldig dato (skriv dd-mm-åååå, fx 04-10-2022)") from None


DanishDate = Annotated[date, BeforeValidator(_to_date)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AttachmentIn(Strict):
    title: str = Field(min_length=1, max_length=300)
    recommended: bool = False


class DeadlineIn(Strict):
    due_date: DanishDate
    kind: str = "statutory"
    description: str = Field(min_length=1, max_length=300)
    legal_basis: str = Field(default="", max_length=300)

    @field_validator("kind")
    @classmethod
    def known_kind(cls, value: str) -> str:
        if value not in DEADLINE_KINDS:
            raise ValueError(f"skal være en af {', '.join(DEADLINE_KINDS)}")
        return value


def _email_or_empty(value: str) -> str:
    if value and not EMAIL.match(value):
        raise ValueError("er ikke en gyldig e-mailadresse")
    return value


def _proposals_not_blank(value: list[str]) -> list[str]:
    cleaned = [p.strip() for p in value]
    if any(not p or len(p) > 5000 for p in cleaned):
        raise ValueError("hvert punkt i indstillingen skal have 1-5000 tegn")
    return cleaned


# The rules of a case's text, one place for each: registering a case (CaseCreate) and editing
# it afterwards (CaseEdit) accept the same lengths and give the same messages.
Title = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(max_length=MAX_TEXT)]
OwnerName = Annotated[str, Field(max_length=200)]
OwnerEmail = Annotated[str, Field(max_length=254), AfterValidator(_email_or_empty)]
Proposals = Annotated[list[str], Field(max_length=50), AfterValidator(_proposals_not_blank)]
Attachments = Annotated[list[AttachmentIn], Field(max_length=200)]


class CaseCreate(Strict):
    number: str = Field(min_length=1, max_length=40, pattern=r"^[\w./-]+$")
    title: Title
    summary: LongText = ""
    background: LongText = ""
    presentation: LongText = ""
    economy: LongText = ""
    centre: str = Field(min_length=1, max_length=200)
    owner_name: OwnerName = ""
    owner_email: OwnerEmail = ""
    deciding_body: str = Field(min_length=1, max_length=20)
    committees: list[str] = Field(default_factory=list, max_length=20)
    confidential: bool = False
    proposals: Proposals = Field(default_factory=list)
    attachments: Attachments = Field(default_factory=list)
    deadlines: list[DeadlineIn] = Field(default_factory=list, max_length=20)
    replaces: str | None = None  # the number of the case this new case replaces
    earlier: list[str] = Field(default_factory=list)  # numbers of earlier cases


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
ActionText = Annotated[str, Field(max_length=ACTION_TEXT)]
BodyCode = Annotated[str, Field(min_length=1, max_length=20)]
Bodies = Annotated[list[BodyCode], Field(max_length=20)]
ItemNumber = Annotated[int, Field(ge=1, le=999)]
CaseNumber = Annotated[str, Field(min_length=1, max_length=40)]
Recipients = Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=30)]


def _decisions_per_proposal(value: list) -> list:
    """[{"number": 1, "text": "Godkendt"}, ...]: kept as given, the text unstripped (it is
    shown as written in the minutes)."""
    for item in value:
        if not (isinstance(item, dict) and set(item) == {"number", "text"}
                and type(item["number"]) is int and isinstance(item["text"], str)):
            raise ValueError("hvert punkt skal have et nummer og en tekst")
        if len(item["text"]) > ACTION_TEXT:
            raise ValueError(f"punkt {item['number']}: højst {ACTION_TEXT} tegn")
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
    wording: str | None = None
    meeting_date: DanishDate | None = None
    item_number: ItemNumber | None = None
    agenda_item_id: int | None = None
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

    @model_validator(mode="after")
    def _whole_treatment(self):
        if self.body is None and getattr(self, "body_name", None) is None:
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


class SendBackIn(TreatmentIn):
    trigger = "send_back"
    default_wording = "sendes_tilbage"
    body: BodyCode
    bodies: Bodies | None = None  # the standing committees it goes back to


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
    body_name: ActionText | None = None

    @model_validator(mode="after")
    def _by_someone(self):
        if self.body is None and self.body_name is None:
            raise ValueError("Angiv organet, der har behandlet sagen.")
        return self


# The input model of each workflow trigger, in the order of TRIGGER_LABELS.
ACTION_INPUTS: dict[str, type[ActionIn]] = {model.trigger: model for model in (
    SubmitIn, SendToHearingIn, EndHearingIn, TreatIn, PostponeIn, SendBackIn, WithdrawIn,
    ReplaceIn, SendForInformationIn, CloseIn, RecordEarlierIn)}


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


def describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(FIELD_LABELS.get(str(p), str(p)) for p in problem["loc"])
        # A check of the whole input (a model validator) words its own sentence.
        parts.append(f"{where}: {_danish(problem)}" if where else _danish(problem))
    return "Ugyldigt input – " + "; ".join(parts)


def _danish(problem: dict) -> str:
    kind = problem["type"]
    ctx = problem.get("ctx", {})
    if kind == "string_too_short":
        return "må ikke være tom"
    if kind == "string_too_long":
        return f"højst {ctx.get('max_length')} tegn"
    if kind == "too_long":
        return f"højst {ctx.get('max_length')} elementer"
    if kind == "string_pattern_mismatch":
        return "må kun indeholde bogstaver, tal og . / - _"
    if kind == "extra_forbidden":
        return "ukendt felt"
    if kind == "missing":
        return "skal udfyldes"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "skal være et helt tal"
    if kind == "greater_than_equal":
        return f"skal være mindst {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"må højst være {ctx.get('le')}"
    if kind == "string_type":
        return "skal være tekst"
    if kind == "list_type":
        return "skal være en liste"
    if kind in ("bool_type", "bool_parsing"):
        return "skal være ja eller nej"
    if kind.startswith("date"):
        return "ugyldig dato (skriv dd-mm-åååå)"
    if kind == "value_error":
        return str(ctx.get("error", problem["msg"]))
    return problem["msg"]
