"""The agenda (dagsorden) and minutes (referat) of a meeting as printable HTML.

Two steps, so a web app can use either: `meeting_context` builds a plain, JSON-ready dict
from the database, and `render_context` renders it with the one Jinja2 environment
(cases.templating: autoescape on, undefined variables are errors). A published agenda keeps
its context (AgendaPublication.content) and is rendered again from it unchanged.

The public version is made by `public_view`, which removes everything but number, title and
decision from a closed item (lukket punkt) before the template sees it: the template cannot
leak what it never receives. That includes the case's hearings and their answers
(høringssvar), which are part of the case. Closedness is decided when the document is
served: a published agenda kept as it was is shown to the public with every item closed
whose case is closed now (a case can become a lukket punkt after its agenda went out).
"""

import copy
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from cases import queries as case_queries
from cases.dates import format_date, format_instant, to_local
from cases.models import (
    Attachment,
    Case,
    Hearing,
    HearingParty,
    HearingResponse,
    Proposal,
    Treatment,
)
from cases.organisation import Organisation
from cases.settings import current_organisation
from cases.templating import render
from meetings import bilag, queries
from meetings.attendance import (
    ABSENT,
    ATTENDED,
    NOTE_KINDS,
    SENT_APOLOGIES,
    VOTE_ABSTAIN,
    VOTE_AGAINST,
    VOTE_FOR,
    note_sentence,
    person_label,
    vote_groups,
    vote_text,
)
from meetings.models import (
    AGENDA_STATUSES,
    MEETING_STATUSES,
    MINUTES_NONE,
    MINUTES_STATUSES,
    AgendaItem,
    AgendaPublication,
    Meeting,
)
from meetings.visibility import case_is_closed, closed_cases, closed_item, readable_items
from workflow import access, decisions

KINDS = {"dagsorden": "Dagsorden", "referat": "Referat", "tillaeg": "Tillægsdagsorden"}
TEMPLATES = {"dagsorden": "documents/dagsorden.html", "tillaeg": "documents/dagsorden.html",
             "referat": "documents/referat.html"}
PUBLIC_ITEM_KEYS = ("number", "title", "closed", "standing", "supplementary", "decision")


def meeting_header(meeting: Meeting, org: Organisation) -> dict:
    local = to_local(meeting.starts_at)
    return {"id": meeting.id, "body_code": meeting.body_code,
            "body_name": org.body_name(meeting.body_code),
            "date": format_date(meeting.starts_at), "time": local.strftime("%H:%M"),
            "place": meeting.place, "status": meeting.status,
            "status_label": MEETING_STATUSES.get(meeting.status, meeting.status),
            "status_reason": meeting.status_reason,
            "agenda_status": AGENDA_STATUSES.get(meeting.agenda_status, ""),
            "minutes_status": MINUTES_STATUSES.get(meeting.minutes_status, "")}


def _decision(wording: str | None, text: str, proposals: list[dict], minority: str) -> dict | None:
    if not wording and not text and not proposals:
        return None
    found = decisions.BY_CODE.get(wording or "")
    return {"label": found.label if found else "", "text": text or "",
            "proposals": [{"number": p["number"], "text": p["text"]} for p in proposals],
            "minority": minority or ""}


def _treatment_row(t: Treatment) -> dict:
    found = decisions.BY_CODE.get(t.wording)
    return {"body": t.body_name, "body_code": t.body_code, "date": format_date(t.meeting_date),
            "item": t.item_number, "wording": t.wording,
            "decision": t.decision_text or (found.label if found else t.wording)}


@dataclass
class _CaseRows:
    """What a meeting's cases show, each table read once for all of them (by case id;
    a hearing's parties and answers by hearing id), and which of them are closed."""

    treatments: dict[int, list[Treatment]]
    proposals: dict[int, list[Proposal]]
    attachments: dict[int, list[Attachment]]
    hearings: dict[int, list[Hearing]]
    parties: dict[int, list[HearingParty]]
    responses: dict[int, list[HearingResponse]]
    closed: set[int]


def _case_rows(session: Session, cases: list[Case]) -> _CaseRows:
    ids = [case.id for case in cases]
    hearings = case_queries.grouped(session, Hearing.case_id, ids, Hearing.deadline, Hearing.id)
    hearing_ids = [hearing.id for found in hearings.values() for hearing in found]
    return _CaseRows(
        treatments=case_queries.grouped(session, Treatment.case_id, ids, Treatment.meeting_date,
                                        Treatment.id),
        proposals=case_queries.grouped(session, Proposal.case_id, ids, Proposal.number),
        attachments=case_queries.grouped(session, Attachment.case_id, ids, Attachment.number),
        hearings=hearings,
        parties=case_queries.grouped(session, HearingParty.hearing_id, hearing_ids,
                                     HearingParty.id),
        responses=case_queries.grouped(session, HearingResponse.hearing_id, hearing_ids,
                                       HearingResponse.received_on, HearingResponse.id),
        closed=closed_cases(session, cases))


