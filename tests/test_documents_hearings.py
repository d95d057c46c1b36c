"""Hearing answers (høringssvar) in the agenda and minutes: shown to the deciding body,
never shown to the public for a closed item, escaped in HTML."""

from datetime import UTC, date, datetime

import pytest

from cases import actions as case_actions
from cases import services as case_services
from cases.db import make_engine, read_session, write_session
from demo.cases import load_demo, read_data
from meetings import queries, services
from meetings.documents import (
    meeting_context,
    render_meeting,
    render_public_publication,
    render_publication,
)

CONFIDENTIAL_MARKER = "HOERINGSSVAR-FORTROLIGT-5c1e"
CLOSED_MARKER = "HOERINGSSVAR-LUKKET-93bd"
CENTRE = "Center for Voksne og Sundhed"
SEPTEMBER = datetime(2022, 9, 1, 10, tzinfo=UTC)
PUBLISHED = datetime(2022, 9, 28, 10, tzinfo=UTC)  # SU 04-10-2022: agenda out by 28-09
MEETING = datetime(2022, 10, 4, 18, tzinfo=UTC)


def _case_with_hearing(session, org, number, *, title, answer, confidential=False,
                       late_answer=None):
    case_services.create_case(session, {
        "number": number, "title": title, "centre": CENTRE, "deciding_body": "SU",
        "summary": "Sammendrag.", "confidential": confidential,
        "proposals": ["Høringssvarene tages til efterretning."]},
        actor="t", org=org, now=SEPTEMBER)
    case_actions.submit(session, number, actor="t", org=org, now=SEPTEMBER)
    hearing = case_services.add_hearing(
        session, number, title=f"Høring om {title}", parties=["HR", "SR", "PR"],
        deadline="20-09-2022", opened_on="01-09-2022", blocking=False, actor="t", org=org,
        now=SEPTEMBER)
    case_services.record_hearing_response(session, hearing.id, party="HR",
                                          received_on="15-09-2022", text=answer, actor="t",
                                          now=SEPTEMBER)
    return hearing


@pytest.fixture
def meeting_id(db, org):
    """SU 04-10-2022 with an open case, a confidential one and one closed on the agenda,
    each with a hearing answered by Handicaprådet; Seniorrådet answers the open case's
    hearing only after the meeting, Psykiatrirådet never."""
    with write_session(db) as session:
        meeting = services.create_meeting(session, body="SU", day="04-10-2022", org=org,
                                          now=SEPTEMBER)
        open_hearing = _case_with_hearing(
            session, org, "H-1", title="Åben sag med høring",
            answer="Rådet støtter forslaget.\n\nMen <script>alert('svar')</script> bemærk.")
        _case_with_hearing(session, org, "H-2", title="Fortrolig sag", confidential=True,
                           answer=f"Svar om enkeltpersoner {CONFIDENTIAL_MARKER}.")
        _case_with_hearing(session, org, "H-3", title="Sag lukket på dagsordenen",
                           answer=f"Svar med følsomme oplysninger {CLOSED_MARKER}.")
        for number in ("H-1", "H-2", "H-3"):
            item = services.place_case(session, meeting.id, number, org=org, now=SEPTEMBER)
        services.set_closed(session, item.id, True)  # H-3: "Gør til lukket punkt"
        services.publish_agenda(session, meeting.id, actor="t", org=org, now=PUBLISHED)
        case_services.record_hearing_response(session, open_hearing.id, party="SR",
                                              received_on="06-10-2022", text="For sent svar.",
                                              actor="t", now=MEETING)
        for item in queries.items(session, meeting.id):
            services.record_item_decision(session, item.id, wording="Taget til efterretning",
                                          actor="t", org=org, now=MEETING)
        return meeting.id


def _item(html: str, number: int) -> str:
    start = html.index(f'id="punkt-{number}"')
    end = html.find('id="punkt-', start + 1)
    return html[start:end if end != -1 else len(html)]


