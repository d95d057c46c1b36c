"""Følg uden konto: the public page where a citizen signs up by email for a body's agendas
and minutes or a search phrase, and the page of the confirmation link (notifications.citizens
does the rest; /afmeld/{token} in web.public stops it).

No login. The confirmation link's GET only shows a button and its POST confirms: mail
scanners and link previews fetch links, and must not confirm an address for its owner.

Sign-ups are throttled per address typed and per client address, counted in the database
(web_follow_signup, as web.logins counts wrong passwords), so every web process counts the
same ones: a page that sends mail to any address typed must not become a way to flood one.
"""

import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from sqlmodel import Session, select

from cases.models import utcnow
from cases.settings import current_organisation
from notifications import citizens
from notifications.email import read_follow_token
from notifications.models import FollowSignup, Subscription
from web.auth import PostedForm, db, form_with_csrf, write
from web.follow import unsubscribe_path
from web.logins import client_address, duration_text
from web.rendering import flash, page, redirect
from workflow.errors import UserError

router = APIRouter(include_in_schema=False)

PER_EMAIL = 5  # sign-ups for one address within the window (a body or two, a few phrases)
PER_CLIENT = 20  # from one client address (a library or an office shares one)
WINDOW = timedelta(hours=1)
FORM = "foelg"


@router.get("/offentlig/foelg")
def follow_form(request: Request, organ: str = ""):
    known = {code for code, _ in _bodies()}
    values = {"email": "", "organ": organ if organ in known else "", "phrase": ""}
    return _form(request, values)


@router.post("/offentlig/foelg")
def sign_up(request: Request, session: Session = Depends(db),
            form: PostedForm = Depends(form_with_csrf)):
    values = {"email": form.get("email"), "organ": form.get("organ"),
              "phrase": form.get("phrase")}
    email, client, now = values["email"].lower()[:254], client_address(request), utcnow()
    wait = wait_seconds(session, email, client, now)
    if wait:
        refused = _form(request, values, status_code=429, message=(
            "Der er tilmeldt for mange gange på kort tid fra denne adresse eller til denne "
            f"e-mailadresse. Prøv igen om {duration_text(wait)}."))
        refused.headers["Retry-After"] = str(wait)
        return refused
    try:
        with write(request) as changes:
            row = citizens.sign_up(changes, email=values["email"], body_code=values["organ"],
                                   phrase=values["phrase"], now=now)
            record_signup(changes, email, client, now)
            what = citizens.described(row)
    except UserError as error:
        return _form(request, values, status_code=400, message=error.message)
    flash(request, f"Tak. Vi sender en e-mail til {row.email} med et link, du skal bruge for "
                   f"at bekræfte. Først når du har bekræftet, får du e-mails om {what}. "
                   "Har du allerede tilmeldt dig det samme, sender vi ikke en e-mail igen.")
    return redirect("/offentlig/foelg" + (f"?organ={row.body_code}" if row.body_code else ""))


@router.get("/offentlig/foelg/bekraeft/{token}")
def confirm_form(request: Request, token: str, session: Session = Depends(db)):
    found = _signed_up(session, token)
    if found is None:
        return _invalid_link(request)
    return _confirm_page(request, token, found, done=found.confirmed_at is not None)


@router.post("/offentlig/foelg/bekraeft/{token}")
def confirm(request: Request, token: str):
    try:
        with write(request) as session:
            found = _signed_up(session, token)
            if found is None:
                return _invalid_link(request)
            citizens.confirm(session, found, utcnow())
    except UserError as error:
        return _confirm_page(request, token, found, done=False, error=error.message,
                             status_code=400)
    return _confirm_page(request, token, found, done=True)


# -- the throttle ------------------------------------------------------------------------------

def wait_seconds(session: Session, email: str, client: str, now: datetime) -> int:
    """Seconds until this address may be signed up again from this client; 0: now."""
    return max(_wait(session, FollowSignup.email == email, PER_EMAIL, now),
               _wait(session, FollowSignup.address == client, PER_CLIENT, now))


def _wait(session: Session, which, allowed: int, now: datetime) -> int:
    """Seconds until the window has room again: until enough of the sign-ups that fill it
    have left it."""
    times = list(session.exec(select(FollowSignup.at).where(which, FollowSignup.at > now - WINDOW)
                              .order_by(FollowSignup.at)))
    if len(times) < allowed:
        return 0
    frees_at = times[len(times) - allowed] + WINDOW
    return max(1, math.ceil((frees_at - now).total_seconds()))


def record_signup(session: Session, email: str, client: str, now: datetime) -> None:
    """Count a sign-up; forget those that have left the window."""
    session.execute(sa.delete(FollowSignup).where(FollowSignup.at <= now - WINDOW))
    session.add(FollowSignup(email=email, address=client, at=now))
    session.flush()


# -- pages -------------------------------------------------------------------------------------

# Where a refusal's message belongs: the first field whose words it uses.
FIELD_WORDS = (("email", ("e-mail",)), ("phrase", ("søgeord",)), ("organ", ("organ", "udvalg")))


def _bodies() -> list[tuple[str, str]]:
    return [(b.code, b.name) for b in current_organisation().bodies
            if b.kind != "hearing_council"]


def _form(request: Request, values: dict, *, status_code: int = 200, message: str = ""):
    text = message.lower()
    field = next((name for name, words in FIELD_WORDS if any(w in text for w in words)), None)
    refusal = {"form": FORM, "field": None if status_code == 429 else field,
               "message": message} if message else None
    return page(request, "public_follow.html", user=None, values=values, bodies=_bodies(),
                refusal=refusal, max_phrase=citizens.MAX_PHRASE, status_code=status_code)


def _signed_up(session: Session, token: str) -> Subscription | None:
    subscription_id = read_follow_token(token, "c")
    found = session.get(Subscription, subscription_id) if subscription_id else None
    return found if found is not None and found.public else None


def _confirm_page(request: Request, token: str, subscription: Subscription, *, done: bool,
                  error: str = "", status_code: int = 200):
    return page(request, "public_follow_confirm.html", user=None,
                action=f"/offentlig/foelg/bekraeft/{token}", email=subscription.email,
                what=citizens.described(subscription), done=done, error=error,
                ended=subscription.ended_at is not None,
                unsubscribe=unsubscribe_path(subscription.id), status_code=status_code)


def _invalid_link(request: Request):
    return page(request, "error.html", user=None, status_code=404, title="Ugyldigt link",
                message="Linket til at bekræfte er ugyldigt eller beskadiget. Kopiér hele "
                        "linket fra e-mailen, eller tilmeld dig igen.")
