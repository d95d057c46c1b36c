"""Search in Danish across cases, agenda items, decisions, Bilag and høringssvar: the index
and its queries.

**The index** holds every text once (`search_doc`), whoever may read it, with what the
filters and the rules need (case, meeting, bodies, year, state), and its Danish full-text
index (`search_fts`, made by the migration): on PostgreSQL tsvectors of the `danish`
configuration with a GIN index, on SQLite FTS5 over the words' Snowball stems
(meetings.searchtext), so "udsatte" finds "udsat" on both.

**Who may read a hit** is decided when it is served, never when it was indexed: each hit is
put to meetings.visibility (a lukket punkt's text only to who may read it) and, for the public,
to the published agendas (the public reads nothing that was not published). A case can become
closed after it was indexed, so an index split by audience would have to be rebuilt at that
moment, and would leak until it was; filtering at serve time cannot lag.

**Kept up to date** by the beat's sweep (notifications.changes), from the same markers as the
reminders: a case whose audit log moved is indexed again (its text, decisions, Bilag,
høringssvar and items), a marked meeting has its items indexed again, each in the transaction
that moves the marker, so a change is never lost. `sagsgang search reindex` rebuilds
everything.
"""

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from markupsafe import Markup
from sqlmodel import Session, select

from cases import files, queries
from cases.dates import to_local
from cases.models import Attachment, Case
from cases.organisation import Organisation
from meetings import queries as meeting_queries
from meetings import searchtext, visibility
from meetings.bilag import may_read_attachment
from meetings.models import AGENDA_PUBLISHED, AgendaItem, AgendaPublication, Meeting, SearchDoc
from workflow import access, decisions
from workflow.errors import InvalidInput
from workflow.machine import STATE_LABELS

KINDS = {"case": "Sag", "item": "Dagsordenspunkt", "decision": "Beslutning", "bilag": "Bilag",
         "response": "Høringssvar"}

_DOC = SearchDoc.__table__


# -- indexing ----------------------------------------------------------------------------------

# A tsvector holds at most 1 MB; the start of a very long Bilag text is what is searched.
MAX_TEXT = 300_000


def _clean(text: str) -> str:
    # The ts_headline marks (searchtext.MARK_START/STOP) must not occur in the text itself;
    # NUL cannot be stored in PostgreSQL text (an extracted Bilag text may hold either).
    return text[:MAX_TEXT].translate({0: " ", 2: " ", 3: " "})


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


def _bodies(codes) -> str:
    return " " + " ".join(sorted({code for code in codes if code})) + " "


def case_docs(org: Organisation, session: Session, case: Case) -> list[dict]:
    """The case's own texts: the case, each decision on it (treatment), each Bilag and each
    høringssvar (read as the case is: _Reader)."""
    registered = to_local(case.created_at).date()
    route = _bodies(visibility.case_bodies(org, session, case))
    common = {"case_id": case.id, "meeting_id": None, "state": case.status}
    proposals = [f"{p.number}. {p.text}" for p in queries.proposals(session, case.id)]
    docs = [{**common, "kind": "case", "source_id": case.id, "bodies": route,
             "year": registered.year, "on": registered, "title": case.title,
             "text": _join(case.summary, case.background, case.presentation, case.economy,
                           *proposals)}]
    for treatment in queries.decision_history(session, case.id):
        wording = decisions.BY_CODE.get(treatment.wording)
        docs.append({**common, "kind": "decision", "source_id": treatment.id,
                     "bodies": _bodies([treatment.body_code]),
                     "year": treatment.meeting_date.year, "on": treatment.meeting_date,
                     "title": case.title,
                     "text": _join(wording.label if wording else "", treatment.decision_text,
                                   treatment.minority)})
    for attachment in queries.attachments(session, case.id):
        docs.append({**common, "kind": "bilag", "source_id": attachment.id, "bodies": route,
                     "year": registered.year, "on": registered, "title": attachment.title,
                     "text": files.extracted_text(attachment)})
    for response, party in queries.case_hearing_responses(session, case.id):
        docs.append({**common, "kind": "response", "source_id": response.id,
                     "bodies": _bodies([*route.split(), party.body_code]),
                     "year": response.received_on.year, "on": response.received_on,
                     "title": f"Høringssvar fra {party.name}", "text": response.text})
    return docs


