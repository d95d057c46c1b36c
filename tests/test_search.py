"""Search in Danish (meetings.search), on SQLite and PostgreSQL: inflections found, title hits
first, filters, escaped snippets, the closed-item rule and the published agendas applied to
every hit, and the index kept up to date by the sweep."""

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select
from web_fixtures import member

from cases import actions, services
from cases.db import read_session, write_session
from cases.models import Attachment
from cases.settings import current_organisation
from meetings import search, searchtext
from meetings.services import create_meeting, place_case, publish_agenda, set_closed
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.rules import ReminderRules
from workflow import access

CENTRE = "Center for Voksne og Sundhed"
RULES = ReminderRules(office_hours_only=False)
STAFF = access.Viewer(role=access.SECRETARIAT)


def sweep(engine) -> None:
    notify_changed_cases(engine, rules=RULES)
    notify_changed_meetings(engine, rules=RULES)


def add_case(session, number: str, title: str, deciding_body: str = "SU", **texts):
    return services.create_case(session, {"number": number, "title": title, "centre": CENTRE,
                                          "deciding_body": deciding_body, **texts},
                                actor="sekr")


def find(engine, text: str, viewer=STAFF, **filters) -> list[search.Hit]:
    with read_session(engine) as session:
        return search.search(current_organisation(), session, text, viewer,
                             search.Filters(**filters)).hits


def titles(hits) -> list[str]:
    return [str(hit.title) for hit in hits]


# -- the pure part ------------------------------------------------------------------------------

def test_the_query_is_read_as_websearch_and_stemmed():
    query = searchtext.parse('udsatte "handicaprådets møde" -borger vandløb OR søer')
    assert query.groups == [[("udsat",)], [("handicapråd", "mød")], [("vandløb",), ("søer",)]]
    assert query.excluded == [("borg",)]
    assert searchtext.fts5_match(query) == \
        '(("udsat") AND ("handicapråd mød") AND ("vandløb" OR "søer")) NOT "borg"'
    assert searchtext.fts5_match(searchtext.parse("udsatte OR sager")) == '("udsat" OR "sag")'


def test_a_snippet_escapes_everything_but_its_marks():
    text = "Forslaget <script>alert(1)</script> blev udsat & sendt tilbage"
    html = str(searchtext.snippet(text, searchtext.parse("udsatte").stems))
    assert html == ("Forslaget &lt;script&gt;alert(1)&lt;/script&gt; blev <mark>udsat</mark> "
                    "&amp; sendt tilbage")
    assert str(searchtext.headline_html("<b>\x02udsat\x03</b>")) == \
        "&lt;b&gt;<mark>udsat</mark>&lt;/b&gt;"


# -- against the databases ----------------------------------------------------------------------

def test_danish_inflections_are_found(db):
    with write_session(db) as session:
        add_case(session, "S-1", "Budget for botilbud", summary="Sagen blev udsat i juni.")
        add_case(session, "S-2", "Høring af handicaprådet",
                 background="Handicaprådet har afgivet høringssvar.")
    sweep(db)
    assert "S-1" in {hit.case_number for hit in find(db, "udsatte")}
    hits = find(db, "handicaprådets")
    assert [hit.case_number for hit in hits] == ["S-2"]
    assert "<mark>handicaprådet</mark>" in str(hits[0].title)
    assert "<mark>" in str(hits[0].snippet)
    assert find(db, "ingenting") == []


def test_title_hits_come_first(db):
    with write_session(db) as session:
        # Many mentions in the text weigh less than one in the title.
        add_case(session, "T-1", "Orientering om økonomi",
                 summary=" ".join(["Plejeboliger og plejeboliger."] * 20))
        add_case(session, "T-2", "Nye plejeboliger i Vesthavn", summary="Kort sag.")
    sweep(db)
    hits = [hit for hit in find(db, "plejebolig") if hit.kind == "case"]
    assert [hit.case_number for hit in hits] == ["T-2", "T-1"]


def test_filters_by_body_year_and_state(db):
    with write_session(db) as session:
        add_case(session, "F-1", "Ældrepolitik i SU", deciding_body="SU")
        add_case(session, "F-2", "Ældrepolitik i BSU", deciding_body="BSU")
        actions.submit(session, "F-2", actor="sekr")
    sweep(db)
    year = date.today().year
    assert {h.case_number for h in find(db, "ældrepolitik", body="BSU")} == {"F-2"}
    assert {h.case_number for h in find(db, "ældrepolitik", body="SU")} == {"F-1"}
    assert {h.case_number for h in find(db, "ældrepolitik", year=year)} == {"F-1", "F-2"}
    assert find(db, "ældrepolitik", year=year - 5) == []
    assert {h.case_number for h in find(db, "ældrepolitik", state="draft")} == {"F-1"}


def test_a_title_with_markup_is_shown_as_text(db):
    with write_session(db) as session:
        add_case(session, "X-1", "Ny <script>alert(1)</script> plan",
                 summary="Om <b>planen</b> & mere")
    sweep(db)
    hit = find(db, "plan")[0]
    assert "<script>" not in str(hit.title) and "&lt;script&gt;" in str(hit.title)
    # PostgreSQL's parser drops tag-like words from a headline; SQLite's snippet shows them.
    assert "<" not in str(hit.snippet).replace("<mark>", "").replace("</mark>", "")
    assert "<mark>planen</mark>" in str(hit.snippet)


