"""The open data API (OParl 1.1) under /oparl/v1, and the export of a meeting's decisions.

No login, read only, the same answer for everyone (views.oparl asks the closed-item and Bilag
rules as the public). Every answer carries an ETag and may be cached for a minute; a client
that sends the ETag back (If-None-Match) gets 304 without the body. A client address may make
SAGSGANG_OPARL_REQUESTS_PER_MINUTE requests a minute (300); past that it is answered 429 with
Retry-After and a Danish message as JSON.

Lists follow the specification: `data`, `pagination` and `links` (first, prev, self, next,
last), the filters created_since, created_until, modified_since, modified_until (ISO 8601;
without an offset read as Copenhagen time) and `limit` (at most MAX_LIMIT a page; meetings,
which carry their agendas, MEETING_LIMITS).
"""

import csv
import hashlib
import io
import json
import threading
import time
from collections import deque
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlmodel import Session, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from cases.dates import COPENHAGEN
from cases.models import Attachment, Case, Membership, User
from cases.settings import current_organisation, get_settings
from meetings.calendar import local_day
from meetings.models import AGENDA_PUBLISHED, AgendaItem, Meeting
from views import oparl
from views.oparl import Urls, Window
from web.auth import db
from workflow.errors import InvalidInput, NotFound

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
# A meeting carries its whole agenda (its items embedded, as OParl has it): fewer a page.
MEETING_LIMITS = (20, 100)  # the default, the most
CACHE_SECONDS = 60
NOT_FOUND = "Objektet findes ikke i de åbne data."


# -- the rate limit ----------------------------------------------------------------------------

class RateLimit:
    """At most `per_minute` requests per client address in any sixty seconds, counted in this
    web process (each process of the server counts its own)."""

    WINDOW = 60.0

    def __init__(self):
        self.seen: dict[str, deque] = {}
        self.lock = threading.Lock()

    def wait_seconds(self, address: str, per_minute: int, now: float) -> int:
        """0: the request may go ahead (and is counted); else how long to wait."""
        with self.lock:
            if len(self.seen) > 10_000:  # forget the addresses that have gone quiet
                self.seen = {a: q for a, q in self.seen.items() if q and q[-1] > now - 60}
            times = self.seen.setdefault(address, deque())
            while times and times[0] <= now - self.WINDOW:
                times.popleft()
            if len(times) >= per_minute:
                return max(1, int(times[0] + self.WINDOW - now + 0.999))
            times.append(now)
            return 0


LIMIT = RateLimit()


def rate_limited(request: Request) -> None:
    per_minute = get_settings().oparl_requests_per_minute
    address = request.client.host if request.client else "ukendt"
    wait = LIMIT.wait_seconds(address, per_minute, time.monotonic())
    if wait:
        raise StarletteHTTPException(
            429, detail=f"For mange forespørgsler: højst {per_minute} i minuttet fra samme "
                        f"adresse. Prøv igen om {wait} sekunder.",
            headers={"Retry-After": str(wait)})


router = APIRouter(prefix="/oparl/v1", include_in_schema=False,
                   dependencies=[Depends(rate_limited)])
exports = APIRouter(include_in_schema=False)


# -- answers -----------------------------------------------------------------------------------

def answer(request: Request, content: dict) -> Response:
    """JSON with an ETag of its bytes; 304 when the client holds them already."""
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return cached(request, body, "application/json; charset=utf-8")


def cached(request: Request, body: bytes, media_type: str, headers: dict | None = None):
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    common = {"ETag": etag, "Cache-Control": f"public, max-age={CACHE_SECONDS}",
              **(headers or {})}
    wanted = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or f"W/{etag}" in wanted or "*" in wanted:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers=common)


def urls() -> Urls:
    return Urls(get_settings().site_url.rstrip("/"))


def configured() -> datetime:
    """When the organisation's bodies were last configured: the created and modified of
    System, Body, Organization and LegislativeTerm (they live in the organisation file)."""
    path = get_settings().organisation_file
    return datetime.fromtimestamp(int(path.stat().st_mtime), UTC)


def instant(value: str | None, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        found = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} skal være et tidspunkt som 2022-10-04T17:00:00+02:00, "
                           f"ikke {value[:40]!r}.") from None
    return found.replace(tzinfo=COPENHAGEN) if found.tzinfo is None else found