def item_doc(session: Session, item: AgendaItem, meeting: Meeting,
             case: Case | None = None) -> dict:
    """An agenda item: its title and own texts; a standing item's decision too (a case's
    decision is its treatment's document)."""
    day = to_local(meeting.starts_at).date()
    decision = "" if item.case_id else _join(item.decision_text, item.minority)
    return {"kind": "item", "source_id": item.id, "case_id": item.case_id,
            "meeting_id": meeting.id, "bodies": _bodies([meeting.body_code]), "year": day.year,
            "on": day, "state": case.status if case else "", "title": item.title,
            "text": _join(item.text, item.attachments_note, decision)}


def index_case(org: Organisation, session: Session, case_id: int) -> None:
    """(Re)index the case and everything of it: its texts, decisions, Bilag, høringssvar and
    agenda items (they carry its state). A case no longer there leaves nothing behind."""
    _delete(session, _DOC.c.case_id == case_id)
    case = session.get(Case, case_id)
    if case is None:
        return
    docs = case_docs(org, session, case)
    for item, meeting in session.exec(select(AgendaItem, Meeting)
                                      .join(Meeting, Meeting.id == AgendaItem.meeting_id)
                                      .where(AgendaItem.case_id == case_id)):
        docs.append(item_doc(session, item, meeting, case))
    insert_docs(session, docs)


def index_meeting(session: Session, meeting_id: int) -> None:
    """(Re)index the meeting's agenda items."""
    _delete(session, (_DOC.c.kind == "item") & (_DOC.c.meeting_id == meeting_id))
    meeting = session.get(Meeting, meeting_id)
    if meeting is None:
        return
    docs = []
    for item, case in session.exec(select(AgendaItem, Case)
                                   .join(Case, Case.id == AgendaItem.case_id, isouter=True)
                                   .where(AgendaItem.meeting_id == meeting_id)):
        docs.append(item_doc(session, item, meeting, case))
    insert_docs(session, docs)


def reindex_all(org: Organisation, session: Session) -> int:
    """Rebuild the whole index; returns how many texts it holds."""
    _delete(session, sa.true())
    for case_id in session.exec(select(Case.id)).all():
        index_case(org, session, case_id)
    standing = select(AgendaItem.meeting_id).where(AgendaItem.case_id.is_(None)).distinct()
    for meeting_id in session.exec(standing).all():
        insert_docs(session, [item_doc(session, item, session.get(Meeting, meeting_id))
                          for item in session.exec(select(AgendaItem).where(
                              AgendaItem.meeting_id == meeting_id,
                              AgendaItem.case_id.is_(None)))])
    return session.connection().execute(sa.select(sa.func.count()).select_from(_DOC)).scalar()


def _delete(session: Session, where) -> None:
    connection = session.connection()
    if connection.dialect.name == "sqlite":  # PostgreSQL: ON DELETE CASCADE
        gone = sa.select(_DOC.c.id).where(where)
        connection.execute(sa.delete(_SQLITE_FTS).where(_SQLITE_FTS.c.rowid.in_(gone)))
    connection.execute(_DOC.delete().where(where))


_SQLITE_FTS = sa.table("search_fts", sa.column("rowid"))
def tags(doc: dict) -> str:
    """The filters' values as words of their own ("organsu aar2022 tilstandclosed"), indexed
    beside the text, so that a filter is part of the full-text match and no row has to be
    looked up before the best are known."""
    words = [f"organ{code.lower()}" for code in doc["bodies"].split()]
    if doc["year"]:
        words.append(f"aar{doc['year']}")
    if doc["state"]:
        words.append(f"tilstand{doc['state']}")
    return " ".join(words)


_PG_INSERT = sa.text(
    "INSERT INTO search_fts (id, title, doc, tags) VALUES (:id, to_tsvector('danish', :title), "
    "setweight(to_tsvector('danish', :title), 'A') || setweight(to_tsvector('danish', :text), "
    "'B'), to_tsvector('simple', :tags))")
