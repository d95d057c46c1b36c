"""The agenda and minutes as HTML: structure, closed items in the public version, escaping."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from cases import actions as case_actions
from cases import services as case_services
from cases.db import make_engine, read_session, write_session
from cli.main import cli
from meetings import queries, services
from meetings.documents import (
    meeting_context,
    render_meeting,
    render_public_publication,
    render_publication,
)

MARKER = "FORTROLIG-7f3a91"
NOW = datetime(2022, 9, 1, 10, tzinfo=UTC)
MEETING_DAY = datetime(2022, 10, 4, 18, tzinfo=UTC)


@pytest.fixture
def meeting_id(sqlite_url, org):
    engine = make_engine(sqlite_url)
    with write_session(engine) as session:
        meeting = services.create_meeting(session, body="SU", day="04-10-2022", org=org,
                                          place="Rådhuset", now=NOW)
        services.add_standing_item(session, meeting.id, "meddelelser", text="Intet nyt.",
                                   now=NOW)
        for number, title, closed, text in (
                ("A-1", "Åben sag om <script>alert(1)</script>", False, "Åben tekst."),
                ("B-2", "Personalesag", True, f"Navne og forhold {MARKER}.")):
            case_services.create_case(session, {
                "number": number, "title": title, "centre": "Center for Voksne og Sundhed",
                "deciding_body": "SU", "summary": text, "background": text,
                "presentation": text, "economy": text, "confidential": closed,
                "proposals": [f"Indstillingen {text}"],
                "attachments": [{"title": f"Bilag {text}", "recommended": True}]},
                actor="t", org=org, now=NOW)
            case_actions.submit(session, number, actor="t", org=org, now=NOW)
            services.place_case(session, meeting.id, number, org=org, now=NOW)
        services.publish_agenda(session, meeting.id, actor="t", org=org, now=NOW)
        items = queries.items(session, meeting.id)
        services.record_item_decision(session, items[0].id, wording="Taget til efterretning",
                                      actor="t", org=org, now=MEETING_DAY)
        services.record_item_decision(session, items[1].id, wording="Godkendt", actor="t",
                                      org=org, now=MEETING_DAY, minority="B ønskede udsættelse")
        services.record_item_decision(session, items[2].id, wording="Godkendt", actor="t",
                                      org=org, now=MEETING_DAY,
                                      decision_text="Godkendt som indstillet.")
    engine.dispose()
    return meeting.id


@pytest.fixture
def engine(sqlite_url):
    found = make_engine(sqlite_url)
    yield found
    found.dispose()


def test_a_list_of_publications_leaves_the_kept_agendas_unread_and_one_publication_has_it(
        engine, meeting_id):
    """A meeting page lists its publications on every view: each keeps the whole agenda as
    published, which the list never shows (and real agendas are tens of kilobytes each)."""
    with read_session(engine) as session:
        [listed] = queries.publications(session, meeting_id)
        assert "content" not in sa.inspect(listed).dict
        kept = queries.publication(session, meeting_id, 1)
        assert "content" in sa.inspect(kept).dict
        assert [item["title"] for item in kept.content["items"]][-1] == "Personalesag"
        assert queries.publication(session, meeting_id, 2) is None


def test_the_command_line_refuses_a_publication_the_meeting_does_not_have(
        sqlite_url, meeting_id, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    out = tmp_path / "udgave.pdf"
    for command in (["render"], ["pdf", "--out", str(out)]):
        result = CliRunner().invoke(cli, ["meeting", *command, str(meeting_id),
                                          "--publication", "2"])
        assert result.exit_code == 1, result.output
        assert "Fejl: Mødet har ingen offentliggjort udgave 2." in result.output
    assert not out.exists()


def test_it_never_shows_a_closed_items_text_in_the_public_version(engine, org, meeting_id):
    with read_session(engine) as session:
        full = render_meeting(session, meeting_id, kind="referat", org=org)
        public = {kind: render_meeting(session, meeting_id, kind=kind, public=True, org=org)
                  for kind in ("dagsorden", "referat")}
        published = render_public_publication(session,
                                              queries.publications(session, meeting_id)[0])
        context = meeting_context(session, meeting_id, kind="referat", public=True, org=org)
    assert MARKER in full
    for html in (*public.values(), published):
        assert MARKER not in html
        assert "Personalesag" in html and "Lukket punkt" in html
    assert "Godkendt som indstillet." in public["referat"]  # the decision is public
    assert MARKER not in repr(context)


def test_it_escapes_hostile_titles(engine, org, meeting_id):
    with read_session(engine) as session:
        html = render_meeting(session, meeting_id, kind="dagsorden", org=org)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_it_renders_the_seeds_sections_in_order(engine, org, meeting_id):
    with read_session(engine) as session:
        html = render_meeting(session, meeting_id, kind="referat", org=org)
    item = html[html.index('id="punkt-2"'):html.index('id="punkt-3"')]
    headings = ["<h2 class=\"punkt-titel\">Punkt 2", "Sammendrag", "Baggrund", "Sagsfremstilling",
                "Økonomiske konsekvenser og finansiering", "Bilag", "Beslutningen træffes af",
                "Indstilling", "Beslutning"]
    positions = [item.index(h if h.startswith("<") else f"<h3>{h}</h3>") for h in headings]
    assert positions == sorted(positions)
    assert "Center for Voksne og Sundhed indstiller, at" in item
    assert "B ønskede udsættelse" in item and "(anbefales)" in item
    assert "Socialudvalget" in html and "04-10-2022" in html
    assert "@media print" in html


def test_it_walks_a_meeting_on_the_command_line(sqlite_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    runner = CliRunner()

    def run(*args):
        result = runner.invoke(cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    plan_file = tmp_path / "plan.csv"
    plan_file.write_text("body,date,time,place\nSU,01-11-2099,,Rådhuset\nØU,22-11-2099,,\n"
                         "KB,30-11-2099,,\n", encoding="utf-8")
    assert "3 møder oprettet" in run("meeting", "import-plan", str(plan_file))
    run("case", "create", "--number", "K-1", "--title", "Ny legeplads",
        "--centre", "Center for By og Miljø", "--decided-by", "KB", "--committee", "SU",
        "--proposal", "Legepladsen bygges.")
    run("case", "add-deadline", "K-1", "--date", "30-11-2099", "--description", "KB senest")
    run("case", "submit", "K-1")
    assert "mangler dagsorden" in run("meeting", "queue", "SU")
    assert "punkt 1" in run("meeting", "place", "SU:01-11-2099", "K-1")
    assert "offentliggjort" in run("meeting", "publish", "SU:01-11-2099")
    html = run("meeting", "render", "SU:01-11-2099", "--public")
    assert "Ny legeplads" in html
    planned = run("--today", "01-06-2099", "plan", "K-1")
    assert "KB    møde 30-11-2099" in planned and "Ruten holder" in planned
    late = runner.invoke(cli, ["meeting", "place", "SU:01-11-2099", "NOPE"])
    assert late.exit_code == 1 and "Fejl:" in late.output and "Traceback" not in late.output
    bad = runner.invoke(cli, ["meeting", "render", "XX:01-11-2099"])
    assert bad.exit_code == 1 and "Ukendt organ" in bad.output


def test_it_keeps_a_case_closed_on_one_agenda_closed_on_the_next(sqlite_url, org):
    """Closed at SU ("Gør til lukket punkt"), placed as an open item at ØU: still closed."""
    engine = make_engine(sqlite_url)
    text = f"Fortrolige oplysninger {MARKER}."
    with write_session(engine) as session:
        su = services.create_meeting(session, body="SU", day="04-10-2022", org=org, now=NOW)
        ou = services.create_meeting(session, body="ØU", day="18-10-2022", org=org, now=NOW)
        case_services.create_case(session, {
            "number": "C-3", "title": "Sag lukket i udvalget", "centre": "Center for Voksne og "
            "Sundhed", "deciding_body": "KB", "committees": ["SU"], "summary": text,
            "presentation": text, "proposals": [text]}, actor="t", org=org, now=NOW)
        case_actions.submit(session, "C-3", actor="t", org=org, now=NOW)
        item = services.place_case(session, su.id, "C-3", org=org, now=NOW)
        services.set_closed(session, item.id, True)
        services.publish_agenda(session, su.id, actor="t", org=org, now=NOW)
        services.record_item_decision(session, item.id, wording="Anbefales", actor="t",
                                      org=org, now=MEETING_DAY)
        ou_item = services.place_case(session, ou.id, "C-3", org=org, now=MEETING_DAY)
        assert not ou_item.closed
        services.publish_agenda(session, ou.id, actor="t", org=org, now=MEETING_DAY)
    with read_session(engine) as session:
        full = render_meeting(session, ou.id, org=org)
        public = render_meeting(session, ou.id, public=True, org=org)
    engine.dispose()
    assert MARKER in full
    assert MARKER not in public
    assert "Sag lukket i udvalget" in public


def test_it_hides_a_case_closed_after_publication_in_the_public_agenda_as_published(
        sqlite_url, org, monkeypatch):
    """Published as an open item at SU, then closed on BSU's agenda: the publication keeps
    its full text, but its public version (`meeting render --public --publication 1`) is
    decided when it is rendered, and shows number, title and "Lukket punkt" only."""
    engine = make_engine(sqlite_url)
    text = f"Oplysninger om en borger {MARKER}."
    with write_session(engine) as session:
        su = services.create_meeting(session, body="SU", day="04-10-2022", org=org, now=NOW)
        bsu = services.create_meeting(session, body="BSU", day="05-10-2022", org=org, now=NOW)
        case_services.create_case(session, {
            "number": "C-4", "title": "Sag lukket efter udsendelsen",
            "centre": "Center for Voksne og Sundhed", "deciding_body": "KB",
            "committees": ["SU", "BSU"], "summary": text, "proposals": [text]},
            actor="t", org=org, now=NOW)
        case_actions.submit(session, "C-4", actor="t", org=org, now=NOW)
        services.place_case(session, su.id, "C-4", org=org, now=NOW)
        services.publish_agenda(session, su.id, actor="t", org=org, now=NOW)
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    render = ["meeting", "render", str(su.id), "--public", "--publication", "1"]
    assert MARKER in CliRunner().invoke(cli, render).output  # open when published
    with write_session(engine) as session:
        item = services.place_case(session, bsu.id, "C-4", org=org, now=NOW)
        services.set_closed(session, item.id, True)
    with read_session(engine) as session:
        kept = render_publication(queries.publications(session, su.id)[0])
    engine.dispose()
    result = CliRunner().invoke(cli, render)
    assert result.exit_code == 0, result.output
    assert MARKER not in result.output
    assert "Sag lukket efter udsendelsen" in result.output and "Lukket punkt" in result.output
    assert MARKER in kept  # the publication itself is kept as it was
