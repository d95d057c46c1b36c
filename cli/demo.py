"""`sagsgang demo`: load the demo into a database."""

import click

from cases.db import migrate
from cli.common import user_errors
from demo.cases import load_demo


@click.command("demo")
@click.option("--database-url", default=None,
              help="Databasen, demoen indlæses i (standard: DATABASE_URL eller den lokale fil).")
def demo_command(database_url):
    """Indlæs demoen: Socialudvalgets møde 04-10-2022 med 13 punkter, sagerne og deres
    historik."""
    @user_errors
    def run():
        migrate(database_url)
        report = load_demo(database_url)
        if not report.loaded:
            click.echo(f"Demoen er allerede indlæst ({len(report.cases)} sager findes); "
                       "intet ændret.")
            return
        click.echo(f"Demoen er indlæst: {len(report.cases)} sager, "
                   f"{report.users} brugere, {report.meetings} møder.")

    run()
