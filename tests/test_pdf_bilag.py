"""The samlet dagsorden med bilag (meetings.pdf.with_bilag), read back with pypdf: each item's
Bilag PDFs appended under its bookmark, the public version without a not-public Bilag and
without a closed item's Bilag, a member's with what they may read, a Bilag that is not a PDF
only listed, a damaged file left out with a note; `sagsgang meeting pdf --med-bilag` and
`?med_bilag=1` on the three PDF routes."""

import io
from datetime import date, timedelta

import pytest
from bilag_samples import docx_with_text, pdf_with_text
from click.testing import CliRunner
from pypdf import PdfReader
from web_fixtures import anonymous, as_role, bearer, days, logged_in, make_case

from cases import actions, files, services
from cases.db import read_session, write_session
from cases.settings import get_settings
from cli.main import cli
from meetings import queries
from meetings.documents import meeting_context
from meetings.pdf import DAMAGED_NOTE, render_pdf, viewer_pdf, with_bilag
from meetings.services import create_meeting, place_case, publish_agenda, set_closed
from workflow.access import PUBLIC, Viewer

CENTRE = "Center for Voksne og Sundhed"
SU_MEMBER = Viewer(role="member", bodies=frozenset({"SU"}))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_DIR", str(tmp_path / "bilag"))
    get_settings.cache_clear()
    return tmp_path / "bilag"


def case_with(session, number: str, bilag: list[tuple[str, bytes, bool]]):
    services.create_case(session, {"number": number, "title": f"Sag {number}",
                                   "centre": CENTRE, "deciding_body": "SU",
                                   "committees": ["SU"]}, actor="test")
    actions.submit(session, number, actor="test")
    return [files.attach(session, number, filename=f"{title}.pdf" if content[:4] == b"%PDF"
                         else f"{title}.docx", content=content, title=title, public=public,
                         actor="test") for title, content, public in bilag]


@pytest.fixture
def agenda(engine, folder):
    """One meeting: item 1 an open case with a public and a not-public Bilag PDF and a DOCX,
    item 2 a closed case with a public Bilag PDF."""
    with write_session(engine) as session:
        open_bilag = case_with(session, "S-1", [
            ("Offentligt kort", pdf_with_text("Offentlig side med kort"), True),
            ("Internt notat", pdf_with_text("Intern side med notat"), False),
            ("Regneark", docx_with_text("Ikke en PDF"), True)])
        closed_bilag = case_with(session, "S-2", [
            ("Lukket bilag", pdf_with_text("Side fra det lukkede punkt"), True)])
        meeting = create_meeting(session, body="SU", day=date.today() + timedelta(days=30))
        place_case(session, meeting.id, "S-1", late_reason="Hastesag")
        set_closed(session, place_case(session, meeting.id, "S-2", late_reason="Hastesag").id,
                   True)
        return meeting.id, open_bilag, closed_bilag


def public_samlet(engine, meeting_id: int) -> tuple[bytes, bytes]:
    with read_session(engine) as session:
        context = meeting_context(session, meeting_id, public=True)
        document = render_pdf(context)
        return document, with_bilag(session, document, context, PUBLIC)


def outline(content: bytes) -> list:
    """The bookmarks as (title, page, [(child title, page)...])."""
    reader = PdfReader(io.BytesIO(content))
    found, entries = [], reader.outline
    for index, entry in enumerate(entries):
        if isinstance(entry, list):
            continue
        children = entries[index + 1] if index + 1 < len(entries) and \
            isinstance(entries[index + 1], list) else []
        found.append((" ".join(entry.title.split()), reader.get_destination_page_number(entry),
                      [(child.title, reader.get_destination_page_number(child))
                       for child in children]))
    return found


def page_text(content: bytes, number: int) -> str:
    return PdfReader(io.BytesIO(content)).pages[number].extract_text()


