"""The admin pages for users ("Brugere"): list, create, edit, deactivate, reactivate and set
a new password. Only a role with `manage_users` reaches them. And every user's own "Skift
adgangskode".

Each post: check the role and the CSRF token, read the form, call one function of web.users
in one write transaction, flash a message, redirect. A refused value re-shows the form with
the Danish message (or flashes it on the user's page); nothing is written then.
"""

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from cases.clock import wall_now
from cases.models import ROLES
from web import logins, users
from web.auth import (
    CurrentUser,
    PostedForm,
    db,
    form_with_csrf,
    log_in,
    page_user,
    require,
    write,
)
from web.rendering import flash, page, redirect
from workflow.errors import InvalidInput, UserError

router = APIRouter(include_in_schema=False)
manage_users = require("manage_users")


def _values(form: PostedForm) -> dict:
    return {"name": form.get("name"), "email": form.get("email"), "role": form.get("role"),
            "centre": form.get("centre") or None, "bodies": form.getlist("bodies")}


# Where a refusal's message belongs: the first field whose words it uses.
FIELD_WORDS = (("username", ("brugernavn",)), ("email", ("e-mail", "adresse")),
               ("name", ("navn",)), ("role", ("rolle",)), ("centre", ("center",)),
               ("bodies", ("medlem", "organ")), ("password", ("adgangskode", "gætte")))


def error_field(message: str | None) -> str | None:
    text = (message or "").lower()
    return next((name for name, words in FIELD_WORDS if any(w in text for w in words)), None)


def _form(request: Request, user: CurrentUser, *, target: users.UserRow | None,
          values: dict, error: str | None = None, status_code: int = 200):
    return page(request, "user_form.html", user=user, target=target, values=values,
                error=error, error_field=error_field(error), roles=ROLES,
                min_password=users.MIN_PASSWORD, status_code=status_code)


@router.get("/brugere")
def user_list(request: Request, user: CurrentUser = Depends(manage_users),
              session: Session = Depends(db)):
    return page(request, "users.html", user=user, users=users.list_users(session))


@router.get("/brugere/ny")
def new_user_form(request: Request, user: CurrentUser = Depends(manage_users)):
    values = {"username": "", "name": "", "email": "", "role": "case_owner", "centre": None,
              "bodies": []}
    return _form(request, user, target=None, values=values)


@router.post("/brugere/ny")
def new_user(request: Request, user: CurrentUser = Depends(manage_users),
             form: PostedForm = Depends(form_with_csrf)):
    values = {"username": form.get("username"), **_values(form)}
    try:
        with write(request) as session:
            created = users.create_user(session, password=form.get("password", ""), **values)
    except UserError as error:
        return _form(request, user, target=None, values=values, error=error.message,
                     status_code=400)
    flash(request, f"Brugeren {created.username} ({ROLES[created.role]}) er oprettet.")
    return redirect("/brugere")


@router.get("/brugere/{user_id}")
def edit_user_form(request: Request, user_id: int, user: CurrentUser = Depends(manage_users),
                   session: Session = Depends(db)):
    target = users.get_user(session, user_id)
    values = {"name": target.name, "email": target.email, "role": target.role,
              "centre": target.centre, "bodies": list(target.bodies)}
    return _form(request, user, target=target, values=values)


@router.post("/brugere/{user_id}")
def edit_user(request: Request, user_id: int, user: CurrentUser = Depends(manage_users),
              session: Session = Depends(db),
              form: PostedForm = Depends(form_with_csrf)):
    target = users.get_user(session, user_id)
    values = _values(form)
    try:
        with write(request) as changes:
            users.update_user(changes, user_id, actor_id=user.id, **values)
    except UserError as error:
        return _form(request, user, target=target, values=values, error=error.message,
                     status_code=400)
    flash(request, f"Brugeren {target.username} er opdateret.")
    return redirect("/brugere")


@router.post("/brugere/{user_id}/deaktiver")
def deactivate_user(request: Request, user_id: int, user: CurrentUser = Depends(manage_users),
                    form: PostedForm = Depends(form_with_csrf)):
    return _set_active(request, user_id, user, active=False)


@router.post("/brugere/{user_id}/aktiver")
def reactivate_user(request: Request, user_id: int, user: CurrentUser = Depends(manage_users),
                    form: PostedForm = Depends(form_with_csrf)):
    return _set_active(request, user_id, user, active=True)


def _set_active(request: Request, user_id: int, user: CurrentUser, *, active: bool):
    try:
        with write(request) as session:
            target = users.set_active(session, user_id, active, actor_id=user.id)
    except InvalidInput as error:
        flash(request, error.message, "error")
        return redirect(f"/brugere/{user_id}")
    flash(request, f"Brugeren {target.username} er " + (
        "aktiveret igen og kan logge ind. Tidligere logins og API-nøgler virker ikke; "
        "brugeren laver nye API-nøgler selv." if active else
        "deaktiveret: er logget ud alle steder, kan ikke længere logge ind, og "
        "brugerens API-nøgler er tilbagekaldt."))
    return redirect("/brugere")


@router.post("/brugere/{user_id}/adgangskode")
def new_password(request: Request, user_id: int,
                 user: CurrentUser = Depends(manage_users),
                 form: PostedForm = Depends(form_with_csrf)):
    try:
        with write(request) as session:
            target = users.set_password(session, user_id, form.get("password", ""))
    except InvalidInput as error:
        flash(request, error.message, "error")
        return redirect(f"/brugere/{user_id}")
    if target.id == user.id:
        log_in(request, target)  # the admin's own: this session goes on, the others end
    flash(request, f"Brugeren {target.username} har fået en ny adgangskode, er logget ud alle "
                   "steder, og brugerens API-nøgler er tilbagekaldt.")
    return redirect(f"/brugere/{user_id}")


# -- one's own password ------------------------------------------------------------------------

def _password_form(request: Request, user: CurrentUser, error: str | None = None,
                   status_code: int = 200):
    return page(request, "password.html", user=user, error=error,
                min_password=users.MIN_PASSWORD, status_code=status_code)


@router.get("/adgangskode")
def own_password_form(request: Request, user: CurrentUser = Depends(page_user)):
    return _password_form(request, user)


@router.post("/adgangskode")
def own_password(request: Request, user: CurrentUser = Depends(page_user),
                 session: Session = Depends(db),
                 form: PostedForm = Depends(form_with_csrf)):
    """A wrong current password counts as a wrong login (web.logins): a stolen session must
    not become a way to guess the password past the login page's limits."""
    address, now = logins.client_address(request), wall_now()  # real seconds
    wait = logins.wait_seconds(session, user.username, address, now)
    if wait:
        return _password_form(request, user, logins.wait_message(wait), status_code=429)
    try:
        with write(request) as changes:
            changed = users.change_own_password(changes, user.id, current=form.get("current"),
                                                new=form.get("password"),
                                                repeated=form.get("repeated"))
    except users.WrongPassword as error:
        with write(request) as changes:
            logins.record_failure(changes, user.username, address, now)
        return _password_form(request, user, error.message, status_code=400)
    except UserError as error:
        return _password_form(request, user, error.message, status_code=400)
    log_in(request, changed)  # this session goes on, in the new epoch
    flash(request, "Din adgangskode er skiftet. Du er logget ud alle andre steder, og dine "
                   "API-nøgler er tilbagekaldt.")
    return redirect("/adgangskode")
