"""Følg uden konto, piece by piece (no processes; the whole path with Celery, Redis, SMTP and
the web app under uvicorn is tests/test_citizens_end_to_end.py): the sign-up and its one
confirmation mail, nothing to an unconfirmed address, the search-phrase and minutes mails
derived by the sweep, closed items, dedupe, the throttle and the pages."""

import re
import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from web_fixtures import csrf_of

from cases import actions, services
from cases.db import read_session, write_session
from cases.models import Membership, User, utcnow
from meetings import queries, searchtext
from meetings.services import (
    create_meeting,
    finalise_due_minutes,
    place_case,
    publish_agenda,
    record_item_decision,
    send_minutes_for_approval,
    set_closed,
)
from notifications import citizens, delivery
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.email import (
    FOLLOW_AGENDA,
    FOLLOW_CASE,
    FOLLOW_CONFIRM,
    FOLLOW_MINUTES,
    FOLLOW_SEARCH,
    confirm_token,
    follow_unsubscribe_token,
)
from notifications.models import FollowSignup, Reminder, Subscription
from web import citizens as pages
from workflow.errors import InvalidInput, NotFound

DAY = utcnow().date()
_numbers = iter(range(1, 10_000))


def new_case(session, *, title: str, summary: str = "Et sammendrag.",
             confidential: bool = False, body: str = "SU") -> str:
    number = f"C-{next(_numbers)}"
    services.create_case(session, {
        "number": number, "title": title, "centre": "Center for By og Miljø",
        "deciding_body": "KB", "committees": [body], "confidential": confidential,
        "summary": summary, "proposals": ["at sagen godkendes"]}, actor="test")
    actions.submit(session, number, actor="test")
    return number


def agenda(session, *cases: str, body: str = "SU", days: int = 40, closed=()):
    """A meeting of the body with the cases placed (those in `closed` as lukket punkt)."""
    meeting = create_meeting(session, body=body, day=DAY + timedelta(days=days))
    for number in cases:
        item = place_case(session, meeting.id, number, late_reason="Hastesag")
        if number in closed:
            set_closed(session, item.id, True)
    return meeting


def confirmed(session, email: str, *, body: str = "", phrase: str = "", now=None) -> int:
    now = now or utcnow()
    row = citizens.sign_up(session, email=email, body_code=body, phrase=phrase, now=now)
    citizens.confirm(session, row, now)
    return row.id


def rows(engine, kind: str | None = None) -> list[Reminder]:
    """The outbox once the sweep has derived what changed."""
    notify_changed_cases(engine)
    notify_changed_meetings(engine)
    with read_session(engine) as session:
        query = select(Reminder).order_by(Reminder.id)
        if kind:
            query = query.where(Reminder.kind == kind)
        return list(session.exec(query))


def mail_text(engine, row: Reminder) -> tuple[str, object]:
    """The mail as the delivery builds it now: subject and both parts, and the message."""
    with read_session(engine) as session:
        message = delivery.render_message(session, row, utcnow())
    parts = [part.get_payload(decode=True).decode() for part in message.get_payload()]
    return "\n".join([str(message["Subject"]), *parts]), message


# -- matching (pure) ---------------------------------------------------------------------------

def test_a_phrase_matches_by_the_searchs_danish_stems():
    text = "Ny cykelsti langs Vestvoldens grønne områder ved Kildedal"
    assert searchtext.matches(searchtext.parse("Vestvolden"), text)
    assert searchtext.matches(searchtext.parse("område"), text)  # områder: the same stem
    assert searchtext.matches(searchtext.parse('"grønne områder"'), text)
    assert not searchtext.matches(searchtext.parse('"områder grønne"'), text)
    assert searchtext.matches(searchtext.parse("Vestvolden Kildedal"), text)  # both
    assert not searchtext.matches(searchtext.parse("Vestvolden Ballerup"), text)
    assert searchtext.matches(searchtext.parse("Ballerup OR Kildedal"), text)
    assert not searchtext.matches(searchtext.parse("cykelsti -Kildedal"), text)
    assert not searchtext.matches(searchtext.parse("---"), text)  # no words: nothing


# -- signing up and confirming -----------------------------------------------------------------

