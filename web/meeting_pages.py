"""Meetings for the secretariat: create, move and cancel meetings (as `sagsgang meeting
create/move/cancel`), place cases from the queue on the agenda, number and order the items,
mark closed items, publish, and record each item's decision after the meeting (which fires
the case's workflow: meetings.services.record_item_decision), with what some decisions need:
the hearing for "Godkendt og sendes i høring", the new case for "Ny sag forelægges", and a
decision per proposal of the Indstilling. After the meeting the secretariat records the
attendance (Deltog, Afbud, Fraværende, substitutes, who took no part in which items) and each
item's votes and notes on the minutes page, sends the minutes for approval, and each member
of the body clicks "Godkendt" there."""

import logging
import re
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from cases import queries as case_queries
from cases.clock import today
from cases.dates import format_date, to_local
from cases.models import utcnow
from cases.organisation import HEARING_COUNCIL
from cases.settings import current_organisation
from meetings import pdf
from meetings import queries as meeting_queries
from meetings import services as meeting_services
from meetings.attendance import (
    NOTE_KINDS,
    VOTE_CHOICES,
    NoteEntry,
    VoteEntry,
    attendance_entries,
    item_ranges,
    split_names,
)
from meetings.calendar import agenda_deadlines, local_day, local_instant, rules_for
from meetings.documents import document_kind, viewer_context
from meetings.models import CANCELLED, AgendaPublication
from web.auth import CurrentUser, PostedForm, db, form_with_csrf, require, write
from web.confirm import Confirmation, Unconfirmed, confirm_page, unless_confirmed
from web.ownership import case_to_change, item_case
from web.public import pdf_response
from web.rendering import flash, page, redirect
from workflow import decisions
from workflow.errors import Conflict, InvalidInput, NotFound, TransitionRefused, UserError

router = APIRouter(include_in_schema=False)
log = logging.getLogger(__name__)


# -- what cannot be undone is confirmed first (web.confirm: after the action, in its write
# transaction, so that a refusal is said at once; unconfirmed, it is rolled back) ------------

def _unless_confirmed(form, meeting, *, title: str, consequences: list[str], action: str,
                      button: str, fields: tuple[str, ...] = (), quoted=(),
                      back: str = "", back_label: str = "Fortryd – gå tilbage til mødet"):
    """Inside the write block, after the action: unconfirmed, undo it and ask."""
    subject = f"{current_organisation().body_name(meeting.body_code)} – møde " \
              f"{format_date(meeting.starts_at)} kl. {to_local(meeting.starts_at):%H:%M}"
    unless_confirmed(form, Confirmation(
        title=title, subject=subject,
        consequences=[*consequences, "Det kan ikke gøres om."], action=action,
        back=back or f"/moeder/{meeting.id}", back_label=back_label,
        fields=tuple((name, form.get(name)) for name in fields), quoted=tuple(quoted),
        button=button))


@router.get("/moeder")
def meetings_page(request: Request, organ: str = "", aflyste: str = "",
                  user: CurrentUser = Depends(require("view_meetings")),
                  session: Session = Depends(db)):

    if organ:
        current_organisation().body(organ)
    shown = meeting_queries.meetings(session, body_code=organ or None,
                                     include_cancelled=bool(aflyste), last=200)
    return page(request, "meetings.html", user=user, meetings=shown, organ=organ,
                aflyste=bool(aflyste),
                statuses={m.id: meeting_queries.status_label(m, today()) for m in shown},
                agenda_out={m.id: agenda_out(m) for m in shown},
                own=own_next_meetings(session, user))


def agenda_out(meeting) -> date:
    """The day the meeting's agenda must be out by (its body's rule, in its weekdays)."""
    org = current_organisation()
    body = org.body(meeting.body_code)
    return agenda_deadlines(body, local_day(meeting.starts_at), rules_for(org, body.code)) \
        .agenda_out


def own_next_meetings(session: Session, user: CurrentUser) -> list[dict]:
    """The next meetings of the bodies the user is a member of (a member's landing page)."""
    org = current_organisation()
    day = to_local(utcnow()).date()
    found = [m | {"body": org.body(code)} for code in sorted(user.bodies)
             if code in {b.code for b in org.bodies}
             for m in meeting_queries.next_meetings(session, org, code, day)]
    return sorted(found, key=lambda m: m["starts_at"])