def test_it_shows_each_hearing_with_its_answers_to_the_deciding_body(db, org, meeting_id):
    with read_session(db) as session:
        documents = [render_meeting(session, meeting_id, kind=kind, org=org)
                     for kind in ("dagsorden", "referat")]
        documents.append(render_publication(queries.publications(session, meeting_id)[0]))
    for html in documents:
        item = _item(html, 1)
        assert "Høring og høringssvar" in item
        assert "Høring om Åben sag med høring" in item
        assert "Høringsparter: Handicaprådet, Seniorrådet, Psykiatrirådet." in item
        assert "Høringsfrist: 20-09-2022." in item
        assert "Høringssvar fra Handicaprådet, modtaget 15-09-2022:" in item
        assert "<p>Rådet støtter forslaget.</p>" in item  # paragraphs kept
        assert "Psykiatrirådet: Intet høringssvar modtaget." in item
        # The body had no answer from Seniorrådet at its meeting; the later one is not shown.
        assert "Seniorrådet: Intet høringssvar modtaget." in item
        assert "For sent svar." not in html
        # The members see the closed items' answers.
        assert CONFIDENTIAL_MARKER in _item(html, 2) and CLOSED_MARKER in _item(html, 3)


def test_it_escapes_a_script_in_a_hearing_answer(db, org, meeting_id):
    with read_session(db) as session:
        html = render_meeting(session, meeting_id, kind="referat", org=org)
    assert "<script>alert('svar')</script>" not in html
    assert "&lt;script&gt;alert(&#39;svar&#39;)&lt;/script&gt;" in _item(html, 1)


def test_it_never_shows_a_closed_items_hearing_answer_to_the_public(db, org, meeting_id):
    with read_session(db) as session:
        public = [render_meeting(session, meeting_id, kind=kind, public=True, org=org)
                  for kind in ("dagsorden", "referat")]
        public.append(render_public_publication(
            session, queries.publications(session, meeting_id)[0]))
        contexts = [meeting_context(session, meeting_id, kind=kind, public=True, org=org)
                    for kind in ("dagsorden", "referat")]
    for html in public:
        for marker in (CONFIDENTIAL_MARKER, CLOSED_MARKER):
            assert marker not in html
        assert "Høring om Fortrolig sag" not in html
        assert "Høring om Sag lukket på dagsordenen" not in html
        assert "Fortrolig sag" in _item(html, 2) and "Lukket punkt" in _item(html, 3)
        assert "Rådet støtter forslaget." in _item(html, 1)  # an open item's answer is public
    for context in contexts:
        assert CONFIDENTIAL_MARKER not in repr(context) and CLOSED_MARKER not in repr(context)


def test_it_renders_an_agenda_published_before_hearings_were_shown(db, org, meeting_id):
    """A publication keeps its content as published: one without hearings still renders."""
    with read_session(db) as session:
        publication = queries.publication(session, meeting_id, 1)
        session.expunge(publication)
    for item in publication.content["items"]:
        if item["case"]:
            del item["case"]["hearings"]
    html = render_publication(publication)
    assert "Åben sag med høring" in html and "Høringssvar fra" not in html


# -- the demo ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_engine(tmp_path_factory, migrated_sqlite):
    url = migrated_sqlite(tmp_path_factory.mktemp("demo-hearings") / "demo.db")
    assert load_demo(url).loaded
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_it_shows_the_demo_hearing_answers_in_the_members_agenda(demo_engine):
    data = read_data()
    [meeting_spec] = data["meetings"]
    answered = [c for c in data["cases"] if c.get("hearing", {}).get("responses")]
    later = [c for c in data["cases"] if "hearing" in c and not c["hearing"].get("responses")]
    assert answered and later  # Stokholtbuen answered; the udsattestrategi hearing comes after
    day = datetime.strptime(meeting_spec["date"], "%d-%m-%Y").date()
    with read_session(demo_engine) as session:
        meeting = queries.find_meeting(session, meeting_spec["body"], day)
        documents = {"live": render_meeting(session, meeting.id, kind="dagsorden"),
                     "published": render_publication(queries.publications(session,
                                                                          meeting.id)[0])}
    for html in documents.values():
        for case in answered:
            item = _item(html, case["item"])
            assert case["hearing"]["title"] in item
            for response in case["hearing"]["responses"]:
                assert response["text"] in item
        for case in later:
            opened = datetime.strptime(case["hearing"]["opened"], "%d-%m-%Y").date()
            assert opened > day == date(2022, 10, 4)
            # Opened after the meeting ("sendes i høring" was its outcome): not on its agenda.
            assert case["hearing"]["title"] not in html
