"""The `sagsgang` command line: through click's CliRunner, and once as a real subprocess."""

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from servers import database_dump, free_port

from cli.main import cli

CVS = "Center for Voksne og Sundhed"


@pytest.fixture
def run(sqlite_url, monkeypatch):
    """Run `sagsgang ARGS` against the test's own database; return click's result."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()

    def invoke(*args):
        return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)

    return invoke


def all_commands(group: click.Group, path=()):
    for name, command in sorted(group.commands.items()):
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from all_commands(command, (*path, name))


@pytest.mark.parametrize("path", [(), *all_commands(cli)], ids=lambda p: " ".join(p) or "-")
def test_it_has_help_on_every_command(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "Show this message and exit." in result.output


def create_danmarkskort(run):
    return run("case", "create", "--number", "DK-1", "--title", "Danmarkskort 2021",
               "--centre", CVS, "--decided-by", "KB", "--committee", "BSU", "--committee", "SU",
               "--committee", "SÆU", "--proposal", "Orienteringen tages til efterretning.",
               "--proposal", "Der udarbejdes ikke handleplaner.")


def test_it_creates_shows_and_lists_a_case(run):
    result = create_danmarkskort(run)
    assert result.exit_code == 0, result.output
    assert "Sag DK-1 oprettet: Danmarkskort 2021" in result.output
    result = run("case", "show", "DK-1")
    assert "Tilstand: Under forberedelse (version 1)" in result.output
    assert "Fagudvalg på ruten: BSU, SU, SÆU" in result.output
    assert "submit (Send til behandling)" in result.output
    assert "(ingen behandlinger endnu)" in result.output
    data = json.loads(run("case", "show", "DK-1", "--json").output)
    assert data["proposals"][1] == {"number": 2, "text": "Der udarbejdes ikke handleplaner."}
    assert data["actions"] == ["submit", "send_to_hearing", "withdraw", "replace",
                               "record_earlier"]
    listed = json.loads(run("case", "list", "--json").output)
    assert [(c["number"], c["status"]) for c in listed] == [("DK-1", "draft")]
    assert "DK-1" in run("case", "list").output


def test_it_creates_a_case_from_json(run, tmp_path):
    spec = tmp_path / "sag.json"
    spec.write_text(json.dumps({
        "number": "RA-1", "title": "Rammeaftale 2023-2024", "centre": CVS,
        "deciding_body": "KB", "committees": ["SU", "BSU"],
        "deadlines": [{"due_date": "30-11-2022", "kind": "external",
                       "description": "Behandlet i KB senest"}]}), encoding="utf-8")
    assert run("case", "create", "--json", f"@{spec}").exit_code == 0
    data = json.loads(run("case", "show", "RA-1", "--json").output)
    assert data["deadlines"] == [{"id": 1, "due_date": "30-11-2022", "kind": "external",
                                  "description": "Behandlet i KB senest", "legal_basis": "",
                                  "met_on": None, "overdue": True}]


def test_it_fires_actions_and_shows_the_history(run):
    create_danmarkskort(run)
    assert run("case", "submit", "DK-1").output == (
        "Sag DK-1: Send til behandling – Under forberedelse → Til behandling i fagudvalg\n")
    for body, day, item in (("BSU", "06-09-2022", 4), ("SU", "06-09-2022", None),
                            ("SÆU", "13-09-2022", 15)):
        args = ["case", "treat", "DK-1", "--body", body, "--date", day,
                "--decision", "taget_til_efterretning"]
        result = run(*args, *(["--item", item] if item else []))
        assert result.exit_code == 0, result.output
    assert json.loads(run("case", "show", "DK-1", "--json").output)["awaiting"] == ["ØU"]
    result = run("case", "send-back", "DK-1", "--body", "ØU", "--date", "20-09-2022",
                 "--to", "BSU", "--to", "SU", "--to", "SÆU",
                 "--reason", "KB skal tage stilling til handleplaner", "--version", 5)
    assert result.exit_code == 0, result.output
    assert "Til behandling i Økonomiudvalget → Til behandling i fagudvalg" in result.output
    run("case", "treat", "DK-1", "--body", "SU", "--date", "04-10-2022", "--item", 11,
        "--decision", "indstilles_til_godkendelse", "--text", "Indstilles til godkendelse")

    shown = run("case", "show", "DK-1").output
    assert "Afventer behandling i: BSU, SÆU" in shown
    assert "04-10-2022 Socialudvalget punkt 11: Indstilles til godkendelse" in shown
    history = json.loads(run("case", "history", "DK-1", "--json").output)
    assert [(h["body_code"], h["date"], h["item"], h["decision"]) for h in history] == [
        ("BSU", "06-09-2022", 4, "Taget til efterretning"),
        ("SU", "06-09-2022", None, "Taget til efterretning"),
        ("SÆU", "13-09-2022", 15, "Taget til efterretning"),
        ("ØU", "20-09-2022", None, "Sendes tilbage til fagudvalgene"),
        ("SU", "04-10-2022", 11, "Indstilles til godkendelse")]
    events = json.loads(run("case", "history", "DK-1", "--events", "--json").output)
    assert [e["seq"] for e in events] == list(range(1, 8))
    assert events[5]["reason"] == "KB skal tage stilling til handleplaner"
    assert "sendes_tilbage" not in run("case", "history", "DK-1").output
    assert "Sendes tilbage til fagudvalgene" in run("case", "history", "DK-1").output
    actions = run("case", "actions", "DK-1").output.splitlines()
    assert [line.split()[0] for line in actions] == [
        "send-to-hearing", "treat", "postpone", "withdraw", "replace", "record-earlier"]


def test_it_runs_a_hearing_from_the_command_line(run):
    run("case", "create", "--number", "RBT-1", "--title", "Risikobaseret tilsyn",
        "--centre", CVS, "--decided-by", "SU")
    result = run("case", "send-to-hearing", "RBT-1", "--title", "Tilsynsrapporten",
                 "--party", "HR", "--deadline", "05-09-2022", "--opened", "22-08-2022")
    assert "høringsfrist 05-09-2022" in result.output
    hearing_id = json.loads(run("case", "show", "RBT-1", "--json").output)["hearings"][0]["id"]
    assert run("case", "hearing-response", hearing_id, "--party", "HR", "--received",
               "05-09-2022", "--text", "Bekymring for medicinhåndteringen").exit_code == 0
    assert run("case", "close-hearing", hearing_id, "--date", "05-09-2022").exit_code == 0
    data = json.loads(run("case", "show", "RBT-1", "--json").output)
    assert (data["status"], data["awaiting"]) == ("committee", ["SU"])
    assert data["hearings"][0]["responses"] == [
        {"party": "Handicaprådet", "received_on": "05-09-2022",
         "text": "Bekymring for medicinhåndteringen"}]


BAD_COMMANDS = {
    "unknown case": (["case", "show", "NOPE"], "Fejl: Sagen 'NOPE' findes ikke."),
    "unknown case action": (["case", "submit", "NOPE"], "Fejl: Sagen 'NOPE' findes ikke."),
    "invalid transition": (["case", "close", "DK-1"],
                           "Fejl: «Afslut sagen» er ikke mulig, når sagen er «Under "
                           "forberedelse»."),
    "unknown body": (["case", "list", "--body", "XYZ"], "Fejl: Ukendt organ: 'XYZ'."),
    "unknown deciding body": (["case", "create", "--number", "N-1", "--title", "T",
                               "--centre", CVS, "--decided-by", "XYZ"], "Ukendt organ"),
    "empty title": (["case", "create", "--number", "N-1", "--title", " ", "--centre", CVS,
                     "--decided-by", "SU"], "titel: må ikke være tom"),
    "absurd title": (["case", "create", "--number", "N-1", "--title", "x" * 301,
                      "--centre", CVS, "--decided-by", "SU"], "titel: højst 300 tegn"),
    "impossible deadline": (["case", "add-deadline", "DK-1", "--date", "31-02-2022",
                             "--description", "Frist"], "ugyldig dato"),
    "malformed hearing date": (["case", "add-hearing", "DK-1", "--title", "H", "--party",
                                "HR", "--deadline", "1. november", "--opened",
                                "05-10-2022"], "Fejl: Ugyldig dato: '1. november'"),
    "stale version": (["case", "submit", "DK-1", "--version", 7], "ændret af en anden"),
    "malformed json": (["case", "create", "--json", "{number: 1"], "Fejl: Ugyldig JSON"),
    "json not an object": (["case", "create", "--json", "[1, 2]"], "JSON skal være et objekt"),
    "missing json file": (["case", "create", "--json", "@/nonexistent/sag.json"],
                          "Kan ikke læse filen"),
    "missing fields": (["case", "create", "--title", "Uden nummer"],
                       "sagsnummer: skal udfyldes"),
}


@pytest.mark.parametrize("name", BAD_COMMANDS)
def test_it_refuses_bad_input_in_danish_and_writes_nothing(run, sqlite_url, name):
    create_danmarkskort(run)
    args, message = BAD_COMMANDS[name]
    before = database_dump(sqlite_url)
    result = run(*args)
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert database_dump(sqlite_url) == before


@pytest.mark.slow
def test_it_works_as_a_real_command(tmp_path):
    """The installed console script, in its own process, on a fresh database."""
    sagsgang = Path(sys.executable).parent / "sagsgang"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def real(*args):
        return subprocess.run([str(sagsgang), *map(str, args)], env=env, capture_output=True,
                              text=True, timeout=60)

    assert real("init-db").stdout == "Databasen er klar.\n"
    assert real("case", "create", "--number", "UUC-1", "--title", "<script>x</script>",
                "--centre", CVS, "--decided-by", "KB", "--committee", "BSU",
                "--committee", "SU").returncode == 0
    assert real("case", "submit", "UUC-1").returncode == 0
    data = json.loads(real("case", "show", "UUC-1", "--json").stdout)
    assert (data["title"], data["awaiting"]) == ("<script>x</script>", ["BSU", "SU"])

    refused = real("case", "treat", "UUC-1", "--body", "ØU", "--date", "04-10-2022",
                   "--decision", "anbefales")
    assert refused.returncode == 1
    assert refused.stderr == ("Fejl: Sagen afventer ikke behandling i ØU. "
                              "Afventer: BSU, SU.\n")
    assert refused.stdout == ""
    assert json.loads(real("case", "show", "UUC-1", "--json").stdout)["version"] == 2


def run_sagsgang(*args, **env):
    """The installed console script in its own process, with these environment variables."""
    sagsgang = Path(sys.executable).parent / "sagsgang"
    return subprocess.run([str(sagsgang), *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.slow
@pytest.mark.parametrize("args", [("case", "list"), ("case", "show", "X"),
                                  ("reminders", "failed")])
def test_it_asks_for_init_db_instead_of_a_traceback_on_an_unmigrated_database(tmp_path, args):
    result = run_sagsgang(*args, DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 1
    assert result.stderr == "Fejl: Databasen er ikke klar – kør `sagsgang init-db`.\n"


@pytest.mark.slow
def test_it_says_the_database_cannot_be_reached_instead_of_asking_for_init_db(tmp_path):
    closed = f"postgresql+psycopg://sagsgang@127.0.0.1:{free_port()}/sagsgang"
    result = run_sagsgang("case", "list", DATABASE_URL=closed)
    assert result.returncode == 1
    assert result.stderr.startswith("Fejl: Databasen kan ikke nås (")
    assert result.stderr.endswith("Tjek DATABASE_URL.\n") and "Traceback" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("content, reason", [
    (None, "findes ikke"),
    ("[municipality\nname = 1", "er ikke gyldig TOML"),
    ('[[bodies]]\ncode = "KB"\nname = "Kommunalbestyrelsen"\nkind = "parliament"\n',
     "er ugyldig"),
])
def test_it_names_a_missing_or_broken_organisation_file_instead_of_a_traceback(
        tmp_path, content, reason):
    organisation = tmp_path / "organisation.toml"
    if content is not None:
        organisation.write_text(content, encoding="utf-8")
    result = run_sagsgang("bodies", DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}",
                          SAGSGANG_ORGANISATION=str(organisation))
    assert result.returncode == 1
    assert result.stderr.startswith(f"Fejl: Organisationsfilen {organisation} {reason}")
    assert "Traceback" not in result.stderr


def test_it_shows_a_case_closed_on_an_agenda_as_a_closed_item_like_the_case_page(run):
    """The command line reads the case page's read model: a case whose agenda item was
    closed is a lukket punkt there too, not only when registered confidential."""
    run("case", "create", "--number", "UU-9", "--title", "Udsatte borgere", "--centre", CVS,
        "--decided-by", "SU")
    run("case", "submit", "UU-9")
    created = run("meeting", "create", "--body", "SU", "--date", "06-12-2050",
                  "--time", "17:00")
    assert created.exit_code == 0, created.output
    assert json.loads(run("case", "show", "UU-9", "--json").output)["closed_item"] is False
    placed = run("meeting", "place", "SU:06-12-2050", "UU-9", "--closed")
    assert placed.exit_code == 0, placed.output
    assert json.loads(run("case", "show", "UU-9", "--json").output)["closed_item"] is True