# -- the calendar: create, move, cancel (as `sagsgang meeting create/move/cancel`) ------------

@router.post("/moeder/ny")
def create_meeting(request: Request,
                   user: CurrentUser = Depends(require("manage_meetings")),
                   form: PostedForm = Depends(form_with_csrf)):

    with write(request) as session:
        meeting = meeting_services.create_meeting(
            session, body=form.get("body"), day=form.get("date"), at=form.get("time") or None,
            place=form.get("place"))
        meeting_id = meeting.id
        when = f"{meeting.body_code} {format_date(meeting.starts_at)} kl. " \
               f"{to_local(meeting.starts_at):%H:%M}"
    flash(request, f"Mødet er oprettet: {when}.")
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/flyt-moedet")
def move_meeting(request: Request, meeting_id: int,
                 user: CurrentUser = Depends(require("manage_meetings")),
                 form: PostedForm = Depends(form_with_csrf)):
    """A new date and time; the agenda's items (and so their cases) follow the meeting."""

    with write(request) as session:
        meeting = meeting_services.move_meeting(
            session, meeting_id, day=form.get("date"), at=form.get("time") or None,
            place=form.get("place"), reason=form.get("reason"), actor=user.username)
        when = f"{format_date(meeting.starts_at)} kl. {to_local(meeting.starts_at):%H:%M}"
    flash(request, f"Mødet er flyttet til {when}.")
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/aflys")
def cancel_meeting(request: Request, meeting_id: int,
                   user: CurrentUser = Depends(require("manage_meetings")),
                   form: PostedForm = Depends(form_with_csrf)):
    """The cases on the agenda stay in the body's queue, waiting for another meeting."""

    try:
        with write(request) as session:
            returned = meeting_services.cancel_meeting(session, meeting_id,
                                                       reason=form.get("reason"),
                                                       actor=user.username)
            meeting = meeting_queries.get_meeting(session, meeting_id)
            body = current_organisation().body_name(meeting.body_code)
            _unless_confirmed(
                form, meeting, title="Aflys mødet?", consequences=[
                    "Mødet aflyses og kan ikke genoptages; et nyt møde skal oprettes.",
                    f"Sagerne på dagsordenen ({', '.join(returned)}) går tilbage i køen hos "
                    f"{body} og venter på et andet møde." if returned
                    else "Der er ingen sager på dagsordenen."],
                action=f"/moeder/{meeting_id}/aflys", button="Ja, aflys mødet",
                fields=("reason",), quoted=[("Begrundelse", form.get("reason"))])
    except Unconfirmed as asked:
        return confirm_page(request, user, asked.confirmation)
    flash(request, "Mødet er aflyst." + (
        " Tilbage i køen: " + ", ".join(returned) + "." if returned else ""))
    return redirect(f"/moeder/{meeting_id}")


