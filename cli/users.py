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


@user.command("password")
@click.argument("username")
@click.password_option(help="Den nye adgangskode (spørges om, hvis den ikke gives).")
@user_errors
def set_password(username, password):
    """Giv en bruger en ny adgangskode. Brugeren logges ud alle steder, og brugerens
    API-nøgler tilbagekaldes."""
    with write_session() as session:
        changed = users.set_password(session, users.user_id_of(session, username), password)
    click.echo(f"Bruger {changed.username} har fået en ny adgangskode, er logget ud alle "
               "steder, og brugerens API-nøgler er tilbagekaldt.")


@user.command("deactivate")
@click.argument("username")
@user_errors
def deactivate(username):
    """Deaktivér en bruger: logges ud alle steder, kan ikke logge ind, API-nøgler
    tilbagekaldes."""
    with write_session() as session:
        changed = users.set_active(session, users.user_id_of(session, username), False)
    click.echo(f"Bruger {changed.username} er deaktiveret.")


@user.command("activate")
@click.argument("username")
@user_errors
def activate(username):
    """Aktivér en deaktiveret bruger igen (tidligere logins og API-nøgler virker ikke)."""
    with write_session() as session:
        changed = users.set_active(session, users.user_id_of(session, username), True)
    click.echo(f"Bruger {changed.username} er aktiveret igen og kan logge ind.")


@user.command("demo")
def demo_users():
    """Opret demo-brugerne (én pr. rolle, kendte adgangskoder) og vis deres login."""
    with write_session() as session:
        ensure_demo_users(session)
    click.echo(demo_logins_text(get_settings().site_url))
