"""iCalendar feeds: a body's meetings, a case's deadlines, a person's own deadlines; and a
body's Atom feed of what it published (agendas, tillægsdagsordener, final minutes).

The body and case feeds are public by design, so they never contain a closed item: a
meeting lists only its open items, and a closed case has no public feed. The personal feed
sits behind a secret token in its address (made on the "Min kalender" page) and shows what
its owner may read when it is fetched: a followed case that has become a closed item
(lukket punkt) drops out for someone who may not read it.
"""

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from icalendar import Calendar, Event
from sqlmodel import Session, select

from cases import queries
from cases.models import Case, utcnow
from cases.settings import current_organisation, get_settings
from meetings import queries as meeting_queries
from meetings.models import AGENDA_PUBLISHED, CANCELLED, Meeting
from meetings.visibility import case_is_closed, may_read, open_items, viewer_of
from notifications.models import Subscription
from views import portal
from web.auth import db
from web.tokens import feed_owner
from workflow.errors import NotFound
from workflow.machine import ACTIVE

router = APIRouter(prefix="/feeds", tags=["kalendere"])
MEETING_LENGTH = timedelta(hours=2)


def _calendar(name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", "-//sagsgang//sagsgang//DA")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Europe/Copenhagen")
    return calendar


def _all_day(uid: str, day: date, summary: str, description: str = "", url: str = "") -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", utcnow())
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    if url:
        event.add("url", url)
    return event


def _response(calendar: Calendar, filename: str) -> Response:
    return Response(calendar.to_ical(), media_type="text/calendar; charset=utf-8",
                    headers={"Content-Disposition": f'inline; filename="{filename}"',
                             "Cache-Control": "private, max-age=300"})


def case_events(session: Session, case: Case) -> list[Event]:
    """A case's open deadlines and høringsfrister as all-day events."""
    url = f"{get_settings().site_url}/sager/{case.number}"
    found = []
    for deadline in queries.deadlines(session, case.id):
        if deadline.met_on is None:
            found.append(_all_day(f"deadline-{deadline.id}@sagsgang", deadline.due_date,
                                  f"Frist: {case.number} {deadline.description}",
                                  f"{case.title}\n{deadline.legal_basis}".strip(), url))
    for hearing in queries.hearings(session, case.id):
        if hearing.closed_on is None:
            found.append(_all_day(f"hearing-{hearing.id}@sagsgang", hearing.deadline,
                                  f"Høringsfrist: {case.number} {hearing.title}",
                                  case.title, url))
    return found


@router.get("/organ/{code}.ics", summary="Et organs møder (offentlig)")
def body_feed(code: str, session: Session = Depends(db)):
    body = current_organisation().body(code)
    calendar = _calendar(f"{body.name} – møder")
    since = utcnow() - timedelta(days=366)
    meetings = session.exec(select(Meeting).where(Meeting.body_code == code,
                                                  Meeting.starts_at >= since,
                                                  Meeting.status != CANCELLED)
                            .order_by(Meeting.starts_at)).all()
    published = meeting_queries.published_items_of(session, list(meetings))
    # The closed rule asked once for all the meetings' items (it reads their cases).
    still_open = {item.id for item in open_items(
        session, [item for meeting in meetings for item in published[meeting.id]])}
    for meeting in meetings:
        event = Event()
        event.add("uid", f"meeting-{meeting.id}@sagsgang")
        event.add("dtstamp", utcnow())
        event.add("dtstart", meeting.starts_at)
        event.add("dtend", meeting.starts_at + MEETING_LENGTH)
        event.add("summary", f"{body.name}: møde")
        if meeting.place:
            event.add("location", meeting.place)
        if meeting.agenda_status == AGENDA_PUBLISHED:
            shown = [item for item in published[meeting.id] if item.id in still_open]
            event.add("description", "\n".join(f"Punkt {i.number}: {i.title}" for i in shown))
            event.add("url", f"{get_settings().site_url}/offentlig/moeder/{meeting.id}")
        calendar.add_component(event)
    return _response(calendar, f"{code}.ics")


ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)  # Atom as the default namespace: <feed>, not <ns0:feed>


def _atom_id(path: str) -> str:
    """A stable id for an entry or feed: the same publication keeps its id, however often its
    meeting changes (a UUID of the site's address and the thing's own key)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, get_settings().site_url + path)}"


def _add(parent: ET.Element, tag: str, text: str = "", **attributes) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
    if text:
        element.text = text
    return element


def _stamp(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@router.get("/organ/{code}.atom", summary="Et organs nye dagsordener og referater (offentlig)")
def body_news_feed(code: str, session: Session = Depends(db)):
    org = current_organisation()
    body = org.body(code)
    site = get_settings().site_url
    entries = portal.news(session, org, code)
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": "da"})
    _add(feed, "id", _atom_id(f"/feeds/organ/{code}.atom"))
    _add(feed, "title", f"{body.name} – dagsordener og referater")
    _add(feed, "updated", _stamp(entries[0].updated if entries else utcnow()))
    _add(_add(feed, "author"), "name", org.name)
    _add(feed, "link", rel="self", href=f"{site}/feeds/organ/{quote(code)}.atom")
    _add(feed, "link", rel="alternate", type="text/html",
         href=f"{site}/offentlig/organ/{quote(code)}")
    for news in entries:
        entry = _add(feed, "entry")
        _add(entry, "id", _atom_id(f"/nyt/{news.key}"))
        _add(entry, "title", news.title)
        _add(entry, "updated", _stamp(news.updated))
        _add(entry, "published", _stamp(news.updated))
        _add(entry, "link", rel="alternate", type="text/html",
             href=f"{site}/offentlig/moeder/{news.meeting.id}")
        _add(entry, "link", rel="enclosure", type="application/pdf", href=site + news.pdf)
        _add(entry, "summary", "\n".join(news.lines) or news.title, type="text")
    content = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return Response(content, media_type="application/atom+xml; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/sag/{number:path}.ics", summary="En sags frister (offentlig, ikke lukkede punkter)")
def case_feed(number: str, session: Session = Depends(db)):
    case = queries.get_case(session, number)
    if case_is_closed(session, case):
        raise NotFound(f"Sagen {number!r} findes ikke.")
    calendar = _calendar(f"Sag {case.number} – frister")
    for event in case_events(session, case):
        calendar.add_component(event)
    return _response(calendar, "sag.ics")


@router.get("/personlig/{token}.ics", summary="Mine frister (privat adresse)")
def personal_feed(token: str, request: Request, session: Session = Depends(db)):
    user = feed_owner(session, token)
    if user is None:
        raise NotFound("Kalenderadressen er ugyldig.")
    followed = select(Subscription.case_id).where(Subscription.user_id == user.id,
                                                  Subscription.ended_at.is_(None),
                                                  Subscription.case_id.is_not(None))
    cases = session.exec(select(Case).where(
        Case.status.in_(ACTIVE),
        (Case.owner_email == user.email) | Case.id.in_(followed)).order_by(Case.number)).all()
    org, viewer = current_organisation(), viewer_of(session, user)
    calendar = _calendar(f"Mine frister – {user.name}")
    for case in cases:
        if not may_read(org, session, case, viewer):
            continue
        for event in case_events(session, case):
            calendar.add_component(event)
    return _response(calendar, "mine-frister.ics")