class ListQuery:
    """A list's parameters: its filters, its page and its page size."""

    def __init__(self, request: Request, page: int = Query(1, ge=1, le=10_000_000),
                 limit: int | None = Query(None, ge=1),
                 created_since: str | None = None, created_until: str | None = None,
                 modified_since: str | None = None, modified_until: str | None = None):
        self.request = request
        default, most = MEETING_LIMITS if request.url.path.endswith("/meeting") \
            else (DEFAULT_LIMIT, MAX_LIMIT)
        self.page, self.limit, self.default = page, min(limit or default, most), default
        self.window = Window(instant(created_since, "created_since"),
                             instant(created_until, "created_until"),
                             instant(modified_since, "modified_since"),
                             instant(modified_until, "modified_until"))
        self.given = {name: value for name, value in (
            ("created_since", created_since), ("created_until", created_until),
            ("modified_since", modified_since), ("modified_until", modified_until))
            if value}

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def link(self, page: int) -> str:
        params = {**self.given, "page": page}
        if self.limit != self.default:
            params["limit"] = self.limit
        return f"{urls().site}{self.request.url.path}?{urlencode(params)}"

    def answer(self, data: list[dict], total: int | None, more: bool) -> Response:
        """The list as OParl writes one; `total` None: not told (the page may hold fewer
        than `limit` objects, see file_list), `more`: there is a next page."""
        pagination = {"elementsPerPage": self.limit, "currentPage": self.page}
        links = {"first": self.link(1), "self": self.link(self.page)}
        if total is not None:
            pages = max(1, -(-total // self.limit))
            pagination |= {"totalElements": total, "totalPages": pages}
            links["last"] = self.link(pages)
            more = self.page < pages
        if self.page > 1:
            links["prev"] = self.link(self.page - 1)
        if more:
            links["next"] = self.link(self.page + 1)
        return answer(self.request, {"data": data, "pagination": pagination, "links": links})

    def slice(self, items: list) -> list:
        return items[self.offset:self.offset + self.limit]


def page_of(session: Session, query, order, params: ListQuery) -> tuple[list, int]:
    total = oparl.count(session, query)
    rows = session.exec(query.order_by(*order).offset(params.offset).limit(params.limit)).all()
    return list(rows), total


# -- system, body, the configured lists --------------------------------------------------------

@router.get("")
def system(request: Request):
    return answer(request, oparl.system(urls(), configured()))


@router.get("/body")
def body_list(params: ListQuery = Depends()):
    when = configured()
    found = [oparl.body(current_organisation(), urls(), when, today())] \
        if params.window.admits(when, when) else []
    return params.answer(params.slice(found), len(found), False)


@router.get(f"/body/{oparl.BODY_KEY}")
def body(request: Request):
    return answer(request, oparl.body(current_organisation(), urls(), configured(), today()))


def today():
    return local_day(datetime.now(UTC))


@router.get(f"/body/{oparl.BODY_KEY}/organization")
def organization_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    org, when = current_organisation(), configured()
    codes = [b.code for b in org.bodies] if params.window.admits(when, when) else []
    page = params.slice(codes)
    data = [oparl.organization(org, urls(), code, when, oparl.body_memberships(session, code))
            for code in page]
    return params.answer(data, len(codes), False)


@router.get("/organization/{code}")
def organization(request: Request, code: str, session: Session = Depends(db)):
    org = current_organisation()
    try:
        org.body(code)
    except NotFound:
        raise NotFound(NOT_FOUND) from None
    return answer(request, oparl.organization(org, urls(), code, configured(),
                                              oparl.body_memberships(session, code)))


@router.get(f"/body/{oparl.BODY_KEY}/legislativeterm")
def legislative_term_list(params: ListQuery = Depends()):
    when = configured()
    years = oparl.term_years(today()) if params.window.admits(when, when) else []
    data = [oparl.legislative_term(urls(), year, when) for year in params.slice(years)]
    return params.answer(data, len(years), False)


@router.get("/legislativeterm/{year}")
def legislative_term(request: Request, year: int):
    if year not in oparl.term_years(today()):
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.legislative_term(urls(), year, configured()))


# -- people ------------------------------------------------------------------------------------

@router.get(f"/body/{oparl.BODY_KEY}/person")
def person_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    users, total = page_of(session, oparl.person_rows(params.window), [User.id], params)
    return params.answer(oparl.people_objects(session, urls(), users), total, False)


@router.get("/person/{user_id}")
def person(request: Request, user_id: int, session: Session = Depends(db)):
    user = session.exec(oparl.person_rows(Window()).where(User.id == user_id)).first()
    if user is None:
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.people_objects(session, urls(), [user])[0])


