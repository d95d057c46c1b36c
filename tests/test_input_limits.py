"""What enters is checked where it enters, and every refusal is one Danish JSON shape: probes of
the app running under uvicorn in its own process (issue 10, items 8).

Each text has a length limit and no control characters (CR/LF only in texts of several lines);
hearing parties' addresses are read as exactly one recipient or refused; ids beyond the
database's integers are 404, not 500; malformed JSON, wrong types, wrong methods and bodies too
large answer {"detail": "<Danish>"}.
"""

import json

import pytest
from servers import database_dump
from sqlmodel import select
from web_fixtures import CENTRE, bearer, http_client, make_case, served

from cases.db import read_session, write_session
from cases.models import HearingParty
from meetings.services import create_meeting
from web import users
from workflow.errors import InvalidInput

pytestmark = pytest.mark.slow  # starts the web server in a process of its own

LINE_PROBLEM = "må ikke indeholde linjeskift eller styretegn"
# What pydantic, Starlette and FastAPI say on their own: never shown to a user.
ENGLISH = ("Input should", "Invalid JSON", "Field required", "Not Found", "Method Not Allowed",
           "Content Too Large", "There was an error", "JSON decode", "Expecting")


@pytest.fixture(scope="module")
def server(web_db, tmp_path_factory):
    with served(web_db[0], tmp_path_factory.mktemp("input-web")) as running:
        yield running


@pytest.fixture(scope="module")
def api(server, api_tokens):
    client = http_client(server)
    client.headers.update(bearer(api_tokens["secretariat"]))
    yield client
    client.close()


def danish_error(response, status: int) -> str:
    """The one error shape: {"detail": message}, in Danish."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["detail"] and isinstance(body["detail"], str), body
    assert not any(word in body["detail"] for word in ENGLISH), body["detail"]
    return body["detail"]


def rows(engine) -> dict:
    """Every row but the API keys' (whose last use an answer keeps)."""
    return {table: found for table, found in database_dump(engine).items()
            if table != "web_api_token"}


def new_case(number: str, **fields) -> dict:
    return {"number": number, "title": "Plan for ældreområdet", "centre": CENTRE,
            "deciding_body": "KB", "committees": ["SU"], "proposals": ["at planen godkendes"],
            **fields}


# -- ids ---------------------------------------------------------------------------------------

HUGE = "99999999999999999999"  # past 64 bits (SQLite's integer)
BIG = "3000000000"  # past 32 bits (PostgreSQL's integer), within SQLite's


def test_ids_beyond_the_databases_integers_are_not_found(server, api, api_tokens):
    for path in (f"/api/meetings/{HUGE}/agenda", f"/api/meetings/{BIG}/agenda",
                 f"/api/meetings/{'9' * 5000}/agenda", f"/api/meetings/-{HUGE}/agenda",
                 f"/api/cases?limit={HUGE}"):
        assert danish_error(api.get(path), 404) == "Siden findes ikke.", path
    refused = api.post(f"/api/hearings/{HUGE}/close", json={"closed_on": "01-12-2030"})
    assert danish_error(refused, 404) == "Siden findes ikke."
    anonymous = http_client(server)
    for path in (f"/offentlig/moeder/{HUGE}", f"/offentlig/moeder/{BIG}"):
        page = anonymous.get(path)
        assert page.status_code == 404 and "Siden findes ikke." in page.text, path
    signed_in = http_client(server, "sekretariat", "sekretariat-demo")
    assert signed_in.get(f"/moeder/{HUGE}").status_code == 404


# -- texts -------------------------------------------------------------------------------------