@router.get("/moeder/{meeting_id}")
def meeting_page(request: Request, meeting_id: int,
                 user: CurrentUser = Depends(require("view_meetings")),
                 session: Session = Depends(db)):

    org = current_organisation()
    meeting = meeting_queries.get_meeting(session, meeting_id)
    items = meeting_queries.items(session, meeting_id)
    waiting = [e for e in meeting_queries.agenda_queue(session, meeting.body_code)
               if e.placed_on is None] if user.can("manage_agenda") else []
    body = org.body(meeting.body_code)
    day = local_day(meeting.starts_at)
    deadlines = agenda_deadlines(body, day, rules_for(org, body.code))
    # The Indstilling's numbered proposals, for the decision form (its users may read a
    # closed item's text).
    proposals = {i.id: case_queries.proposals(session, i.case_id) for i in items
                 if i.case_id and not i.wording} if user.can("record_decision") else {}
    # The whole agenda (or minutes) as the user may read it: the one document template.
    doc = viewer_context(session, meeting, user.viewer, kind=document_kind(meeting, items),
                         org=org, items=items)
    return page(request, "meeting.html", user=user, meeting=meeting, items=items, doc=doc,
                publications=meeting_queries.publications(session, meeting_id),
                body=body, deadlines=deadlines, waiting=waiting,
                wordings=[w for w in decisions.WORDINGS if w.trigger != "record_earlier"],
                committees=[b for b in org.bodies if b.is_committee],
                councils=[b for b in org.bodies if b.kind == HEARING_COUNCIL],
                proposals=proposals, cancelled=meeting.status == CANCELLED,
                # A meeting of an earlier day is held: nothing more goes on its agenda.
                held=day < today(),
                # Its decisions are recorded from its day on (cases.services.check_decision_day).
                decisions_open=day <= today(),
                # "Udsat til" puts the case on that agenda: a meeting not yet held, then.
                later_meetings=meeting_queries.meetings(
                    session, body_code=meeting.body_code,
                    start=max(meeting.starts_at + timedelta(minutes=1), local_instant(today())),
                    first=6)
                if user.can("record_decision") else [],
                status_label=meeting_queries.status_label(meeting, today()),
                meeting_day=format_date(meeting.starts_at),
                meeting_time=f"{to_local(meeting.starts_at):%H:%M}")


@router.get("/moeder/{meeting_id}/pdf")
def meeting_pdf(meeting_id: int, udgivelse: int | None = None, med_bilag: bool = False,
                user: CurrentUser = Depends(require("view_meetings")),
                session: Session = Depends(db)):
    """The agenda or minutes as PDF, as the user may read it (meetings.pdf.viewer_pdf);
    `med_bilag=1`: the samlet version with the Bilag they may read."""
    meeting = meeting_queries.get_meeting(session, meeting_id)
    content = pdf.viewer_pdf(session, meeting, user.viewer, publication=udgivelse,
                             med_bilag=med_bilag)
    return pdf_response(content, pdf.filename(meeting, med_bilag))


@router.post("/moeder/{meeting_id}/placer")
def place_case(request: Request, meeting_id: int,
               user: CurrentUser = Depends(require("manage_agenda")),
               form: PostedForm = Depends(form_with_csrf)):

    with write(request) as session:
        case_to_change(session, user, form.get("number"), "manage_agenda", "dagsordenssætte")
        afterwards = form.get("efterregistreret") == "1"  # a meeting held: entered afterwards
        item = meeting_services.place_case(session, meeting_id, form.get("number"),
                                           late_reason=form.get("late_reason"),
                                           actor=user.username, afterwards=afterwards)
    flash(request, f"Sagen er sat på dagsordenen som punkt {item.number}"
                   + (" (registreret efterfølgende)." if afterwards else "."))
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/fast-punkt")
def standing_item(request: Request, meeting_id: int,
                  user: CurrentUser = Depends(require("manage_agenda")),
                  form: PostedForm = Depends(form_with_csrf)):

    with write(request) as session:
        meeting_services.add_standing_item(session, meeting_id, form.get("kind"))
    flash(request, "Punktet er tilføjet.")
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/flyt")
def move_item(request: Request, meeting_id: int,
              user: CurrentUser = Depends(require("manage_agenda")),
              form: PostedForm = Depends(form_with_csrf)):
    """Move one item up or down; the agenda is renumbered 1..n."""

    with write(request) as session:
        ids = [i.id for i in meeting_queries.items(session, meeting_id)]
        try:
            item_id = int(form.get("item_id"))
            index = ids.index(item_id)
        except ValueError:
            raise InvalidInput("Punktet findes ikke på dagsordenen.") from None
        target = index - 1 if form.get("direction") == "op" else index + 1
        if 0 <= target < len(ids):
            ids[index], ids[target] = ids[target], ids[index]
            meeting_services.order_items(session, meeting_id, ids, actor=user.username)
    return redirect(f"/moeder/{meeting_id}")


@router.post("/punkter/{item_id}/lukket")
def set_closed(request: Request, item_id: int,
               user: CurrentUser = Depends(require("manage_agenda")),
               form: PostedForm = Depends(form_with_csrf)):

    with write(request) as session:
        _check_item_case(session, user, item_id, "manage_agenda", "lukke punkter for")
        item = meeting_services.set_closed(session, item_id, form.get("closed") == "on")
        meeting_id = item.meeting_id
    flash(request, "Punktet er nu " + ("lukket." if form.get("closed") == "on" else "åbent."))
    return redirect(f"/moeder/{meeting_id}")


