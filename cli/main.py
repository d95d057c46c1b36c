"""The `sagsgang` command: the root that assembles every command group.

Every command prints a Danish message and exits with a non-zero code on bad input;
nothing is written when a command fails. The groups live beside this file, one per part of
the product; this module is the only one that knows them all.
"""

import os
import sys
import tomllib
import traceback

import click
from sqlalchemy import exc as sa_exc

from cases import organisation
from cases.db import migrate
from cases.settings import SettingsError, get_settings, load_settings
from cli.cases import bodies, case
from cli.demo import demo_command
from cli.mail import mail, reminders, run
from cli.meetings import import_referat_command, meeting, plan
from cli.onboarding import import_cases_command
from cli.ops import backup, check, restore
from cli.search import search
from cli.serve import serve
from cli.users import user


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--today", default=None, metavar="DAG",
              help="Kør kommandoen, som om det var denne dag (2022-10-04 eller 04-10-2022) "
                   "eller dette tidspunkt (2022-10-04T10:00): til at registrere og genspille "
                   "en historik. Som SAGSGANG_TODAY.")
@click.pass_context
def cli(ctx: click.Context, today: str | None):
    """Sagsgang: politiske sagers gang gennem råd, udvalg, ØU og KB."""
    if today is not None:
        _set_clock_for_this_command(ctx, today)
    try:
        load_settings()  # checked at start: a bad setting stops the command before it acts
    except SettingsError as error:
        click.echo(f"Fejl: {error}", err=True)
        sys.exit(1)


def _set_clock_for_this_command(ctx: click.Context, today: str) -> None:
    """--today is SAGSGANG_TODAY for this command: checked as the setting is, and seen by the
    processes it starts (`run`). Put back when the command ends, for a caller that runs
    several commands in one process."""
    before = os.environ.get("SAGSGANG_TODAY")
    os.environ["SAGSGANG_TODAY"] = today

    def put_back():
        if before is None:
            os.environ.pop("SAGSGANG_TODAY", None)
        else:
            os.environ["SAGSGANG_TODAY"] = before
        get_settings.cache_clear()

    ctx.call_on_close(put_back)


@cli.command("init-db")
def init_db():
    """Opret eller opdatér databasens skema (Alembic-migreringer)."""
    migrate()
    click.echo("Databasen er klar.")


for _command in (case, bodies, meeting, plan, import_referat_command, import_cases_command, run,
                 reminders, mail, user, demo_command, check, serve, backup, restore, search):
    cli.add_command(_command)


def main():
    try:
        cli(prog_name="sagsgang")
    except (sa_exc.OperationalError, sa_exc.ProgrammingError) as error:
        click.echo(f"Fejl: {_database_trouble(error)}", err=True)
        sys.exit(1)
    except (OSError, ValueError) as error:
        if not _raised_reading_organisation(error):
            raise
        click.echo(f"Fejl: Organisationsfilen {get_settings().organisation_file} "
                   f"{_organisation_trouble(error)}", err=True)
        sys.exit(1)


def _database_trouble(error: sa_exc.DBAPIError) -> str:
    """What a user can do about a database error: a database never migrated fails on its
    first query (no such table); one that cannot be reached fails on connecting."""
    reason = str(error.orig or error).strip().splitlines()[0]
    missing_table = "no such table" in reason or (
        "relation" in reason and "does not exist" in reason)
    if missing_table:
        return "Databasen er ikke klar – kør `sagsgang init-db`."
    return f"Databasen kan ikke nås ({reason}). Tjek DATABASE_URL."


def _raised_reading_organisation(error: Exception) -> bool:
    """Whether the error came from reading or parsing the organisation file: other errors
    of the same classes are bugs and keep their traceback."""
    return any(frame.f_code.co_filename == organisation.__file__
               for frame, _ in traceback.walk_tb(error.__traceback__))


def _organisation_trouble(error: Exception) -> str:
    if isinstance(error, FileNotFoundError):
        return "findes ikke. Sæt SAGSGANG_ORGANISATION til en eksisterende fil."
    if isinstance(error, OSError):
        return f"kan ikke læses: {error.strerror}."
    if isinstance(error, tomllib.TOMLDecodeError):
        return f"er ikke gyldig TOML: {error}."
    return f"er ugyldig: {error}."
