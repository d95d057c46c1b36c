"""The admin pages for users ("Brugere"): list, create, edit, deactivate, reactivate and set
a new password. Only a role with `manage_users` reaches them.

Each post: check the role and the CSRF token, read the form, call one function of web.users
in one write transaction, flash a message, redirect. A refused value re-shows the form with
the Danish message (or flashes it on the user's page); nothing is written then.
"""

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from cases.models import ROLES
from web import users
from web.auth import CurrentUser, PostedForm, db, form_with_csrf, require, write
from web.rendering import flash, page, redirect
from workflow.errors import InvalidInput, UserError

router = APIRouter(include_in_schema=False)
manage_users = require("manage_users")


def _values(form: PostedForm) -> dict:
    return {"name": form.get("name"), "email": form.get("email"), "role": form.get("role"),
            "centre": form.get("centre") or None, "bodies": form.getlist("bodies")}


def _form(request: Request, user: CurrentUser, *, target: users.UserRow | None,
          values: dict, error: str | None = None, status_code: int = 200):
    return page(request, "user_form.html", user=user, target=target, values=values,
                error=error, roles=ROLES,
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
async def new_user(request: Request, user: CurrentUser = Depends(manage_users)):
    form = await form_with_csrf(request)
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
async def edit_user(request: Request, user_id: int, user: CurrentUser = Depends(manage_users),
                    session: Session = Depends(db)):
    form = await form_with_csrf(request)
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
async def deactivate_user(request: Request, user_id: int,
                          user: CurrentUser = Depends(manage_users)):
    return await _set_active(request, user_id, user, active=False)


@router.post("/brugere/{user_id}/aktiver")
async def reactivate_user(request: Request, user_id: int,
                          user: CurrentUser = Depends(manage_users)):
    return await _set_active(request, user_id, user, active=True)


async def _set_active(request: Request, user_id: int, user: CurrentUser, *, active: bool):
    await form_with_csrf(request)
    try:
        with write(request) as session:
            target = users.set_active(session, user_id, active, actor_id=user.id)
    except InvalidInput as error:
        flash(request, error.message, "error")
        return redirect(f"/brugere/{user_id}")
    flash(request, f"Brugeren {target.username} er " + (
        "aktiveret igen og kan logge ind." if active else
        "deaktiveret: kan ikke længere logge ind, og API-nøgler virker ikke."))
    return redirect("/brugere")


@router.post("/brugere/{user_id}/adgangskode")
async def new_password(request: Request, user_id: int,
                       user: CurrentUser = Depends(manage_users)):
    form = await form_with_csrf(request)
    try:
        with write(request) as session:
            target = users.set_password(session, user_id, form.get("password", ""))
    except InvalidInput as error:
        flash(request, error.message, "error")
        return redirect(f"/brugere/{user_id}")
    flash(request, f"Brugeren {target.username} har fået en ny adgangskode.")
    return redirect(f"/brugere/{user_id}")
