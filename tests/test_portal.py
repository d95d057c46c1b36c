"""The public portal without a browser: the front page, a body's page and years, a meeting's
page, the Atom feed, the accessibility statement, and the municipality's colour and logo.

The meetings are made through the real services, at the times they happen: Socialudvalget
met last year (an open and a closed item, decided, the minutes final) and two years ago,
has a meeting last year whose agenda never went out, and one to come."""

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from query_count import queries_during
from web_fixtures import anonymous, make_case, today

from cases.db import write_session
from cases.organisation import DEFAULT_COLOUR, contrast, parse_organisation
from cases.settings import PROJECT_DIR, get_settings
from meetings import queries
from meetings.calendar import local_instant
from meetings.services import (
    create_meeting,
    place_case,
    publish_agenda,
    record_item_decision,
    refresh_minutes_status,
    send_minutes_for_approval,
    set_closed,
)

ATOM = "{http://www.w3.org/2005/Atom}"


def at(day: date, hour: int = 12):
    return local_instant(day) + timedelta(hours=hour)


def held_meeting(engine, day: date, cases: list[tuple[str, bool, str]], *,
                 supplement: tuple[str, bool, str] | None = None, final: bool = True) -> int:
    """A meeting of SU on `day`: the cases placed (number, closed, decision text) and the
    agenda published ten days before (the `supplement` on a tillægsdagsorden a week before),
    each decided on the day, the minutes final five days after."""
    with write_session(engine) as session:
        meeting = create_meeting(session, body="SU", day=day, place="Rådhuset, mødelokale 1",
                                 now=at(day - timedelta(days=40)))
        for number, closed, _ in cases:
            item = place_case(session, meeting.id, number, now=at(day - timedelta(days=30)))
            if closed:
                set_closed(session, item.id, True)
        publish_agenda(session, meeting.id, actor="test", now=at(day - timedelta(days=10)))
        if supplement:
            place_case(session, meeting.id, supplement[0], late_reason="Hastesag",
                       now=at(day - timedelta(days=8)))
            publish_agenda(session, meeting.id, actor="test", now=at(day - timedelta(days=7)))
            cases = [*cases, supplement]
        for item, (_, _, decision) in zip(queries.items(session, meeting.id), cases,
                                          strict=True):
            record_item_decision(session, item.id, wording="godkendt", actor="test",
                                 decision_text=decision, now=at(day, 20))
        if final:
            send_minutes_for_approval(session, meeting.id, objection_deadline=day + timedelta(2),
                                      now=at(day + timedelta(days=1)))
            refresh_minutes_status(session, queries.get_meeting(session, meeting.id),
                                   at(day + timedelta(days=5)))
        return meeting.id


def su_case(engine, title: str, summary: str) -> str:
    return make_case(engine, title=title, summary=summary, deciding_body="SU", committees=())


@pytest.fixture(scope="module")
def world(web_engine):
    last_year, two_years_ago = today().year - 1, today().year - 2
    open_case = su_case(web_engine, "Ny legeplads ved Hedegården", "ÅBEN-SAGSTEKST")
    closed_case = su_case(web_engine, "Personsag om hjælpemidler", "LUKKET-SAGSTEKST")
    urgent = su_case(web_engine, "Hastesag om vintervedligehold", "Sne og is")
    held = held_meeting(web_engine, date(last_year, 10, 4), [
        (open_case, False, "Legepladsen bygges i foråret."),
        (closed_case, True, "Ansøgningen imødekommes.")],
        supplement=(urgent, False, "Ekstra saltning godkendes."))
    older = held_meeting(web_engine, date(two_years_ago, 5, 3), [
        (su_case(web_engine, "Gammel sag", "Gammel tekst"), False, "Taget til efterretning.")])
    later = su_case(web_engine, "Kommende sag", "Kommer snart")
    with write_session(web_engine) as session:
        unpublished = create_meeting(session, body="SU", day=date(last_year, 11, 8),
                                     now=at(date(last_year, 10, 1))).id
        coming = create_meeting(session, body="SU", day=today() + timedelta(days=30)).id
        place_case(session, coming, later)
        publish_agenda(session, coming, actor="test")
        planned = create_meeting(session, body="SU", day=today() + timedelta(days=44)).id
    return {"held": held, "older": older, "unpublished": unpublished, "coming": coming,
            "planned": planned, "last_year": last_year, "two_years_ago": two_years_ago}


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_front_page_shows_coming_meetings_then_the_bodies_and_a_search(web_app, world):
    html = anonymous(web_app).get("/offentlig").text
    coming = html.index("Kommende møder")
    assert coming < html.index("Kommunalbestyrelse, udvalg og råd")
    assert html.index(f'href="/offentlig/moeder/{world["coming"]}"') > coming
    assert 'href="/offentlig/organ/SU"' in html and 'href="/offentlig/organ/%C3%98U"' in html
    assert 'action="/offentlig/soeg"' in html and 'name="q"' in html
    assert "Ballerup Kommune" in html
    # A planned meeting is in the plan, with no link: its agenda is not out.
    assert f'/offentlig/moeder/{world["planned"]}' not in html
    assert "Dagsordenen offentliggøres senest" in html