def _hearings(rows: _CaseRows, case: Case, day: date) -> list[dict]:
    """The case's hearings as the body has them at its meeting on `day`: those opened before
    that day (one opened on it or later is the meeting's outcome, "sendes i høring"), with
    the answers received by then; a party with no answer by then is listed as missing."""
    found = []
    for hearing in rows.hearings[case.id]:
        if hearing.opened_on >= day:
            continue
        parties = rows.parties[hearing.id]
        names = {p.id: p.name for p in parties}
        responses = [r for r in rows.responses[hearing.id] if r.received_on <= day]
        answered = {r.party_id for r in responses}
        found.append({
            "title": hearing.title, "deadline": format_date(hearing.deadline),
            "parties": [p.name for p in parties],
            "responses": [{"party": names.get(r.party_id, ""),
                           "received": format_date(r.received_on), "text": r.text}
                          for r in responses],
            "missing": [p.name for p in parties if p.id not in answered]})
    return found


def split_participation(text: str) -> tuple[str, str, str]:
    """(Sagsfremstilling, heading, text) of "Yderligere deltagelse på <organ>s møde": a
    referat keeps it as a heading paragraph at the end of Sagsfremstilling (the imported
    case has no field of its own for it), and the document shows it as its own section."""
    paras = text.split("\n\n")
    for index, para in enumerate(paras):
        line = para.strip()
        if line.startswith("Yderligere deltagelse") and "\n" not in line and len(line) < 120:
            rest = "\n\n".join(paras[index + 1:]).strip()
            if rest:
                return "\n\n".join(paras[:index]).strip(), line, rest
    return text, "", ""


def _case_part(rows: _CaseRows, org: Organisation, case: Case, item: AgendaItem,
               meeting: Meeting) -> dict:
    day = to_local(meeting.starts_at).date()
    # Treatments before this meeting; the one at this meeting is the item's own decision.
    earlier = [t for t in rows.treatments[case.id]
               if t.agenda_item_id != item.id and t.meeting_date <= day
               and not (t.body_code == meeting.body_code and t.meeting_date == day)]
    presentation, heading, participation = split_participation(case.presentation)
    return {
        "number": case.number, "summary": case.summary, "background": case.background,
        "presentation": presentation, "participation": participation,
        "participation_heading": heading, "economy": case.economy, "centre": case.centre,
        "deciding_body": org.body_name(case.deciding_body),
        "proposals": [{"number": p.number, "text": p.text}
                      for p in rows.proposals[case.id]],
        "attachments": [bilag.described(a) for a in rows.attachments[case.id]],
        "attachments_note": item.attachments_note,
        # Høringssvar are shown to the deciding body (a closed item's go with its case text:
        # public_view drops the whole case part).
        "hearings": _hearings(rows, case, day),
        # Tidligere behandling: where it was before, no decision known; Beslutningshistorik:
        # the earlier decisions.
        "earlier": [_treatment_row(t) for t in earlier if t.wording == "behandlet"],
        "history": [_treatment_row(t) for t in earlier if t.wording != "behandlet"],
    }


@dataclass(frozen=True)
class Attendance:
    """A meeting's attendance rows and, per attendance id, the items its person took no
    part in: read once for the list and for each item's minutes."""

    rows: list
    away: dict[int, list[int]]


def read_attendance(session: Session, meeting: Meeting) -> Attendance:
    return Attendance(queries.attendance(session, meeting.id),
                       queries.not_under_items(session, meeting.id))


def attendance_context(session: Session, meeting: Meeting,
                       items: list[AgendaItem] | None = None,
                       attendance: Attendance | None = None) -> dict:
    """The attendance list by status, each person as the minutes write them ("Carl Carlsen
    (A), stedfortræder for Bo Berg, deltog ikke under punkt 20-21")."""
    items = queries.items(session, meeting.id) if items is None else items
    attendance = attendance or read_attendance(session, meeting)
    numbers = {item.id: item.number for item in items}
    away = attendance.away
    found = {ATTENDED: [], SENT_APOLOGIES: [], ABSENT: []}
    for row in attendance.rows:
        not_under = sorted(numbers[i] for i in away.get(row.id, []) if i in numbers)
        found[row.status].append({
            "name": row.name, "party": row.party, "substitute_for": row.substitute_for,
            "note": row.note, "not_under": not_under,
            "label": person_label(row.name, row.party, row.substitute_for, row.note,
                                  not_under)})
    return {"present": found[ATTENDED], "apologies": found[SENT_APOLOGIES],
            "absent": found[ABSENT]}


