"""Demo users with known passwords, one per role, for `sagsgang run` and the demo data.

`ensure_demo_users(session)` is idempotent: it creates the users that are missing and
leaves existing ones alone. Never call it on a production database.
"""

from sqlmodel import Session, select

from cases.models import ROLES, Membership, User
from cases.settings import current_organisation
from web.passwords import hash_password

DEMO_USERS = (
    # username, password, name, role, centre, member of bodies
    ("sekretariat", "sekretariat-demo", "Sara Sekretær", "secretariat", None, ()),
    ("sagsbehandler", "sagsbehandler-demo", "Bo Sagsbehandler", "case_owner",
     "Center for Voksne og Sundhed", ()),
    ("leder", "leder-demo", "Lone Leder", "manager", "Center for Voksne og Sundhed", ()),
    ("medlem", "medlem-demo", "Mads Medlem", "member", None, ("SU",)),
    ("admin", "admin-demo", "Ada Administrator", "admin", None, ()),
)


def ensure_demo_users(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo users; return (username, password, role) for printing."""
    for username, password, name, role, centre, bodies in DEMO_USERS:
        if session.exec(select(User.id).where(User.username == username)).first():
            continue
        user = User(username=username, name=name, email=f"{username}@demo.sagsgang.invalid",
                    role=role, centre=centre, password_hash=hash_password(password))
        session.add(user)
        session.flush()
        for code in bodies:
            session.add(Membership(user_id=user.id, body_code=code))
    session.flush()
    return [(u[0], u[1], u[3]) for u in DEMO_USERS]


def demo_logins_text(base_url: str) -> str:
    lines = [f"Sagsgang kører på {base_url}", "Demo-brugere (brugernavn / adgangskode):"]
    lines += [f"  {u:<14} {p:<20} {_role_words(role, centre, bodies)}"
              for u, p, _, role, centre, bodies in DEMO_USERS]
    return "\n".join(lines)


def _role_words(role: str, centre: str | None, bodies: tuple[str, ...]) -> str:
    """"Medlem af Socialudvalget", "Leder, Center for Voksne og Sundhed": the role in Danish."""
    org = current_organisation()
    words = ROLES.get(role, role)
    if bodies:
        return f"{words} af " + ", ".join(org.body_name(code) for code in bodies)
    return f"{words}, {centre}" if centre else words
