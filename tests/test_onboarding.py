"""Onboarding: `sagsgang import-cases` reads an ESDH export (CSV or JSON) of the cases under
way and registers each through the case services, in its own transaction.

The big test generates 500 cases of a dozen kinds (draft, in hearing, at each stage, decided,
closed, withdrawn, sent back, with a former committee's treatment), 20 of them wrong in 20
ways, some only late in their history; all 20 are reported with their reason and leave no
rows, the 480 others have the state, queues and history their treatments lead to, and a second
run changes nothing.
"""

import csv
import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from servers import database_dump, row_counts
from sqlmodel import select

from cases import queries
from cases.db import make_engine, read_session, write_session
from cases.models import Case, CaseEvent, User
from cases.onboarding import CREATED, UNCHANGED, Row, csv_rows, import_case, json_rows
from cli.main import cli
from workflow.errors import InvalidInput

SU_CENTRE = "Center for Voksne og Sundhed"
START = date(2023, 1, 9)


def day(n: int) -> str:
    return (START + timedelta(days=n)).strftime("%d-%m-%Y")


def treatment(n, body, wording, text="", **more):
    return {"dato": day(n), "organ": body, "beslutning": wording, "tekst": text, **more}


# Each kind: (the case's fields besides number and title, the state it ends in, the bodies it
# waits for, its history as (body code or name, wording)).
KINDS = [
    ({"tilstand": "Under forberedelse", "beslutningskompetence": "KB", "fagudvalg": ["SU"]},
     "draft", [], []),
    ({"tilstand": "Til behandling i fagudvalg", "beslutningskompetence": "KB",
      "fagudvalg": ["SU", "BSU"]}, "committee", ["BSU", "SU"], []),
    ({"tilstand": "Til behandling i økonomiudvalget", "beslutningskompetence": "KB",
      "fagudvalg": ["SU"], "behandlinger": [treatment(10, "SU", "Anbefales", "Anbefales.")]},
     "finance", ["ØU"], [("SU", "anbefales")]),
    ({"tilstand": "Til beslutning i kommunalbestyrelsen", "beslutningskompetence": "KB",
      "fagudvalg": ["SU"], "behandlinger": [
          treatment(10, "Socialudvalget", "Anbefales", punkt=4),
          treatment(17, "ØU", "Indstilles til godkendelse", punkt=9)]},
     "council", ["KB"], [("SU", "anbefales"), ("ØU", "indstilles_til_godkendelse")]),
    ({"tilstand": "Afgjort", "beslutningskompetence": "KB", "fagudvalg": ["SU"],
      "behandlinger": [treatment(10, "SU", "Anbefales"),
                       treatment(17, "ØU", "Indstilles til godkendelse"),
                       treatment(24, "KB", "Godkendt", "Godkendt med 25 stemmer.")]},
     "decided", [], [("SU", "anbefales"), ("ØU", "indstilles_til_godkendelse"),
                     ("KB", "godkendt")]),
    ({"tilstand": "Afsluttet", "beslutningskompetence": "SU", "fagudvalg": [],
      "behandlinger": [treatment(10, "SU", "Godkendt")]}, "closed", [], [("SU", "godkendt")]),
    ({"tilstand": "I høring", "beslutningskompetence": "SU",
      "høringer": [{"titel": "Høring i rådene", "parter": ["HR", "Seniorrådet"],
                    "åbnet": day(3), "frist": day(40)}]}, "hearing", [], []),
    ({"tilstand": "Til behandling i fagudvalg", "beslutningskompetence": "KB",
      "fagudvalg": ["SU"],
      "høringer": [{"titel": "Høring", "parter": ["HR"], "åbnet": day(1), "frist": day(20),
                    "afsluttet": day(21)}],
      "behandlinger": [treatment(21, "SU", "Udsat", "Udsat til næste møde.")]},  # as it closes
     "committee", ["SU"], [("SU", "udsat")]),
    ({"tilstand": "Til behandling i fagudvalg", "beslutningskompetence": "SU",
      "behandlinger": [treatment(-400, "Teknik- og Miljøudvalget", "Behandlet",
                                 "Første behandling.", punkt=12)]},
     "committee", ["SU"], [("Teknik- og Miljøudvalget", "behandlet")]),
    ({"tilstand": "Trukket tilbage", "beslutningskompetence": "SU", "fagudvalg": ["SU"]},
     "withdrawn", [], []),
    ({"tilstand": "Til behandling i fagudvalg", "beslutningskompetence": "KB",
      "fagudvalg": ["SU"],
      "behandlinger": [treatment(10, "SU", "Anbefales"),
                       treatment(17, "ØU", "Sendes tilbage til fagudvalgene",
                                 "Sagen sendes tilbage.", til=["SU", "BSU"])]},
     "committee", ["BSU", "SU"], [("SU", "anbefales"), ("ØU", "sendes_tilbage")]),
    ({"tilstand": "I høring", "beslutningskompetence": "KB", "fagudvalg": ["SU"],
      "behandlinger": [treatment(10, "SU", "Godkendt og sendes i høring",
                                 "Godkendt; sendes i høring.")],
      "høringer": [{"titel": "Høring", "parter": ["Ældresagen <post@aeldresagen.invalid>"],
                    "åbnet": day(10), "frist": day(38)}]},
     "hearing", [], [("SU", "godkendt_til_hoering")]),
]