_SQLITE_INSERT = sa.text("INSERT INTO search_fts (rowid, title, body, tags) "
                         "VALUES (:id, :title, :text, :tags)")


def insert_docs(session: Session, docs: list[dict]) -> None:
    """Add documents (dicts of search_doc's columns) to the index; the bench builds with it."""
    if not docs:
        return
    connection = session.connection()
    for doc in docs:
        doc["title"], doc["text"] = _clean(doc["title"]), _clean(doc["text"])
    ids = connection.execute(_DOC.insert().returning(_DOC.c.id, sort_by_parameter_order=True),
                             docs).scalars().all()
    if connection.dialect.name == "sqlite":
        rows = [{"id": i, "title": searchtext.stemmed(d["title"]),
                 "text": searchtext.stemmed(d["text"]), "tags": tags(d)}
                for i, d in zip(ids, docs, strict=True)]
        connection.execute(_SQLITE_INSERT, rows)
    else:
        connection.execute(_PG_INSERT, [{"id": i, "title": d["title"], "text": d["text"],
                                         "tags": tags(d)}
                                        for i, d in zip(ids, docs, strict=True)])


# -- searching ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    body: str | None = None  # a body's code
    year: int | None = None
    state: str | None = None  # a case state (workflow.machine)


def filters(org: Organisation, *, body: str | None = None, year: str | int | None = None,
            state: str | None = None) -> Filters:
    """The filters as people give them (page, API, command line), checked: a clear Danish
    error for an unknown body, a year that is no year, or an unknown state."""
    if body:
        org.body(body)
    if year not in (None, ""):
        try:
            year = int(year)
        except ValueError:
            raise InvalidInput(f"Ugyldigt år: {year!r}. Skriv året med fire cifre, "
                               "fx 2022.") from None
        if not 1900 <= year <= 2200:
            raise InvalidInput(f"Ugyldigt år: {year}. Skriv året med fire cifre, fx 2022.")
    if state and state not in STATE_LABELS:
        raise InvalidInput(f"Ukendt tilstand: {state!r}. Kendte: {', '.join(STATE_LABELS)}.")
    return Filters(body=body or None, year=year or None, state=state or None)


@dataclass
class Hit:
    kind: str
    kind_label: str
    title: Markup  # escaped, the matching words marked
    snippet: Markup
    on: date | None
    bodies: list[str]
    state: str
    case_number: str | None = None
    meeting_id: int | None = None
    item_number: int | None = None
    source_id: int = 0

    def as_dict(self) -> dict:
        return {"kind": self.kind, "kind_label": self.kind_label,
                "title": searchtext.plain(self.title), "title_html": str(self.title),
                "snippet_html": str(self.snippet), "date": self.on.isoformat() if self.on else None,
                "bodies": self.bodies, "state": self.state, "case": self.case_number,
                "meeting_id": self.meeting_id, "item_number": self.item_number}


@dataclass
class Results:
    hits: list[Hit] = field(default_factory=list)
    more: bool = False  # there are more readable hits than were asked for


_MAX_SCANNED = 3000  # a query whose first 3000 matches are all unreadable shows nothing more


def search(org: Organisation, session: Session, text: str, viewer: access.Viewer,
           filters: Filters = Filters(), limit: int = 20) -> Results:
    """The hits the viewer may read, title hits first, then by relevance."""
    query = searchtext.parse(text)
    if not query:
        return Results()
    reader = _Reader(org, session, viewer)
    readable, offset, batch = [], 0, limit + 6  # most hits are readable: one batch, usually
    while len(readable) <= limit and offset < _MAX_SCANNED:
        rows = _candidates(session, text, query, filters, batch, offset)
        readable += reader.readable(rows)
        if len(rows) < batch:
            break
        offset += batch
        batch *= 2
    shown = readable[:limit]
    return Results(hits=_hits(session, reader, text, query, shown),
                   more=len(readable) > limit)


def _filter_tags(filters: Filters) -> list[str]:
    return tags({"bodies": filters.body or "", "year": filters.year,
                 "state": filters.state or ""}).split()


