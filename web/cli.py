"""`sagsgang user ...`: people who log in to the web application, and the demo users."""

import click

from cases.cli import user_errors
from cases.db import write_session
from cases.errors import InvalidInput
from cases.models import ROLES, Membership, User
from cases.organisation import current_organisation
from cases.settings import site_url
from web.demo_users import demo_logins_text, ensure_demo_users
from web.passwords import hash_password


@click.group("user")
def user():
    """Brugere af webdelen (login, roller, udvalg)."""


@user.command("add")
@click.argument("username")
@click.option("--name", required=True, help="Fulde navn.")
@click.option("--email", required=True, help="E-mailadresse.")
@click.option("--role", required=True, type=click.Choice(list(ROLES)), help="Rolle.")
@click.option("--centre", default=None, help="Center (for sagsbehandlere og ledere).")
@click.option("--member-of", "bodies", multiple=True, help="Organ, brugeren er medlem af.")
@click.password_option(help="Adgangskode (spørges om, hvis den ikke gives).")
@user_errors
def add_user(username, name, email, role, centre, bodies, password):
    """Opret en bruger med adgangskode."""
    if len(password) < 10:
        raise InvalidInput("Adgangskoden skal have mindst 10 tegn.")
    org = current_organisation()
    if centre:
        org.check_centre(centre)
    for code in bodies:
        org.body(code)
    with write_session() as session:
        from sqlmodel import select
        if session.exec(select(User.id).where(User.username == username)).first():
            raise InvalidInput(f"Brugeren {username!r} findes allerede.")
        row = User(username=username, name=name, email=email, role=role, centre=centre,
                   password_hash=hash_password(password))
        session.add(row)
        session.flush()
        for code in bodies:
            session.add(Membership(user_id=row.id, body_code=code))
    click.echo(f"Bruger {username} ({ROLES[role]}) oprettet.")


@user.command("demo")
def demo_users():
    """Opret demo-brugerne (én pr. rolle, kendte adgangskoder) og vis deres login."""
    with write_session() as session:
        ensure_demo_users(session)
    click.echo(demo_logins_text(site_url()))


COMMANDS = [user]