# Twenty ways to be wrong, each with (a change to a good case, the reason reported).
BAD = [
    (lambda c: c.update(center="Center for Eksempler"), "Ukendt center"),
    (lambda c: c.update(beslutningskompetence="Eksempeludvalget"),
     "«Eksempeludvalget» (beslutningskompetence) er ikke et kendt organ"),
    (lambda c: c.update(tilstand="Halvvejs"), "Ukendt tilstand «Halvvejs»"),
    (lambda c: c.update(tilstand="Til behandling i fagudvalg"),
     "Behandlingerne fører sagen til «Afgjort», men filen siger «Til behandling i fagudvalg»"),
    (lambda c: c.update(sagsnummer=""), "Sagsnummeret mangler"),
    (lambda c: c.update(sagsbehandler="ukendt-login"), "Sagsbehandleren «ukendt-login»"),
    (lambda c: c.update(titel=""), "titel: må ikke være tom"),
    (lambda c: c.update(oprettet="31-02-2023"), "Ugyldig dato"),
    (lambda c: c.update(tilstand="Sendt til orientering"), "kan ikke indlæses i tilstanden"),
    (lambda c: c.update(farve="blå"), "Ukendt felt «farve»"),
    (lambda c: c.update(fagudvalg=["SU", "Handicaprådet"]), "er ikke et fagudvalg"),
    (lambda c: c.update(lukket="måske"), "skal være ja eller nej"),
    # Late in the history: earlier treatments were written before the refusal.
    (lambda c: c.update(behandlinger=[treatment(10, "SU", "Anbefales"),
                                      treatment(17, "ØU", "Indstilles til godkendelse"),
                                      treatment(24, "BSU", "Godkendt")]),
     "Behandlingen 02-02-2023 i Børne- og Skoleudvalget: Sagen afventer beslutning i KB"),
    (lambda c: c.update(behandlinger=[treatment(10, "SU", "Anbefales"),
                                      treatment(17, "ØU", "Vedtaget")]),
     "Behandling 2: ukendt beslutning «Vedtaget»"),
    (lambda c: c.update(behandlinger=[treatment(10, "SU", "Anbefales"),
                                      {"dato": "i går", "organ": "ØU",
                                       "beslutning": "Anbefales"}]),
     "Behandling 2: dato: Ugyldig dato"),
    (lambda c: c.update(behandlinger=[treatment(10, "SU", "Anbefales", punkt="fire")]),
     "punktet skal være et nummer"),
    (lambda c: c.update(høringer=[{"titel": "Høring", "parter": ["HR"], "åbnet": day(5),
                                   "frist": day(2)}]),
     "Høringsfristen ligger før høringen åbner"),
    (lambda c: c.update(frister=[{"dato": day(90), "type": "Vigtig", "beskrivelse": "x"}]),
     "Frist 1: ukendt type «Vigtig»"),
    (lambda c: c.update(behandlinger=[treatment(10, "SU", "Anbefales"),
                                      treatment(17, "ØU", "Indstilles til godkendelse"),
                                      treatment(24, "KB", "Godkendt"),
                                      treatment(31, "KB", "Godkendt")]),
     "«Registrér behandling» er ikke mulig, når sagen er «Afgjort»"),
    (lambda c: c.update(behandlinger=[treatment(10, "SU", "Godkendt og sendes i høring")]),
     "ingen høring i filen åbner den dag"),
]


