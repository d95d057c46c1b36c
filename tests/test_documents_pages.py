"""The agenda as the seed shows it on the meeting pages: the public page, the members' page
(every item they may read, closed items of their own bodies included) and the landing page."""

from web_fixtures import anonymous, as_role, days, logged_in, make_case

from cases.db import write_session
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
