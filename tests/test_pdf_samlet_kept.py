"""The public's samlet dagsorden med bilag kept as published (published_pdf.with_bilag): made
when the agenda is published on the web, served from there on /offentlig/moeder/N/pdf
?udgivelse=1&med_bilag=1 (and to a signed-in reader who gets the public version), checked
against its checksum, and never while it holds a Bilag the public may not read now."""

import io

import pytest
from bilag_samples import pdf_with_text
from pypdf import PdfReader
from sqlmodel import select
from web_fixtures import anonymous, as_role, days, logged_in, make_case, page_csrf

from cases import files
from cases.db import read_session, write_session
from cases.models import Attachment
from cases.settings import get_settings
from meetings import queries
from meetings.models import PublishedPdf
from meetings.pdf import checksum, keep_unkept
from meetings.services import create_meeting, place_case

_days = iter(range(300, 10_000, 7))


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SAGSGANG_ATTACHMENT_DIR", str(tmp_path / "bilag"))
    get_settings.cache_clear()
    return tmp_path / "bilag"


def all_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def titles(content: bytes) -> str:
    """Every bookmark's title, the Bilag's under their item's included."""
    def walk(entries):
        for entry in entries:
            yield from walk(entry) if isinstance(entry, list) else [entry.title]
    return "\n".join(walk(PdfReader(io.BytesIO(content)).outline))


def published(web_app, engine, tag: str) -> tuple[int, dict[str, int]]:
    """An SU agenda published on the web: one open case (SU's only: a BSU member is not on
    its route) with two public Bilag PDFs and a not-public one. Returns the meeting and
    the Bilag ids by title."""
    number = make_case(engine, title=f"Sag med bilag {tag}", committees=("SU",))
    with write_session(engine) as session:
        bilag = {title: files.attach(session, number, filename="b.pdf", public=public,
                                     content=pdf_with_text(f"{title} side {tag}"),
                                     title=title, actor="test").id
                 for title, public in (("Kort", True), ("Plan", True), ("Notat", False))}
        meeting_id = create_meeting(session, body="SU", day=days(next(_days))).id
        place_case(session, meeting_id, number)
    client = as_role(web_app, "secretariat")
    response = client.post(f"/moeder/{meeting_id}/offentliggoer", data={
        "csrf_token": page_csrf(client), "late_reason": "Test", "confirmed": "ja"})
    assert response.status_code == 303
    while keep_unkept(engine):  # what the worker does, a few each sweep
        pass
    return meeting_id, bilag


def kept_samlet(engine, meeting_id: int) -> PublishedPdf:
    with read_session(engine) as session:
        (publication,) = queries.publications(session, meeting_id)
        (row,) = session.exec(select(PublishedPdf).where(
            PublishedPdf.publication_id == publication.id, PublishedPdf.with_bilag)).all()
        return row


def samlet_url(meeting_id: int) -> str:
    return f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=1&med_bilag=1"


def test_publishing_keeps_the_public_samlet_pdf_with_its_checksum(web_app, web_engine, folder):
    meeting_id, bilag = published(web_app, web_engine, "a")
    row = kept_samlet(web_engine, meeting_id)
    assert row.public and row.closed_items == ""
    assert row.bilag == f"{bilag['Kort']},{bilag['Plan']}"  # the public's, in their order
    assert row.sha256 == checksum(row.content) and row.size == len(row.content)
    text = all_text(row.content)
    assert "Kort side a" in text and "Plan side a" in text
    assert "Notat side a" not in text and "Notat" not in titles(row.content)
    served = anonymous(web_app).get(samlet_url(meeting_id))
    assert served.status_code == 200
    assert served.content == row.content
    assert served.headers["content-disposition"].endswith('-med-bilag.pdf"')


def test_the_kept_samlet_is_what_is_served(web_app, web_engine, folder):
    """A kept row rewritten (with a checksum that fits) is served as it is: the samlet PDF
    comes from the row, not made anew; to the public and to a signed-in reader of the
    public version alike. The members' samlet version is made anew (not kept)."""
    meeting_id, _ = published(web_app, web_engine, "b")
    other = pdf_with_text("Gemt samlet udgave")
    with write_session(web_engine) as session:
        row = session.get(PublishedPdf, kept_samlet(web_engine, meeting_id).id)
        row.content, row.sha256, row.size = other, checksum(other), len(other)
    assert anonymous(web_app).get(samlet_url(meeting_id)).content == other
    bsu_member = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo")
    assert bsu_member.get(f"/moeder/{meeting_id}/pdf?udgivelse=1&med_bilag=1").content == other
    su_member = as_role(web_app, "member")
    members = su_member.get(f"/moeder/{meeting_id}/pdf?udgivelse=1&med_bilag=1").content
    assert "Notat side b" in all_text(members) and "Kort side b" in all_text(members)
    # Without med_bilag the document, as kept.
    plain = anonymous(web_app).get(f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=1")
    assert plain.status_code == 200 and "Gemt samlet udgave" not in all_text(plain.content)


def make_not_public(engine, attachment_id: int) -> None:
    with write_session(engine) as session:
        session.get(Attachment, attachment_id).public = False


def remove(engine, attachment_id: int) -> None:
    with write_session(engine) as session:
        attachment = session.get(Attachment, attachment_id)
        session.delete(attachment)


@pytest.mark.parametrize("change", [make_not_public, remove], ids=["not public", "removed"])
def test_a_bilag_the_public_may_no_longer_read_is_not_served_from_the_kept_samlet(
        web_app, web_engine, folder, change):
    meeting_id, bilag = published(web_app, web_engine, "c")
    kept = kept_samlet(web_engine, meeting_id)
    change(web_engine, bilag["Plan"])
    served = anonymous(web_app).get(samlet_url(meeting_id))
    assert served.status_code == 200 and served.content != kept.content
    text = all_text(served.content)
    assert "Plan side c" not in text and "Bilag 2: Plan" not in titles(served.content)
    assert "Kort side c" in text  # made anew, with what the public may read now
    assert "Notat side c" not in text
    bsu_member = logged_in(web_app, "bsu-medlem", "bsu-medlem-demo")
    as_member = bsu_member.get(f"/moeder/{meeting_id}/pdf?udgivelse=1&med_bilag=1")
    assert as_member.status_code == 200 and "Plan side c" not in all_text(as_member.content)


def test_a_bilag_made_public_after_publication_leaves_the_kept_samlet_as_published(
        web_app, web_engine, folder):
    """The public version lists the Bilag that were public when it was published: one made
    public since is not added, and the kept samlet PDF is still the one served."""
    meeting_id, bilag = published(web_app, web_engine, "d")
    with write_session(web_engine) as session:
        session.get(Attachment, bilag["Notat"]).public = True
    served = anonymous(web_app).get(samlet_url(meeting_id)).content
    assert served == kept_samlet(web_engine, meeting_id).content
    assert "Notat side d" not in all_text(served)


def test_a_damaged_kept_samlet_is_refused(web_app, web_engine, folder):
    meeting_id, _ = published(web_app, web_engine, "e")
    with write_session(web_engine) as session:
        row = session.get(PublishedPdf, kept_samlet(web_engine, meeting_id).id)
        row.content = row.content[:-10] + b"0123456789"
    refused = anonymous(web_app).get(samlet_url(meeting_id))
    assert refused.status_code == 404
    assert "kontrolsum" in refused.text
    assert b"Kort side e" not in refused.content
    # The document itself is kept apart, and still served.
    assert anonymous(web_app).get(
        f"/offentlig/moeder/{meeting_id}/pdf?udgivelse=1").status_code == 200
