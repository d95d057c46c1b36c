"""Bilag over HTTP, against the real app in its own process (uvicorn, tests/servers.py):
uploaded on the case page and through the API and downloaded byte-identical; the real type
found from the content whatever the name and Content-Type say; hostile names served safely;
never served to someone who may not read it (404 to the public and to a member of another
body, pages and API); an oversized file refused in Danish with nothing kept."""

import re
from html import unescape
from urllib.parse import unquote

import pytest
from bilag_samples import HTML, docx_with_text, pdf_with_text
from live_web import api_key, client, live_site, login, new_user, user_id
from servers import WebServer
from sqlmodel import select
from web_fixtures import ROLE_USERS, make_case

from cases import services
from cases.db import make_engine, read_session, write_session
from cases.models import Attachment, Blob, Membership
from demo.users import ensure_demo_users

pytestmark = pytest.mark.slow  # starts the web app under uvicorn

OWNER = ROLE_USERS["case_owner"]
OWNER_EMAIL = f"{OWNER[0]}@demo.sagsgang.invalid"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class Site:
    def __init__(self, server, engine, folder):
        self.server, self.engine, self.folder = server, engine, folder
        self.owner = login(server, *OWNER)
        self.su_member = login(server, *ROLE_USERS["member"])  # Socialudvalget
        username, password, other_id = new_user(engine, "member")
        with write_session(engine) as session:
            session.add(Membership(user_id=other_id, body_code="BSU"))
        self.other_member = login(server, username, password)
        self.tokens = {"secretariat": api_key(engine, user_id(engine, "sekretariat")),
                       "su_member": api_key(engine, user_id(engine, ROLE_USERS["member"][0])),
                       "other_member": api_key(engine, other_id)}
        self.anonymous = client(server)

    def case(self, **options) -> str:
        """A case of the owner's, treated by SU only (BSU is another body)."""
        return make_case(self.engine, owner_email=OWNER_EMAIL, deciding_body="SU",
                         committees=("SU",), **options)

    def upload_page(self, number: str, name: str, content: bytes, content_type: str,
                    **form):
        page = self.owner.get(f"/sager/{number}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        return self.owner.post(f"/sager/{number}/bilag",
                               data={"csrf_token": token, "title": "Et bilag", **form},
                               files={"file": (name, content, content_type)})

    def upload_api(self, number: str, name: str, content: bytes, content_type: str,
                   **form):
        return self.api("secretariat").post(
            f"/api/cases/{number}/attachments", data={"title": "Et bilag", **form},
            files={"file": (name, content, content_type)})

    def api(self, who: str):
        return client(self.server, Authorization=f"Bearer {self.tokens[who]}")

    def attachments(self) -> list[Attachment]:
        with read_session(self.engine) as session:
            return session.exec(select(Attachment).order_by(Attachment.id)).all()

    def stored(self) -> list:
        root = self.folder / "bilag"
        return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_sqlite):
    folder = tmp_path_factory.mktemp("bilag")
    with live_site(folder, migrated_sqlite, SAGSGANG_MAX_ATTACHMENT_MB="1") as (server, engine):
        yield Site(server, engine, folder)


def flashes(html: str) -> str:
    return unescape(" ".join(re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', html,
                                        re.S)))


def disposition_name(response) -> str:
    """The name in RFC 6266's filename* (UTF-8, percent-encoded), as a browser reads it."""
    header = response.headers["content-disposition"]
    assert header.isascii() and "\r" not in header and "\n" not in header
    return unquote(header.split("filename*=UTF-8''", 1)[1])


def test_uploaded_on_the_case_page_and_downloaded_byte_identical(site):
    number = site.case()
    content = pdf_with_text("Danmarkskort 2022") + bytes(range(256))
    hostile = '../../Kort "2022"\r\nX-Evil: 1 – æøå.pdf'
    response = site.upload_page(number, hostile, content, "text/html", recommended="on")
    assert response.status_code == 303, response.text
    assert "Bilaget «Et bilag» er vedhæftet." in flashes(site.owner.get(f"/sager/{number}").text)
    row = site.attachments()[-1]
    assert (row.recommended, row.public, row.media_type) == (True, True, "application/pdf")
    served = site.anonymous.get(f"/bilag/{row.id}")
    assert served.status_code == 200
    assert served.content == content
    assert served.headers["content-type"] == "application/pdf"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "x-evil" not in served.headers
    assert served.headers["cache-control"] == "no-cache"  # asked again: it may become closed
    assert site.su_member.get(f"/bilag/{row.id}").headers["cache-control"] == "no-store"
    # httpx, as browsers do, sends a quote as %22 and a line break as %0D%0A in the name;
    # the path parts are gone, the rest is served as it came (raw ones: test_bilag_files).
    assert row.filename == "Kort %222022%22%0D%0AX-Evil: 1 – æøå.pdf"
    assert disposition_name(served) == row.filename
    # The case page links it, with its name and size.
    page = site.owner.get(f"/sager/{number}").text
    assert f'<a href="/bilag/{row.id}">Et bilag</a>' in page and "(anbefales)" in page


