"""Høringssvar in the search (meetings.search, kind "response"), on SQLite and PostgreSQL:
found by their words in Danish inflection, titled by the party that gave them, indexed again
by the sweep when their case is, and read exactly as their case is: a closed case's høringssvar
only by who may read its closed text, the public's only once the case is on a published
agenda."""

from datetime import date

from web_fixtures import anonymous, as_role, make_case, member

from cases import actions, services
from cases.db import read_session, write_session
from cases.settings import current_organisation
from meetings import search
from meetings.services import create_meeting, place_case, publish_agenda, set_closed
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.rules import ReminderRules
from workflow import access

CENTRE = "Center for Voksne og Sundhed"
RULES = ReminderRules(office_hours_only=False)
STAFF = access.Viewer(role=access.SECRETARIAT)
HEARD = date(2031, 2, 3)  # the hearing opens before the meetings below


def sweep(engine) -> None:
    notify_changed_cases(engine, rules=RULES)
    notify_changed_meetings(engine, rules=RULES)


def find(engine, text: str, viewer=STAFF) -> list[search.Hit]:
    with read_session(engine) as session:
        return search.search(current_organisation(), session, text, viewer).hits


def responses(hits) -> set[str]:
    """The case numbers of the høringssvar among the hits."""
    return {hit.case_number for hit in hits if hit.kind == "response"}


def heard_case(session, number: str, answer: str, party: str = "HR") -> None:
    """A submitted SU case with a hearing whose party has answered."""
    services.create_case(session, {"number": number, "title": f"Sag {number}",
                                   "centre": CENTRE, "deciding_body": "SU"}, actor="sekr")
    actions.submit(session, number, actor="sekr")
    hearing = services.add_hearing(session, number, title="Høring om stierne",
                                   parties=[party], deadline=date(2031, 2, 24),
                                   opened_on=HEARD, actor="sekr")
    services.record_hearing_response(session, hearing.id, party=party,
                                     received_on=date(2031, 2, 10), text=answer, actor="sekr")



def test_a_hoeringssvar_is_found_in_danish_inflection(db):
    with write_session(db) as session:
        heard_case(session, "H-1", "Handicaprådet ønsker ramper ved alle cykelstierne.")
    sweep(db)
    hits = [hit for hit in find(db, "cykelsti rampe") if hit.kind == "response"]
    assert len(hits) == 1
    hit = hits[0]
    assert (hit.kind_label, hit.case_number, hit.on) == ("Høringssvar", "H-1", date(2031, 2, 10))
    assert str(hit.title) == "Høringssvar fra Handicaprådet"
    assert "<mark>cykelstierne</mark>" in str(hit.snippet)
    assert "HR" in hit.bodies and "SU" in hit.bodies
    # The party's name is the title: a title hit.
    assert responses(find(db, "handicaprådets")) == {"H-1"}


def test_a_closed_cases_hoeringssvar_reaches_only_who_may_read_it(db):
    with write_session(db) as session:
        own, other = member(session, "su", ["SU"]), member(session, "bu", ["BSU"])
        heard_case(session, "C-1", "Borgerens adgangsforhold er utilstrækkelige.")
        heard_case(session, "O-1", "Skolens adgangsforhold er gode.")
        meeting = create_meeting(session, body="SU", day=date(2031, 3, 4))
        set_closed(session, place_case(session, meeting.id, "C-1").id, True)
        place_case(session, meeting.id, "O-1")
        publish_agenda(session, meeting.id, actor="sekr")
    sweep(db)
    assert responses(find(db, "adgangsforholdene")) == {"C-1", "O-1"}
    assert responses(find(db, "adgangsforholdene", own)) == {"C-1", "O-1"}
    assert responses(find(db, "adgangsforholdene", other)) == {"O-1"}
    public = [hit for hit in find(db, "adgangsforholdene", access.PUBLIC)
              if hit.kind == "response"]
    assert [hit.case_number for hit in public] == ["O-1"]
    assert public[0].meeting_id == meeting.id  # read on the published agenda
    assert find(db, "borgerens", access.PUBLIC) == []
    assert find(db, "borgerens", other) == []


