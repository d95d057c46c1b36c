"""Load a parsed referat (meetings.referat) into a meeting, its items, cases and decisions.

Runs inside the caller's write transaction. Idempotent: a meeting that already has the same
agenda is left as it is. What cannot be carried over faithfully is reported, not guessed:

* a decision that is free text (no standard wording) is kept on the agenda item, but fires
  no workflow transition;
* "Ny sag forelægges" names no new case in the referat, so the case is not replaced;
* "Godkendt og sendes i høring" names neither parties nor høringsfrist: the case goes into
  hearing, and the hearing itself is left for the secretariat to register;
* a body or centre name the organisation does not know is reported (a former committee is
  kept by name in the case's history, as `record_earlier` allows).

A web referat (meetings.referat_web) names its body, day, time and place, and lists who
attended: the absent are recorded through the meeting service (`record_attendance`). A case
item whose "Tidligere behandling" names a treatment recorded here (body, day, item number) is
that case, seen again: its decision goes into the same case's history.

The referat carries no case numbers. A case gets the number "<body>-<yyyymmdd>-<item>" (the
meeting where it was first read); the demo's data file uses the same scheme. An existing case
is found by that number first, then by exact title. A meeting that already has an agenda is
the same agenda when item by item the standing items agree and each case item holds the case
of that number or has the same title (the demo words its own titles).
"""

import difflib
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from cases import actions
from cases import services as case_services
from cases.models import Case, Treatment, utcnow
from cases.organisation import STANDING_COMMITTEE, Organisation
from cases.settings import current_organisation
from meetings import queries, services
from meetings.calendar import local_day
from meetings.models import MINUTES_FINAL, AgendaItem
from meetings.referat import Attendance, Item, Referat, recognise_wording
from workflow import decisions
from workflow.errors import InvalidInput, UserError


@dataclass
class ImportReport:
    meeting_id: int | None = None
    already_imported: bool = False
    created_cases: list[str] = field(default_factory=list)
    matched_cases: list[str] = field(default_factory=list)
    items: int = 0
    problems: list[str] = field(default_factory=list)  # could not be read or carried over
    notes: list[str] = field(default_factory=list)  # read, with a remark


def body_code_for(org: Organisation, name: str) -> str | None:
    """A body's code from its name as written, also in the genitive ("Socialudvalgets")."""
    return org.code_for(name)


def meeting_body_from_hint(org: Organisation, referat: Referat) -> tuple[str, date] | None:
    """The meeting's body and day, from a web referat's head or else the source address."""
    if referat.body_name and referat.day:
        code = org.code_for(referat.body_name)
        if code is None:
            raise InvalidInput(f"Referatets organ «{referat.body_name}» er ikke et kendt organ."
                               " Angiv det (fx --body SU).")
        return code, referat.day
    hint = referat.meeting_hint()
    if not hint:
        return None
    slug, day = hint
    for body in org.bodies:
        if _slug(body.name) == _slug(slug):
            return body.code, day
    return None


