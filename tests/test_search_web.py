"""The search's pages, API and command: /soeg, /offentlig/soeg, /api/search and `sagsgang
search`, each with its filters, escaped snippets and the closed-item rule."""

import json

from click.testing import CliRunner
from web_fixtures import anonymous, as_role, bearer, close_on_agenda, days, logged_in, make_case

from cases.db import write_session
from cli.main import cli
from meetings.services import create_meeting, place_case, publish_agenda
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.rules import ReminderRules

RULES = ReminderRules(office_hours_only=False)


def sweep(engine) -> None:
    notify_changed_cases(engine, rules=RULES)
    notify_changed_meetings(engine, rules=RULES)


def published(engine, number: str, day_offset: int) -> int:
    with write_session(engine) as session:
        meeting = create_meeting(session, body="SU", day=days(day_offset))
        place_case(session, meeting.id, number, late_reason="test")
        publish_agenda(session, meeting.id, actor="test")
        return meeting.id


def test_the_staff_page_shows_hits_escaped_with_marks(web_app, web_engine):
    number = make_case(web_engine, title="Ny <script>alert(1)</script> vejplan",
                       summary="Planen blev udsat til foråret.")
    sweep(web_engine)
    html = as_role(web_app, "secretariat").get("/soeg", params={"q": "udsatte"}).text
    assert number in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "blev <mark>udsat</mark> til" in html
    assert f'href="/sager/{number}"' in html
    # Filters: another body, or another year, finds nothing.
    client = as_role(web_app, "secretariat")
    assert number not in client.get("/soeg", params={"q": "udsatte", "organ": "HR"}).text
    assert number not in client.get("/soeg", params={"q": "udsatte", "aar": "1999"}).text
    refused = client.get("/soeg", params={"q": "udsatte", "aar": "tyve"})
    assert refused.status_code == 200 and "Ugyldigt år" in refused.text


def test_the_staff_page_needs_a_login(web_app):
    response = anonymous(web_app).get("/soeg", params={"q": "udsatte"})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_public_page_finds_published_open_items_only(web_app, web_engine):
    open_case = make_case(web_engine, title="Åbent punkt om cykelstier",
                          summary="Cykelstierne udvides.")
    closed_case = make_case(web_engine, title="Lukket punkt om en borger",
                            summary="Borgerens cykelstier er hemmelige.")
    draft = make_case(web_engine, title="Kladde om cykelstier", submit=False)
    meeting_id = published(web_engine, open_case, 700)
    close_on_agenda(web_engine, closed_case)
    sweep(web_engine)
    html = anonymous(web_app).get("/offentlig/soeg", params={"q": "cykelsti"}).text
    assert "Åbent punkt om <mark>cykelstier</mark>" in html
    assert f'href="/offentlig/moeder/{meeting_id}' in html
    assert "hemmelige" not in html and "Lukket punkt" not in html and draft not in html
    # Logged in, the public page is still the public's.
    member = as_role(web_app, "member")
    assert "hemmelige" not in member.get("/offentlig/soeg", params={"q": "cykelsti"}).text
    # The member of SU reads the closed SU item on the staff page.
    assert "hemmelige" in member.get("/soeg", params={"q": "cykelsti"}).text


def test_the_api_finds_what_the_token_may_read(web_app, web_engine, api_tokens):
    closed_case = make_case(web_engine, title="Lukket sag om vandværket",
                            summary="Vandværkets fortrolige tal.", deciding_body="SU",
                            committees=("SU",))  # the BSU member is not on its route
    close_on_agenda(web_engine, closed_case)
    sweep(web_engine)
    client = anonymous(web_app)
    found = client.get("/api/search", params={"q": "vandværk", "organ": "SU"},
                       headers=bearer(api_tokens["secretariat"])).json()
    assert closed_case in {hit["case"] for hit in found["hits"]}
    assert any("<mark>" in hit["snippet_html"] for hit in found["hits"])
    other = client.get("/api/search", params={"q": "vandværk"},
                       headers=bearer(api_tokens["other_member"])).json()
    assert other["hits"] == []
    assert client.get("/api/search", params={"q": "vandværk"}).status_code == 401
    unknown = client.get("/api/search", params={"q": "vandværk", "organ": "XX"},
                         headers=bearer(api_tokens["secretariat"]))
    assert unknown.status_code == 404 and "Ukendt organ" in unknown.json()["detail"]


def test_the_command_searches_and_reindexes(web_db, monkeypatch):
    url, engine = web_db
    monkeypatch.setenv("DATABASE_URL", url)
    number = make_case(engine, title="Handicaprådets høring om boliger",
                       summary="Sagen blev udsat.")
    runner = CliRunner()
    rebuilt = runner.invoke(cli, ["search", "reindex"], catch_exceptions=False)
    assert rebuilt.exit_code == 0 and "Søgeindekset er bygget" in rebuilt.output
    result = runner.invoke(cli, ["search", "handicaprådet", "--organ", "KB", "--json"],
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)["hits"]
    assert [hit["case"] for hit in hits] == [number]
    assert hits[0]["title"] == "Handicaprådets høring om boliger"
    text = runner.invoke(cli, ["search", "udsatte", "--aar", str(days(0).year)]).output
    assert "«udsat»" in text and number in text
    public = runner.invoke(cli, ["search", "udsatte", "--offentlig"]).output
    assert number not in public  # on no published agenda
    wrong = runner.invoke(cli, ["search", "udsatte", "--organ", "XX"])
    assert wrong.exit_code == 1 and "Ukendt organ" in wrong.output


def test_logged_in_users_see_the_search_link(web_app):
    assert 'href="/soeg"' in logged_in(web_app, "medlem", "medlem-demo").get("/soeg").text
    assert 'href="/offentlig/soeg"' in anonymous(web_app).get("/offentlig").text