@router.post("/moeder/{meeting_id}/offentliggoer")
def publish(request: Request, meeting_id: int,
            user: CurrentUser = Depends(require("manage_agenda")),
            form: PostedForm = Depends(form_with_csrf)):

    try:
        with write(request) as session:
            publication = meeting_services.publish_agenda(
                session, meeting_id, actor=user.username, late_reason=form.get("late_reason"))
            kind = "Tillægsdagsordenen" if publication.kind == "tillaeg" else "Dagsordenen"
            _confirm_publication(session, form, meeting_id, publication, kind)
    except Unconfirmed as asked:
        return confirm_page(request, user, asked.confirmation)
    # Its PDFs are made and kept by the worker within a sweep (meetings.pdf.keep_unkept):
    # rendering them here would hold this process's core for seconds, every other request
    # waiting behind it.
    flash(request, f"{kind} er offentliggjort.")
    return redirect(f"/moeder/{meeting_id}")


def _confirm_publication(session: Session, form, meeting_id: int,
                         publication: AgendaPublication, kind: str) -> None:
    meeting = meeting_queries.get_meeting(session, meeting_id)
    body = current_organisation().body_name(meeting.body_code)
    numbers = [str(i.number) for i in meeting_queries.items(session, meeting_id)
               if i.published_in == publication.id]
    what = "punkt " + ", ".join(numbers) if publication.kind == "tillaeg" else \
        f"{len(numbers)} {'punkt' if len(numbers) == 1 else 'punkter'}"
    _unless_confirmed(
        form, meeting, title=f"Offentliggør {kind.lower()}?", consequences=[
            f"{kind} ({what}) offentliggøres for alle og sendes til medlemmerne af {body} "
            f"og til dem, der følger {body}.",
            "Det offentliggjorte kan ikke ændres; punkter, der kommer til senere, skal på en "
            "tillægsdagsorden."],
        action=f"/moeder/{meeting_id}/offentliggoer", button=f"Ja, offentliggør {kind.lower()}",
        fields=("late_reason",),
        quoted=[("Begrundelse for den sene udsendelse", form.get("late_reason"))])


@router.post("/punkter/{item_id}/beslutning")
def record_decision(request: Request, item_id: int,
                    user: CurrentUser = Depends(require("record_decision")),
                    form: PostedForm = Depends(form_with_csrf)):

    found = decisions.wording(form.get("wording"))
    with write(request) as session:
        _check_item_case(session, user, item_id, "record_decision", "registrere beslutninger på")
        item = meeting_queries.get_item(session, item_id)
        meeting = meeting_queries.get_meeting(session, item.meeting_id)
        hearing, replaced_by = _decision_extras(form, found, local_day(meeting.starts_at))
        meeting_services.record_item_decision(
            session, item_id, wording=form.get("wording"), actor=user.username,
            decision_text=form.get("decision_text"), minority=form.get("minority"),
            proposal_decisions=_proposal_decisions(form),
            bodies=form.getlist("bodies") or None, reason=form.get("reason"),
            hearing=hearing, replaced_by=replaced_by, to_meeting=form.get("to_meeting"),
            finance_again={"ja": True, "nej": False}.get(form.get("finance_again")))
        meeting_id = meeting.id
    flash(request, "Beslutningen er registreret.")
    return redirect(f"/moeder/{meeting_id}")


def _check_item_case(session: Session, user: CurrentUser, item_id: int, permission: str,
                     doing: str) -> None:
    """An item's case is changed through its item: the one per-case check (a standing item
    has no case)."""
    case = item_case(session, item_id)
    if case is not None:
        case_to_change(session, user, case, permission, doing)


# One form serves every wording (no JavaScript); the service refuses the fields of another
# wording than the one chosen (meetings.services.record_item_decision).
HEARING_FIELDS = ("hearing_title", "other_parties", "hearing_opens", "hearing_deadline")