def test_a_sign_up_queues_exactly_one_confirmation_and_nothing_else_until_confirmed(db):
    with write_session(db) as session:
        first = citizens.sign_up(session, email="Borger@Example.org ", body_code="SU",
                                 now=utcnow())
        again = citizens.sign_up(session, email="borger@example.org", body_code="SU",
                                 now=utcnow())
        open_case = new_case(session, title="Ny legeplads")
        meeting = agenda(session, open_case)
    assert again.id == first.id and first.email == "borger@example.org"
    assert first.confirmed_at is None and first.public
    [confirmation] = rows(db)
    assert (confirmation.kind, confirmation.recipient) == (FOLLOW_CONFIRM, "borger@example.org")
    text, message = mail_text(db, confirmation)
    assert "Bekræft, at du vil følge Socialudvalgets dagsordener og referater" in text
    link = re.search(r"(http\S+/offentlig/foelg/bekraeft/\S+)", text).group(1)
    assert link.endswith(confirm_token(first.id))
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    with write_session(db) as session:  # published while unconfirmed: nothing for them
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
    assert [r.kind for r in rows(db)] == [FOLLOW_CONFIRM]

    with write_session(db) as session:
        citizens.confirm(session, session.get(Subscription, first.id), utcnow())
        place_case(session, meeting.id, new_case(session, title="Ny bænk"),
                   late_reason="Hastesag")
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
    [digest] = rows(db, FOLLOW_AGENDA)
    assert digest.recipient == "borger@example.org"
    assert [i["title"] for i in digest.context["items"]] == ["Ny bænk"]  # the tillæg's item


def test_an_expired_link_is_refused_and_a_new_sign_up_starts_afresh(engine):
    long_ago = utcnow() - timedelta(days=citizens.CONFIRM_DAYS + 1)
    with write_session(engine) as session:
        old = citizens.sign_up(session, email="sen@example.org", phrase="Kildedal",
                               now=long_ago)
        with pytest.raises(InvalidInput, match="udløbet"):
            citizens.confirm(session, old, utcnow())
        new = citizens.sign_up(session, email="sen@example.org", phrase="kildedal",
                               now=utcnow())
        assert new.id != old.id and old.ended_at is not None
    assert [r.recipient for r in rows(engine, FOLLOW_CONFIRM)] == ["sen@example.org"] * 2


def test_two_sign_ups_of_one_address_at_once_send_one_confirmation(db):
    """The second waits for the first's transaction (PostgreSQL: a lock on the address;
    SQLite: one writer at a time), then finds its row: one subscription, one mail."""
    first_done, second_done = threading.Event(), threading.Event()

    def first():
        with write_session(db) as session:
            citizens.sign_up(session, email="dobbelt@example.org", body_code="SU",
                             now=utcnow())
            first_done.set()
            # Open until the second has finished, or a while: without the lock it would
            # finish now, before this commits, and find nothing.
            second_done.wait(2)

    def second():
        first_done.wait(10)
        with write_session(db) as session:
            citizens.sign_up(session, email="dobbelt@example.org", body_code="SU",
                             now=utcnow())
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with read_session(db) as session:
        assert len(session.exec(select(Subscription)).all()) == 1
    assert len(rows(db, FOLLOW_CONFIRM)) == 1


@pytest.mark.parametrize(("fields", "message"), [
    ({"email": "ikke-en-adresse", "body_code": "SU"}, "er ikke en gyldig e-mailadresse"),
    ({"email": "a@example.org"}, "Vælg et udvalg, eller skriv et søgeord."),
    ({"email": "a@example.org", "phrase": "---"}, "mindst ét ord"),
    ({"email": "a@example.org", "phrase": "x" * 101}, "højst have 100 tegn"),
    ({"email": "a@example.org", "body_code": "HR"}, "har ingen offentlige dagsordener"),
])
def test_a_bad_sign_up_is_refused_in_danish_and_writes_nothing(engine, fields, message):
    with pytest.raises(InvalidInput, match=message), write_session(engine) as session:
        citizens.sign_up(session, now=utcnow(), **fields)
    with read_session(engine) as session:
        assert session.exec(select(Subscription)).all() == []
    assert rows(engine) == []


def test_an_unknown_body_is_refused(engine):
    with pytest.raises(NotFound, match="Ukendt organ"), write_session(engine) as session:
        citizens.sign_up(session, email="a@example.org", body_code="XX", now=utcnow())


# -- what a confirmed citizen gets -------------------------------------------------------------

def test_a_citizen_never_gets_a_cases_news(engine):
    with write_session(engine) as session:
        confirmed(session, "borger@example.org", body="SU")
        number = new_case(session, title="Sag på vej")
        actions.treat(session, number, actor="test", body="SU", wording="anbefales",
                      meeting_date="04-10-2022", item_number=1, decision_text="Intern note.")
    assert rows(engine, FOLLOW_CASE) == []


