"""The agenda as the seed shows it on the meeting pages: the public page, the members' page
(every item they may read, closed items of their own bodies included) and the landing page."""

import io

from pypdf import PdfReader
from sqlmodel import select
from web_fixtures import anonymous, as_role, bearer, days, logged_in, make_case, page_csrf

from cases.db import read_session, write_session
from cases.models import utcnow
from meetings import pdf, queries
from meetings.models import PublishedPdf
from meetings.pdf import checksum
from meetings.services import create_meeting, place_case, publish_agenda, set_closed

SECRET = "LUKKET-TEKST-5c1e"


def _agenda(engine, day: int) -> tuple[int, str, str]:
    """A published SU agenda: an open case (SU and BSU) and a closed case of SU only."""
    open_number = make_case(engine, title="Åben sag på siden", summary="Åbent sammendrag.")
    closed_number = make_case(engine, title="Lukket sag på siden", committees=("SU",),
                              summary=f"Fortroligt {SECRET}.")
    with write_session(engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(day)).id
        place_case(session, meeting_id, open_number)
        closed = place_case(session, meeting_id, closed_number)
        set_closed(session, closed.id, True)
        publish_agenda(session, meeting_id, actor="test", late_reason="Test")
    return meeting_id, open_number, closed_number


def test_the_members_page_shows_the_whole_agenda_they_may_read(web_app, web_engine):
    meeting_id, open_number, closed_number = _agenda(web_engine, 40)
    su_member = as_role(web_app, "member").get(f"/moeder/{meeting_id}").text
    bsu_member = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo").get(
        f"/moeder/{meeting_id}").text
    public = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    for html in (su_member, bsu_member, public):
        assert "Dagsorden</span>:" in html  # agenda or minutes, stated in the heading
        assert '<a href="#punkt-1">' in html and 'id="punkt-1"' in html  # contents, anchors
        assert "<h3>Sammendrag</h3>" in html and "Åbent sammendrag." in html
        assert "Lukket sag på siden" in html and "Lukket punkt" in html
        assert "<h3>Indstilling</h3>" in html and "<h3>Beslutningen træffes af</h3>" in html
    assert SECRET in su_member  # a closed item of the member's own body
    assert SECRET not in bsu_member and SECRET not in public
    assert f'href="/sager/{open_number}"' in su_member  # items linked to their cases
    assert f'href="/sager/{open_number}"' not in public


def test_a_members_landing_page_lists_their_next_meetings(web_app, web_engine):
    meeting_id, _, _ = _agenda(web_engine, 41)
    member = as_role(web_app, "member")
    landing = member.get("/", follow_redirects=True)
    assert landing.url.path == "/moeder"
    mine = landing.text.split('id="mine-moeder"')[1].split("</section>")[0]
    assert f'href="/moeder/{meeting_id}"' in mine and "Socialudvalget" in mine
    bsu = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo").get("/moeder").text
    assert f'href="/moeder/{meeting_id}"' not in bsu.split("<table>")[0]  # not theirs


def _pdf_text(content: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
                    .split())


def test_the_pdf_links_give_each_reader_what_they_may_read(web_app, web_engine, api_tokens):
    meeting_id, _, _ = _agenda(web_engine, 42)
    su_member = as_role(web_app, "member")
    assert f'href="/moeder/{meeting_id}/pdf"' in su_member.get(f"/moeder/{meeting_id}").text
    public_page = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    assert f'href="/offentlig/moeder/{meeting_id}/pdf"' in public_page
    answers = {
        "su": su_member.get(f"/moeder/{meeting_id}/pdf"),
        "bsu": logged_in(web_app, "bsu-medlem", "bsu-medlem-demo").get(
            f"/moeder/{meeting_id}/pdf"),
        "public": anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}/pdf"),
        "api": anonymous(web_app).get(f"/api/meetings/{meeting_id}/pdf",
                                      headers=bearer(api_tokens["member"])),
    }
    for answer in answers.values():
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/pdf"
        assert answer.headers["content-disposition"].startswith('inline; filename="moede-SU-')
    kept = f"/moeder/{meeting_id}/pdf?udgivelse=1"  # the publication: the same rule
    answers |= {"su kept": su_member.get(kept),
                "bsu kept": logged_in(web_app, "bsu-medlem", "bsu-medlem-demo").get(kept)}
    texts = {who: _pdf_text(answer.content) for who, answer in answers.items()}
    assert all(SECRET in texts[who] for who in ("su", "api", "su kept"))  # members of SU
    assert all(SECRET not in texts[who] for who in ("bsu", "public", "bsu kept"))
    for text in texts.values():
        assert "Lukket sag på siden" in text and "Åbent sammendrag." in text


def test_an_agenda_published_on_the_web_keeps_its_pdf(web_app, web_engine):
    number = make_case(web_engine, title="Sag i den gemte PDF")
    with write_session(web_engine) as session:
        meeting_id = create_meeting(session, body="SU", day=days(43)).id
        place_case(session, meeting_id, number)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/moeder/{meeting_id}/offentliggoer", data={
        "csrf_token": page_csrf(client), "late_reason": "Test", "confirmed": "ja"})
    assert response.status_code == 303
    # Until the worker has kept them, a PDF asked for is made from the publication.
    meanwhile = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=1")
    assert "Sag i den gemte PDF" in _pdf_text(meanwhile.content)
    with read_session(web_engine) as session:
        (publication,) = queries.publications(session, meeting_id)
        assert publication.id in pdf.unkept(session, utcnow(), 1000)
    while pdf.keep_unkept(web_engine):  # what the worker does, a few each sweep
        pass
    with read_session(web_engine) as session:
        assert publication.id not in pdf.unkept(session, utcnow(), 1000)
    with read_session(web_engine) as session:
        rows = session.exec(select(PublishedPdf).where(
            PublishedPdf.publication_id == publication.id)).all()
    assert sorted((row.public, row.with_bilag) for row in rows) == [
        (False, False), (True, False), (True, True)]  # the last: the samlet med bilag
    public_row = [row for row in rows if row.public and not row.with_bilag][0]
    page = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}").text
    assert f'href="/offentlig/moeder/{meeting_id}/pdf?udgivelse=1"' in page
    served = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=1")
    assert served.content == public_row.content
    assert checksum(served.content) == public_row.sha256
    assert "Sag i den gemte PDF" in _pdf_text(served.content)
    assert anonymous(web_app).get(
        f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=2").status_code == 404