def all_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_public_samlet_pdf_appends_the_public_bilag_under_its_item(engine, agenda):
    meeting_id, _, _ = agenda
    document, samlet = public_samlet(engine, meeting_id)
    pages = len(PdfReader(io.BytesIO(document)).pages)
    assert len(PdfReader(io.BytesIO(samlet)).pages) == pages + 1  # the one public PDF
    (first, first_page, children), (second, _, closed_children) = outline(samlet)
    assert first == "Punkt 1 Sag S-1" and second.startswith("Punkt 2")
    assert children == [("Bilag 1: Offentligt kort", pages)]
    assert "Offentlig side med kort" in page_text(samlet, pages)
    assert closed_children == []
    # The document itself is unchanged in front: its bookmarks point where they did.
    assert [(t, p) for t, p, _ in outline(samlet)] == [(t, p) for t, p, _ in outline(document)]
    text = all_text(samlet)
    for hidden in ("Internt notat", "Intern side med notat", "Lukket bilag",
                   "Side fra det lukkede punkt"):
        assert hidden not in text and hidden not in str(outline(samlet))
    assert "Ikke en PDF" not in text  # a DOCX is listed in the item, not appended
    assert "Regneark" in text


def test_a_member_of_the_body_gets_every_bilag_they_may_read(engine, agenda):
    meeting_id, _, _ = agenda
    with read_session(engine) as session:
        meeting = queries.get_meeting(session, meeting_id)
        samlet = viewer_pdf(session, meeting, SU_MEMBER, med_bilag=True)
        plain = viewer_pdf(session, meeting, SU_MEMBER)
    pages = len(PdfReader(io.BytesIO(plain)).pages)
    (_, _, children), (_, _, closed_children) = outline(samlet)
    assert children == [("Bilag 1: Offentligt kort", pages), ("Bilag 2: Internt notat", pages + 1)]
    assert closed_children == [("Bilag 1: Lukket bilag", pages + 2)]
    assert "Side fra det lukkede punkt" in page_text(samlet, pages + 2)
    # A member of another body reads the closed item as the public does.
    with read_session(engine) as session:
        other = viewer_pdf(session, queries.get_meeting(session, meeting_id),
                           Viewer(role="member", bodies=frozenset({"BSU"})), med_bilag=True)
    assert "Side fra det lukkede punkt" not in all_text(other)


def test_a_damaged_bilag_file_is_left_out_with_a_note(engine, agenda, folder):
    meeting_id, open_bilag, _ = agenda
    files.current_store().path(open_bilag[0].digest).write_bytes(b"%PDF-1.4 not the file")
    with write_session(engine) as session:  # a "PDF" by its first bytes that pypdf cannot read
        files.attach(session, "S-1", filename="x.pdf", content=b"%PDF-1.7 rubbish",
                     title="Ulæselig", actor="test")
    document, samlet = public_samlet(engine, meeting_id)
    assert len(PdfReader(io.BytesIO(samlet)).pages) == len(PdfReader(io.BytesIO(document)).pages)
    (_, first_page, children), _ = outline(samlet)
    assert children == [(f"Bilag 1: Offentligt kort ({DAMAGED_NOTE})", first_page),
                        (f"Bilag 4: Ulæselig ({DAMAGED_NOTE})", first_page)]