def test_uploaded_through_the_api_with_a_wrong_content_type(site):
    number = site.case()
    content = docx_with_text("Høringssvar fra Handicaprådet")
    response = site.upload_api(number, "svar.pdf", content, "application/pdf",
                               recommended="true")
    assert response.status_code == 201, response.text
    made = response.json()
    assert (made["filename"], made["media_type"], made["recommended"], made["public"]) == \
        ("svar.pdf.docx", DOCX_TYPE, True, True)
    served = site.api("other_member").get(f"/api/attachments/{made['id']}")
    assert served.status_code == 200 and served.content == content
    assert served.headers["content-type"] == DOCX_TYPE
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    listed = site.api("secretariat").get(f"/api/cases/{number}/attachments").json()
    assert [a["url"] for a in listed] == [f"/bilag/{made['id']}"]
    with read_session(site.engine) as session:
        assert session.get(Attachment, made["id"]).text == "Høringssvar fra Handicaprådet"


def test_a_file_that_is_not_what_it_says_is_refused_and_nothing_kept(site):
    number = site.case()
    before, files_before = len(site.attachments()), site.stored()
    response = site.upload_api(number, "rapport.pdf", HTML, "application/pdf")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Filen kan ikke bruges som bilag.")
    response = site.upload_page(number, "rapport.pdf", HTML, "application/pdf")
    assert response.status_code == 303
    assert "Filen kan ikke bruges som bilag." in flashes(site.owner.get(f"/sager/{number}").text)
    assert len(site.attachments()) == before and site.stored() == files_before


def test_an_oversized_file_is_refused_in_danish_and_nothing_kept(site):
    number = site.case()
    before, files_before = len(site.attachments()), site.stored()
    just_over = pdf_with_text("stor") + b" " * (1024 * 1024)  # within the form's slack
    far_over = pdf_with_text("stor") + b" " * (3 * 1024 * 1024)  # past the body limit
    response = site.upload_api(number, "stor.pdf", just_over, "application/pdf")
    assert response.status_code == 400
    assert response.json()["detail"] == "Filen er for stor (1.0 MB). Et bilag må højst fylde 1 MB."
    response = site.upload_api(number, "stor.pdf", far_over, "application/pdf")
    assert response.status_code == 413
    assert response.json()["detail"] == "Filen er for stor. Et bilag må højst fylde 1 MB."
    response = site.upload_page(number, "stor.pdf", far_over, "application/pdf")
    assert response.status_code == 413 and "Et bilag må højst fylde 1 MB." in response.text
    response = site.upload_page(number, "stor.pdf", just_over, "application/pdf")
    assert response.status_code == 303
    assert "Et bilag må højst fylde 1 MB" in flashes(site.owner.get(f"/sager/{number}").text)
    assert len(site.attachments()) == before and site.stored() == files_before
    # Other requests keep their own limit.
    assert site.api("secretariat").post("/api/cases", content=b"x" * (5 * 1024 * 1024),
                                        headers={"Content-Type": "application/json"}
                                        ).status_code == 413


def _refused_and_allowed(site, attachment_id: int, number: str, title: str) -> None:
    path, api_path = f"/bilag/{attachment_id}", f"/api/attachments/{attachment_id}"
    for reader in (site.anonymous, site.other_member):
        response = reader.get(path)
        assert response.status_code == 404 and "Bilaget findes ikke." in response.text
    response = site.api("other_member").get(api_path)
    assert response.status_code == 404 and response.json() == {"detail": "Bilaget findes ikke."}
    assert title not in site.other_member.get(f"/sager/{number}").text
    assert title not in site.api("other_member").get(f"/api/cases/{number}").text
    assert site.api("other_member").get(f"/api/cases/{number}/attachments").json() == []
    # A member of a body on the case's route reads it, on the page and through the API.
    assert site.su_member.get(path).status_code == 200
    assert site.api("su_member").get(api_path).status_code == 200
    assert title in site.su_member.get(f"/sager/{number}").text


