"""Emails to followers of a case or a body: queued in the outbox after the change (a case's by
the sweep's pass over changed cases, an agenda's with its publication), rendered in Danish,
delivered to a real SMTP server, and stopped by the link they carry."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from servers import HOSTILE_TITLE, MailSink
from sqlmodel import select

from cases import actions, services
from cases.db import read_session, write_session
from cases.models import Membership, User, utcnow
from cases.settings import get_settings
from meetings.services import create_meeting, place_case, publish_agenda
from notifications import delivery, outbox
from notifications.changes import notify_changed_cases, notify_changed_meetings
from notifications.email import FOLLOW_AGENDA, FOLLOW_CASE
from notifications.follow import case_moved
from notifications.models import CANCELLED, PENDING, SENT, Reminder, Subscription
from notifications.rules import ReminderRules
from workflow.errors import TransitionRefused

RULES = ReminderRules(office_hours_only=False)
LATER = timedelta(days=7)  # past any office-hours wait for the rows' first send time


def make_case(session, number: str, *, title: str = "Ny daginstitution",
              confidential: bool = False, committees=("SU",)) -> str:
    services.create_case(session, {
        "number": number, "title": title, "centre": "Center for Voksne og Sundhed",
        "deciding_body": "KB", "committees": list(committees), "confidential": confidential,
        "summary": "Hemmeligt sammendrag.", "proposals": ["at sagen godkendes"]},
        actor="test")
    return number


def follow(session, email: str, *, case_number: str | None = None,
           body_code: str | None = None, name: str = "", bodies=()) -> int:
    """A subscription; with a name, of a member user (of `bodies`) with that email."""
    from cases import queries

    user_id = None
    if name:
        user = User(username=email.split("@")[0], name=name, email=email, role="member",
                    password_hash="x")
        session.add(user)
        session.flush()
        user_id = user.id
        session.add_all(Membership(user_id=user.id, body_code=code) for code in bodies)
    case_id = queries.get_case(session, case_number).id if case_number else None
    row = Subscription(email=email, user_id=user_id, case_id=case_id, body_code=body_code,
                       created_at=utcnow())
    session.add(row)
    session.flush()
    return row.id


def follow_rows(engine, kind: str = FOLLOW_CASE) -> list[Reminder]:
    """The rows of a kind once the sweep has derived the changed cases' and meetings' news."""
    notify_changed_cases(engine)
    notify_changed_meetings(engine)
    with read_session(engine) as session:
        return list(session.exec(select(Reminder).where(Reminder.kind == kind)
                                 .order_by(Reminder.recipient)))


def test_it_queues_one_email_per_follower_when_a_followed_case_moves(engine):
    with write_session(engine) as session:
        make_case(session, "F-1")
        follow(session, "sagen@example.org", case_number="F-1", name="Signe Sag")
        follow(session, "su@example.org", body_code="SU")
        follow(session, "begge@example.org", case_number="F-1")
        follow(session, "begge@example.org", body_code="KB")
        follow(session, "andet@example.org", body_code="BSU")  # not on this case's route
        gone = follow(session, "stoppet@example.org", body_code="SU")
        session.get(Subscription, gone).ended_at = utcnow()
    with write_session(engine) as session:
        event = actions.submit(session, "F-1", actor="test")
    rows = follow_rows(engine)
    assert [r.recipient for r in rows] == ["begge@example.org", "sagen@example.org",
                                           "su@example.org"]
    assert {r.status for r in rows} == {PENDING} and {r.case_id for r in rows} == {None}
    assert all(r.dedupe_key.endswith(f":event:{event.id}") for r in rows)
    signe = next(r for r in rows if r.recipient == "sagen@example.org")
    assert signe.recipient_name == "Signe Sag"
    assert signe.context["case_title"] == "Ny daginstitution"
    assert signe.context["to_state"] == "Til behandling i fagudvalg"
    with write_session(engine) as session:  # the same event again adds nothing
        assert case_moved(session, services.queries.get_case(session, "F-1"), event,
                          utcnow()) == 3
    assert len(follow_rows(engine)) == 3


def test_it_queues_nothing_when_the_action_is_refused(engine):
    with write_session(engine) as session:
        make_case(session, "F-2")
        follow(session, "sagen@example.org", case_number="F-2")
    with pytest.raises(TransitionRefused), write_session(engine) as session:
        actions.close(session, "F-2", actor="test")
    assert follow_rows(engine) == []


def test_it_gives_body_followers_only_number_and_title_of_a_closed_case(engine):
    with write_session(engine) as session:
        make_case(session, "F-3", title="Lukket personsag", confidential=True)
        follow(session, "udvalg@example.org", body_code="SU")
        follow(session, "sagen@example.org", case_number="F-3", name="Signe Sag",
               bodies=("SU",))
    with write_session(engine) as session:
        actions.submit(session, "F-3", actor="test")
        actions.treat(session, "F-3", actor="test", body="SU",
                      wording="anbefales", meeting_date="04-10-2022", item_number=3,
                      decision_text="Fortroligt beslutningsindhold.")
    by_recipient = {}
    for row in follow_rows(engine):
        by_recipient.setdefault(row.recipient, []).append(row)
    with read_session(engine) as session:
        for row in by_recipient["udvalg@example.org"]:
            assert set(row.context) == {"case_number", "case_title", "closed",
                                        "subscription_id"}
            message = delivery.render_message(session, row, utcnow())
            text = message.get_payload()[0].get_payload(decode=True).decode()
            assert "F-3" in text and "Lukket personsag" in text
            assert "Fortroligt" not in text and "anbefales" not in text.lower()
        decided = by_recipient["sagen@example.org"][-1]
        text = delivery.render_message(session, decided, utcnow()).get_payload()[0] \
            .get_payload(decode=True).decode()
        assert "Fortroligt beslutningsindhold." in text


def test_it_tells_body_followers_about_a_published_agenda(engine):
    with write_session(engine) as session:
        make_case(session, "F-4", title="Åben sag")
        make_case(session, "F-5", title="Lukket sag", confidential=True)
        for number in ("F-4", "F-5"):
            actions.submit(session, number, actor="test")
        meeting = create_meeting(session, body="SU", day=utcnow().date() + timedelta(days=40))
        place_case(session, meeting.id, "F-4")
        place_case(session, meeting.id, "F-5")
        follow(session, "su@example.org", body_code="SU")
        follow(session, "kb@example.org", body_code="KB")
    with write_session(engine) as session:
        publication = publish_agenda(session, meeting.id, actor="test")
    [row] = follow_rows(engine, FOLLOW_AGENDA)
    assert row.recipient == "su@example.org"
    assert row.dedupe_key.endswith(f":agenda:{publication.id}")
    items = row.context["items"]
    assert [(i["title"], i["closed"], i["case_number"]) for i in items] == [
        ("Åben sag", False, "F-4"), ("Lukket sag", True, "")]
    with read_session(engine) as session:
        message = delivery.render_message(session, row, utcnow())
    assert str(message["Subject"]).startswith("Dagsorden: Socialudvalget ")
    html = message.get_payload()[1].get_payload(decode=True).decode()
    assert "Lukket sag (lukket punkt)" in html and f"/offentlig/moeder/{meeting.id}" in html


def test_it_keeps_a_case_closed_on_another_agenda_closed_in_the_agenda_news(engine):
    """The one closed-item rule: a case whose item was closed on one agenda is a lukket punkt
    in the followers' news of every agenda, even where its new item is not marked closed."""
    from meetings.services import cancel_meeting, set_closed

    day = utcnow().date()
    with write_session(engine) as session:
        make_case(session, "F-8", title="Sag lukket før")
        actions.submit(session, "F-8", actor="test")
        earlier = create_meeting(session, body="SU", day=day + timedelta(days=30))
        set_closed(session, place_case(session, earlier.id, "F-8").id, True)
        cancel_meeting(session, earlier.id, reason="Aflyst")  # its closed item stays on record
        later = create_meeting(session, body="SU", day=day + timedelta(days=60))
        assert not place_case(session, later.id, "F-8", closed=False).closed
        follow(session, "su@example.org", body_code="SU")
    with write_session(engine) as session:
        publish_agenda(session, later.id, actor="test")
    items = [i for row in follow_rows(engine, FOLLOW_AGENDA) for i in row.context["items"]]
    assert [(i["title"], i["closed"], i["case_number"]) for i in items] == [
        ("Sag lukket før", True, "")]