def test_the_body_page_has_members_plan_feeds_years_and_follow(web_app, world):
    response = anonymous(web_app).get("/offentlig/organ/SU")
    assert response.status_code == 200
    html = response.text
    assert "Socialudvalget" in html
    assert "Mads Medlem" in html and "(Medlem)" in html
    assert "@" not in text_of(html)  # no addresses, only names and roles
    assert 'href="/offentlig/foelg?organ=SU"' in html and "Følg udvalget på e-mail" in html
    assert 'href="/feeds/organ/SU.atom"' in html and 'href="/feeds/organ/SU.ics"' in html
    assert 'rel="alternate" type="application/atom+xml"' in html  # found by feed readers
    years = re.findall(r'href="/offentlig/organ/SU/(\d{4})"', html)
    assert years == [str(world["last_year"]), str(world["two_years_ago"])]
    assert html.index(f'/offentlig/moeder/{world["coming"]}') < html.index("Tidligere møder")


def test_a_year_lists_its_published_meetings_with_what_was_published(web_app, world):
    html = anonymous(web_app).get(f"/offentlig/organ/SU/{world['last_year']}").text
    assert f'/offentlig/moeder/{world["held"]}"' in html
    assert f'/offentlig/moeder/{world["older"]}"' not in html  # another year
    assert f'/offentlig/moeder/{world["unpublished"]}' not in html  # never published
    shown = text_of(html)
    published_on = date(world["last_year"], 9, 24).strftime("%d-%m-%Y")
    supplement_on = date(world["last_year"], 9, 27).strftime("%d-%m-%Y")
    final_on = date(world["last_year"], 10, 9).strftime("%d-%m-%Y")
    assert f"Dagsorden offentliggjort {published_on}" in shown
    assert f"Tillægsdagsorden offentliggjort {supplement_on}" in shown
    assert f'href="/offentlig/moeder/{world["held"]}/pdf?udgivelse=2"' in html
    assert f"Referat offentliggjort {final_on}" in shown
    assert f'href="/offentlig/moeder/{world["held"]}/pdf?udgivelse=1"' in html
    assert f'href="/offentlig/moeder/{world["held"]}/pdf"' in html
    held_on = date(world["last_year"], 10, 4)
    weekday = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")[
        held_on.weekday()]
    assert f"{weekday} {held_on:%d-%m-%Y} kl." in shown  # the meeting's day in Danish