def _decision_extras(form, found: decisions.Wording | None,
                     meeting_day: date) -> tuple[dict | None, str | None]:
    """The hearing and the replacing case's number the chosen wording needs, if any."""
    replaced_by = form.get("replaced_by") or None
    parties = form.getlist("parties") + [line.strip() for line in
                                         form.get("other_parties").splitlines() if line.strip()]
    hearing_given = bool(parties) or any(form.get(key) for key in HEARING_FIELDS)
    if not hearing_given:
        return None, replaced_by  # the service asks for the hearing if the wording needs it
    if found is not None and found.trigger == "send_to_hearing" \
            and not form.get("hearing_deadline"):
        raise InvalidInput("Angiv høringsfristen (dd-mm-åååå) for at sende sagen i høring.")
    return {"title": form.get("hearing_title"), "parties": parties,
            "deadline": form.get("hearing_deadline"),
            "opened_on": form.get("hearing_opens") or meeting_day}, replaced_by


def _proposal_decisions(form) -> list[dict]:
    """The filled fields proposal_N, one per numbered proposal of the case's Indstilling (the
    service checks that the case has each, once: cases.services)."""
    found = []
    for key, value in form.items:
        prefix, _, number = key.partition("_")
        if prefix != "proposal" or not value.strip():
            continue
        if not number.isdigit():
            raise InvalidInput(f"Sagens indstilling har intet punkt {number}.")
        found.append({"number": int(number), "text": value.strip()})
    return sorted(found, key=lambda p: p["number"])


# -- the minutes (referat): absences, approval ------------------------------------------------

@router.get("/moeder/{meeting_id}/referat")
def minutes_page(request: Request, meeting_id: int,
                 user: CurrentUser = Depends(require("view_meetings")),
                 session: Session = Depends(db)):
    return _minutes_page(request, user, session, meeting_id)


def _minutes_page(request: Request, user: CurrentUser, session: Session, meeting_id: int, *,
                  typed: dict | None = None, refusal: dict | None = None,
                  status_code: int = 200):
    """The minutes page; after a refused form, with what was typed and why it was refused."""
    meeting = meeting_queries.get_meeting(session, meeting_id)
    # Each closed item the user may not read as number, title and decision (the one rule).
    doc = viewer_context(session, meeting, user.viewer, kind="referat")
    members = meeting_queries.members(session, meeting.body_code)
    approved = {a.user_id for a, _ in meeting_queries.approvals(session, meeting.id)}
    is_member = user.can("approve_minutes") and any(m.id == user.id for m in members)
    return page(request, "minutes.html", user=user, meeting=meeting, doc=doc,
                body=current_organisation().body(meeting.body_code), members=members,
                approved=approved, may_approve=is_member and user.id not in approved
                and meeting.minutes_status == "approval",
                attendance_lines=_attendance_lines(doc["attendance"], members),
                vote_forms=_vote_forms(session, user, meeting, doc), note_kinds=NOTE_KINDS,
                typed=typed, refusal=refusal, status_code=status_code)


def _refused_minutes(request: Request, user: CurrentUser, meeting_id: int, form_id: str,
                     form, error: UserError):
    """The minutes page again with every field as typed and the message over the form."""
    values, lists = {}, {}
    for name, value in form.items:
        values.setdefault(name, value)
        lists.setdefault(name, []).append(value)
    return _minutes_page(request, user, request.state.connection.read(), meeting_id,
                         typed={"form": form_id, "values": values, "lists": lists},
                         refusal={"form": form_id, "field": None, "message": error.message},
                         status_code=409 if isinstance(error, Conflict | TransitionRefused)
                         else 400)