def items_minutes(session: Session, meeting: Meeting, items: list[AgendaItem],
                  attendance: Attendance | None = None) -> dict[int, dict]:
    """Per item id: its votes, notes and who took no part in it, as plain data."""
    attendance = attendance or read_attendance(session, meeting)
    rows = {row.id: row for row in attendance.rows}
    away: dict[int, list[str]] = {}
    for attendance_id, item_ids in attendance.away.items():
        row = rows[attendance_id]
        for item_id in item_ids:
            away.setdefault(item_id, []).append(person_label(row.name, row.party))
    return _minutes(session, [item.id for item in items], away)


def minutes_of_items(session: Session, item_ids: list[int]) -> dict[int, dict]:
    """items_minutes for items of any meetings (a case's treatments), read by the items
    themselves: a case treated at ten meetings costs the queries of one."""
    away: dict[int, list[str]] = {}
    for item_id, row in queries.absent_from_items(session, item_ids):
        away.setdefault(item_id, []).append(person_label(row.name, row.party))
    return _minutes(session, item_ids, away)


def _minutes(session: Session, ids: list[int], away: dict[int, list[str]]) -> dict[int, dict]:
    votes, notes = queries.item_votes(session, ids), queries.item_notes(session, ids)
    return {item_id: {"votes": [vote_context(vote, voters)
                                for vote, voters in votes.get(item_id, [])],
                      "notes": [note_context(note) for note in notes.get(item_id, [])],
                      "not_present": away.get(item_id, [])}
            for item_id in ids}


def vote_context(vote, voters) -> dict:
    names: dict[str, list[str]] = {}
    for voter in voters:
        names.setdefault(voter.choice, []).append(voter.name)
    groups = vote_groups(names, {VOTE_FOR: vote.votes_for, VOTE_AGAINST: vote.votes_against,
                                 VOTE_ABSTAIN: vote.abstentions})
    return {"proposal": vote.proposal_number, "groups": groups, "text": vote_text(groups),
            "for": vote.votes_for, "against": vote.votes_against,
            "abstained": vote.abstentions}


def note_context(note) -> dict:
    return {"kind": note.kind, "label": NOTE_KINDS.get(note.kind, ""), "who": note.who,
            "text": note.text, "sentence": note_sentence(note.kind, note.who, note.text)}


def item_context(org: Organisation, meeting: Meeting, item: AgendaItem, case: Case | None,
                 rows: _CaseRows, minutes: dict) -> dict:
    """The item as the documents show it; `minutes` its votes, notes and who took no part
    (items_minutes), which a closed item's reduced form leaves out (public_view)."""
    return minutes | {
        "number": item.number, "title": item.title,
        "closed": closed_item(item, case, rows.closed),
        "standing": item.standing, "text": item.text, "supplementary": item.supplementary,
        "late_reason": item.late_reason, "attachments_note": item.attachments_note,
        "case": _case_part(rows, org, case, item, meeting) if case else None,
        "decision": _decision(item.wording, item.decision_text, item.proposal_decisions,
                              item.minority),
    }


def meeting_context(session: Session, meeting: Meeting | int, *, kind: str = "dagsorden",
                    public: bool = False, org: Organisation | None = None,
                    items: list[AgendaItem] | None = None,
                    cases: dict[int, Case] | None = None) -> dict:
    """Everything the agenda or minutes show, as plain data (`items` and their `cases`, by
    id, when the caller has read them already)."""
    org = org or current_organisation()
    if isinstance(meeting, int):
        meeting = queries.get_meeting(session, meeting)
    items = queries.items(session, meeting.id) if items is None else items
    cases = queries.item_cases(session, items) if cases is None else cases
    context, _ = _document(session, meeting, kind, org, items, cases)
    return public_view(context) if public else context


