"""Bilag as files, in this process: what a file is (by content), the names it is served under,
both stores (a folder; the database, on SQLite and on the real PostgreSQL) with their
checksums, the text taken for search, attaching (nothing kept on refusal), the one rule of
who may read a Bilag, and `sagsgang case attach`."""

from datetime import date, timedelta
from email.message import Message
from urllib.parse import unquote

import pytest
import sqlalchemy as sa
from bilag_samples import (
    GIF,
    HTML,
    JPEG,
    PNG,
    SVG,
    docx_with_text,
    odt,
    pdf_with_text,
    xlsx,
    zipped,
)
from click.testing import CliRunner
from sqlmodel import select

from cases import actions, files, queries, services
from cases.db import read_session, write_session
from cases.models import Attachment, Blob
from cases.settings import current_organisation, get_settings
from cli.main import cli
from meetings import bilag
from meetings.services import create_meeting, place_case, set_closed
from web.bilag import content_disposition
from workflow.access import PUBLIC, Viewer
from workflow.errors import InvalidInput, NotFound

CENTRE = "Center for Voksne og Sundhed"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The default store, a folder of this test's own."""
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_DIR", str(tmp_path / "bilag"))
    get_settings.cache_clear()
    return tmp_path / "bilag"


def new_case(session, number: str, **extra) -> str:
    services.create_case(session, {"number": number, "title": "Sag om bilag", "centre": CENTRE,
                                   "deciding_body": "KB", "committees": ["SU"], **extra},
                         actor="test")
    return number


def stored_files(root) -> list:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# -- the kind of a file is found from its content ----------------------------------------------