def test_control_characters_are_refused_in_titles_and_names_and_nothing_is_written(
        api, web_engine):
    before = rows(web_engine)
    for field, value in [("title", "Plan\x00for ældre"), ("title", "Plan\r\nBcc: x@y.dk"),
                         ("title", "Plan\tfor ældre"), ("owner_name", "Bo\nSagsbehandler"),
                         ("owner_name", "Bo\x1b[31m"), ("centre", "Center for\nVoksne")]:
        refused = api.post("/api/cases", json=new_case("IN-1", **{field: value}))
        message = danish_error(refused, 400)
        assert message.startswith("Ugyldigt input") and LINE_PROBLEM in message, message
    refused = api.post("/api/cases", json=new_case("IN-1", summary="Linje 1\n\x00Linje 2"))
    assert "sammendrag: må ikke indeholde styretegn" in danish_error(refused, 400)
    assert rows(web_engine) == before
    # Line breaks are at home in a text of several lines; a title's outer spaces are trimmed.
    made = api.post("/api/cases", json=new_case("IN-2", title=" Plan \n",
                                                summary="Linje 1\r\nLinje 2\n\tindrykket"))
    assert made.status_code == 201, made.text
    assert made.json()["title"] == "Plan" and made.json()["summary"].count("\n") == 2


def test_every_text_has_a_length_limit(api, web_engine):
    case = make_case(web_engine)
    hearing = {"title": "Høring", "parties": ["HR"], "deadline": "01-12-2030",
               "opened_on": "01-11-2030"}
    for changed, expected in [({"title": "H" * 301}, "må højst have 300 tegn"),
                              ({"parties": ["HR"] * 101}, "højst have 100 parter"),
                              ({"title": "Høring\r\n"}, None),  # trailing: trimmed
                              ({"title": "Hø\rring"}, LINE_PROBLEM)]:
        answer = api.post(f"/api/cases/{case}/hearings", json={**hearing, **changed})
        if expected is None:
            assert answer.status_code == 201, answer.text
        else:
            assert expected in danish_error(answer, 400)
    assert "højst 20 elementer" in danish_error(
        api.post("/api/cases", json=new_case("IN-3", committees=["SU"] * 21)), 400)
    # A case with every text at its longest fits the body limit, even \u-escaped (3 MB).
    text = "æ" * 50_000
    largest = new_case("IN-6", title="æ" * 300, summary=text, background=text,
                       presentation=text, economy=text, proposals=["æ" * 5000] * 50,
                       attachments=[{"title": "æ" * 300}] * 200)
    escaped = json.dumps(largest).encode()  # ensure_ascii: "æ" as \u00e6
    assert len(escaped) > 3_000_000
    made = api.post("/api/cases", content=escaped, headers={"content-type": "application/json"})
    assert made.status_code == 201, made.text
    assert danish_error(api.post("/api/cases", json={**largest, "number": "IN-7",
                                                     "economy": text + "æ"}), 400) == \
        "Ugyldigt input – økonomiske konsekvenser: højst 50000 tegn"


def test_meeting_fields_and_user_names_refuse_control_characters(web_engine):
    """Where text enters without a model: the meeting services and the users' checks."""
    with pytest.raises(InvalidInput, match="Mødestedet " + LINE_PROBLEM):
        with write_session(web_engine) as session:
            create_meeting(session, body="SU", day="05-01-2032", place="Rådhuset\r\nLokale 2")
    with pytest.raises(InvalidInput, match="Mødestedet må højst have 300 tegn"):
        with write_session(web_engine) as session:
            create_meeting(session, body="SU", day="05-01-2032", place="R" * 301)
    for name in ("Bo\x85Berg", "Bo\u2028Berg", "Bo\x00"):  # C1 control, line separator, NUL
        with pytest.raises(InvalidInput, match=LINE_PROBLEM):
            with write_session(web_engine) as session:
                users.create_user(session, username="bo", name=name, email="bo@ballerup.dk",
                                  role="secretariat", password="en-lang-adgangskode")


# -- addresses ---------------------------------------------------------------------------------

