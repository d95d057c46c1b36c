"""`sagsgang user ...`: people who log in to the web application, and the demo users."""

import click

from cases.db import write_session
from cases.models import ROLES
from cases.settings import get_settings
from cli.common import user_errors
from demo.users import demo_logins_text, ensure_demo_users
from web import users


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
    with write_session() as session:
        created = users.create_user(session, username=username, name=name, email=email,
                                    role=role, centre=centre, bodies=bodies, password=password)
    click.echo(f"Bruger {created.username} ({ROLES[created.role]}) oprettet.")


@user.command("demo")
def demo_users():
    """Opret demo-brugerne (én pr. rolle, kendte adgangskoder) og vis deres login."""
    with write_session() as session:
        ensure_demo_users(session)
    click.echo(demo_logins_text(get_settings().site_url))
