"""Referater as municipalities publish them on the web (meetings.referat_web): the parser on
our own two consecutive Beskæftigelses- og Erhvervsudvalget meetings (tests/data/, invented;
the first an HTML page, the second its text), the import of both one after the other, and
the Danish reports with the line of what could not be read."""

from datetime import date, time
from pathlib import Path

import pytest
from click.testing import CliRunner
from servers import row_counts
from test_importer import ReferatStructure

from cases import queries as case_queries
from cases.db import read_session, write_session
from cases.models import Case
from cli.main import cli
from meetings import queries
from meetings.calendar import local_day
from meetings.documents import render_meeting
from meetings.importer import import_referat
from meetings.referat import Attendance
from meetings.referat_web import html_lines, read_referat
from workflow.errors import InvalidInput

DATA = Path(__file__).resolve().parent / "data"
FIRST = DATA / "beskaeftigelses-og-erhvervsudvalget-2022-11-07.html"
SECOND = DATA / "beskaeftigelses-og-erhvervsudvalget-2022-12-05.txt"


def read(path: Path):
    return read_referat(path.read_text(encoding="utf-8"))


def load(engine, path_or_referat, org, **kw):
    referat = read(path_or_referat) if isinstance(path_or_referat, Path) else path_or_referat
    with write_session(engine) as session:
        return import_referat(session, referat, org=org, **kw)


# -- the parser --------------------------------------------------------------------------------

def test_it_reads_the_head_of_the_page_body_date_time_place_and_attendance():
    referat = read(FIRST)
    assert referat.problems == []
    assert (referat.body_name, referat.day, referat.starts, referat.place) == (
        "Beskæftigelses- og Erhvervsudvalget", date(2022, 11, 7), time(17, 0),
        "Mødelokale 2, Rådhuset")
    assert referat.attendance == [
        Attendance("Anne Holm (A)", True), Attendance("Bent Lund (A)", True),
        Attendance("Cecilie Vang (V)", True), Attendance("Dorte Krog (F)", True),
        Attendance("Erik Mose (O)", False, "Afbud"),
        Attendance("Frida Nørgaard (Ø)", False, "Fraværende")]


def test_it_reads_open_and_closed_items_with_their_sections():
    items = read(FIRST).items
    assert [(i.number, i.title, i.closed) for i in items] == [
        (1, "Meddelelser", False), (2, "Strategi for virksomhedsservice 2023-2026", False),
        (3, "Tilskud til lokale erhvervsnetværk 2023", False),
        (4, "Opfølgning på jobcentrets indsats for unge", False),
        (5, "Køb af kursusforløb hos ekstern leverandør", True)]
    messages, strategy = items[0], items[1]
    assert messages.standing == "meddelelser"
    assert messages.description == ("1. Ledigheden i oktober var 2,4 pct., uændret fra "
                                    "september.\n2. Erhvervsnetværket holder nytårsmøde den "
                                    "12. januar.")
    assert messages.wording == "taget_til_efterretning"
    assert strategy.summary.startswith("Udvalget får forelagt et udkast")
    assert strategy.presentation.startswith("Strategien samler rekruttering")
    assert strategy.deciding_body == "Kommunalbestyrelsen"
    assert strategy.recommender == "Center for Arbejdsmarked"
    assert strategy.proposals == ["strategien anbefales godkendt",
                                  "strategien evalueres efter to år"]
    assert (strategy.wording, strategy.decision_text) == ("udsat", "Udsat.")
    assert strategy.attachments_note == "2 bilag"
    assert items[3].withdrawn and items[3].wording == "udgaar"  # "Sag 4 udgår."
    assert items[4].decision_text == "Godkendt."  # the page's footer is not the decision


def test_the_page_and_its_text_give_the_same_referat_with_the_html_files_lines():
    html = FIRST.read_text(encoding="utf-8")
    page = read_referat(html)
    text = read_referat("\n".join(line for _, line in html_lines(html)))
    assert [vars(i) | {"line": 0} for i in page.items] == \
        [vars(i) | {"line": 0} for i in text.items]
    assert (page.body_name, page.day, page.attendance) == \
        (text.body_name, text.day, text.attendance)
    assert [i.line for i in page.items] == [32, 43, 64, 79, 95]  # the <h3> of each
    assert html.splitlines()[42] == "<h3>2. Strategi for virksomhedsservice 2023-2026</h3>"


def test_a_tillaegsdagsorden_adds_items_and_renumbers_and_sag_n_udgaar_counts_as_sent_out():
    referat = read(SECOND)
    assert referat.problems == []
    items = referat.items
    assert [(i.number, i.supplementary, i.former_number, i.closed) for i in items] == [
        (1, False, None, False), (2, False, None, False), (3, True, None, False),
        (4, False, 3, False), (5, False, 4, False), (6, False, None, True)]
    assert items[3].title == "Opfølgning på jobcentrets indsats for unge"
    # "Sag 4 udgår" names the agenda as sent out: now item 5, not the new item 4.
    assert [i.number for i in items if i.withdrawn] == [5]
    assert items[3].wording == "taget_til_efterretning"
    (earlier,) = items[1].earlier
    assert (earlier.body, earlier.day, earlier.item, earlier.note) == (
        "Beskæftigelses- og Erhvervsudvalget", date(2022, 11, 7), 2, "Udsat")
    assert referat.attendance[-1] == Attendance("Bent Lund (A)", False, "Afbud")