def test_hearing_parties_addresses_are_one_valid_recipient_or_refused(api, web_engine):
    case = make_case(web_engine)
    hearing = {"title": "Høring", "deadline": "01-12-2030", "opened_on": "01-11-2030"}
    before = rows(web_engine)
    for party, expected in [
            ("Nogen <ikke-en-adresse>", "«ikke-en-adresse» er ikke en gyldig e-mailadresse"),
            ('"Bar <a@ballerup.dk>" <c@example.org>', "kan ikke læses"),
            ("Foo <evil@example.org> <good@ballerup.dk>", "kan ikke læses"),
            ("Foo <evil@example.org>, Bar <good@ballerup.dk>", "kan ikke læses"),
            ("Nogen <a@b>", "er ikke en gyldig e-mailadresse"),
            ("Nogen <a@ballerup.dk", "kan ikke læses"),
            ("Nogen\r\nBcc: x@example.org <a@ballerup.dk>", LINE_PROBLEM)]:
        refused = api.post(f"/api/cases/{case}/hearings",
                           json={**hearing, "parties": ["HR", party]})
        assert expected in danish_error(refused, 400), party
    assert rows(web_engine) == before
    made = api.post(f"/api/cases/{case}/hearings", json={**hearing, "parties": [
        "HR", "Kirkens Korshær <kk@example.org>", "Ældre Sagen, Ballerup <as@example.org>",
        "info@example.org", "Udsatterådet"]})
    assert made.status_code == 201, made.text
    with read_session(web_engine) as session:
        parties = session.exec(select(HearingParty.name, HearingParty.email).where(
            HearingParty.hearing_id == made.json()["id"]).order_by(HearingParty.id)).all()
    assert [tuple(p) for p in parties] == [
        ("Handicaprådet", ""), ("Kirkens Korshær", "kk@example.org"),
        ("Ældre Sagen, Ballerup", "as@example.org"), ("info@example.org", "info@example.org"),
        ("Udsatterådet", "")]
    # A case owner's address is an address alone, checked by the same rule.
    for address in ("Bo <bo@ballerup.dk>", "bo@ballerup", "bo\n@ballerup.dk"):
        refused = api.post("/api/cases", json=new_case("IN-4", owner_email=address))
        assert "sagsbehandlers e-mail: er ikke en gyldig e-mailadresse" in \
            danish_error(refused, 400), address


# -- one error shape ---------------------------------------------------------------------------

def test_every_api_error_is_one_danish_json_shape(server, api):
    json_type = {"content-type": "application/json"}
    assert danish_error(api.post("/api/cases", content=b"{bad", headers=json_type), 400) == \
        "Ugyldigt input – indholdet er ikke gyldig JSON"
    assert danish_error(api.post("/api/cases", content=b"", headers=json_type), 400) == \
        "Ugyldigt input – indholdet skal udfyldes"
    assert danish_error(api.post("/api/cases", json=[1, 2]), 400) == \
        "Ugyldigt input – indholdet skal være et objekt med felter"
    assert danish_error(api.post("/api/cases", json=new_case("IN-5", committees="SU")), 400) == \
        "Ugyldigt input – fagudvalg: skal være en liste"
    wrong = api.post("/api/cases/X/hearings", json={"title": "H", "parties": "HR",
                                                     "deadline": 5, "opened_on": "01-11-2030"})
    assert danish_error(wrong, 400) == ("Ugyldigt input – høringsparter: skal være en liste; "
                                        "høringsfrist: skal være tekst")
    assert danish_error(api.get("/api/cases?limit=mange"), 400) == \
        "Ugyldigt input – antal: skal være et helt tal"
    assert danish_error(api.put("/api/cases"), 405) == "Metoden er ikke tilladt her."
    assert danish_error(api.get("/api/ingenting"), 404) == "Siden findes ikke."
    too_large = api.post("/api/cases", content=b"[" + b"1," * (2 * 1024 * 1024) + b"1]",
                         headers=json_type)
    assert danish_error(too_large, 413) == "Forespørgslen er for stor (højst 4 MB)."
    anonymous = http_client(server)
    assert danish_error(anonymous.get("/api/cases"), 401) == "Log ind med en gyldig API-nøgle."
