"""`sagsgang import-cases FILE`: the cases a municipality has under way when it starts,
from its ESDH export (cases.onboarding; the format in docs/onboarding.md)."""

import sys
from pathlib import Path

import click

from cases import queries
from cases.db import write_session
from cases.models import utcnow
from cases.onboarding import CREATED, UNCHANGED, import_case, read_rows
from cases.settings import current_organisation
from cli.common import ACTOR_HELP, user_errors
from notifications.changes import skip_news
from workflow.errors import UserError


@click.command("import-cases")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--actor", default="import", help=ACTOR_HELP)
@user_errors
def import_cases_command(path, actor):
    """Indlæs verserende sager fra det tidligere sagssystem (CSV eller JSON): sag, ejer,
    rute, tilstand, behandlinger, frister og høringer. Hver sag i sin egen transaktion; en
    afvist sag efterlader intet, og en sag, hvis sagsnummer findes, er uændret."""
    org = current_organisation()
    rows = read_rows(path)
    counts = {CREATED: 0, UNCHANGED: 0}
    refused = []
    first_row: dict[str, int] = {}  # case number: the row it is first in
    with click.progressbar(rows, label="Indlæser sager", file=sys.stderr) as progress:
        for row in progress:
            if row.case_number in first_row:
                refused.append((row, f"Sagsnummeret står også i række "
                                     f"{first_row[row.case_number]}; kun den er læst."))
                continue
            if row.case_number:
                first_row[row.case_number] = row.number
            try:
                with write_session() as session:  # one case: all of it, or none of it
                    outcome = import_case(session, org, row, actor=actor)
                    if outcome == CREATED:  # its reminders as of now, no news of its past
                        skip_news(session, queries.get_case(session, row.case_number),
                                  utcnow())
                counts[outcome] += 1
            except UserError as error:
                refused.append((row, error.message))
    click.echo(f"{counts[CREATED]} sager oprettet, {counts[UNCHANGED]} uændret (findes "
               f"allerede), {len(refused)} afvist.")
    for row, reason in refused:
        case = f" (sag {row.case_number})" if row.case_number else ""
        click.echo(f"Række {row.number}{case} afvist: {reason}")
    if refused:
        sys.exit(1)