@pytest.mark.parametrize(("content", "media_type"), [
    (pdf_with_text("Et bilag"), "application/pdf"),
    (docx_with_text("Et bilag"),
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (odt(), "application/vnd.oasis.opendocument.text"),
    (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif")])
def test_each_kind_taken_is_known_by_its_content(content, media_type):
    assert files.kind_of(content).media_type == media_type


@pytest.mark.parametrize("content", [
    HTML, SVG, b"just text", b"", b"MZ\x90\x00 an exe", zipped({"a.txt": b"x"}),
    zipped({"mimetype": b"application/epub+zip"}), b"PK\x03\x04 not really a zip"])
def test_other_files_are_not_taken(content):
    assert files.kind_of(content) is None


def test_a_zip_that_would_unpack_past_the_limit_is_not_taken(monkeypatch):
    monkeypatch.setattr(files, "MAX_UNPACKED_BYTES", 1000)
    assert files.kind_of(docx_with_text("x" * 2000)) is None


# -- names -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sent", "kept"), [
    ("budget.pdf", "budget.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("C:\\Users\\x\\Referat.PDF", "Referat.PDF"),
    ('a"b\r\nSet-Cookie: x=1\r\n.pdf', 'a"bSet-Cookie: x=1.pdf'),
    ("rapport.html", "rapport.html.pdf"),
    ("", "bilag.pdf"), ("..", "bilag.pdf"),
    ("Økonomi – bilag 2.pdf", "Økonomi – bilag 2.pdf"),
    ("x" * 300 + ".pdf", "x" * 196 + ".pdf")])
def test_a_file_name_is_kept_as_its_last_part_without_control_characters(sent, kept):
    assert files.safe_filename(sent, files.PDF) == kept


@pytest.mark.parametrize("name", [
    'a"b.pdf', "a\\b.pdf", "Økonomi – bilag 2.pdf", "a;b=c,d.pdf", "%41.pdf", "日本.pdf",
    "a\r\nX-Evil: 1.pdf"])
def test_the_content_disposition_names_the_file_exactly_and_safely(name):
    header = content_disposition(Attachment(case_id=1, number=1, title="t", filename=name,
                                            media_type="application/pdf"))
    assert "\r" not in header and "\n" not in header
    assert header.isascii()
    message = Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "inline"
    # RFC 6266: filename* carries the real name; the plain filename is ASCII with no quote.
    star = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(star) == name
    fallback = header.split('filename="', 1)[1].split('"; filename*', 1)[0]
    assert '"' not in fallback and "\\" not in fallback


def test_office_files_are_downloaded_and_pdfs_shown():
    docx = Attachment(case_id=1, number=1, title="t", filename="a.docx",
                      media_type=files.DOCX.media_type)
    assert content_disposition(docx).startswith("attachment;")


# -- the stores --------------------------------------------------------------------------------

def test_the_folder_store_round_trips_and_detects_damage(tmp_path, engine):
    store = files.FolderStore(tmp_path / "bilag")
    content = pdf_with_text("Folder")
    with write_session(engine) as session:
        digest = files.store(session, content, store)
        assert files.store(session, content, store) == digest  # kept once
        assert files.open(session, digest, store) == content
    assert stored_files(tmp_path / "bilag") == [store.path(digest)]
    store.path(digest).write_bytes(content.replace(b"Folder", b"Fxlder"))
    with read_session(engine) as session, pytest.raises(files.DamagedFile, match="checksum"):
        files.open(session, digest, store)
    store.path(digest).unlink()
    with read_session(engine) as session, pytest.raises(files.DamagedFile, match="missing"):
        files.open(session, digest, store)


def test_the_database_store_round_trips_and_detects_damage(db):
    """On SQLite and on the real PostgreSQL (bytea)."""
    store = files.DatabaseStore()
    content = pdf_with_text("Database") + bytes(range(256))  # every byte value
    with write_session(db) as session:
        digest = files.store(session, content, store)
        files.store(session, content, store)
    with read_session(db) as session:
        assert files.open(session, digest, store) == content
        assert session.exec(select(sa.func.count()).select_from(Blob)).one() == 1
    with db.begin() as conn:
        conn.execute(sa.update(Blob.__table__).values(content=content[:-1] + b"\x00"))
    with read_session(db) as session, pytest.raises(files.DamagedFile, match="checksum"):
        files.open(session, digest, store)
    with db.begin() as conn:
        conn.execute(sa.delete(Blob.__table__))
    with read_session(db) as session, pytest.raises(files.DamagedFile, match="missing"):
        files.open(session, digest, store)


def test_the_store_is_chosen_by_setting(monkeypatch, tmp_path):
    assert isinstance(files.current_store(), files.FolderStore)
    assert files.current_store().root == get_settings().var_dir / "bilag"
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_STORE", "database")
    get_settings.cache_clear()
    assert isinstance(files.current_store(), files.DatabaseStore)
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_STORE", "s3")
    get_settings.cache_clear()
    with pytest.raises(SystemExit, match="SAGSGANG_ATTACHMENT_STORE"):
        get_settings()


# -- text for search ---------------------------------------------------------------------------

def test_the_text_of_a_pdf_and_a_docx_is_extracted():
    pdf = pdf_with_text("Udsatte borgere i Ballerup, æøå (2022)")
    assert files.extract_text(pdf, files.PDF) == "Udsatte borgere i Ballerup, æøå (2022)"
    docx = docx_with_text("Høringssvar fra Handicaprådet", "Rådet anbefaler planen.")
    assert files.extract_text(docx, files.DOCX) == \
        "Høringssvar fra Handicaprådet\nRådet anbefaler planen."
    assert files.extract_text(xlsx(), files.XLSX) == ""


def test_a_pdf_whose_text_cannot_be_read_is_still_a_bilag(engine, folder):
    broken = b"%PDF-1.4\n this is no pdf at all"
    assert files.extract_text(broken, files.PDF) == ""
    with write_session(engine) as session:
        number = new_case(session, "B-broken")
        attachment = files.attach(session, number, filename="x.pdf", content=broken,
                                  title="Ulæselig", actor="test")
        assert attachment.text == "" and attachment.media_type == "application/pdf"


# -- attaching ---------------------------------------------------------------------------------

def test_an_attached_file_is_kept_with_its_text_and_an_audit_event(engine, folder):
    content = pdf_with_text("Danmarkskort 2022")
    with write_session(engine) as session:
        number = new_case(session, "B-1", attachments=[{"title": "Kun en titel"}])
        attachment = files.attach(session, number, filename="kort.pdf", content=content,
                                  title="Danmarkskortet", recommended=True, public=False,
                                  actor="sekr")
    with read_session(engine) as session:
        row = session.get(Attachment, attachment.id)
        assert (row.number, row.title, row.recommended, row.public, row.filename,
                row.media_type, row.size) == (2, "Danmarkskortet", True, False, "kort.pdf",
                                              "application/pdf", len(content))
        assert files.extracted_text(row) == "Danmarkskort 2022"
        assert files.open(session, row.digest) == content
        event = queries.events(session, row.case_id)[-1]
        # Not public: its title stays out of the timeline, which all readers of the case see.
        assert (event.trigger, event.reason) == ("edit_case", "Bilag tilføjet (ikke offentligt)")
    assert len(stored_files(folder)) == 1


@pytest.mark.parametrize(("content", "title", "message"), [
    (HTML, "Et bilag", "kan ikke bruges som bilag"),
    (SVG, "Et bilag", "kan ikke bruges som bilag"),
    (b"", "Et bilag", "Filen er tom"),
    (PNG, "", "Skriv bilagets titel"),
    (PNG, "To\nlinjer", "linjeskift"),
    (PNG, "x" * 301, "højst have 300 tegn")])
def test_a_refused_file_leaves_no_row_and_no_file(engine, folder, content, title, message):
    with write_session(engine) as session:
        new_case(session, "B-2")
    with write_session(engine) as session, pytest.raises(InvalidInput, match=message):
        files.attach(session, "B-2", filename="x.pdf", content=content, title=title,
                     actor="test")
    with read_session(engine) as session:
        assert session.exec(select(Attachment)).all() == []
    assert stored_files(folder) == []


def test_a_file_past_the_size_limit_is_refused_in_danish(engine, folder, monkeypatch):
    monkeypatch.setenv("SAGSGANG_MAX_ATTACHMENT_MB", "1")
    get_settings.cache_clear()
    with write_session(engine) as session:
        new_case(session, "B-3")
    too_large = pdf_with_text("stor") + b" " * (1024 * 1024)
    with write_session(engine) as session, pytest.raises(
            InvalidInput, match=r"Filen er for stor \(1\.0 MB\)\. Et bilag må højst fylde 1 MB"):
        files.attach(session, "B-3", filename="x.pdf", content=too_large, title="Stor",
                     actor="test")
    with read_session(engine) as session:
        assert session.exec(select(Attachment)).all() == []
    assert stored_files(folder) == []


def test_editing_the_title_only_bilag_keeps_the_files(engine, folder):
    with write_session(engine) as session:
        number = new_case(session, "B-4", attachments=[{"title": "Gammel titel"}])
        files.attach(session, number, filename="a.pdf", content=pdf_with_text("A"),
                     title="Filen", actor="test")
        services.update_case(session, number, {"attachments": [
            {"title": "Ny titel", "recommended": True}, {"title": "Endnu en"}]}, actor="test")
    with read_session(engine) as session:
        rows = queries.attachments(session, queries.get_case(session, number).id)
        assert [(a.number, a.title, bool(a.digest)) for a in rows] == [
            (2, "Filen", True), (3, "Ny titel", False), (4, "Endnu en", False)]


# -- who may read a Bilag ----------------------------------------------------------------------

STAFF = Viewer(role="secretariat")
SU_MEMBER = Viewer(role="member", bodies=frozenset({"SU"}))
OTHER_MEMBER = Viewer(role="member", bodies=frozenset({"BSU"}))


def test_a_bilag_is_read_as_its_case_and_a_not_public_one_only_by_those_who_read_closed(
        engine, folder):
    org = current_organisation()
    with write_session(engine) as session:
        number = new_case(session, "B-5")
        actions.submit(session, number, actor="test")
        public = files.attach(session, number, filename="a.pdf", content=pdf_with_text("A"),
                              title="Offentligt", actor="test")
        hidden = files.attach(session, number, filename="b.pdf", content=pdf_with_text("B"),
                              title="Ikke offentligt", public=False, actor="test")
        case = queries.get_case(session, number)
        assert [bilag.may_read_attachment(org, session, case, a, v)
                for a in (public, hidden)
                for v in (PUBLIC, OTHER_MEMBER, SU_MEMBER, STAFF)] == \
            [True, True, True, True, False, False, True, True]
        assert [[a.title for a in bilag.readable_attachments(org, session, case, v)]
                for v in (PUBLIC, OTHER_MEMBER, SU_MEMBER, STAFF)] == \
            [["Offentligt"], ["Offentligt"], ["Offentligt", "Ikke offentligt"],
             ["Offentligt", "Ikke offentligt"]]
        with pytest.raises(NotFound, match="Bilaget findes ikke"):
            bilag.attachment_to_serve(org, session, hidden.id, OTHER_MEMBER)
        assert bilag.attachment_to_serve(org, session, hidden.id, SU_MEMBER)[1] == \
            pdf_with_text("B")
        # Closed on an agenda: none of its Bilag to the public or another body's member.
        meeting = create_meeting(session, body="SU", day=date.today() + timedelta(days=30))
        set_closed(session, place_case(session, meeting.id, number,
                                       late_reason="Hastesag").id, True)
        assert [bilag.may_read_attachment(org, session, case, a, v)
                for a in (public, hidden)
                for v in (PUBLIC, OTHER_MEMBER, SU_MEMBER, STAFF)] == \
            [False, False, True, True, False, False, True, True]
        # The case page's list (all its Bilag at once) keeps to the same rule.
        assert [[a.title for a in bilag.readable_attachments(org, session, case, v)]
                for v in (PUBLIC, OTHER_MEMBER, SU_MEMBER, STAFF)] == \
            [[], [], ["Offentligt", "Ikke offentligt"], ["Offentligt", "Ikke offentligt"]]
        with pytest.raises(NotFound, match="Bilaget findes ikke"):
            bilag.attachment_to_serve(org, session, public.id, PUBLIC)
        with pytest.raises(NotFound, match="Bilaget findes ikke"):
            bilag.attachment_to_serve(org, session, 10_000, STAFF)


# -- the command line --------------------------------------------------------------------------

def test_case_attach_on_the_command_line(engine, folder, sqlite_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    with write_session(engine) as session:
        new_case(session, "B-6")
    path = tmp_path / "Høringssvar.docx"
    path.write_bytes(docx_with_text("Rådet anbefaler."))
    runner = CliRunner()
    result = runner.invoke(cli, ["case", "attach", "B-6", str(path), "--title", "Høringssvar",
                                 "--anbefales", "--ikke-offentlig"])
    assert result.exit_code == 0, result.output
    assert "Bilag 1 «Høringssvar» er vedhæftet sag B-6 (Høringssvar.docx" in result.output
    assert "ikke offentligt" in result.output
    with read_session(engine) as session:
        row = session.exec(select(Attachment)).one()
        assert (row.recommended, row.public, row.text) == (True, False, "Rådet anbefaler.")
        assert files.open(session, row.digest) == path.read_bytes()
    (tmp_path / "side.html").write_bytes(HTML)
    result = runner.invoke(cli, ["case", "attach", "B-6", str(tmp_path / "side.html"),
                                 "--title", "Side"])
    assert result.exit_code == 1 and "Fejl: Filen kan ikke bruges som bilag" in result.output
    with read_session(engine) as session:
        assert len(session.exec(select(Attachment)).all()) == 1


def test_a_removed_bilag_is_gone_from_the_case_and_its_file_kept(engine, folder):
    with write_session(engine) as session:
        number = new_case(session, "B-7", attachments=[{"title": "Kun titel"}])
        other = new_case(session, "B-8")
        attachment = files.attach(session, number, filename="a.pdf", content=pdf_with_text("A"),
                                  title="Forkert fil", actor="test")
        elsewhere = files.attach(session, other, filename="b.pdf", content=pdf_with_text("B"),
                                 title="Andet", actor="test")
        title_only = queries.attachments(session, queries.get_case(session, number).id)[0]
    for wrong in (elsewhere.id, title_only.id, 99_999):
        with write_session(engine) as session, pytest.raises(NotFound,
                                                             match="har ikke det bilag"):
            files.remove(session, number, wrong, actor="test")
    with write_session(engine) as session:
        files.remove(session, number, attachment.id, actor="sekr")
    with read_session(engine) as session:
        case = queries.get_case(session, number)
        assert [a.title for a in queries.attachments(session, case.id)] == ["Kun titel"]
        assert queries.events(session, case.id)[-1].reason == "Bilag fjernet: Forkert fil"
        # An agenda published with it may still hold it: the file stays.
        assert files.open(session, attachment.digest) == pdf_with_text("A")