@router.get(f"/body/{oparl.BODY_KEY}/membership")
def membership_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    """The memberships, then the ended ones (deleted: true)."""
    live = oparl.membership_rows(params.window)
    live_count = oparl.count(session, live)
    rows = session.exec(live.order_by(Membership.user_id, Membership.body_code)
                        .offset(params.offset).limit(params.limit)).all()
    data = [oparl.membership(urls(), row) for row in rows]
    gone = [t for t in oparl.tombstones(session, "membership", params.window)
            if not _membership(session, t.key)]
    start = max(0, params.offset - live_count)
    for tombstone in gone[start:start + params.limit - len(data)]:
        data.append(oparl.deleted("Membership", urls().of("membership", tombstone.key),
                                  tombstone.created_at, tombstone.deleted_at))
    return params.answer(data, live_count + len(gone), False)


def _membership(session: Session, key: str) -> Membership | None:
    user_id, _, code = key.partition("-")
    if not user_id.isdigit():
        return None
    row = session.exec(oparl.membership_rows(Window()).where(
        Membership.user_id == int(user_id), Membership.body_code == code)).first()
    return row


@router.get("/membership/{membership_key}")
def membership(request: Request, membership_key: str, session: Session = Depends(db)):
    key = membership_key
    row = _membership(session, key)
    if row is not None:
        return answer(request, oparl.membership(urls(), row))
    gone = [t for t in oparl.tombstones(session, "membership", Window()) if t.key == key]
    if not gone:
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.deleted("Membership", urls().of("membership", key),
                                         gone[-1].created_at, gone[-1].deleted_at))


# -- meetings, locations -----------------------------------------------------------------------

@router.get(f"/body/{oparl.BODY_KEY}/meeting")
def meeting_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    meetings, total = page_of(session, oparl.meeting_rows(params.window), [Meeting.id], params)
    return params.answer(oparl.meetings_objects(current_organisation(), session, urls(),
                                                meetings), total, False)


def _meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(NOT_FOUND)
    return meeting


@router.get("/meeting/{meeting_id}")
def meeting(request: Request, meeting_id: int, session: Session = Depends(db)):
    found = oparl.meetings_objects(current_organisation(), session, urls(),
                                   [_meeting(session, meeting_id)])
    return answer(request, found[0])


@router.get(f"/body/{oparl.BODY_KEY}/location")
def location_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    query = oparl.meeting_rows(params.window).where(Meeting.place != "")
    meetings, total = page_of(session, query, [Meeting.id], params)
    return params.answer([oparl.location(urls(), m) for m in meetings], total, False)


@router.get("/location/{meeting_id}")
def location(request: Request, meeting_id: int, session: Session = Depends(db)):
    meeting = _meeting(session, meeting_id)
    if not meeting.place:
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.location(urls(), meeting))


# -- agenda items, consultations, papers -------------------------------------------------------

@router.get(f"/body/{oparl.BODY_KEY}/agendaitem")
def agenda_item_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    rows, total = page_of(session, oparl.item_rows(params.window), [AgendaItem.id], params)
    return params.answer(oparl.items_objects(current_organisation(), session, urls(), rows),
                         total, False)


def _public_item(session: Session, item_id: int) -> tuple[AgendaItem, Meeting]:
    found = session.exec(oparl.item_rows(Window()).where(AgendaItem.id == item_id)).first()
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


@router.get("/agendaitem/{item_id}")
def agenda_item(request: Request, item_id: int, session: Session = Depends(db)):
    row = _public_item(session, item_id)
    return answer(request, oparl.items_objects(current_organisation(), session, urls(),
                                               [row])[0])


@router.get(f"/body/{oparl.BODY_KEY}/consultation")
def consultation_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    query = oparl.item_rows(params.window).where(AgendaItem.case_id.is_not(None))
    rows, total = page_of(session, query, [AgendaItem.id], params)
    cases = {c.id: c for c in session.exec(select(Case).where(
        Case.id.in_({item.case_id for item, _ in rows})))}
    return params.answer([oparl.consultation(urls(), item, meeting, cases[item.case_id])
                          for item, meeting in rows], total, False)


@router.get("/consultation/{item_id}")
def consultation(request: Request, item_id: int, session: Session = Depends(db)):
    item, meeting = _public_item(session, item_id)
    if item.case_id is None:
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.consultation(urls(), item, meeting,
                                              session.get(Case, item.case_id)))