_ROWS = sa.select(_DOC.c.id, _DOC.c.kind, _DOC.c.source_id, _DOC.c.case_id,
                  _DOC.c.meeting_id).where(_DOC.c.id.in_(sa.bindparam("ids", expanding=True)))


def _candidates(session: Session, text: str, query: searchtext.Query, filters: Filters,
                limit: int, offset: int) -> list:
    """One page of matches in order: title hits first, then by relevance. Ranked on the
    full-text table alone (filters are its tags); only the page's rows are read after."""
    connection = session.connection()
    wanted = _filter_tags(filters)
    if connection.dialect.name == "sqlite":
        match = searchtext.fts5_match(query)
        if wanted:
            match = f"({match}) AND tags : (" + " AND ".join(f'"{t}"' for t in wanted) + ")"
        # Title weighs more, and a title hit comes first whatever the weights make of it.
        ids = connection.execute(sa.text(
            "SELECT rowid FROM search_fts WHERE search_fts MATCH :q ORDER BY rowid IN "
            "(SELECT rowid FROM search_fts WHERE search_fts MATCH :tq) DESC, "
            "bm25(search_fts, 4.0, 1.0, 0.0), rowid DESC LIMIT :limit OFFSET :offset"),
            {"q": match, "tq": searchtext.fts5_match(query, column="title"), "limit": limit,
             "offset": offset}).scalars().all()
    else:
        tagged = " AND f.tags @@ to_tsquery('simple', :tags)" if wanted else ""
        ids = connection.execute(sa.text(
            "SELECT f.id FROM search_fts f, websearch_to_tsquery('danish', :q) q "
            "WHERE f.doc @@ q" + tagged + " ORDER BY f.title @@ q DESC, ts_rank(f.doc, q) "
            "DESC, f.id DESC LIMIT :limit OFFSET :offset"),
            {"q": text, "tags": " & ".join(wanted), "limit": limit, "offset": offset}
        ).scalars().all()
    if not ids:
        return []
    rows = {row.id: row for row in connection.execute(_ROWS, {"ids": ids})}
    return [rows[i] for i in ids if i in rows]