def test_what_it_cannot_read_is_reported_in_danish_with_its_line():
    text = """Beskæftigelses- og Erhvervsudvalget
07.11.2022 kl. 17:00
Rådhuset

Deltagere
Anne Holm (A) Deltog
AFBUD/FRAVÆRENDE
Bent Lund (A) – Deltog

Sag 7 udgår.

1. Meddelelser
Noget tekst uden overskrift
Beslutning
Taget til efterretning.

3. Et punkt

Tidligere behandling
Udvalget i november
"""
    assert read_referat(text).problems == [
        "Linje 6: deltageren «Anne Holm (A) Deltog» kunne ikke læses (skriv «Navn – Deltog» "
        "eller «Navn – Afbud»).",
        "Linje 8: «Bent Lund (A) – Deltog» står under Afbud/fraværende.",
        "Linje 13: tekst før punktets første overskrift blev ikke læst: «Noget tekst uden "
        "overskrift»",
        "Linje 20: den tidligere behandling «Udvalget i november» kunne ikke læses (skriv "
        "«Organ 07.11.2022, punkt 3»).",
        "Linje 10: «Sag 7 udgår», men dagsordenen har intet punkt 7.",
        "Punkternes numre er ikke fortløbende: 1 (linje 12), 3 (linje 17)",
    ]
    assert read_referat("31.02.2022 kl. 17:00\n\n1. Meddelelser").problems[0] == \
        "Linje 1: mødets dato og tid «31.02.2022 kl. 17:00» findes ikke."


def test_an_unknown_body_is_refused_in_danish(db, org):
    referat = read_referat("Udvalget for Eksempler\n07.11.2022 kl. 17:00\n\n1. Meddelelser\n"
                           "Beslutning\nTaget til efterretning.")
    with pytest.raises(InvalidInput, match="«Udvalget for Eksempler» er ikke et kendt organ"):
        load(db, referat, org)
    report = load(db, referat, org, body_code="BEU", day=date(2022, 11, 7))
    assert report.items == 1


# -- importing two consecutive meetings --------------------------------------------------------

def test_two_consecutive_web_referater_link_the_case_to_its_earlier_treatment(db, org):
    first = load(db, FIRST, org)
    assert first.problems == [] and len(first.created_cases) == 4
    second = load(db, SECOND, org)
    assert second.problems == []
    with read_session(db) as session:
        meetings = [queries.get_meeting(session, r.meeting_id) for r in (first, second)]
        assert [(local_day(m.starts_at), m.place) for m in meetings] == [
            (date(2022, 11, 7), "Mødelokale 2, Rådhuset"),
            (date(2022, 12, 5), "Mødelokale 2, Rådhuset")]
        assert [[(a.name, a.note) for a in queries.absences(session, m.id)]
                for m in meetings] == [
            [("Erik Mose (O)", "Afbud"), ("Frida Nørgaard (Ø)", "Fraværende")],
            [("Bent Lund (A)", "Afbud")]]
        old_items = queries.items(session, first.meeting_id)
        new_items = queries.items(session, second.meeting_id)
        # The strategy and the follow-up were seen again: the same cases, no new ones.
        assert new_items[1].case_id == old_items[1].case_id
        assert new_items[3].case_id == old_items[3].case_id
        strategy = session.get(Case, old_items[1].case_id)
        follow_up = session.get(Case, old_items[3].case_id)
        assert second.matched_cases == [strategy.number, follow_up.number]
        history = [(t.body_code, t.meeting_date, t.item_number, t.wording, t.agenda_item_id)
                   for t in case_queries.decision_history(session, strategy.id)]
        assert history == [
            ("BEU", date(2022, 11, 7), 2, "udsat", old_items[1].id),
            ("BEU", date(2022, 12, 5), 2, "anbefales", new_items[1].id)]
        assert strategy.status == "finance"
        assert case_queries.awaiting_bodies(session, strategy.id) == ["ØU"]
        assert follow_up.status == "decided"  # udgik in November, noted in December
        evaluation = session.get(Case, new_items[4].case_id)
        assert (evaluation.status, new_items[4].wording) == ("committee", "udgaar")
        assert [(i.number, i.closed, i.supplementary) for i in new_items if
                i.closed or i.supplementary] == [(3, False, True), (6, True, False)]
        assert session.get(Case, new_items[5].case_id).confidential
        html = render_meeting(session, second.meeting_id, kind="referat", org=org)
    reader = ReferatStructure()
    reader.feed(html)
    # December's referat shows November's treatment as the item's history.
    shown = reader.items[1]["history"]
    assert [(e["date"], e["item"], e["text"].strip()) for e in shown] == [
        ("07-11-2022", "2", "Udsat.")]


def test_importing_the_web_referater_again_changes_nothing(db, org):
    load(db, FIRST, org)
    load(db, SECOND, org)
    before = row_counts(db)
    assert load(db, FIRST, org).already_imported
    assert load(db, SECOND, org).already_imported
    assert row_counts(db) == before


def test_the_command_line_reads_a_web_page(sqlite_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()
    result = runner.invoke(cli, ["import-referat", str(FIRST)])
    assert result.exit_code == 0, result.output
    assert "5 punkter, 4 nye sager" in result.output
    again = runner.invoke(cli, ["import-referat", str(FIRST)])
    assert "allerede indlæst" in again.output