@router.get(f"/body/{oparl.BODY_KEY}/paper")
def paper_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    cases, total = page_of(session, oparl.paper_rows(params.window), [Case.id], params)
    return params.answer(oparl.papers_objects(current_organisation(), session, urls(), cases),
                         total, False)


@router.get("/paper/{case_id}")
def paper(request: Request, case_id: int, session: Session = Depends(db)):
    case = session.exec(oparl.paper_rows(Window()).where(Case.id == case_id)).first()
    if case is None:
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.papers_objects(current_organisation(), session, urls(),
                                                [case])[0])


# -- files -------------------------------------------------------------------------------------

@router.get(f"/body/{oparl.BODY_KEY}/file")
def file_list(params: ListQuery = Depends(), session: Session = Depends(db)):
    """The Bilag the public may read, then the removed ones (deleted: true). Whether each may
    be read is asked when its page is made, so a page can hold fewer than `limit` and the
    count of all is not told: it would count the Bilag the public may not know of."""
    live = oparl.file_rows(params.window)
    rows = session.exec(live.order_by(Attachment.id).offset(params.offset)
                        .limit(params.limit + 1)).all()
    more = len(rows) > params.limit
    rows = rows[:params.limit]
    data = [oparl.file_object(urls(), a)
            for a in oparl.readable_files(current_organisation(), session, list(rows))]
    if not more:
        live_count = oparl.count(session, live)
        gone = [t for t in oparl.tombstones(session, "file", params.window)
                if session.get(Attachment, int(t.key)) is None]
        start = max(0, params.offset - live_count)
        room = params.limit - len(rows)
        data += [oparl.deleted("File", urls().of("file", t.key), t.created_at, t.deleted_at)
                 for t in gone[start:start + room]]
        more = len(gone) > start + room
    return params.answer(data, None, more)


@router.get("/file/{attachment_id}")
def file(request: Request, attachment_id: int, session: Session = Depends(db)):
    attachment = session.exec(oparl.file_rows(Window())
                              .where(Attachment.id == attachment_id)).first()
    if attachment is not None:
        if not oparl.readable_files(current_organisation(), session, [attachment]):
            raise NotFound(NOT_FOUND)
        return answer(request, oparl.file_object(urls(), attachment))
    gone = [t for t in oparl.tombstones(session, "file", Window())
            if t.key == str(attachment_id)]
    if not gone or session.get(Attachment, attachment_id) is not None:
        raise NotFound(NOT_FOUND)
    return answer(request, oparl.deleted("File", urls().of("file", attachment_id),
                                         gone[-1].created_at, gone[-1].deleted_at))


# -- the export of one meeting -----------------------------------------------------------------

def _published_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = session.get(Meeting, meeting_id)
    if meeting is None or meeting.agenda_status != AGENDA_PUBLISHED:
        raise NotFound("Mødet findes ikke, eller dagsordenen er ikke offentliggjort.")
    return meeting


@exports.get("/offentlig/moeder/{meeting_id}/eksport.json")
def export_json(request: Request, meeting_id: int, session: Session = Depends(db)):
    meeting = _published_meeting(session, meeting_id)
    org = current_organisation()
    content = {"organ": org.body_name(meeting.body_code),
               "dato": meeting.starts_at.astimezone(COPENHAGEN).strftime("%d-%m-%Y"),
               "punkter": oparl.export_rows(org, session, meeting)}
    return answer(request, content)


@exports.get("/offentlig/moeder/{meeting_id}/eksport.csv")
def export_csv(request: Request, meeting_id: int, session: Session = Depends(db)):
    meeting = _published_meeting(session, meeting_id)
    out = io.StringIO()
    # Semicolons and a byte order mark: Excel on a Danish Windows reads a CSV file in the
    # ANSI code page (æ, ø, å garbled) unless it starts with the UTF-8 BOM, and splits it on
    # the list separator of the Danish locale, ";" (the comma is the decimal mark there).
    writer = csv.DictWriter(out, fieldnames=oparl.EXPORT_COLUMNS, delimiter=";",
                            quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(oparl.export_rows(current_organisation(), session, meeting))
    name = f"moede-{meeting.id}-{local_day(meeting.starts_at):%Y-%m-%d}.csv"
    return cached(request, ("\ufeff" + out.getvalue()).encode("utf-8"),
                  "text/csv; charset=utf-8",
                  {"Content-Disposition": f'attachment; filename="{name}"'})