def _attendance_lines(attendance: dict, members) -> dict[str, str]:
    """The attendance form's fields as the list stands (before any: every member took
    part), one person a line as the form reads them (meetings.attendance)."""
    def person(p: dict) -> str:
        text = f"{p['name']} ({p['party']})" if p["party"] else p["name"]
        return f"{text} – {p['note']}" if p["note"] else text

    present = [p for p in attendance["present"] if not p["substitute_for"]]
    substitutes = [p for p in attendance["present"] if p["substitute_for"]]
    recorded = any(attendance.values())
    return {
        "present": "\n".join([person(p) for p in present] if recorded
                              else [m.name for m in members]),
        "substitutes": "\n".join(f"{person(p)} for {p['substitute_for']}"
                                  for p in substitutes),
        "apologies": "\n".join(person(p) for p in attendance["apologies"]),
        "absent": "\n".join(person(p) for p in attendance["absent"]),
        "not_under": "\n".join(f"{p['name']}: {item_ranges(p['not_under'])}"
                                for p in attendance["present"] if p["not_under"])}


def _vote_forms(session: Session, user: CurrentUser, meeting, doc: dict) -> dict[int, dict]:
    """Per item number: what its votes-and-notes form needs (the item's id, the votes to
    record: one per proposal of the Indstilling, else one on the item as a whole, each with
    what is recorded; the notes and one empty row), for the secretariat while the minutes
    are open, from the meeting's day (meetings.services refuses votes before it)."""
    if not user.can("record_decision") or meeting.minutes_status != "none" \
            or meeting.agenda_status != "published" or local_day(meeting.starts_at) > today():
        return {}
    forms = {}
    for item, shown in zip(meeting_queries.items(session, meeting.id), doc["items"],
                           strict=True):
        proposals = case_queries.proposals(session, item.case_id) if item.case_id else []
        recorded = {v["proposal"]: v for v in shown.get("votes") or []}
        votes = [(str(p.number), f"Indstillingens punkt {p.number}: {p.text}",
                  recorded.get(p.number)) for p in proposals] or \
            [("0", "Punktet som helhed", recorded.get(None))]
        forms[item.number] = {
            "id": item.id,
            "votes": [{"key": key, "title": title, "choices": _vote_fields(vote)}
                      for key, title, vote in votes],
            "notes": [*(shown.get("notes") or []),
                      {"kind": "mindretal", "who": "", "text": ""}]}
    return forms


def _vote_fields(vote: dict | None) -> list[dict]:
    """For, Imod, Undlod with what is recorded: the names typed back, and the count."""
    groups = {g["choice"]: g for g in (vote or {}).get("groups", [])}
    return [{"choice": choice, "label": label,
             "names": ", ".join(groups[choice]["names"]) if choice in groups else "",
             "count": str(groups[choice]["count"]) if choice in groups else ""}
            for choice, label in VOTE_CHOICES.items()]


@router.post("/moeder/{meeting_id}/fremmoede")
def record_attendance(request: Request, meeting_id: int,
                      user: CurrentUser = Depends(require("manage_minutes")),
                      form: PostedForm = Depends(form_with_csrf)):
    """The whole attendance list, as the minutes show it (it replaces what was recorded)."""
    try:
        with write(request) as session:
            rows = meeting_services.record_attendance(session, meeting_id, attendance_entries(
                present=form.get("present"), apologies=form.get("apologies"),
                absent=form.get("absent"), substitutes=form.get("substitutes"),
                not_under=form.get("not_under")))
            count = len(rows)
    except NotFound:
        raise
    except UserError as error:
        return _refused_minutes(request, user, meeting_id, "fremmoede", form, error)
    flash(request, f"Fremmødet er registreret ({count} på listen).")
    return redirect(f"/moeder/{meeting_id}/referat#fremmoede")


# Fields of the votes form: "for_1", "imod_antal_1" (proposal 1; 0: the item as a whole).
VOTE_FIELD = re.compile(r"^(for|imod|undlod)(_antal)?_(\d{1,3})$")
NOTE_FIELD = re.compile(r"^note_(kind|who|text)_(\d{1,3})$")


@router.post("/punkter/{item_id}/afstemning")
def record_votes(request: Request, item_id: int,
                 user: CurrentUser = Depends(require("record_decision")),
                 form: PostedForm = Depends(form_with_csrf)):
    """An item's votes and notes (mindretalsudtalelser, forbehold, protokolbemærkninger)."""
    try:
        with write(request) as session:
            meeting_id = meeting_queries.get_item(session, item_id).meeting_id
            _check_item_case(session, user, item_id, "record_decision",
                             "registrere afstemninger på")
            meeting_services.record_item_votes(session, item_id, _votes_of(form),
                                               _notes_of(form))
    except NotFound:
        raise
    except UserError as error:
        return _refused_minutes(request, user, meeting_id, f"afstemning-{item_id}", form,
                                error)
    flash(request, "Afstemning og bemærkninger er registreret.")
    return redirect(f"/moeder/{meeting_id}/referat#punkt-{item_id}")