def test_it_cancels_waiting_emails_when_the_follower_unsubscribes(engine, sqlite_url):
    from web.app import create_app
    from web.follow import unsubscribe_path

    with write_session(engine) as session:
        make_case(session, "F-6")
        subscription_id = follow(session, "sagen@example.org", case_number="F-6")
        actions.submit(session, "F-6", actor="test")
    assert [row.status for row in follow_rows(engine)] == [PENDING]
    client = TestClient(create_app(sqlite_url), follow_redirects=False)
    assert client.post(unsubscribe_path(subscription_id)).status_code == 200
    [row] = follow_rows(engine)
    assert row.status == CANCELLED
    with read_session(engine) as session:
        assert session.get(Subscription, subscription_id).ended_at is not None


def test_it_delivers_a_follow_email_whose_link_stops_following(engine, sqlite_url):
    from web.app import create_app

    with write_session(engine) as session:
        make_case(session, "F-7", title=HOSTILE_TITLE)
        subscription_id = follow(session, "sagen@example.org", case_number="F-7",
                                 name="Signe Sag")
        actions.submit(session, "F-7", actor="test")
    notify_changed_cases(engine)  # the sweep's first step
    with MailSink() as sink:
        mailer = delivery.Mailer("127.0.0.1", sink.port, timeout=5)
        with write_session(engine) as session:
            claims = outbox.claim_due(session, datetime.now(UTC) + LATER, 10)
        assert len(claims) == 1
        outcomes = delivery.deliver_batch(engine, [claims[0][0]], claims[0][1], mailer,
                                          rules=RULES)
        mailer.close()
        assert outcomes == {"sent": 1}
        [received] = sink.handler.messages
    assert follow_rows(engine)[0].status == SENT
    assert received["To"] == "Signe Sag <sagen@example.org>"
    assert "F-7" in received["Subject"]
    html = received.get_body(("html",)).get_content()
    text = received.get_body(("plain",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    link = received["List-Unsubscribe"].strip().strip("<>")
    site_url = get_settings().site_url
    assert link in text and link.startswith(site_url + "/afmeld/")
    client = TestClient(create_app(sqlite_url), follow_redirects=False)
    path = link[len(site_url):]
    assert "sag F-7" in client.get(path).text
    with read_session(engine) as session:
        assert session.get(Subscription, subscription_id).ended_at is None
    assert "Du får ikke længere e-mails" in client.post(path).text
    with read_session(engine) as session:
        assert session.get(Subscription, subscription_id).ended_at is not None


def _contexts(engine) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for row in follow_rows(engine):
        found.setdefault(row.recipient, []).append(row.context)
    return found


def test_it_gives_body_followers_only_number_and_title_of_a_case_closed_on_the_agenda(engine):
    from meetings.services import set_closed

    with write_session(engine) as session:
        make_case(session, "F-8", title="Åben sag, lukket punkt")
        actions.submit(session, "F-8", actor="test")
        meeting = create_meeting(session, body="SU", day=utcnow().date() + timedelta(days=40))
        set_closed(session, place_case(session, meeting.id, "F-8").id, True)
        follow(session, "udvalg@example.org", body_code="SU")
    with write_session(engine) as session:
        actions.treat(session, "F-8", actor="test", body="SU",
                      wording="anbefales", meeting_date="04-10-2022", item_number=1,
                      decision_text="Fortroligt beslutningsindhold.")
    # News of the submission and of the treatment, both derived once the case was closed.
    contexts = _contexts(engine)["udvalg@example.org"]
    assert len(contexts) == 2
    for context in contexts:
        assert set(context) == {"case_number", "case_title", "closed", "subscription_id"}
        assert context["closed"] is True


def test_it_rechecks_a_case_followers_read_access_when_a_closed_case_moves(engine):
    with write_session(engine) as session:
        make_case(session, "F-9", title="Lukket personsag", confidential=True)
        for email in ("stadig@example.org", "stoppet@example.org", "udtraadt@example.org"):
            follow(session, email, case_number="F-9", name=email, bodies=("SU",))
        session.exec(select(User).where(User.email == "stoppet@example.org")).one() \
            .active = False
        left = session.exec(select(User.id).where(User.email == "udtraadt@example.org")).one()
        session.delete(session.exec(select(Membership).where(Membership.user_id == left))
                       .one())
    with write_session(engine) as session:
        actions.submit(session, "F-9", actor="test")
    contexts = _contexts(engine)
    assert contexts["stadig@example.org"][0]["to_state"] == "Til behandling i fagudvalg"
    for email in ("stoppet@example.org", "udtraadt@example.org"):
        [context] = contexts[email]
        assert set(context) == {"case_number", "case_title", "closed", "subscription_id"}