def test_a_year_without_meetings_and_a_year_that_is_none_are_not_found(web_app, world):
    client = anonymous(web_app)
    for path in ("/offentlig/organ/SU/1999", "/offentlig/organ/SU/99999",
                 "/offentlig/organ/SU/-5", "/offentlig/organ/XX", "/offentlig/organ/XX/2022"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Traceback" not in response.text
    assert "ingen møder med offentliggjort dagsorden i 1999" in \
        client.get("/offentlig/organ/SU/1999").text
    assert client.get(f"/offentlig/moeder/{world['unpublished']}").status_code == 404
    refused = client.get("/offentlig/organ/SU/abc")
    assert refused.status_code == 400 and "skal være et helt tal" in refused.text


def test_the_meeting_page_shows_a_closed_item_as_number_title_and_decision(web_app, world):
    html = anonymous(web_app).get(f"/offentlig/moeder/{world['held']}").text
    assert 'class="dokumenttype dokumenttype-referat">Referat<' in html
    assert "ÅBEN-SAGSTEKST" in html and "Legepladsen bygges i foråret." in html
    assert 'Punkt 2 <span class="titel">Personsag om hjælpemidler</span>' in html
    assert "Ansøgningen imødekommes." in html
    assert "LUKKET-SAGSTEKST" not in html
    assert 'href="#punkt-1"' in html  # the table of contents
    crumbs = re.search(r'<nav class="broedkrumme".*?</nav>', html, re.S).group(0)
    assert 'href="/offentlig/organ/SU"' in crumbs
    assert f'href="/offentlig/organ/SU/{world["last_year"]}"' in crumbs
    assert f'href="/offentlig/moeder/{world["held"]}/pdf"' in html


def test_the_atom_feed_is_valid_with_stable_entries(web_app, world):
    client = anonymous(web_app)
    response = client.get("/feeds/organ/SU.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}title").text.startswith("Socialudvalget")
    assert feed.find(f"{ATOM}author/{ATOM}name").text == "Ballerup Kommune"
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.find(f"{ATOM}title").text for e in entries]
    day = f"04-10-{world['last_year']}"
    assert f"Dagsorden: Socialudvalget {day}" in titles
    assert f"Referat: Socialudvalget {day}" in titles
    supplement = entries[titles.index(f"Tillægsdagsorden: Socialudvalget {day}")]
    assert supplement.find(f"{ATOM}summary").text == "Punkt 3: Hastesag om vintervedligehold"
    assert len([t for t in titles if t.startswith("Dagsorden")]) == 3  # held, older, coming
    assert f'/offentlig/moeder/{world["unpublished"]}"' not in response.text
    updated = [e.find(f"{ATOM}updated").text for e in entries]
    assert updated == sorted(updated, reverse=True)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", u) for u in updated)
    ids = [e.find(f"{ATOM}id").text for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    again = ET.fromstring(client.get("/feeds/organ/SU.atom").content)
    assert [e.find(f"{ATOM}id").text for e in again.findall(f"{ATOM}entry")] == ids
    summary = entries[titles.index(f"Referat: Socialudvalget {day}")].find(f"{ATOM}summary")
    assert "Ny legeplads ved Hedegården" in summary.text
    assert "Personsag" not in response.text and "LUKKET" not in response.text


def test_the_accessibility_statement_is_linked_from_every_page(web_app, world):
    client = anonymous(web_app)
    statement = text_of(client.get("/offentlig/tilgaengelighed").text)
    for words in ("Overholdelsesstatus", "WCAG 2.1", "Indhold, der ikke er tilgængeligt",
                  "Feedback", "Digitaliseringsstyrelsen", "Ligebehandlingsnævnet"):
        assert words in statement
    for path in ("/offentlig", "/offentlig/organ/SU", f"/offentlig/moeder/{world['held']}",
                 "/offentlig/soeg", "/login", "/ingen-side"):
        assert 'href="/offentlig/tilgaengelighed"' in client.get(path).text, path


def test_the_municipalitys_colour_keeps_aa_contrast_or_the_file_is_refused():
    assert contrast(DEFAULT_COLOUR, "#ffffff") >= 4.5
    assert parse_organisation({"municipality": {"colour": "#00594F"}}).colour == "#00594f"
    for bad in ("#ffcc00", "rød", "#abc"):
        with pytest.raises(ValueError, match="colour"):
            parse_organisation({"municipality": {"colour": bad}})


def test_the_colour_and_logo_come_from_the_organisation_file(web_app, tmp_path, monkeypatch):
    client = anonymous(web_app)
    assert f"--accent:{DEFAULT_COLOUR}" in client.get("/offentlig/farver.css").text
    assert client.get("/offentlig/logo").status_code == 404
    assert 'src="/offentlig/logo"' not in client.get("/offentlig").text
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    source = (PROJECT_DIR / "config" / "ballerup.toml").read_text(encoding="utf-8")
    changed = tmp_path / "org.toml"
    changed.write_text(source.replace('[municipality]\n', '[municipality]\nlogo = "logo.svg"\n'
                                      'colour = "#00594f"\n'), encoding="utf-8")
    monkeypatch.setenv("SAGSGANG_ORGANISATION", str(changed))
    get_settings.cache_clear()
    assert "--accent:#00594f" in client.get("/offentlig/farver.css").text
    served = client.get("/offentlig/logo")
    assert served.status_code == 200 and served.headers["content-type"] == "image/svg+xml"
    assert 'src="/offentlig/logo"' in client.get("/offentlig").text


def test_the_front_page_reads_its_meetings_publications_and_items_together(web_app, web_engine):
    """The meeting plan is the page a crowd comes to: its queries must not grow with the
    meetings it lists (it cost three per meeting)."""
    def queries_for_front_page() -> tuple[int, str]:
        count, response = queries_during(lambda: anonymous(web_app).get("/offentlig"))
        assert response.status_code == 200
        return count, response.text

    def coming_meeting(days: int, title: str) -> int:
        number = make_case(web_engine, title=title, committees=("UGO",))
        with write_session(web_engine) as session:
            meeting = create_meeting(session, body="UGO", day=today() + timedelta(days=days))
            place_case(session, meeting.id, number, late_reason="Hastesag")
            publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
            return meeting.id

    first = coming_meeting(2, "Første kommende UGO-sag")
    one, _ = queries_for_front_page()
    more = [coming_meeting(days, f"UGO-sag om {days} dage") for days in (3, 4)]
    three, html = queries_for_front_page()
    assert three == one
    assert all(f'href="/offentlig/moeder/{meeting}"' in html for meeting in [first, *more])
