"""`sagsgang search WORDS` and `sagsgang search reindex`.

Registered by cli.main. The command line reads as the secretariat (it has the database
anyway); `--offentlig` shows what the public search shows.
"""

import json

import click

from cases.dates import format_date
from cases.db import read_session, write_session
from cases.settings import current_organisation
from cli.common import user_errors
from meetings import search as index
from meetings.searchtext import plain
from workflow import access


class _SearchGroup(click.Group):
    """`sagsgang search udsatte` searches; `sagsgang search reindex` is the subcommand (to
    search for the word "reindex" itself: `sagsgang search find reindex`)."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["find", *args]
        return super().parse_args(ctx, args)


@click.group("search", cls=_SearchGroup)
def search():
    """Søg i sager, dagsordenspunkter, beslutninger, bilag og høringssvar (på dansk:
    "udsatte" finder også "udsat")."""


@search.command("find")
@click.argument("words", nargs=-1, required=True)
@click.option("--organ", default=None, help="Kun dette organ (fx SU).")
@click.option("--aar", default=None, help="Kun dette år (fx 2022).")
@click.option("--tilstand", "state", default=None, help="Kun sager i denne tilstand (fx draft).")
@click.option("--offentlig", is_flag=True, help="Søg som offentligheden (kun offentliggjort, "
                                                "ingen lukkede punkter).")
@click.option("--antal", "limit", default=20, show_default=True,
              type=click.IntRange(1, 200), help="Højst så mange resultater.")
@click.option("--json", "as_json", is_flag=True, help="Resultaterne som JSON.")
@user_errors
def find(words, organ, aar, state, offentlig, limit, as_json):
    """Søg (ordene skal alle findes; "en frase", -udelad, ORD OR ORD)."""
    org = current_organisation()
    chosen = index.filters(org, body=organ, year=aar, state=state)
    viewer = access.PUBLIC if offentlig else access.Viewer(role=access.SECRETARIAT)
    with read_session() as session:
        results = index.search(org, session, " ".join(words), viewer, chosen, limit=limit)
    if as_json:
        click.echo(json.dumps({"hits": [hit.as_dict() for hit in results.hits],
                               "more": results.more}, ensure_ascii=False, indent=2))
        return
    if not results.hits:
        click.echo("Ingen resultater.")
        return
    for hit in results.hits:
        where = " · ".join(part for part in (
            hit.kind_label, hit.case_number or "", " ".join(hit.bodies),
            format_date(hit.on) if hit.on else "",
            f"punkt {hit.item_number}" if hit.item_number else "") if part)
        click.echo(f"{plain(hit.title, '«', '»')}\n  {where}")
        if str(hit.snippet):
            click.echo("  " + " ".join(plain(hit.snippet, '«', '»').split()))
    if results.more:
        click.echo("Der er flere resultater: gør søgningen mere præcis, eller brug --antal.")


@search.command("reindex")
@user_errors
def reindex():
    """Byg søgeindekset forfra (ellers holdes det ajour af det faste gennemløb)."""
    with write_session() as session:
        count = index.reindex_all(current_organisation(), session)
    click.echo(f"Søgeindekset er bygget: {count} tekster.")
