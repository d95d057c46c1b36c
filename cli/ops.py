"""`sagsgang check` (is everything ready, before a deploy), `sagsgang backup FILE` and
`sagsgang restore FILE`."""

import sys

import click

from cases.db import engine_for
from cases.settings import current_organisation, get_settings
from notifications.health import Check, readiness

LABELS = {"konfiguration": "Konfiguration", "database": "Database", "skema": "Skema",
          "kø": "Kø", "smtp": "Mailserver"}


def check_configuration() -> tuple[Check, list[str]]:
    """The settings were checked when the command started (cli.main); here what they point
    at: the organisation file. Also what is allowed but unwise in production (notes)."""
    settings = get_settings()
    try:
        current_organisation()
    except (OSError, ValueError) as error:
        return Check("konfiguration", f"Organisationsfilen {settings.organisation_file} kan "
                     f"ikke bruges: {error}"), []
    notes = []
    if settings.database_url.startswith("sqlite"):
        notes.append("DATABASE_URL er SQLite: fint på én maskine; PostgreSQL til flere.")
    if settings.broker_url.startswith("sqla+"):
        notes.append("SAGSGANG_BROKER_URL er ikke sat: den indlejrede kø er til udvikling; "
                     "brug Redis i drift.")
    if not settings.secret_key:
        notes.append("SAGSGANG_SECRET_KEY er ikke sat: nøglen i var-mappen bruges, så alle "
                     "maskiner skal dele den mappe.")
    return Check("konfiguration", None), notes


@click.command("check")
def check():
    """Tjek konfiguration, database, skema, kø og mailserver før en udrulning."""
    configuration, notes = check_configuration()
    checks = [configuration]
    if configuration.ok:
        checks += readiness(engine_for(get_settings().database_url))
    for item in checks:
        if item.ok:
            click.echo(f"{LABELS[item.name]}: ok")
        else:
            detail = f" ({item.detail})" if item.detail else ""
            click.echo(f"{LABELS[item.name]}: FEJL – {item.problem}{detail}")
    for note in notes:
        click.echo(f"Bemærk: {note}")
    failed = [item for item in checks if not item.ok]
    if failed:
        click.echo(f"Ikke klar: {len(failed)} fejl.", err=True)
        sys.exit(1)
    click.echo("Alt er klar.")
