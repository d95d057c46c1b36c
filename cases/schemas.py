"""Validated input for the service layer (table models do not validate on construction)."""

import re
from datetime import date
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from cases.dates import parse_date
from cases.models import DEADLINE_KINDS
from workflow.errors import InvalidInput

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


def validated(model: type[BaseModel], data: dict) -> BaseModel:
    """Validate `data`, turning pydantic's errors into one Danish message."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidInput(describe(error)) from None


def describe(error: ValidationError) -> str:
    parts = []
    for problem in error.errors():
        where = ".".join(FIELD_LABELS.get(str(p), str(p)) for p in problem["loc"]) or "input"
        parts.append(f"{where}: {_danish(problem)}")
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
    if kind.startswith("date"):
        return "ugyldig dato (skriv dd-mm-åååå)"
    if kind == "value_error":
        return str(ctx.get("error", problem["msg"]))
    return problem["msg"]