def test_meeting_pdf_med_bilag_on_the_command_line(engine, agenda, sqlite_url, tmp_path,
                                                   monkeypatch):
    meeting_id, _, _ = agenda
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    out = tmp_path / "samlet.pdf"
    result = CliRunner().invoke(cli, ["meeting", "pdf", str(meeting_id), "--public",
                                      "--med-bilag", "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = all_text(out.read_bytes())
    assert "Offentlig side med kort" in text and "Intern side med notat" not in text
    result = CliRunner().invoke(cli, ["meeting", "pdf", str(meeting_id), "--med-bilag",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Intern side med notat" in all_text(out.read_bytes())


def test_the_pdf_routes_with_med_bilag_give_each_reader_their_bilag(web_app, web_engine,
                                                                     api_tokens, folder):
    open_number = make_case(web_engine, title="Åben sag med bilag")
    closed_number = make_case(web_engine, title="Lukket sag med bilag", committees=("SU",))
    with write_session(web_engine) as session:
        for number, title, text, public in (
                (open_number, "Webkort", "Webside offentlig", True),
                (open_number, "Webnotat", "Webside intern", False),
                (closed_number, "Webbilag lukket", "Webside lukket", True)):
            files.attach(session, number, filename="b.pdf", content=pdf_with_text(text),
                         title=title, public=public, actor="test")
        meeting_id = create_meeting(session, body="SU", day=days(50)).id
        place_case(session, meeting_id, open_number)
        set_closed(session, place_case(session, meeting_id, closed_number).id, True)
        publish_agenda(session, meeting_id, actor="test", late_reason="Test")
    su_member = as_role(web_app, "member")
    bsu_member = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo")
    link = "med_bilag=1\">Samlet dagsorden med bilag (PDF)</a>"
    assert f"/moeder/{meeting_id}/pdf?{link}" in su_member.get(f"/moeder/{meeting_id}").text
    assert f"/offentlig/moeder/{meeting_id}/pdf?{link}" in \
        anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    answers = {
        "public": anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}/pdf?med_bilag=1"),
        "public kept": anonymous(web_app).get(
            f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=1&med_bilag=1"),
        "bsu": bsu_member.get(f"/moeder/{meeting_id}/pdf?med_bilag=1"),
        "su": su_member.get(f"/moeder/{meeting_id}/pdf?med_bilag=1"),
        "su kept": su_member.get(f"/moeder/{meeting_id}/pdf?udgivelse=1&med_bilag=1"),
        "api": anonymous(web_app).get(f"/api/meetings/{meeting_id}/pdf?med_bilag=1",
                                      headers=bearer(api_tokens["member"])),
    }
    for answer in answers.values():
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].endswith('-med-bilag.pdf"')
    texts = {who: all_text(answer.content) for who, answer in answers.items()}
    shown = {who: [t for t in ("Webside offentlig", "Webside intern", "Webside lukket")
                   if t in text] for who, text in texts.items()}
    assert shown == {
        "public": ["Webside offentlig"], "public kept": ["Webside offentlig"],
        # BSU is on the open case's route (its not-public Bilag), not on the closed one's.
        "bsu": ["Webside offentlig", "Webside intern"],
        "su": ["Webside offentlig", "Webside intern", "Webside lukket"],
        "su kept": ["Webside offentlig", "Webside intern", "Webside lukket"],
        "api": ["Webside offentlig", "Webside intern", "Webside lukket"]}


def test_a_kept_publication_shows_a_not_public_bilag_only_to_those_who_may_read_it(engine,
                                                                                     folder):
    """With no closed item on the meeting, the members' kept version still lists a not-public
    Bilag by title: a member of another body gets the public version instead."""
    with write_session(engine) as session:
        case_with(session, "S-9", [("Fortroligt notat", pdf_with_text("Fortrolig side"), False),
                                   ("Offentligt bilag", pdf_with_text("Offentlig side"), True)])
        meeting = create_meeting(session, body="SU", day=date.today() + timedelta(days=30))
        place_case(session, meeting.id, "S-9", late_reason="Hastesag")
        publish_agenda(session, meeting.id, actor="test", late_reason="Test")
        meeting_id = meeting.id
    texts = {}
    with read_session(engine) as session:
        meeting = queries.get_meeting(session, meeting_id)
        for who, viewer in (("su", SU_MEMBER),
                            ("bsu", Viewer(role="member", bodies=frozenset({"BSU"})))):
            texts[who] = all_text(viewer_pdf(session, meeting, viewer, publication=1)) + \
                all_text(viewer_pdf(session, meeting, viewer, publication=1, med_bilag=True))
    assert "Fortroligt notat" in texts["su"] and "Fortrolig side" in texts["su"]
    assert "Fortroligt notat" not in texts["bsu"] and "Fortrolig side" not in texts["bsu"]
    assert "Offentligt bilag" in texts["bsu"] and "Offentlig side" in texts["bsu"]
