"""People who log in: create, edit, deactivate and reactivate them, and set their password.

The one place for these checks and writes: the admin pages, a person's own "Skift
adgangskode" (web.user_pages) and `sagsgang user ...` (cli.users) all call these functions
inside a write transaction. Every check runs before the first write, and a refusal raises a
UserError with a Danish message, so the caller's transaction rolls back and nothing is
written.

A new password, deactivation and reactivation end every earlier session of the user and
revoke their API keys (`end_sessions`): whoever held the old password, a copied cookie or a
key from before must not keep or regain access.
"""

import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.models import ROLES, Membership, User
from cases.schemas import MAX_EMAIL, NOT_AN_EMAIL, is_email, text_problem
from cases.settings import current_organisation
from web.passwords import hash_password, too_easy, verify_password
from web.tokens import revoke_api_tokens
from workflow.access import ADMIN, CASE_OWNER, MANAGER
from workflow.errors import InvalidInput, NotFound

MIN_PASSWORD = 10
PASSWORD_TOO_EASY = ("Adgangskoden er for let at gætte: den ligner en almindelig adgangskode "
                     "eller bygger på et ord, et navn, en dato eller et mønster. Vælg en "
                     "længere, fx nogle ord, der ikke hører sammen.")
MAX_PASSWORD = 1000  # argon2 takes any length; this only stops absurd input
MAX_USERNAME = 100  # the column widths in cases.models.User
MAX_NAME = 200
# The roles whose centre means something (case owners' cases, managers' weekly digest).
CENTRE_ROLES = (CASE_OWNER, MANAGER)

_USERNAME = re.compile(r"[\w.@-]+")


class WrongPassword(InvalidInput):
    """The current password given was wrong (the caller counts it as a wrong login)."""


@dataclass(frozen=True)
class UserRow:
    """A user as the list shows them."""

    id: int
    username: str
    name: str
    email: str
    role: str
    centre: str | None
    bodies: tuple[str, ...]
    active: bool

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


def list_users(session: Session) -> list[UserRow]:
    """Every user, active ones first, by name, with the bodies they are members of."""
    bodies: dict[int, list[str]] = {}
    for user_id, code in session.exec(select(Membership.user_id, Membership.body_code)
                                      .order_by(Membership.body_code)):
        bodies.setdefault(user_id, []).append(code)
    users = session.exec(select(User).order_by(User.active.desc(), User.name, User.username))
    return [_row(u, bodies.get(u.id, [])) for u in users]


def get_user(session: Session, user_id: int) -> UserRow:
    user = _user(session, user_id)
    codes = session.exec(select(Membership.body_code).where(Membership.user_id == user_id)
                         .order_by(Membership.body_code))
    return _row(user, list(codes))


def create_user(session: Session, *, username: str, name: str, email: str, role: str,
                password: str, centre: str | None = None,
                bodies: list[str] | tuple[str, ...] = ()) -> User:
    """A new, active user with a password; refused (nothing written) on any bad value."""
    username = _username(username)
    fields = _fields(name=name, email=email, role=role, centre=centre, bodies=bodies)
    _check_password(password, hints=(username, fields["name"], fields["email"]))
    taken = session.exec(select(User.id).where(
        sa.func.lower(User.username) == username.lower())).first()
    if taken is not None:
        raise InvalidInput(f"Brugernavnet «{username}» er allerede i brug.")
    user = User(username=username, name=fields["name"], email=fields["email"],
                role=fields["role"], centre=fields["centre"],
                password_hash=hash_password(password))
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except sa.exc.IntegrityError:  # created at the same moment by someone else
        raise InvalidInput(f"Brugernavnet «{username}» er allerede i brug.") from None
    for code in fields["bodies"]:
        session.add(Membership(user_id=user.id, body_code=code))
    session.flush()
    return user


def update_user(session: Session, user_id: int, *, name: str, email: str, role: str,
                centre: str | None = None, bodies: list[str] | tuple[str, ...] = (),
                actor_id: int | None = None) -> User:
    """Change name, email, role, centre and memberships (the username stays)."""
    user = _user(session, user_id)
    fields = _fields(name=name, email=email, role=role, centre=centre, bodies=bodies)
    if user.id == actor_id and user.role == ADMIN and fields["role"] != ADMIN:
        raise InvalidInput("Du kan ikke fjerne din egen administratorrolle. Bed en anden "
                           "administrator om at gøre det.")
    user.name, user.email = fields["name"], fields["email"]
    user.role, user.centre = fields["role"], fields["centre"]
    session.add(user)
    wanted = set(fields["bodies"])
    current = session.exec(select(Membership).where(Membership.user_id == user.id)).all()
    for membership in current:
        if membership.body_code not in wanted:
            session.delete(membership)
    for code in fields["bodies"]:
        if code not in {m.body_code for m in current}:
            session.add(Membership(user_id=user.id, body_code=code))
    session.flush()
    return user