def test_a_case_closed_after_indexing_hides_its_hoeringssvar_at_once(db):
    with write_session(db) as session:
        other = member(session, "bu", ["BSU"])
        heard_case(session, "L-1", "Vi savner belysning på stien.")
        meeting = create_meeting(session, body="SU", day=date(2031, 3, 4))
        place_case(session, meeting.id, "L-1")
        publish_agenda(session, meeting.id, actor="sekr")
    sweep(db)
    assert responses(find(db, "belysningen", access.PUBLIC)) == {"L-1"}
    with write_session(db) as session:  # a lukket punkt from now on
        services.update_case(session, "L-1", {"confidential": True}, actor="sekr")
    # Not swept: the rule is asked when a hit is served, not when it was indexed.
    assert responses(find(db, "belysningen", access.PUBLIC)) == set()
    assert responses(find(db, "belysningen", other)) == set()
    assert responses(find(db, "belysningen")) == {"L-1"}


def test_the_public_does_not_find_an_unpublished_cases_hoeringssvar(db):
    with write_session(db) as session:
        heard_case(session, "U-1", "Seniorrådet efterlyser flere bænke.", party="SR")
        meeting = create_meeting(session, body="SU", day=date(2031, 3, 11))
        place_case(session, meeting.id, "U-1")  # on an agenda not yet published
    sweep(db)
    assert responses(find(db, "bænkene")) == {"U-1"}
    assert responses(find(db, "bænkene", access.PUBLIC)) == set()
    with write_session(db) as session:
        publish_agenda(session, meeting.id, actor="sekr")
    sweep(db)
    assert responses(find(db, "bænkene", access.PUBLIC)) == {"U-1"}


def test_a_new_hoeringssvar_is_indexed_by_the_sweep(db):
    with write_session(db) as session:
        heard_case(session, "N-1", "Første svar om træerne.")
        hearing = services.add_hearing(session, "N-1", title="Anden høring", parties=["PR"],
                                       deadline=date(2031, 3, 1), opened_on=HEARD,
                                       actor="sekr")
    sweep(db)
    assert find(db, "vandløbene") == []
    with write_session(db) as session:
        services.record_hearing_response(session, hearing.id, party="PR",
                                         received_on=date(2031, 2, 20),
                                         text="Psykiatrirådet ønsker adgang til vandløbet.",
                                         actor="sekr")
    assert find(db, "vandløbene") == []  # not before the sweep has run
    sweep(db)
    assert [str(hit.title) for hit in find(db, "vandløbene")] == \
        ["Høringssvar fra Psykiatrirådet"]
    with write_session(db) as session:
        assert search.reindex_all(current_organisation(), session) == 3  # case, two svar
    assert responses(find(db, "træerne")) == {"N-1"}


def test_the_search_page_shows_a_hoeringssvar_and_links_its_case(web_app, web_engine):
    number = make_case(web_engine, deciding_body="SU", committees=("SU",))
    with write_session(web_engine) as session:
        hearing = services.add_hearing(session, number, title="Høring", parties=["HR"],
                                       deadline=date(2031, 2, 24), opened_on=HEARD,
                                       actor="sekr")
        services.record_hearing_response(session, hearing.id, party="HR",
                                         received_on=date(2031, 2, 10),
                                         text="Rådet anbefaler fliser uden kanter.",
                                         actor="sekr")
    sweep(web_engine)
    html = as_role(web_app, "secretariat").get("/soeg", params={"q": "flisen"}).text
    hit = html.split('class="card search-hit"')[1].split("</li>")[0]
    assert f"Høringssvar · {number}" in hit
    assert f'<a href="/sager/{number}">Høringssvar fra Handicaprådet</a>' in hit
    assert "anbefaler <mark>fliser</mark>" in hit
    # The public: not on a published agenda, not found.
    public = anonymous(web_app).get("/offentlig/soeg", params={"q": "flisen"}).text
    assert "Ingen resultater" in public