def _votes_of(form) -> list[VoteEntry]:
    """The votes typed in the form: those with a name or a count."""
    votes: dict[int, VoteEntry] = {}
    for key, value in form.items:
        found = VOTE_FIELD.match(key)
        if not found or not value.strip():
            continue
        choice, is_count, number = found.groups()
        vote = votes.setdefault(int(number), VoteEntry(proposal=int(number) or None))
        if is_count:
            vote.counts[choice] = _count(value)
        else:
            vote.names[choice] = split_names(value)
    return [votes[number] for number in sorted(votes)]


def _count(raw: str) -> int:
    if not raw.strip().isdigit():
        raise InvalidInput(f"Et antal stemmer skal være et helt tal (fik {raw.strip()!r}).")
    return int(raw)


def _notes_of(form) -> list[NoteEntry]:
    rows: dict[int, dict] = {}
    for key, value in form.items:
        found = NOTE_FIELD.match(key)
        if found:
            rows.setdefault(int(found[2]), {})[found[1]] = value.strip()
    return [NoteEntry(kind=row.get("kind", ""), who=row.get("who", ""),
                      text=row.get("text", ""))
            for _, row in sorted(rows.items()) if row.get("who") or row.get("text")]


@router.post("/moeder/{meeting_id}/referat/godkend")
def approve_minutes(request: Request, meeting_id: int,
                    user: CurrentUser = Depends(require("approve_minutes")),
                    form: PostedForm = Depends(form_with_csrf)):

    with write(request) as session:
        # The service checks that the user is a member of this body.
        meeting_services.approve_minutes(session, meeting_id, username=user.username)
    flash(request, "Du har godkendt referatet.")
    return redirect(f"/moeder/{meeting_id}/referat")


@router.post("/moeder/{meeting_id}/fravaer")
def record_absence(request: Request, meeting_id: int,
                   user: CurrentUser = Depends(require("manage_minutes")),
                   form: PostedForm = Depends(form_with_csrf)):

    with write(request) as session:
        absence = meeting_services.record_absence(
            session, meeting_id, username=form.get("username") or None,
            name=form.get("name"), note=form.get("note"))
        name = absence.name
    flash(request, f"{name} er registreret som fraværende.")
    return redirect(f"/moeder/{meeting_id}/referat")


@router.post("/moeder/{meeting_id}/referat/send")
def send_minutes(request: Request, meeting_id: int,
                 user: CurrentUser = Depends(require("manage_minutes")),
                 form: PostedForm = Depends(form_with_csrf)):

    try:
        with write(request) as session:
            meeting = meeting_services.send_minutes_for_approval(
                session, meeting_id, objection_deadline=form.get("objection_deadline") or None)
            deadline = meeting.objection_deadline
            body = current_organisation().body_name(meeting.body_code)
            _unless_confirmed(
                form, meeting, title="Send referatet til godkendelse?", consequences=[
                    "Referatet låses: mødets beslutninger kan ikke længere ændres.",
                    f"Medlemmerne af {body} bliver bedt om at godkende det; det bliver "
                    f"endeligt, når alle har godkendt, eller når indsigelsesfristen "
                    f"{format_date(deadline)} er overstået."],
                action=f"/moeder/{meeting_id}/referat/send",
                button="Ja, send referatet til godkendelse",
                fields=("objection_deadline",), back=f"/moeder/{meeting_id}/referat",
                back_label="Fortryd – gå tilbage til referatet")
    except Unconfirmed as asked:
        return confirm_page(request, user, asked.confirmation)
    flash(request, f"Referatet er sendt til godkendelse; indsigelsesfrist {format_date(deadline)}.")
    return redirect(f"/moeder/{meeting_id}/referat")