def set_active(session: Session, user_id: int, active: bool, *,
               actor_id: int | None = None) -> User:
    """Deactivate (no login; sessions and API keys end) or reactivate (able to log in again,
    with nothing from before: earlier sessions and keys stay ended)."""
    user = _user(session, user_id)
    if not active and user.id == actor_id:
        raise InvalidInput("Du kan ikke deaktivere dig selv. Bed en anden administrator om "
                           "at gøre det.")
    user.active = active
    session.add(user)
    session.flush()
    end_sessions(session, user)
    return user


def set_password(session: Session, user_id: int, password: str) -> User:
    """A new password (by an administrator, the command line or the user): every earlier
    session and API key of the user ends."""
    user = _user(session, user_id)
    _check_password(password, hints=(user.username, user.name, user.email))
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    end_sessions(session, user)
    return user


def change_own_password(session: Session, user_id: int, *, current: str, new: str,
                        repeated: str) -> User:
    """The user's own change: the current password first, the new one typed twice."""
    user = _user(session, user_id)
    if not verify_password(user.password_hash, current):
        raise WrongPassword("Den nuværende adgangskode er forkert.")
    if new != repeated:
        raise InvalidInput("De to nye adgangskoder er ikke ens. Skriv den samme to gange.")
    if new == current:
        raise InvalidInput("Den nye adgangskode skal være en anden end den nuværende.")
    return set_password(session, user_id, new)


def end_sessions(session: Session, user: User, *, api_keys: bool = True) -> None:
    """End every session of the user: their cookies carry the old epoch, which web.auth
    refuses from now on. Also revoke their API keys, except on logging out (a person leaving
    the browser must not stop the systems that use their keys)."""
    # Counted up in SQL, so two processes ending sessions at once both count.
    session.execute(sa.update(User).where(User.id == user.id)
                    .values(session_epoch=User.session_epoch + 1))
    if api_keys:
        revoke_api_tokens(session, user.id)
    session.refresh(user)  # the new epoch, for a caller that logs the user in again


def user_id_of(session: Session, username: str) -> int:
    """The id of the user with this username (any case), for the command line."""
    found = session.exec(select(User.id).where(
        sa.func.lower(User.username) == (username or "").strip().lower())).first()
    if found is None:
        raise NotFound(f"Der er ingen bruger med brugernavnet «{username}».")
    return found


# -- checks ------------------------------------------------------------------------------------

def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("Brugeren findes ikke.")
    return user


def _row(user: User, bodies: list[str]) -> UserRow:
    return UserRow(id=user.id, username=user.username, name=user.name, email=user.email,
                   role=user.role, centre=user.centre, bodies=tuple(bodies),
                   active=user.active)


def _username(raw: str) -> str:
    username = (raw or "").strip()
    if not username:
        raise InvalidInput("Skriv et brugernavn.")
    if len(username) > MAX_USERNAME:
        raise InvalidInput(f"Brugernavnet må højst have {MAX_USERNAME} tegn.")
    if not _USERNAME.fullmatch(username):
        raise InvalidInput("Brugernavnet må kun indeholde bogstaver, tal og tegnene . _ - @ "
                           "(ingen mellemrum).")
    return username


def _text(raw: str | None, label: str, limit: int) -> str:
    value = (raw or "").strip()
    if not value:
        raise InvalidInput(f"Skriv {label}.")
    if len(value) > limit:
        raise InvalidInput(f"{label[0].upper()}{label[1:]} må højst have {limit} tegn.")
    problem = text_problem(value, lines=False)
    if problem:
        raise InvalidInput(f"{label[0].upper()}{label[1:]} {problem}.")
    return value


def _fields(*, name: str, email: str, role: str, centre: str | None,
            bodies: list[str] | tuple[str, ...]) -> dict:
    """The checked, tidied values shared by create and edit."""
    name = _text(name, "brugerens navn", MAX_NAME)
    email = _text(email, "en e-mailadresse", MAX_EMAIL)
    if not is_email(email):
        raise InvalidInput(f"«{email}» {NOT_AN_EMAIL}.")
    if role not in ROLES:
        raise InvalidInput(f"Ukendt rolle: {role!r}. Vælg en af: {', '.join(ROLES.values())}.")
    org = current_organisation()
    centre = (centre or "").strip() or None
    if centre is not None:
        org.check_centre(centre)
    if role not in CENTRE_ROLES:
        centre = None  # only case owners and managers belong to a centre
    codes: list[str] = []
    for raw in bodies:
        code = raw.strip()
        if code and code not in codes:
            codes.append(org.body(code).code)
    return {"name": name, "email": email, "role": role, "centre": centre, "bodies": codes}


def _check_password(password: str | None, *, hints: tuple[str, ...]) -> None:
    """Long enough, and not quickly guessed (`hints`: the user's own names and address)."""
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"Adgangskoden skal have mindst {MIN_PASSWORD} tegn.")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"Adgangskoden må højst have {MAX_PASSWORD} tegn.")
    if too_easy(password, (*hints, current_organisation().name)):
        raise InvalidInput(PASSWORD_TOO_EASY)