def _slug(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _normalised(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


def centres_for(org: Organisation, recommender: str) -> tuple[list[str], str]:
    """The configured centres named by "Center X og Center Y indstiller", in order of mention,
    and a note when a misspelt name was read as a close match."""
    text = _normalised(recommender)
    found = []
    for centre in org.centres:
        position = text.find(_normalised(centre.removeprefix("Center for ")))
        if position >= 0:
            found.append((position, centre))
    if found:
        return [centre for _, centre in sorted(found)], ""
    close = difflib.get_close_matches(recommender, org.centres, n=1, cutoff=0.9)
    if close:
        return close, f"«{recommender}» er læst som «{close[0]}»"
    return [], ""


def import_referat(session: Session, referat: Referat, *, body_code: str | None = None,
                   day: date | None = None, actor: str = "import",
                   org: Organisation | None = None, now: datetime | None = None) -> ImportReport:
    org = org or current_organisation()
    now = now or utcnow()
    report = ImportReport(problems=list(referat.problems))
    if body_code is None or day is None:
        hint = meeting_body_from_hint(org, referat)
        if hint is None:
            raise InvalidInput("Referatet siger ikke, hvilket organ og hvilken mødedato det "
                               "gælder. Angiv dem (fx --body SU --date 04-10-2022).")
        body_code, day = body_code or hint[0], day or hint[1]
    body = org.body(body_code)
    meeting = queries.find_meeting(session, body.code, day)
    if meeting is not None and queries.items(session, meeting.id):
        return _already_there(session, org, meeting, referat, day, report)
    if meeting is None:
        meeting = services.create_meeting(session, body=body.code, day=day, org=org, now=now,
                                          at=referat.starts, place=referat.place)
    report.meeting_id = meeting.id
    record_attendance(session, meeting, referat.attendance)
    placed = []
    for parsed in referat.items:
        case = None if parsed.standing else _case_for(session, org, body.code, day, parsed,
                                                      report, actor=actor, now=now)
        item = AgendaItem(meeting_id=meeting.id, case_id=case.id if case else None,
                          standing=parsed.standing, number=parsed.number,
                          closed=parsed.closed, supplementary=parsed.supplementary,
                          title=parsed.title[:300], attachments_note=parsed.attachments_note,
                          text=parsed.description or (parsed.recommendation_text
                                                      if parsed.standing else ""))
        session.add(item)
        placed.append((item, parsed, case))
    session.flush()
    report.items = len(placed)
    services.publish_agenda(session, meeting.id, actor=actor, org=org, now=now)
    for item, parsed, case in placed:
        _record_decision(session, org, item, parsed, case, report, actor=actor, now=now)
    meeting.minutes_status = MINUTES_FINAL  # a published referat
    meeting.minutes_final_at = now
    session.add(meeting)
    session.flush()
    return report


def record_attendance(session: Session, meeting, attendance: list[Attendance]) -> None:
    """The referat's attendance list on the meeting: each member not present (Afbud,
    Fraværende) as an absence, with the status as written. The one place the importer
    records attendance, through the meeting service."""
    for member in attendance:
        if not member.present:
            services.record_absence(session, meeting.id, name=member.name, note=member.note)


def _already_there(session, org, meeting, referat, day, report) -> ImportReport:
    existing = queries.items(session, meeting.id)
    if len(existing) != len(referat.items) or not all(
            _same_item(session, org, meeting.body_code, day, item, parsed)
            for item, parsed in zip(existing, referat.items, strict=True)):
        raise InvalidInput(f"{meeting.body_code}-mødet {local_day(meeting.starts_at):%d-%m-%Y} "
                           "findes allerede med en anden dagsorden; intet er ændret.")
    for item, parsed in zip(existing, referat.items, strict=True):
        if item.title != parsed.title[:300] and not item.standing:
            report.notes.append(f"Punkt {item.number}: dagsordenen har titlen «{item.title}»; "
                                "referatets titel er ikke indlæst.")
    report.meeting_id = meeting.id
    report.already_imported = True
    report.items = len(existing)
    return report


def _same_item(session, org, body_code, day, item: AgendaItem, parsed: Item) -> bool:
    if item.number != parsed.number or item.standing != parsed.standing:
        return False
    if item.standing or item.title == parsed.title[:300]:
        return True
    case = session.get(Case, item.case_id) if item.case_id else None
    return case is not None and (case.number == case_number(body_code, day, parsed) or
                                 case.id == _earlier_case_id(session, org, parsed, day))


def case_number(body_code: str, day: date, parsed: Item) -> str:
    """The number the importer gives the case of an item it reads first at this meeting."""
    return f"{body_code}-{day:%Y%m%d}-{parsed.number:02d}"


def _earlier_case_id(session, org, parsed: Item, day: date) -> int | None:
    """The case of a treatment the item's "Tidligere behandling" names (body, day, item
    number) at an earlier meeting imported or held here: the same case seen again."""
    for earlier in parsed.earlier:
        code = org.code_for(earlier.body)
        if code is None or earlier.day >= day:
            continue
        found = session.exec(select(Treatment.case_id).where(
            Treatment.body_code == code, Treatment.meeting_date == earlier.day,
            Treatment.item_number == earlier.item)).first()
        if found is not None:
            return found
    return None


def _case_for(session, org, body_code, day, parsed: Item, report, *, actor, now) -> Case | None:
    where = f"Punkt {parsed.number}"
    number = case_number(body_code, day, parsed)
    linked = _earlier_case_id(session, org, parsed, day)
    existing = (session.get(Case, linked) if linked else None) or \
        session.exec(select(Case).where(Case.number == number)).first() or \
        session.exec(select(Case).where(Case.title == parsed.title[:300])).first()
    if existing:
        report.matched_cases.append(existing.number)
        if linked == existing.id:
            report.notes.append(f"{where}: sagen {existing.number} er den, der blev behandlet "
                                "tidligere (Tidligere behandling); beslutningen er føjet til "
                                "dens historik.")
        elif existing.title != parsed.title[:300]:
            report.notes.append(f"{where}: sagen {existing.number} findes allerede med titlen "
                                f"«{existing.title}»; den er brugt.")
        return existing
    deciding = body_code_for(org, parsed.deciding_body)
    if deciding is None:
        report.problems.append(f"{where}: «Beslutningen træffes af» ({parsed.deciding_body or '–'}"
                               ") er ikke et kendt organ; punktet er indlæst uden sag.")
        return None
    centres, note = centres_for(org, parsed.recommender)
    if note:
        report.notes.append(f"{where}: {note}.")
    if not centres:
        report.problems.append(f"{where}: centret i «{parsed.recommender or '–'}» er ukendt; "
                               "punktet er indlæst uden sag.")
        return None
    case = case_services.create_case(session, {
        "number": number, "title": parsed.title[:300], "summary": parsed.summary,
        "background": parsed.background, "presentation": parsed.presentation,
        "economy": parsed.economy, "centre": centres[0], "deciding_body": deciding,
        "committees": _route(org, body_code, parsed, report),
        "proposals": parsed.proposals, "confidential": parsed.closed},
        actor=actor, org=org, now=now)
    for earlier in parsed.earlier:
        _record_earlier(session, org, case, earlier, "behandlet", earlier.note, report,
                        actor=actor, now=now)
    for entry in parsed.history:
        wording = recognise_wording(entry.decision)
        if wording is None:
            report.problems.append(f"{where}, Beslutningshistorik: «{entry.decision[:60]}» er "
                                   "ikke en standardbeslutning; gemt som behandlet.")
        _record_earlier(session, org, case, entry, wording or "behandlet", entry.decision,
                        report, actor=actor, now=now)
    actions.submit(session, number, actor=actor, org=org, now=now)
    report.created_cases.append(number)
    return case


def _route(org, body_code, parsed: Item, report) -> list[str]:
    """The standing committees on the case's route: those the text says treat it, those in
    its decision history, and the meeting's own body."""
    route = []
    names = parsed.route + [entry.body for entry in parsed.history]
    for name in names:
        code = body_code_for(org, name)
        if code is None:
            report.problems.append(f"Punkt {parsed.number}: «{name}» er ikke et kendt organ "
                                   "og er ikke sat på sagens rute.")
        elif org.body(code).kind == STANDING_COMMITTEE and code not in route:
            route.append(code)
    if org.body(body_code).kind == STANDING_COMMITTEE and body_code not in route:
        route.append(body_code)
    return route


def _record_earlier(session, org, case, entry, wording, text, report, *, actor, now) -> None:
    code = body_code_for(org, entry.body)
    who = {"body": code} if code else {"body_name": entry.body}
    if code is None:
        report.notes.append(f"Sag {case.number}: «{entry.body}» er ikke et nuværende organ; "
                            "behandlingen er gemt med organets navn.")
    actions.record_earlier(session, case.number, actor=actor, org=org, now=now,
                           wording=wording, meeting_date=entry.day, item_number=entry.item,
                           decision_text=text, **who)


def _record_decision(session, org, item, parsed: Item, case, report, *, actor, now) -> None:
    text = parsed.decision_text
    proposals = [{"number": n, "text": t} for n, t in parsed.proposal_decisions]
    if not text and not proposals:
        if not parsed.standing:
            report.problems.append(f"Punkt {parsed.number}: ingen beslutning i referatet.")
        return
    where = f"Punkt {parsed.number}"
    wording = parsed.wording
    decision = dict(decision_text=text, proposal_decisions=proposals, minority=parsed.minority)
    trigger = decisions.BY_CODE[wording].trigger if wording else None
    reason = ""
    if case is not None and _already_treated(session, case, item):
        reason = "beslutningen findes allerede på sagen"
    elif case is not None and wording is None:
        reason = "beslutningen er fri tekst uden standardformulering"
    elif case is not None and trigger == "replace":
        reason = "referatet nævner ikke den nye sag"
    elif case is not None and trigger == "send_to_hearing":
        reason = _send_to_hearing(session, org, item, case, wording, decision, actor=actor,
                                  now=now)
        if not reason:
            report.problems.append(f"{where}: sagen er sendt i høring, men referatet nævner "
                                   "ikke høringsparter og høringsfrist; registrér høringen "
                                   "på sagen.")
    else:
        try:
            with session.begin_nested():
                services.record_item_decision(session, item.id, wording=wording or "",
                                              actor=actor, org=org, now=now, **decision)
            return
        except UserError as error:
            reason = error.message
    if reason:
        report.problems.append(f"{where}: {reason}; sagens gang er ikke ændret.")
    item.wording = wording
    item.decision_text = text
    item.proposal_decisions = proposals
    item.minority = parsed.minority
    item.decided_at = now
    session.add(item)
    session.flush()


def _send_to_hearing(session, org, item, case, wording, decision, *, actor, now) -> str:
    """Fire the committee's decision to send the case to hearing, without a hearing row (the
    referat names no parties or deadline). Returns why it could not, or ""."""
    meeting = queries.get_meeting(session, item.meeting_id)
    try:
        with session.begin_nested():
            actions.record_decision(
                session, case.number, body=meeting.body_code, wording=wording, actor=actor,
                org=org, now=now, meeting_date=local_day(meeting.starts_at),
                item_number=item.number, agenda_item_id=item.id, **decision)
    except UserError as error:
        return error.message
    return ""


def _already_treated(session, case, item) -> bool:
    meeting = queries.get_meeting(session, item.meeting_id)
    return session.exec(select(Treatment.id).where(
        Treatment.case_id == case.id, Treatment.body_code == meeting.body_code,
        Treatment.meeting_date == local_day(meeting.starts_at))).first() is not None