def _document(session: Session, meeting: Meeting, kind: str, org: Organisation,
              items: list[AgendaItem], cases: dict[int, Case]) -> tuple[dict, _CaseRows]:
    """meeting_context with the rows of its cases it was made from (viewer_context asks
    which may be read of the same rows)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    attendance = read_attendance(session, meeting)
    minutes = items_minutes(session, meeting, items, attendance)
    rows = _case_rows(session, list(cases.values()))
    context = {
        "kind": kind, "kind_label": KINDS[kind], "public": False,
        "municipality": org.name, "meeting": meeting_header(meeting, org),
        "items": [item_context(org, meeting, item, cases.get(item.case_id), rows,
                               minutes[item.id]) for item in items],
        "attendance": attendance_context(session, meeting, items, attendance),
        "absences": [{"name": a.name, "note": a.note}
                     for a in queries.absences(session, meeting.id)],
        "approvals": [{"name": user.name, "at": format_instant(a.approved_at)}
                      for a, user in queries.approvals(session, meeting.id)],
        "members": [u.name for u in queries.members(session, meeting.body_code)],
        "objection_deadline": format_date(meeting.objection_deadline),
    }
    return context, rows


def _reduced(item: dict) -> dict:
    """A closed item as those who may not read it see it: number, title and decision."""
    return {key: item.get(key) for key in PUBLIC_ITEM_KEYS} | {
        "case": None, "text": "", "late_reason": "", "attachments_note": ""}


def public_view(context: dict) -> dict:
    """The context with closed items reduced to number, title and decision."""
    shown = copy.deepcopy(context)
    shown["public"] = True
    shown["items"] = [_reduced(item) if item["closed"] else item | {"late_reason": ""}
                      for item in shown["items"]]
    for item in shown["items"]:  # a not-public Bilag (meetings.bilag) is left out too
        if item.get("case"):
            item["case"]["attachments"] = [a for a in item["case"].get("attachments", [])
                                           if a.get("public", True)]
    return shown


def viewer_context(session: Session, meeting: Meeting | int, viewer: access.Viewer, *,
                   kind: str = "dagsorden", org: Organisation | None = None,
                   items: list[AgendaItem] | None = None) -> dict:
    """The document as a signed-in person may read it: every item, each closed item they may
    not read (meetings.visibility.may_read_item) reduced as for the public. `items`: the
    meeting's items (queries.items), when the caller has them."""
    org = org or current_organisation()
    if isinstance(meeting, int):
        meeting = queries.get_meeting(session, meeting)
    items = queries.items(session, meeting.id) if items is None else items
    # Held here for the whole call: the session keeps loaded rows only while referenced, and
    # the rules below ask for each item's case again.
    cases = queries.item_cases(session, items)
    context, rows = _document(session, meeting, kind, org, items, cases)
    readable = readable_items(org, session, items, meeting.body_code, viewer)
    context["items"] = [item if row.id in readable else _reduced(item)
                        for item, row in zip(context["items"], items, strict=True)]
    # Only the Bilag the viewer may read (meetings.bilag's rule), for all items at once.
    shown = {a.id for a in bilag.readable_of_many(
        org, session, cases, [a for found in rows.attachments.values() for a in found], viewer)}
    for item in context["items"]:
        if item.get("case"):
            item["case"]["attachments"] = [a for a in item["case"]["attachments"]
                                           if a["id"] in shown]
    return context


def document_kind(meeting: Meeting, items: list[AgendaItem]) -> str:
    """Referat once the meeting has minutes or a decision; before that, the agenda."""
    if meeting.minutes_status != MINUTES_NONE or any(i.wording or i.decision_text
                                                      for i in items):
        return "referat"
    return "dagsorden"


def render_context(context: dict, *, pdf: bool = False, logo: str = "") -> str:
    """The document as HTML; `pdf`: with the cover and the page rules of the PDF
    (meetings.pdf), `logo` the cover's image (a URL)."""
    return render(TEMPLATES[context["kind"]], doc=context, pdf=pdf, logo=logo)


def render_meeting(session: Session, meeting_id: int, *, kind: str = "dagsorden",
                   public: bool = False, org: Organisation | None = None) -> str:
    """The meeting's agenda or minutes as HTML, now (for a published agenda as it was
    published, see render_publication)."""
    return render_context(meeting_context(session, meeting_id, kind=kind, public=public,
                                          org=org))


def publication_content(session: Session, meeting: Meeting, items: list[AgendaItem], *,
                        kind: str, org: Organisation | None = None) -> dict:
    """What a publication keeps: the full (not public) context of the published items."""
    return meeting_context(session, meeting, kind=kind, org=org, items=items)


def render_publication(publication: AgendaPublication) -> str:
    """A published agenda exactly as it was published, closed items' text included."""
    return render_context(publication.content)


def render_public_publication(session: Session, publication: AgendaPublication) -> str:
    """A published agenda as the public may read it now: as it was published, with every
    item hidden that is closed now, not only those that were closed then."""
    return render_context(public_view(closed_now(session, publication.content)))


def closed_now(session: Session, context: dict) -> dict:
    """A kept context with each item's `closed` decided again: an item closed then stays
    closed (its own mark cannot change once published), one whose case is closed now is
    closed."""
    items = [item | {"closed": True} if not item["closed"] and _case_closed(session, item)
             else item for item in context["items"]]
    return context | {"items": items}


def _case_closed(session: Session, item: dict) -> bool:
    if not item.get("case"):
        return False
    case = session.exec(select(Case).where(Case.number == item["case"]["number"])).first()
    return case is None or case_is_closed(session, case)  # a case not found: show nothing