_HEADLINE = sa.text(
    "SELECT d.id, ts_headline('danish', d.text, websearch_to_tsquery('danish', :q), "
    ":options) FROM search_doc d WHERE d.id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True))
_HEADLINE_OPTIONS = (f'StartSel="{searchtext.MARK_START}", StopSel="{searchtext.MARK_STOP}", '
                     "MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=\" … \"")


def _hits(session: Session, reader: "_Reader", text: str, query: searchtext.Query,
          rows: list) -> list[Hit]:
    if not rows:
        return []
    ids = [row.id for row in rows]
    docs = {doc.id: doc for doc in session.exec(select(SearchDoc).where(SearchDoc.id.in_(ids)))}
    stems = query.stems
    if session.connection().dialect.name == "sqlite":
        snippets = {i: searchtext.snippet(doc.text, stems) for i, doc in docs.items()}
    else:
        found = session.connection().execute(_HEADLINE, {"q": text, "ids": ids,
                                                         "options": _HEADLINE_OPTIONS})
        snippets = {i: searchtext.headline_html(headline) for i, headline in found}
    hits = []
    for row in rows:
        doc = docs.get(row.id)
        if doc is None:  # indexed again meanwhile
            continue
        case = reader.cases.get(doc.case_id) if doc.case_id else None
        item = reader.items.get(doc.source_id) if doc.kind == "item" else None
        hits.append(Hit(kind=doc.kind, kind_label=KINDS.get(doc.kind, doc.kind),
                        title=searchtext.highlight(doc.title, stems),
                        snippet=snippets.get(doc.id, Markup("")), on=doc.on,
                        bodies=doc.bodies.split(), state=doc.state,
                        case_number=case.number if case else None,
                        meeting_id=reader.public_meeting(doc, item),
                        item_number=item.number if item else None, source_id=doc.source_id))
    return hits


class _Reader:
    """Who may read which hits: the closed-item rule (meetings.visibility) and, for the
    public, the published agendas; asked for a batch of hits at once (a few queries per
    batch, not per hit), its rows kept for showing the hits."""

    def __init__(self, org: Organisation, session: Session, viewer: access.Viewer):
        self.org, self.session, self.viewer = org, session, viewer
        self.public = viewer.role is None
        self.cases: dict[int, Case] = {}
        self.items: dict[int, AgendaItem] = {}
        self.meetings: dict[int, Meeting] = {}
        self._readable_cases: set[int] = set()
        self._published: dict[int, int] = {}  # case id: the latest published meeting showing it
        self._kept: set[int] = set()  # meetings whose publications are kept
        self._asked: set[int] = set()

    def readable(self, rows) -> list:
        session = self.session
        item_ids = [row.source_id for row in rows if row.kind == "item"]
        for item, meeting in session.exec(select(AgendaItem, Meeting).join(
                Meeting, Meeting.id == AgendaItem.meeting_id).where(AgendaItem.id.in_(item_ids))):
            self.items[item.id], self.meetings[meeting.id] = item, meeting
        if self.public:
            self._keep({self.items[i].meeting_id for i in item_ids if i in self.items})
        new = {row.case_id for row in rows if row.case_id} - set(self.cases)
        found = list(session.exec(select(Case).where(Case.id.in_(new)))) if new else []
        self.cases.update((case.id, case) for case in found)
        self._readable_cases |= visibility.readable_cases(self.org, session, found, self.viewer)
        if self.public and new:
            self._published.update(self._published_meetings(new))
        bilag = {a.id: a for a in session.exec(select(Attachment).where(Attachment.id.in_(
            [row.source_id for row in rows if row.kind == "bilag"])))}
        return [row for row in rows if self._may_read(row, bilag)]

    def _may_read(self, row, bilag: dict[int, Attachment]) -> bool:
        if row.kind == "item":
            item = self.items.get(row.source_id)
            if item is None:
                return False
            meeting = self.meetings[item.meeting_id]
            if self.public and not _published(item, meeting, self._kept):
                return False
            if item.case_id is None:  # a standing item: closed only in its own body
                return visibility.may_read_item(self.org, self.session, item,
                                                meeting.body_code, self.viewer)
        # A case's own texts (the case, its decisions, Bilag and høringssvar) as the case.
        if row.case_id is None or row.case_id not in self._readable_cases:
            return False
        if self.public and row.case_id not in self._published:
            return False
        if row.kind == "bilag":
            attachment = bilag.get(row.source_id)
            return attachment is not None and may_read_attachment(
                self.org, self.session, self.cases[row.case_id], attachment, self.viewer)
        return True

    def _published_meetings(self, case_ids: set[int]) -> dict[int, int]:
        """For each case on a published agenda, the latest such meeting."""
        found, pairs = {}, []
        for item, meeting in self.session.exec(
                select(AgendaItem, Meeting).join(Meeting, Meeting.id == AgendaItem.meeting_id)
                .where(AgendaItem.case_id.in_(case_ids),
                       Meeting.agenda_status == AGENDA_PUBLISHED)
                .order_by(Meeting.starts_at.desc())):
            pairs.append((item, meeting))
        self._keep({meeting.id for _, meeting in pairs})
        for item, meeting in pairs:
            if item.case_id not in found and _published(item, meeting, self._kept):
                found[item.case_id] = meeting.id
        return found

    def _keep(self, meeting_ids: set[int]) -> None:
        """Note which of these meetings have their publications kept (_published)."""
        new = meeting_ids - self._asked
        if new:
            self._kept |= set(self.session.exec(select(AgendaPublication.meeting_id).where(
                AgendaPublication.meeting_id.in_(new)).distinct()))
            self._asked |= new

    def public_meeting(self, doc: SearchDoc, item: AgendaItem | None) -> int | None:
        """The meeting a hit links to: the item's own; for the public, a case's text on the
        latest published agenda that shows it."""
        if item is not None:
            return item.meeting_id
        if self.public and doc.case_id:
            return self._published.get(doc.case_id)
        return None


def _published(item: AgendaItem, meeting: Meeting, kept: set[int]) -> bool:
    """Does the public see this item? meetings.queries' one rule, with the batch's note of
    which meetings have their publications kept."""
    return meeting_queries.item_is_published(item, meeting, meeting.id in kept)