def test_a_phrase_gets_one_mail_per_publication_with_the_matching_open_items_only(db):
    with write_session(db) as session:
        vest = new_case(session, title="Cykelsti langs Vestvolden",
                        summary="Stien går fra Ballerup Boulevard til skoven.")
        tekst = new_case(session, title="Trafikplan", summary="Også ved Vestvolden.")
        lukket = new_case(session, title="Ekspropriation",
                          summary="Vestvolden: HEMMELIG-PRIS-Q kroner til ejeren.")
        andet = new_case(session, title="Ny skolebestyrelse")
        meeting = agenda(session, vest, tekst, lukket, andet, closed=(lukket,))
        phrase_id = confirmed(session, "vest@example.org", phrase="Vestvolden")
        confirmed(session, "bu@example.org", phrase="Vestvolden", body="BSU")  # another body
        confirmed(session, "ingen@example.org", phrase="Kildedal")  # nothing matches
        both = confirmed(session, "begge@example.org", phrase="Vestvolden")
        confirmed(session, "begge@example.org", body="SU")  # gets the digest: that alone
        publication = publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
    [mail] = rows(db, FOLLOW_SEARCH)
    assert mail.recipient == "vest@example.org"
    assert mail.dedupe_key == f"follow:{phrase_id}:agenda:{publication.id}"
    assert [i["title"] for i in mail.context["items"]] == ["Cykelsti langs Vestvolden",
                                                          "Trafikplan"]
    text, message = mail_text(db, mail)
    assert "»Vestvolden« på dagsordenen: Socialudvalget" in text
    assert "Også ved Vestvolden." in text  # the matching text, quoted
    assert "HEMMELIG-PRIS-Q" not in text and "Ekspropriation" not in text
    stop = f"{_site()}/afmeld/{follow_unsubscribe_token(phrase_id)}"
    assert message["List-Unsubscribe"] == f"<{stop}>"
    assert [r.recipient for r in rows(db, FOLLOW_AGENDA)] == ["begge@example.org"]
    assert both not in {r.context["subscription_id"] for r in rows(db, FOLLOW_SEARCH)}

    with write_session(db) as session:  # the sweep again, or the same publication: no more
        before = len(rows(db))
        citizens.publication_news(session, meeting, publication, utcnow())
    assert len(rows(db)) == before


def test_an_item_closed_after_its_mail_was_queued_is_sent_as_number_and_title(engine):
    with write_session(engine) as session:
        number = new_case(session, title="Kildedal Syd", summary="Kildedal: SKJULT-TEKST-Q.")
        meeting = agenda(session, number)
        confirmed(session, "kilde@example.org", phrase="Kildedal")
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
    [mail] = rows(engine, FOLLOW_SEARCH)
    assert "SKJULT-TEKST-Q" in mail_text(engine, mail)[0]  # open: its text is public
    with write_session(engine) as session:  # confidential now: a lukket punkt everywhere
        services.update_case(session, number, {"confidential": True}, actor="test")
    text = mail_text(engine, mail)[0]
    assert "SKJULT-TEKST-Q" not in text and "Kildedal Syd (lukket punkt)" in text


def test_final_minutes_send_one_digest_and_the_phrases_matches(db):
    with write_session(db) as session:
        member = User(username="m1", name="Medlem", email="m1@example.org", role="member",
                      password_hash="x")
        session.add(member)
        session.flush()
        session.add(Membership(user_id=member.id, body_code="SU"))
        open_case = new_case(session, title="Vestvolden, ny sti")
        closed_case = new_case(session, title="Personalesag")
        meeting = agenda(session, open_case, closed_case, days=0, closed=(closed_case,))
        body_id = confirmed(session, "su@example.org", body="SU")
        confirmed(session, "vest@example.org", phrase="Vestvolden")
        publish_agenda(session, meeting.id, actor="test", late_reason="Hastesag")
    with write_session(db) as session:
        for item in queries.items(session, meeting.id):
            record_item_decision(session, item.id, wording="anbefales", actor="test",
                                 decision_text=f"Beslutning om {item.title}: BESLUTNING-"
                                               f"{'LUKKET' if item.closed else 'AABEN'}-Q")
        send_minutes_for_approval(session, meeting.id)
    rows(db)  # in approval: no minutes mail yet
    assert rows(db, FOLLOW_MINUTES) == []
    with write_session(db) as session:
        final_at = utcnow() + timedelta(days=30)
        finalise_due_minutes(session, final_at)
        confirmed(session, "sen@example.org", body="SU",  # after the minutes came out
                         now=final_at + timedelta(minutes=1))
    [digest] = rows(db, FOLLOW_MINUTES)
    assert digest.dedupe_key == f"follow:{body_id}:minutes:{meeting.id}"
    text = mail_text(db, digest)[0]
    assert "Referat: Socialudvalget" in text and "BESLUTNING-AABEN-Q" in text
    assert "Personalesag (lukket punkt)" in text and "BESLUTNING-LUKKET-Q" not in text
    agenda_mail, search = rows(db, FOLLOW_SEARCH)  # of the agenda, of the minutes
    assert agenda_mail.dedupe_key.split(":")[2] == "agenda"
    assert search.recipient == "vest@example.org"
    assert "»Vestvolden« i referatet" in mail_text(db, search)[0]
    assert [r.kind for r in rows(db) if r.recipient == "sen@example.org"] == [
        FOLLOW_CONFIRM]
    with write_session(db) as session:  # the meeting marked again: nothing new
        before = len(rows(db))
        citizens.minutes_published(session, queries.get_meeting(session, meeting.id), utcnow())
    assert len(rows(db)) == before