def generate(count: int = 500, bad_every: int = 25):
    """The export's cases; for each good one (by number) what it must become, for each bad
    one (by its place in the file, from 0) its number and the reason expected. A bad case is
    a decided one (the fifth kind) with one thing wrong."""
    cases, good, bad = [], {}, {}
    for n in range(count):
        is_bad = n % bad_every == 7
        fields, state, awaiting, history = KINDS[4 if is_bad else n % len(KINDS)]
        number = f"23/{n + 1:05d}"
        case = {"sagsnummer": number, "titel": f"Verserende sag nr. {n + 1} om borgerrådgivning",
                "sagsbehandler": "kbe" if n % 3 == 0 else f"medarbejder{n}@ballerup.invalid",
                "center": SU_CENTRE, **json.loads(json.dumps(fields))}
        if n % 4 == 0:
            case["frister"] = [{"dato": day(120), "type": "Lovbestemt frist",
                                "beskrivelse": "Senest behandlet i KB",
                                "hjemmel": "serviceloven § 6"}]
        if is_bad:
            change, reason = BAD[n // bad_every]
            change(case)
            bad[n] = (case["sagsnummer"], reason)
        else:
            good[number] = (state, awaiting, history)
        cases.append(case)
    return cases, good, bad


def as_csv(cases: list[dict]) -> str:
    """The same cases as a spreadsheet export: semicolons, lists in numbered columns."""
    flat = []
    for case in cases:
        row = {}
        for key, value in case.items():
            if key in ("behandlinger", "frister", "høringer"):
                prefix = {"behandlinger": "behandling", "frister": "frist",
                          "høringer": "høring"}[key]
                for n, entry in enumerate(value, start=1):
                    for name, cell in entry.items():
                        row[f"{prefix}{n}_{name}"] = ", ".join(cell) if isinstance(
                            cell, list) else cell
            else:
                row[key] = ", ".join(value) if isinstance(value, list) else value
        flat.append(row)
    columns = list(dict.fromkeys(name for row in flat for name in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, delimiter=";")
    writer.writeheader()
    writer.writerows(flat)
    return out.getvalue()


@pytest.fixture
def onboarding_db(any_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", any_db_url)
    engine = make_engine(any_db_url)
    with write_session(engine) as session:
        session.add(User(username="kbe", name="Karen Bech", email="kbe@ballerup.invalid",
                         role="case_owner"))
    yield any_db_url, engine
    engine.dispose()


@pytest.mark.parametrize("kind", ["json", "csv"])
def test_it_imports_500_cases_reports_the_20_bad_ones_and_changes_nothing_twice(
        onboarding_db, tmp_path, kind):
    url, engine = onboarding_db
    cases, good, bad = generate()
    assert (len(good), len(bad)) == (480, 20)
    path = tmp_path / f"eksport.{kind}"
    path.write_text(json.dumps({"sager": cases}, ensure_ascii=False) if kind == "json"
                    else as_csv(cases), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["import-cases", str(path)])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "480 sager oprettet, 0 uændret (findes allerede), 20 afvist." in result.stdout
    assert "Indlæser sager" in result.stderr  # the progress bar
    refusals = [line for line in result.stdout.splitlines() if " afvist: " in line]
    assert len(refusals) == 20
    for n, (number, reason) in bad.items():
        row = n + 1 if kind == "json" else n + 2  # a spreadsheet's header is its row 1
        (line,) = [r for r in refusals if r.startswith(f"Række {row} ")]
        assert reason in line, (line, reason)
        assert (f"(sag {number})" in line) == bool(number)

    with read_session(engine) as session:
        numbers = set(session.exec(select(Case.number)))
        assert numbers == set(good)  # the bad ones left no case behind
        for number, (state, awaiting, history) in good.items():
            case = queries.get_case(session, number)
            assert case.status == state, number
            assert sorted(queries.awaiting_bodies(session, case.id)) == awaiting, number
            assert [(t.body_code or t.body_name, t.wording)
                    for t in queries.decision_history(session, case.id)] == history, number
            events = queries.events(session, case.id)
            assert events and all(e.imported for e in events), number
        # Nothing of a refused case is left in any table: every row belongs to a good case.
        treatments = sum(len(h) for _, _, h in good.values())
        assert session.exec(select(sa.func.count()).select_from(
            sa.table("treatment"))).one() == treatments
        kbe = queries.get_case(session, "23/00001")
        assert (kbe.owner_name, kbe.owner_email) == ("Karen Bech", "kbe@ballerup.invalid")
        assert queries.get_case(session, "23/00002").owner_email == \
            "medarbejder1@ballerup.invalid"
        council = queries.get_case(session, "23/00004")
        (su, _) = queries.decision_history(session, council.id)
        assert (su.meeting_date, su.item_number) == (date(2023, 1, 19), 4)
        first = queries.events(session, council.id)
        assert [e.at.date() for e in first][:2] == [date(2023, 1, 19), date(2023, 1, 19)]

    before = row_counts(url)
    again = runner.invoke(cli, ["import-cases", str(path)])
    assert "0 sager oprettet, 480 uændret (findes allerede), 20 afvist." in again.stdout
    assert row_counts(url) == before


def test_a_refused_case_leaves_nothing_and_a_good_one_is_all_there(any_db_url, org):
    good = {"sagsnummer": "23/1", "titel": "Ny plan for botilbud", "center": SU_CENTRE,
            "tilstand": "Afgjort", "beslutningskompetence": "SU",
            "behandlinger": [treatment(10, "SU", "Godkendt")]}
    late_refusal = {**good, "sagsnummer": "23/2",
                    "behandlinger": [treatment(10, "SU", "Udsat"),
                                     treatment(17, "SU", "Godkendt"),
                                     treatment(24, "SU", "Godkendt")]}
    engine = make_engine(any_db_url)
    try:
        with write_session(engine) as session:
            assert import_case(session, org, Row(2, good), actor="import") == CREATED
        dump = database_dump(any_db_url)
        with pytest.raises(InvalidInput, match="Behandlingen 02-02-2023 i Socialudvalget"):
            with write_session(engine) as session:
                import_case(session, org, Row(3, late_refusal), actor="import")
        assert database_dump(any_db_url) == dump
        with write_session(engine) as session:
            assert import_case(session, org, Row(2, good), actor="import") == UNCHANGED
            events = session.exec(select(CaseEvent)).all()
        assert [(e.trigger, e.imported) for e in events] == [
            ("create", True), ("submit", True), ("treat", True)]
    finally:
        engine.dispose()


def test_the_file_is_read_as_csv_with_semicolons_or_commas_and_as_json():
    text = "sagsnummer,titel,fagudvalg,behandling1_dato,behandling1_organ,behandling2_dato\n" \
        '1,Sag,"SU, BSU",01-02-2023,SU,\n'
    (row,) = csv_rows(text)
    assert row.number == 2 and row.fields["fagudvalg"] == "SU, BSU"
    assert row.fields["behandlinger"] == [{"dato": "01-02-2023", "organ": "SU"}]
    assert csv_rows(text.replace(",", ";").replace('"SU; BSU"', '"SU, BSU"'))[0].fields == \
        row.fields
    with pytest.raises(InvalidInput, match="sagsnummer"):
        csv_rows("nummer;titel\n1;x\n")
    assert [r.number for r in json_rows('[{"sagsnummer": "1"}, {"sagsnummer": "2"}]')] == [1, 2]
    with pytest.raises(InvalidInput, match="ikke gyldig JSON"):
        json_rows("{sager")


def test_the_command_line_refuses_an_unreadable_file_in_danish(tmp_path, sqlite_url,
                                                               monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    missing = runner.invoke(cli, ["import-cases", str(tmp_path / "mangler.csv")])
    assert missing.exit_code == 1 and "kan ikke læses" in missing.output
    (tmp_path / "sager.xlsx").write_text("x")
    other = runner.invoke(cli, ["import-cases", str(tmp_path / "sager.xlsx")])
    assert other.exit_code == 1 and ".csv eller .json" in other.output
    assert "Traceback" not in missing.output + other.output


def test_rows_that_cannot_be_cases_are_refused_with_their_row(tmp_path, sqlite_url,
                                                              monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    case = {"sagsnummer": "23/1", "titel": "Ny plan for botilbud", "center": SU_CENTRE,
            "tilstand": "Til behandling i fagudvalg", "beslutningskompetence": "SU"}
    path = tmp_path / "sager.json"
    path.write_text(json.dumps([case, "ikke en sag", {**case, "titel": "En anden"}]))
    result = CliRunner().invoke(cli, ["import-cases", str(path)])
    assert result.exit_code == 1
    assert "1 sager oprettet, 0 uændret (findes allerede), 2 afvist." in result.stdout
    assert "Række 2 afvist: Sagen skal være et objekt med sagens felter." in result.stdout
    assert "Række 3 (sag 23/1) afvist: Sagsnummeret står også i række 1; kun den er læst." \
        in result.stdout
    (row,) = csv_rows("sagsnummer;titel\n23/2;Sag;til overs\n")
    assert row.problem == "Rækken har flere celler end der er kolonner."


def test_the_case_page_says_which_events_were_imported(tmp_path, sqlite_url, monkeypatch, org):
    from views.case import timeline

    engine = make_engine(sqlite_url)
    try:
        with write_session(engine) as session:
            import_case(session, org, Row(2, {
                "sagsnummer": "23/1", "titel": "Ny plan for botilbud", "center": SU_CENTRE,
                "tilstand": "Afgjort", "beslutningskompetence": "SU",
                "behandlinger": [treatment(10, "SU", "Godkendt")]}), actor="import")
        with read_session(engine) as session:
            rows = timeline(org, session, queries.get_case(session, "23/1"), [])
    finally:
        engine.dispose()
    assert [row["imported"] for row in rows] == [True, True, True]
