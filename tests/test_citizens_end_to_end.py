"""Følg uden konto with every part real: the web app under uvicorn in its own process, a
Celery worker and beat through a real redis-server, and an aiosmtpd server that records what
arrives. A citizen signs up, gets exactly one confirmation mail, confirms, gets exactly one
digest of a published agenda (with one-click unsubscribe headers, without the closed item's
text), unsubscribes with the one-click POST, and gets nothing of the next publication; an
address never confirmed gets the confirmation alone; and sign-ups are throttled."""

import re

import httpx
import pytest
from servers import MailSink, RedisServer, WebServer, free_port, wait_for
from test_celery_end_to_end import Setup

from cases import actions, services
from cases.db import read_session, write_session
from cases.models import utcnow
from meetings.models import AgendaPublication
from meetings.services import create_meeting, place_case, publish_agenda
from notifications.models import PENDING, SENDING
from web import citizens

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SECRET = "citizens-end-to-end-secret-key-0123456789"
CLOSED_TEXT = "LUKKET-SAGSTEKST-Q"


def new_case(session, number: str, title: str, *, confidential: bool = False) -> str:
    services.create_case(session, {
        "number": number, "title": title, "centre": "Center for By og Miljø",
        "deciding_body": "KB", "committees": ["SU"], "confidential": confidential,
        "summary": f"Sammendrag. {CLOSED_TEXT if confidential else 'Åben tekst.'}",
        "proposals": ["at sagen godkendes"]}, actor="test")
    actions.submit(session, number, actor="test")
    return number


def text_of(message) -> str:
    return "\n".join([str(message["Subject"]), message.get_body(("plain",)).get_content(),
                      message.get_body(("html",)).get_content()])


def to(sink, address: str) -> list:
    return [m for m in list(sink.handler.messages) if m["To"].addresses[0].addr_spec == address]


def sign_up(client: httpx.Client, email: str, **fields) -> httpx.Response:
    form = client.get("/offentlig/foelg").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    return client.post("/offentlig/foelg", data={"csrf_token": token, "email": email,
                                                 "organ": "", "phrase": "", **fields})


def settled(setup: Setup, publication_id: int) -> bool:
    """The sweep has derived the publication's news, and the outbox has sent what it had."""
    with read_session(setup.engine) as session:
        told = session.get(AgendaPublication, publication_id).followers_notified_at
    statuses = setup.statuses()
    return told is not None and not statuses.get(PENDING) and not statuses.get(SENDING)


def test_a_citizen_signs_up_confirms_gets_one_digest_and_unsubscribes(tmp_path):
    with MailSink() as sink, RedisServer(tmp_path / "redis") as redis:
        setup = Setup(tmp_path, sink, redis.url)
        port = free_port()
        site = f"http://127.0.0.1:{port}"
        setup.env |= {"SAGSGANG_SITE_URL": site, "SAGSGANG_SECRET_KEY": SECRET}
        with write_session(setup.engine) as session:
            new_case(session, "E2E-1", "Ny cykelsti ved Vestvolden")
            new_case(session, "E2E-2", "Personsag", confidential=True)
            new_case(session, "E2E-3", "Ny legeplads")
            meeting = create_meeting(session, body="SU", day=utcnow().date())
            for number in ("E2E-1", "E2E-2"):
                place_case(session, meeting.id, number, late_reason="Hastesag")
        with WebServer(setup.env, tmp_path, port=port), setup.worker() as worker, \
                setup.beat() as beat, httpx.Client(base_url=site) as browser:
            def wait(condition, what):
                try:
                    wait_for(condition, 60, interval=0.2, what=what)
                except TimeoutError:
                    raise AssertionError(f"{what}: {setup.statuses()}\n{worker.tail()}\n"
                                         f"{beat.tail()}") from None

            # Two sign-ups: one will confirm, one never does.
            assert sign_up(browser, "borger@example.org", organ="SU").status_code == 303
            assert sign_up(browser, "stille@example.org", organ="SU").status_code == 303
            assert sign_up(browser, "borger@example.org", organ="SU").status_code == 303
            wait(lambda: sink.handler.count() == 2, "the two confirmation mails")
            [confirmation] = to(sink, "borger@example.org")
            assert str(confirmation["Subject"]) == \
                "Bekræft, at du vil følge Socialudvalgets dagsordener og referater"
            link = re.search(r"(http\S+/offentlig/foelg/bekraeft/\S+)",
                             confirmation.get_body(("plain",)).get_content()).group(1)

            # The link's GET (what a mail scanner fetches) asks; its POST confirms.
            with httpx.Client() as scanner:
                assert ">Bekræft</button>" in scanner.get(link).text
                assert "Nu får borger@example.org e-mails om" in scanner.post(link).text

            with write_session(setup.engine) as session:
                first = publish_agenda(session, meeting.id, actor="test",
                                       late_reason="Hastesag").id
            wait(lambda: settled(setup, first) and sink.handler.count() == 3, "the digest")
            assert len(to(sink, "stille@example.org")) == 1  # the confirmation alone
            confirmation_again, digest = to(sink, "borger@example.org")
            assert confirmation_again is confirmation
            text = text_of(digest)
            assert str(digest["Subject"]).startswith("Dagsorden: Socialudvalget")
            assert "Ny cykelsti ved Vestvolden" in text and "Personsag (lukket punkt)" in text
            assert CLOSED_TEXT not in text and CLOSED_TEXT not in digest.as_string()
            assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            unsubscribe = digest["List-Unsubscribe"].strip().strip("<>")
            assert unsubscribe.startswith(f"{site}/afmeld/") and unsubscribe in text

            # The mail client's one-click POST (RFC 8058): no login, no cookie, no token.
            with httpx.Client() as mail_client:
                stopped = mail_client.post(unsubscribe,
                                           data={"List-Unsubscribe": "One-Click"})
            assert stopped.status_code == 200
            assert "Du får ikke længere e-mails" in stopped.text

            with write_session(setup.engine) as session:  # a tillægsdagsorden: nothing now
                place_case(session, meeting.id, "E2E-3", late_reason="Hastesag")
                second = publish_agenda(session, meeting.id, actor="test",
                                        late_reason="Hastesag").id
            wait(lambda: settled(setup, second), "the tillægsdagsorden derived")
            assert sink.handler.count() == 3

            # Throttled: a few sign-ups for one address, then 429 with Retry-After.
            for n in range(citizens.PER_EMAIL):
                assert sign_up(browser, "mange@example.org",
                               phrase=f"emne {n}").status_code == 303
            refused = sign_up(browser, "mange@example.org", phrase="et til")
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
            assert "Der er tilmeldt for mange gange på kort tid" in refused.text
            wait(lambda: len(to(sink, "mange@example.org")) == citizens.PER_EMAIL
                 and not setup.statuses().get(PENDING), "the confirmations")
        assert sink.handler.count() == 3 + citizens.PER_EMAIL
