"""The agenda and minutes as PDF, read back with pypdf: the seed's 13 items as 13 bookmarks in
order, "Side x af y", the same sections per item as the HTML, no closed text in the public
PDF, and a publication's PDF kept with its checksum."""

import io
import re
from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from pypdf import PdfReader
from shared_material import seed_agenda

from cases.db import read_session, write_session
from cli.main import cli
from meetings import queries
from meetings import services as meeting_services
from meetings.documents import meeting_context, render_context
from meetings.importer import import_referat
from meetings.models import PublishedPdf
from meetings.pdf import checksum, publication_pdf, render_pdf, store_publication, stored_pdfs
from meetings.referat import parse_referat
from workflow.access import PUBLIC
from workflow.errors import NotFound

CLOSED = 9  # Præsentation af risikobaseret tilsyn: closed in these tests
CLOSED_TEXT = "Styrelsen for Patientsikkerhed opererer med to former"


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def words(text: str) -> str:
    return " ".join(text.split())


class Sections(HTMLParser):
    """The section names (data-section) of each item (data-number) in the HTML."""

    def __init__(self):
        super().__init__()
        self.items: dict[int, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("class") == "punkt":
            self.current = self.items.setdefault(int(attrs["data-number"]), [])
        elif "data-section" in attrs:
            self.current.append(attrs["data-section"])


@pytest.fixture(scope="module")
def seed_db(tmp_path_factory, migrated_sqlite):
    from cases.db import make_engine
    from cases.settings import current_organisation

    url = migrated_sqlite(tmp_path_factory.mktemp("pdf") / "seed.db")
    engine = make_engine(url)
    org = current_organisation()
    with write_session(engine) as session:
        report = import_referat(session, parse_referat(seed_agenda()),
                                org=org)
        item = [i for i in queries.items(session, report.meeting_id) if i.number == CLOSED][0]
        item.closed = True  # the minutes are out (no more agenda changes): set it directly
        session.add(item)
    yield engine, report.meeting_id, url
    engine.dispose()


@pytest.fixture(scope="module")
def seed_pdfs(seed_db):
    engine, meeting_id, _ = seed_db
    with read_session(engine) as session:
        contexts = {public: meeting_context(session, meeting_id, kind="referat", public=public)
                    for public in (False, True)}
    return {public: (context, render_pdf(context)) for public, context in contexts.items()}


def test_the_seeds_13_items_are_13_bookmarks_in_order_with_page_numbers(seed_pdfs):
    context, content = seed_pdfs[False]
    reader = PdfReader(io.BytesIO(content))
    titles = [words(entry.title) for entry in reader.outline]
    assert titles == [words(f"Punkt {i['number']} {i['title']}") for i in context["items"]]
    assert len(titles) == 13
    pages = [reader.get_destination_page_number(entry) for entry in reader.outline]
    assert pages == sorted(pages) and len(set(pages)) == 13  # each item on its own page
    total = len(reader.pages)
    for number, page in enumerate(reader.pages, start=1):
        if number > 1:  # the cover has no page number
            assert f"Side {number} af {total}" in page.extract_text()
    assert "Ballerup Kommune" in reader.pages[0].extract_text()  # the cover
    assert "Referat" in reader.pages[0].extract_text()
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"]  # tagged (PDF/UA)


def test_the_html_and_the_pdf_carry_the_same_sections_per_item(seed_pdfs):
    context, content = seed_pdfs[False]
    sections = Sections()
    sections.feed(render_context(context))
    reader = PdfReader(io.BytesIO(content))
    starts = [reader.get_destination_page_number(entry) for entry in reader.outline]
    ends = starts[1:] + [len(reader.pages)]
    texts = {item["number"]: "\n".join(reader.pages[p].extract_text() for p in range(a, b))
             for item, a, b in zip(context["items"], starts, ends, strict=True)}
    assert sections.items[1] == ["Sammendrag", "Baggrund", "Sagsfremstilling",
                                 "Yderligere deltagelse", "Økonomiske konsekvenser og "
                                 "finansiering", "Bilag", "Beslutningen træffes af",
                                 "Indstilling", "Beslutning"]
    assert "Tidligere behandling" in sections.items[5]
    assert "Beslutningshistorik" in sections.items[11]
    for number, names in sections.items.items():
        lines = [line.strip() for line in texts[number].splitlines()]
        headings = [line for line in lines if line in names
                    or line.startswith("Yderligere deltagelse")
                    or line == "Høring og høringssvar"]
        expected = [n for n in names]
        shown = ["Yderligere deltagelse" if h.startswith("Yderligere deltagelse") else
                 "Høringssvar" if h == "Høring og høringssvar" else h for h in headings]
        assert shown == expected, number
    assert "2 bilag, heraf 2 anbefales" in texts[1]


def test_the_public_pdf_never_holds_a_closed_items_text(seed_pdfs):
    full = words(text_of(seed_pdfs[False][1]))
    public = words(text_of(seed_pdfs[True][1]))
    assert CLOSED_TEXT in full
    assert CLOSED_TEXT not in public
    assert "Præsentation af risikobaseret tilsyn" in public and "Lukket punkt" in public
    assert len(PdfReader(io.BytesIO(seed_pdfs[True][1])).outline) == 13


def test_a_publication_keeps_its_pdf_with_its_checksum(seed_db):
    engine, _, _ = seed_db
    org_day = "20-12-2099"
    from cases.settings import current_organisation
    org = current_organisation()
    with write_session(engine) as session:
        meeting = meeting_services.create_meeting(session, body="SU", day=org_day, org=org)
        meeting_services.add_standing_item(session, meeting.id, "meddelelser", text="Første.")
        first = meeting_services.publish_agenda(session, meeting.id, actor="t",
                                                late_reason="Test")
        made = store_publication(session, first)
        meeting_services.add_standing_item(session, meeting.id, "godkendelse_af_referat")
        second = meeting_services.publish_agenda(session, meeting.id, actor="t",
                                                 late_reason="Test")
        store_publication(session, second)
        store_publication(session, second)  # once only
    # The members', the public's and the public's samlet dagsorden med bilag.
    assert [(row.public, row.with_bilag) for row in made] == [(False, False), (True, False),
                                                              (True, True)]
    with read_session(engine) as session:
        rows = {p.seq: stored_pdfs(session, p.id)
                for p in queries.publications(session, meeting.id)}
        served = publication_pdf(session, queries.publications(session, meeting.id)[0],
                                 public=True)
    assert [len(found) for found in rows.values()] == [3, 3]  # the tillæg has its own
    public_first = [r for r in rows[1] if r.public and not r.with_bilag][0]
    assert served == public_first.content and checksum(served) == public_first.sha256
    assert "Tillægsdagsorden" in text_of([r for r in rows[2] if r.public][0].content)
    assert "Tillægsdagsorden" in text_of([r for r in rows[2] if r.with_bilag][0].content)
    with write_session(engine) as session:  # a damaged copy is refused, never served
        row = session.get(PublishedPdf, public_first.id)
        row.content = row.content[:-10] + b"0123456789"
    with read_session(engine) as session, pytest.raises(NotFound):
        publication_pdf(session, queries.publications(session, meeting.id)[0], public=True)


def test_it_writes_the_pdf_on_the_command_line(seed_db, monkeypatch, tmp_path):
    _, meeting_id, url = seed_db
    monkeypatch.setenv("DATABASE_URL", url)
    out = tmp_path / "referat.pdf"
    result = CliRunner().invoke(cli, ["meeting", "pdf", str(meeting_id), "--kind", "referat",
                                      "--public", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = words(text_of(out.read_bytes()))
    assert CLOSED_TEXT not in text and re.search(r"Side 2 af \d+", text)


def test_the_cover_shows_the_logo_of_the_organisation_file(seed_pdfs, tmp_path):
    from PIL import Image

    from cases.organisation import load_organisation
    from cases.settings import PROJECT_DIR

    Image.new("RGB", (120, 60), (11, 92, 173)).save(tmp_path / "logo.png")
    text = (PROJECT_DIR / "config" / "ballerup.toml").read_text(encoding="utf-8")
    (tmp_path / "org.toml").write_text(
        text.replace("[municipality]\n", '[municipality]\nlogo = "logo.png"\n', 1),
        encoding="utf-8")
    org = load_organisation(tmp_path / "org.toml")
    assert org.logo == str(tmp_path / "logo.png")  # relative to the organisation file
    context, plain = seed_pdfs[True]
    with_logo = PdfReader(io.BytesIO(render_pdf(context, org)))
    assert len(with_logo.pages[0].images) == 1
    assert len(PdfReader(io.BytesIO(plain)).pages[0].images) == 0


def test_publishing_on_the_command_line_keeps_the_pdfs(seed_db, monkeypatch, tmp_path):
    engine, _, url = seed_db
    monkeypatch.setenv("DATABASE_URL", url)
    with write_session(engine) as session:
        meeting = meeting_services.create_meeting(session, body="SU", day="21-12-2099")
        meeting_services.add_standing_item(session, meeting.id, "meddelelser", text="Intet.")
    runner = CliRunner()
    published = runner.invoke(cli, ["meeting", "publish", str(meeting.id),
                                    "--late-reason", "Test"])
    assert published.exit_code == 0, published.output
    with read_session(engine) as session:
        (publication,) = queries.publications(session, meeting.id)
        rows = stored_pdfs(session, publication.id)
    assert sorted((row.public, row.with_bilag) for row in rows) == [
        (False, False), (True, False), (True, True)]
    for row in (r for r in rows if r.public):
        out = tmp_path / "udgave.pdf"
        result = runner.invoke(cli, ["meeting", "pdf", str(meeting.id), "--publication", "1",
                                     "--public", "--out", str(out)]
                               + (["--med-bilag"] if row.with_bilag else []))
        assert result.exit_code == 0, result.output
        assert out.read_bytes() == row.content
        assert checksum(out.read_bytes()) == row.sha256


def test_a_kept_pdf_comes_back_byte_identical_on_sqlite_and_postgresql(db, org):
    with write_session(db) as session:
        meeting = meeting_services.create_meeting(session, body="SU", day="22-12-2099",
                                                  org=org)
        meeting_services.add_standing_item(session, meeting.id, "meddelelser", text="Intet.")
        publication = meeting_services.publish_agenda(session, meeting.id, actor="t", org=org,
                                                      late_reason="Test")
        made = {(row.public, row.with_bilag): (row.content, row.sha256)
                for row in store_publication(session, publication, org)}
    with read_session(db) as session:
        (publication,) = queries.publications(session, meeting.id)
        for public, samlet in made:
            served = publication_pdf(session, publication, public=public, org=org,
                                     bilag_for=PUBLIC if samlet else None)
            assert (served, checksum(served)) == made[public, samlet]