def test_a_not_public_bilag_is_404_to_the_public_and_to_another_bodys_member(site):
    number = site.case()
    response = site.upload_api(number, "notat.pdf", pdf_with_text("Internt notat"),
                               "application/pdf", title="Internt notat-bilag", public="false")
    assert response.status_code == 201, response.text
    _refused_and_allowed(site, response.json()["id"], number, "Internt notat-bilag")


def test_a_closed_cases_public_bilag_is_404_to_the_public_and_to_another_bodys_member(site):
    number = site.case(confidential=True)
    response = site.upload_page(number, "borger.pdf", pdf_with_text("Om en borger"),
                                "application/pdf", title="Borgerens ansøgning")
    assert response.status_code == 303
    row = site.attachments()[-1]
    assert row.public and row.title == "Borgerens ansøgning"
    _refused_and_allowed(site, row.id, number, "Borgerens ansøgning")


def test_a_bilag_removed_on_the_page_or_through_the_api_is_no_longer_served(site):
    number = site.case()
    for remove in ("page", "api"):
        made = site.upload_api(number, "forkert.pdf", pdf_with_text(f"Forkert {remove}"),
                               "application/pdf").json()
        assert site.anonymous.get(f"/bilag/{made['id']}").status_code == 200
        if remove == "page":
            page = site.owner.get(f"/sager/{number}").text
            assert f'action="/sager/{number}/bilag/{made["id"]}/fjern"' in page
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            response = site.owner.post(f"/sager/{number}/bilag/{made['id']}/fjern",
                                       data={"csrf_token": token})
            assert response.status_code == 303
            assert "Bilaget «Et bilag» er fjernet." in flashes(
                site.owner.get(f"/sager/{number}").text)
        else:
            response = site.api("secretariat").post(
                f"/api/cases/{number}/attachments/{made['id']}/remove")
            assert response.status_code == 200, response.text
        assert site.anonymous.get(f"/bilag/{made['id']}").status_code == 404
    assert site.api("secretariat").get(f"/api/cases/{number}/attachments").json() == []


def test_a_title_only_bilag_or_an_unknown_one_has_no_file(site):
    number = make_case(site.engine, owner_email=OWNER_EMAIL)
    with write_session(site.engine) as session:
        services.update_case(session, number, {"attachments": [{"title": "Kun titel"}]},
                             actor="test")
    row = site.attachments()[-1]
    assert site.anonymous.get(f"/bilag/{row.id}").status_code == 404
    assert site.anonymous.get("/bilag/99999999").status_code == 404



@pytest.mark.postgres
def test_several_web_workers_on_postgresql_share_the_files_in_the_database(tmp_path, pg_url):
    """The store for several web servers: two uvicorn workers, files in PostgreSQL. Whichever
    worker takes the upload, every download (each request may land on either) is the file."""
    engine = make_engine(pg_url)
    try:
        with write_session(engine) as session:
            ensure_demo_users(session)
        token = api_key(engine, user_id(engine, "sekretariat"))
        number = make_case(engine, owner_email=OWNER_EMAIL)
        env = {"DATABASE_URL": pg_url, "SAGSGANG_VAR_DIR": tmp_path,
               "SAGSGANG_SECRET_KEY": "s" * 40, "SAGSGANG_ATTACHMENT_STORE": "database"}
        content = pdf_with_text("Delt mellem webservere") + bytes(range(256))
        with WebServer(env, tmp_path, workers=2) as server:
            api = client(server, Authorization=f"Bearer {token}")
            made = api.post(f"/api/cases/{number}/attachments", data={"title": "Delt"},
                            files={"file": ("delt.pdf", content, "application/pdf")})
            assert made.status_code == 201, made.text
            for _ in range(6):
                served = client(server).get(f"/bilag/{made.json()['id']}")
                assert served.status_code == 200 and served.content == content
        with read_session(engine) as session:
            assert bytes(session.exec(select(Blob.content)).one()) == content
        assert not (tmp_path / "bilag").exists()  # nothing in the folder store
    finally:
        engine.dispose()
