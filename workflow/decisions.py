"""The standard decision wordings (beslutninger) and the workflow action each one fires.

A treatment that moves the case on (*Godkendt*, *Anbefales*, ...) fires `treat`; one that
keeps it in the body's queue (*Udsat*, *Udgår*, *Drøftet*) fires `postpone`; *Sendes tilbage*
fires `send_back`; *Henvist til fagudvalg* fires `refer`; a committee approving a draft for
hearing fires `send_to_hearing`; *Ny sag forelægges* fires `replace` (the case is replaced by
a new, linked one).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    code: str
    label: str
    trigger: str


WORDINGS: tuple[Wording, ...] = (
    Wording("taget_til_efterretning", "Taget til efterretning", "treat"),
    Wording("godkendt", "Godkendt", "treat"),
    Wording("anbefales", "Anbefales", "treat"),
    Wording("indstilles_til_godkendelse", "Indstilles til godkendelse", "treat"),
    Wording("tiltraadt", "Tiltrådt", "treat"),
    Wording("ikke_godkendt", "Ikke godkendt", "treat"),
    Wording("droeftet", "Drøftet", "postpone"),
    Wording("udsat", "Udsat", "postpone"),
    Wording("udgaar", "Udgår", "postpone"),
    Wording("sendes_tilbage", "Sendes tilbage til fagudvalgene", "send_back"),
    # Referred by the council or the finance committee ("Sagen henvises til behandling i
    # Socialudvalget"): it comes back to the referrer; the finance committee's statement
    # stands unless the referral asks for a new one.
    Wording("henvist", "Henvist til fagudvalg", "refer"),
    Wording("godkendt_til_hoering", "Godkendt og sendes i høring", "send_to_hearing"),
    Wording("ny_sag", "Ny sag forelægges", "replace"),
    # A hearing party's answer given at its own meeting (a council's decision on the item):
    # recorded as its høringssvar and in the case's history, no workflow action
    # (cases.services.answer_hearing).
    Wording("hoeringssvar", "Høringssvar afgivet", "answer_hearing"),
    # An earlier treatment known only by body, date and item (a referat's "Tidligere
    # behandling" line): recorded with record_earlier, never chosen at a meeting.
    Wording("behandlet", "Behandlet", "record_earlier"),
)

BY_CODE = {w.code: w for w in WORDINGS}
BY_LABEL = {w.label.lower(): w for w in WORDINGS}


def wording(code_or_label: str) -> Wording | None:
    """The wording for a code (`anbefales`) or its Danish label (`Anbefales`), else None."""
    key = code_or_label.strip()
    return BY_CODE.get(key) or BY_LABEL.get(key.lower())


def wordings_for(trigger: str) -> list[Wording]:
    return [w for w in WORDINGS if w.trigger == trigger]