def _site() -> str:
    from cases.settings import get_settings
    return get_settings().site_url


# -- the pages ---------------------------------------------------------------------------------

@pytest.fixture
def client(sqlite_url):
    from web.app import create_app

    return TestClient(create_app(sqlite_url), raise_server_exceptions=False,
                      follow_redirects=False)


def sign_up_post(client: TestClient, **fields):
    token = csrf_of(client.get("/offentlig/foelg").text)
    return client.post("/offentlig/foelg", data={"csrf_token": token, "organ": "",
                                                 "phrase": "", **fields})


def test_the_form_preselects_the_body_and_keeps_what_was_typed_on_error(client, engine):
    page = client.get("/offentlig/foelg?organ=BSU").text
    assert '<option value="BSU" selected>' in page
    assert '<label for="foelg-email">Din e-mailadresse</label>' in page
    assert "Høringsråd" not in page.split('id="foelg-organ"')[1].split("</select>")[0]
    refused = sign_up_post(client, email="ikke en adresse", phrase="Kildedal", organ="BSU")
    assert refused.status_code == 400
    assert 'aria-invalid="true" aria-describedby="foelg-email-fejl"' in refused.text
    assert 'id="foelg-email-fejl">«ikke en adresse» er ikke en gyldig' in refused.text
    assert 'value="ikke en adresse"' in refused.text and 'value="Kildedal"' in refused.text
    assert '<option value="BSU" selected>' in refused.text
    with read_session(engine) as session:
        assert session.exec(select(Subscription)).all() == []
        assert session.exec(select(FollowSignup)).all() == []


def test_signing_up_and_confirming_through_the_pages(client, engine):
    done = sign_up_post(client, email="side@example.org", organ="SU")
    assert done.status_code == 303 and done.headers["location"] == "/offentlig/foelg?organ=SU"
    assert "Vi sender en e-mail til side@example.org" in client.get(done.headers["location"]).text
    with read_session(engine) as session:
        row = session.exec(select(Subscription)).one()
    path = f"/offentlig/foelg/bekraeft/{confirm_token(row.id)}"
    shown = client.get(path)  # what a mail scanner fetches: it confirms nothing
    assert shown.status_code == 200 and ">Bekræft</button>" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    with read_session(engine) as session:
        assert session.get(Subscription, row.id).confirmed_at is None
    answer = TestClient(client.app).post(path)  # no cookie, no form: the link is enough
    assert "Nu får side@example.org e-mails om Socialudvalgets" in answer.text
    with read_session(engine) as session:
        assert session.get(Subscription, row.id).confirmed_at is not None
    assert client.get(f"/offentlig/foelg/bekraeft/{follow_unsubscribe_token(row.id)}") \
        .status_code == 404  # the unsubscribe token cannot confirm
    assert client.post("/offentlig/foelg/bekraeft/forfalsket").status_code == 404
    # One-click unsubscribe (RFC 8058): a POST without login or cookie.
    stopped = TestClient(client.app).post(f"/afmeld/{follow_unsubscribe_token(row.id)}",
                                          data={"List-Unsubscribe": "One-Click"})
    assert "Du får ikke længere e-mails om Socialudvalgets dagsordener" in stopped.text


def test_sign_ups_are_throttled_per_address_and_per_client(client, engine):
    for n in range(pages.PER_EMAIL):
        assert sign_up_post(client, email="mange@example.org",
                            phrase=f"emne{n}").status_code == 303
    refused = sign_up_post(client, email="MANGE@example.org", phrase="endnu et")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "Der er tilmeldt for mange gange på kort tid" in refused.text
    assert "Prøv igen om 60 minutter." in refused.text
    assert 'value="endnu et"' in refused.text
    assert len(rows(engine, FOLLOW_CONFIRM)) == pages.PER_EMAIL  # no mail for the refused
    for n in range(pages.PER_CLIENT - pages.PER_EMAIL):
        assert sign_up_post(client, email=f"p{n}@example.org", organ="SU").status_code == 303
    assert sign_up_post(client, email="ny@example.org", organ="SU").status_code == 429
    with write_session(engine) as session:  # an hour later the window is free again
        assert pages.wait_seconds(session, "ny@example.org", "testclient",
                                  utcnow() + pages.WINDOW) == 0