def test_the_index_follows_an_edit_through_the_sweep(db):
    with write_session(db) as session:
        add_case(session, "E-1", "Vejledning", summary="Første udgave.")
    sweep(db)
    assert find(db, "vandløb") == []
    with write_session(db) as session:
        services.update_case(session, "E-1", {"summary": "Nu om vandløbene."}, actor="sekr")
        services.update_case(session, "E-1", {"attachments": [
            {"title": "Kort over vandløb", "recommended": False}]}, actor="sekr")
    assert find(db, "vandløb") == []  # not before the sweep has run
    sweep(db)
    assert {(h.kind, h.case_number) for h in find(db, "vandløb")} == \
        {("case", "E-1"), ("bilag", "E-1")}
    assert find(db, "udgave") == []  # the old text is gone from the index


def test_reindex_rebuilds_everything(db):
    with write_session(db) as session:
        add_case(session, "R-1", "Genopbygning af indekset")
    sweep(db)
    with write_session(db) as session:
        count = search.reindex_all(current_organisation(), session)
    assert count == 1
    assert [h.case_number for h in find(db, "genopbygning")] == ["R-1"]



def test_who_finds_a_closed_item_and_what_the_public_finds(db):
    day = date(2031, 3, 4)
    with write_session(db) as session:
        own, other = member(session, "su", ["SU"]), member(session, "bu", ["BSU"])
        add_case(session, "C-1", "Lukket sag", summary="Hemmelig personsag.",
                 attachments=[{"title": "Hemmeligt bilag", "recommended": False}])
        add_case(session, "O-1", "Åben sag", summary="Åben personsag.")
        add_case(session, "D-1", "Kladde", summary="Intern personsag.")  # on no agenda
        actions.submit(session, "C-1", actor="sekr")
        actions.submit(session, "O-1", actor="sekr")
        meeting = create_meeting(session, body="SU", day=day)
        set_closed(session, place_case(session, meeting.id, "C-1").id, True)
        place_case(session, meeting.id, "O-1")
        publish_agenda(session, meeting.id, actor="sekr")
    sweep(db)
    everyone = {h.case_number for h in find(db, "personsag")}
    assert everyone == {"C-1", "O-1", "D-1"}
    assert {h.case_number for h in find(db, "personsag", own)} == {"C-1", "O-1", "D-1"}
    assert {h.case_number for h in find(db, "personsag", other)} == {"O-1", "D-1"}
    assert {h.case_number for h in find(db, "personsag", access.PUBLIC)} == {"O-1"}
    assert find(db, "hemmeligt", access.PUBLIC) == []
    assert find(db, "hemmeligt", other) == []
    assert {h.kind for h in find(db, "hemmeligt", own)} == {"case", "bilag"}
    public = find(db, "åben", access.PUBLIC)
    assert {h.meeting_id for h in public} == {meeting.id}


def test_a_not_public_bilag_is_found_only_by_who_may_read_closed_text(db):
    day = date(2031, 3, 4)
    with write_session(db) as session:
        other = member(session, "bu", ["BSU"])
        add_case(session, "B-1", "Sag med bilag",
                 attachments=[{"title": "Fortroligt notat", "recommended": False}])
        actions.submit(session, "B-1", actor="sekr")
        meeting = create_meeting(session, body="SU", day=day)
        place_case(session, meeting.id, "B-1")
        publish_agenda(session, meeting.id, actor="sekr")
    sweep(db)
    assert len(find(db, "notat", access.PUBLIC)) == 1
    with write_session(db) as session:  # marked not public ("ikke offentligt") afterwards
        session.exec(sa.update(Attachment).values(public=False))
    assert find(db, "notat", access.PUBLIC) == []
    assert find(db, "notat", other) == []
    assert len(find(db, "notat", STAFF)) == 1


@pytest.mark.parametrize("text", ["", "   ", "-alene", '""', "OR"])
def test_an_empty_query_finds_nothing(engine, text):
    assert find(engine, text) == []


def test_bilag_rows_stay_searchable_by_title(engine):
    with write_session(engine) as session:
        add_case(session, "A-1", "Sag", attachments=[{"title": "Udtalelse fra ældrerådet",
                                                      "recommended": True}])
    sweep(engine)
    with read_session(engine) as session:
        assert session.exec(select(Attachment)).one().title.startswith("Udtalelse")
    assert [h.kind for h in find(engine, "ældrerådets")] == ["bilag"]


def test_the_public_finds_an_item_placed_after_publishing_once_its_supplement_is(db):
    with write_session(db) as session:
        add_case(session, "P-1", "Først på dagsordenen")
        add_case(session, "P-2", "Sent om vejbump")
        actions.submit(session, "P-1", actor="sekr")
        actions.submit(session, "P-2", actor="sekr")
        meeting = create_meeting(session, body="SU", day=date(2031, 5, 6))
        place_case(session, meeting.id, "P-1")
        publish_agenda(session, meeting.id, actor="sekr")
        place_case(session, meeting.id, "P-2")  # waits for its tillægsdagsorden
    sweep(db)
    assert find(db, "vejbump", access.PUBLIC) == []
    assert {h.case_number for h in find(db, "vejbump")} == {"P-2"}
    with write_session(db) as session:
        publish_agenda(session, meeting.id, actor="sekr")
    sweep(db)
    assert {h.kind for h in find(db, "vejbump", access.PUBLIC)} == {"case", "item"}


def test_a_very_long_text_is_indexed_from_its_start(db):
    """An extracted Bilag text can be longer than a tsvector holds (1 MB): its start is
    indexed, and NUL and the headline's marks are left out."""
    text = "Start\x00\x02 " + " ".join(f"ord{i}" for i in range(200_000))
    with write_session(db) as session:
        search.insert_docs(session, [{"kind": "bilag", "source_id": 1, "case_id": None,
                                      "meeting_id": None, "bodies": " SU ", "year": 2022,
                                      "on": None, "state": "", "title": "Langt bilag",
                                      "text": text}])
        stored = session.exec(select(search.SearchDoc.text)).one()
    assert len(stored) == search.MAX_TEXT and stored.startswith("Start   ord0")
