"""What cannot be undone is confirmed first (templates/web/confirm.html): a page that says what
will happen, with the form's fields to post again, now with `confirmed=ja`. Nothing is
written until then. Two ways to ask:

* before the action, when what it will do is known without it (withdraw a case, close a
  hearing with answers missing): the route returns `confirm_page(...)` unless `confirmed(form)`;
* after the action, inside its write transaction, when only running it tells (publish an
  agenda, cancel a meeting, send the minutes): a refusal (a missing reason, an empty agenda)
  is then said at once, as for any action; unconfirmed, `unless_confirmed` raises
  `Unconfirmed`, which rolls the transaction back (nothing written), and the route answers
  with `confirm_page(request, user, asked.confirmation)`.
"""

from dataclasses import dataclass

from fastapi import Request

from web.auth import CurrentUser
from web.rendering import page

BACK_TO_CASE = "Fortryd – gå tilbage til sagen"


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page says and posts again."""

    title: str
    subject: str
    consequences: list[str]
    action: str  # where the confirmed form goes
    button: str
    back: str
    back_label: str = BACK_TO_CASE
    fields: tuple[tuple[str, str | None], ...] = ()  # (name, value) posted again
    quoted: tuple[tuple[str, str | None], ...] = ()  # (label, text) shown as typed, if any


class Unconfirmed(Exception):
    def __init__(self, confirmation: Confirmation):
        self.confirmation = confirmation


def confirmed(form) -> bool:
    return form.get("confirmed") == "ja"


def unless_confirmed(form, confirmation: Confirmation) -> None:
    """Inside the write block, after the action: unconfirmed, undo it and ask."""
    if not confirmed(form):
        raise Unconfirmed(confirmation)


def confirm_page(request: Request, user: CurrentUser, confirmation: Confirmation):
    return page(request, "confirm.html", user=user, title=confirmation.title,
                subject=confirmation.subject, consequences=confirmation.consequences,
                action=confirmation.action, button=confirmation.button,
                back=confirmation.back, back_label=confirmation.back_label,
                fields=list(confirmation.fields),
                quoted=[(label, text) for label, text in confirmation.quoted if text])
