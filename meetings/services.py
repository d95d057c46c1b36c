"""The secretariat's meeting actions. Each runs inside the caller's write transaction.

As in cases/services.py: the caller opens `cases.db.write_session()`, calls one action, and
any error (a UserError with a Danish message) rolls back everything.

Cases and queues: a case is in a body's queue (cases.models.Awaiting) from the moment its
workflow says it is due there until the body treats it. An agenda item only says which
meeting it is planned for. So moving a meeting moves its items with it, and cancelling a
meeting leaves its cases in the queue, now without a placement (meetings.queries.agenda_queue):
nothing is dropped.

Reminders: as with a case action, a meeting action writes its facts and marks what changed,
in its own transaction (`_mark_changed` moves `meeting.changed_seq`; a published agenda is a
publication row whose followers are not told yet). The beat's sweep derives the outbox from
that (notifications.changes): the meeting's reminders, those of the cases in its body's
queue, and the followers' news. So a fault in the reminder rules never stops an agenda from
being published, and a refused action leaves nothing to derive.

Audit trail: placing a case on an agenda, moving it (a new item number, or its meeting moved)
and taking it off (removed, or the meeting cancelled) append a CaseEvent to the case's log
(`place_on_agenda`, `move_on_agenda`, `remove_from_agenda`), and so does publishing an
agenda after its deadline, with the reason (`publish_agenda_late`). These are no workflow
triggers, so replaying the log (cases.services.replayed_flow) skips them.
"""

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import actions
from cases import queries as case_queries
from cases import services as case_services
from cases.dates import format_date, parse_date, to_local
from cases.models import Case, CaseEvent, Membership, User, utcnow
from cases.organisation import HEARING_COUNCIL, Organisation
from cases.schemas import ACTION_TEXT, MAX_TEXT, checked_text
from cases.settings import current_organisation
from meetings import queries
from meetings.attendance import (
    ABSENT,
    ATTENDANCE_STATUSES,
    ATTENDED,
    NOTE_KINDS,
    RESERVATION,
    VOTE_ABSTAIN,
    VOTE_AGAINST,
    VOTE_CHOICES,
    VOTE_FOR,
    AttendanceEntry,
    NoteEntry,
    VoteEntry,
    note_kind,
)
from meetings.calendar import (
    add_weekdays,
    agenda_deadlines,
    end_of_day,
    local_day,
    local_instant,
    rules_for,
)
from meetings.documents import publication_content
from meetings.models import (
    AGENDA_DRAFT,
    AGENDA_LOCKED,
    AGENDA_PUBLISHED,
    CANCELLED,
    MINUTES_APPROVAL,
    MINUTES_FINAL,
    MINUTES_NONE,
    MOVED,
    ONCE_PER_AGENDA,
    STANDING_ITEMS,
    AgendaItem,
    AgendaPublication,
    Attendance,
    ItemAbsence,
    ItemNote,
    Meeting,
    MinutesApproval,
    Vote,
    VoteVoter,
)
from meetings.plan import PlannedMeeting
from meetings.planner import RoutePlan, no_longer_fits, plan_route, remaining_stages
from workflow import decisions
from workflow.errors import InvalidInput, NotFound, TransitionRefused
from workflow.machine import ACTIVE

# Practice, not law: members have this many weekdays to object to the minutes.
OBJECTION_WEEKDAYS = 5

# Who did it, when a caller does not say (the audit log needs a name).
DEFAULT_ACTOR = "sekretariatet"
MAX_PLACE = 300
MAX_REASON = 2000  # why a meeting moved or was cancelled, why a case came late


# -- the calendar ------------------------------------------------------------------------------

def create_meeting(session: Session, *, body: str, day: str | date, at: time | str | None = None,
                   place: str = "", org: Organisation | None = None,
                   now: datetime | None = None) -> Meeting:
    now = now or utcnow()
    meeting = _new_meeting(session, body=body, day=day, at=at, place=place, org=org, now=now)
    _mark_changed(session, meeting, schedule=True)
    return meeting


def _new_meeting(session: Session, *, body: str, day: str | date, at: time | str | None,
                 place: str, org: Organisation | None, now: datetime) -> Meeting:
    org = org or current_organisation()
    found = org.body(body)
    day = parse_date(day)
    at = _time(at) if at else found.meeting_time
    starts_at = local_instant(day, at)
    if session.exec(select(Meeting.id).where(Meeting.body_code == found.code,
                                             Meeting.starts_at == starts_at)).first():
        raise InvalidInput(f"{found.code} har allerede et møde {format_date(day)} "
                           f"kl. {at:%H:%M}.")
    meeting = Meeting(body_code=found.code, starts_at=starts_at, created_at=now,
                      place=checked_text(place, "Mødestedet", max_length=MAX_PLACE))
    session.add(meeting)
    session.flush()
    return meeting


def _time(raw: time | str) -> time:
    if isinstance(raw, time):
        return raw
    try:
        hours, minutes = raw.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(f"Ugyldigt klokkeslæt {raw!r}; skriv fx 17:00.") from None


def import_plan(session: Session, plan: list[PlannedMeeting], *, org: Organisation | None = None,
                now: datetime | None = None) -> tuple[list[Meeting], int]:
    """Create the plan's meetings that do not exist yet; returns (created, already there)."""
    now = now or utcnow()
    created, existing = [], 0
    for entry in plan:
        starts_at = local_instant(entry.day, entry.at)
        if session.exec(select(Meeting.id).where(Meeting.body_code == entry.body_code,
                                                 Meeting.starts_at == starts_at)).first():
            existing += 1
            continue
        created.append(_new_meeting(session, body=entry.body_code, day=entry.day, at=entry.at,
                                    place=entry.place, org=org, now=now))
    for meeting in created:
        _mark_changed(session, meeting, schedule=True)
    return created, existing


def move_meeting(session: Session, meeting_id: int, *, day: str | date,
                 at: time | str | None = None, place: str | None = None, reason: str,
                 org: Organisation | None = None, now: datetime | None = None,
                 actor: str = DEFAULT_ACTOR) -> Meeting:
    """Move a meeting; its agenda items (and so their cases) follow it."""
    org = org or current_organisation()
    now = now or utcnow()
    meeting = _changeable_meeting(session, meeting_id)
    from_date = local_day(meeting.starts_at)
    reason = checked_text(reason, "Begrundelsen", max_length=MAX_REASON, lines=True)
    if not reason:
        raise InvalidInput("Angiv en begrundelse for at flytte mødet.")
    day = parse_date(day)
    at = _time(at) if at else local_instant_time(meeting)
    starts_at = local_instant(day, at)
    clash = session.exec(select(Meeting.id).where(Meeting.body_code == meeting.body_code,
                                                  Meeting.starts_at == starts_at,
                                                  Meeting.id != meeting.id)).first()
    if clash:
        raise InvalidInput(f"{meeting.body_code} har allerede et møde {format_date(day)} "
                           f"kl. {at:%H:%M}.")
    meeting.starts_at = starts_at
    if place is not None:
        meeting.place = checked_text(place, "Mødestedet", max_length=MAX_PLACE)
    meeting.status = MOVED
    meeting.status_reason = reason.strip()
    session.add(meeting)
    session.flush()
    for item in queries.items(session, meeting.id):
        _agenda_event(session, meeting, item, "move_on_agenda", actor=actor, now=now,
                      reason=meeting.status_reason, from_date=from_date.isoformat())
    _mark_changed(session, meeting, schedule=True)
    return meeting


def local_instant_time(meeting: Meeting) -> time:
    local = to_local(meeting.starts_at)
    return time(local.hour, local.minute)


def cancel_meeting(session: Session, meeting_id: int, *, reason: str,
                   now: datetime | None = None, actor: str = DEFAULT_ACTOR) -> list[str]:
    """Cancel a meeting. Its cases stay in the body's queue, waiting for another agenda.

    Returns the numbers of the cases that go back to the queue, so the caller can say so.
    """
    now = now or utcnow()
    meeting = _changeable_meeting(session, meeting_id)
    reason = checked_text(reason, "Begrundelsen", max_length=MAX_REASON, lines=True)
    if not reason:
        raise InvalidInput("Angiv en begrundelse for at aflyse mødet.")
    found = queries.items(session, meeting.id)
    if any(item.decided_at for item in found):
        raise TransitionRefused("Mødet har registrerede beslutninger og kan ikke aflyses.")
    meeting.status = CANCELLED
    meeting.status_reason = reason.strip()
    session.add(meeting)
    session.flush()
    for item in found:
        _agenda_event(session, meeting, item, "remove_from_agenda", actor=actor, now=now,
                      reason=meeting.status_reason, meeting_cancelled=True)
    _mark_changed(session, meeting, schedule=True)
    case_ids = [item.case_id for item in found if item.case_id]
    if not case_ids:
        return []
    return list(session.exec(select(Case.number).where(Case.id.in_(case_ids))
                             .order_by(Case.number)))


def _changeable_meeting(session: Session, meeting_id: int) -> Meeting:
    meeting = queries.get_meeting(session, meeting_id)
    if meeting.status == CANCELLED:
        raise TransitionRefused("Mødet er aflyst.")
    if meeting.minutes_status != MINUTES_NONE:
        raise TransitionRefused("Mødets referat er udsendt; mødet kan ikke ændres.")
    return meeting


# -- reminders ---------------------------------------------------------------------------------

def _mark_changed(session: Session, meeting: Meeting, *, schedule: bool = False) -> None:
    """Mark the meeting for the sweep, which derives its reminders, and after a change of
    `schedule` (when it is) those of its body's queue too. One UPDATE that adds one, so two
    actions at once both count. Its `modified_at` moves too: the open data serves the
    meeting with its agenda (views.oparl)."""
    session.flush()
    values = {"changed_seq": Meeting.changed_seq + 1, "modified_at": utcnow()}
    if schedule:  # SET reads the row as it was: the new changed_seq
        values["schedule_seq"] = Meeting.changed_seq + 1
    session.execute(sa.update(Meeting).where(Meeting.id == meeting.id).values(**values))


# -- the audit trail ---------------------------------------------------------------------------

def _agenda_event(session: Session, meeting: Meeting, item: AgendaItem, trigger: str, *,
                  actor: str, now: datetime, reason: str = "", **details) -> None:
    """Record on the item's case (if any) where it stands on which agenda."""
    if item.case_id is None:
        return
    case = session.get(Case, item.case_id)
    payload = {"meeting_id": meeting.id, "meeting_date": local_day(meeting.starts_at).isoformat(),
               "item_number": item.number, "agenda_item_id": item.id, **details}
    case_services.append_event(session, case, actor=actor, trigger=trigger,
                               from_state=case.status, to_state=case.status, now=now,
                               payload=payload, body=meeting.body_code, reason=reason)


# -- the agenda --------------------------------------------------------------------------------

def place_case(session: Session, meeting_id: int, number: str, *, closed: bool | None = None,
               late_reason: str = "", org: Organisation | None = None,
               now: datetime | None = None, actor: str = DEFAULT_ACTOR,
               afterwards: bool = False) -> AgendaItem:
    """Put a case from the body's queue on the meeting's agenda.

    After the body's submission deadline the case is refused unless a reason is given; the
    reason is kept on the item. After publishing, the item goes on a tillægsdagsorden.
    `afterwards` records a meeting already held (efterregistreret: its agenda, then its
    decisions): no deadline applies, and the audit event says so.
    """
    org = org or current_organisation()
    now = now or utcnow()
    meeting = _open_agenda(session, meeting_id, now, afterwards=afterwards)
    case = case_queries.get_case(session, number)
    waiting = case_queries.awaiting_bodies(session, case.id)
    heard = case_services.heard_party(session, case.id, meeting.body_code)
    if meeting.body_code not in waiting and heard is None:
        raise TransitionRefused(f"Sagen {case.number} afventer ikke behandling i "
                                f"{meeting.body_code}. Afventer: {', '.join(waiting) or 'ingen'}.")
    already = queries.open_placement(session, case.id, meeting.body_code)
    if already:
        other = queries.get_meeting(session, already.meeting_id)
        raise InvalidInput(f"Sagen {case.number} står allerede på dagsordenen for "
                           f"{other.body_code}-mødet {format_date(other.starts_at)} "
                           f"(punkt {already.number}).")
    late_reason = "" if afterwards else _late_reason(org, meeting, now, late_reason)
    item = _append_item(session, meeting, AgendaItem(
        meeting_id=meeting.id, case_id=case.id, number=0, title=case.title[:300],
        closed=case.confidential if closed is None else closed, late_reason=late_reason))
    flag = {case_queries.RECORDED_AFTERWARDS: True} if afterwards else {}
    _agenda_event(session, meeting, item, "place_on_agenda", actor=actor, now=now,
                  reason=late_reason, supplementary=item.supplementary, closed=item.closed,
                  **flag)
    _mark_changed(session, meeting)
    return item


def add_standing_item(session: Session, meeting_id: int, kind: str, *, text: str = "",
                      title: str = "", now: datetime | None = None) -> AgendaItem:
    """Add an item with no case behind it, on any body's agenda: Meddelelser or Godkendelse
    af referat (once each), or an Orientering with its own title (a council's own matter)."""
    if kind not in STANDING_ITEMS:
        raise InvalidInput(f"Ukendt fast punkt: {kind!r}. Mulige: {', '.join(STANDING_ITEMS)}.")
    meeting = _open_agenda(session, meeting_id, now or utcnow())
    if kind in ONCE_PER_AGENDA and any(item.standing == kind
                                       for item in queries.items(session, meeting.id)):
        raise InvalidInput(f"Dagsordenen har allerede punktet «{STANDING_ITEMS[kind]}».")
    title = checked_text(title, "Punktets titel", max_length=300)
    if title and kind in ONCE_PER_AGENDA:
        raise InvalidInput(f"«{STANDING_ITEMS[kind]}» har sin faste titel.")
    return _append_item(session, meeting, AgendaItem(
        meeting_id=meeting.id, standing=kind, number=0, title=title or STANDING_ITEMS[kind],
        text=checked_text(text, "Punktets tekst", max_length=MAX_TEXT, lines=True)))


def _open_agenda(session: Session, meeting_id: int, now: datetime,
                 afterwards: bool = False) -> Meeting:
    meeting = _changeable_meeting(session, meeting_id)
    if meeting.agenda_status == AGENDA_LOCKED:
        raise TransitionRefused("Dagsordenen er låst. Lås den op eller offentliggør den først.")
    held = local_day(now) > local_day(meeting.starts_at)
    if held and not afterwards:
        raise TransitionRefused("Mødet er afholdt; dagsordenen kan ikke ændres. Et afholdt "
                                "møde kan registreres efterfølgende.")
    if afterwards and not held:
        raise TransitionRefused(f"Mødet holdes {format_date(meeting.starts_at)}; kun et "
                                "afholdt møde registreres efterfølgende.")
    return meeting


def _late_reason(org: Organisation, meeting: Meeting, now: datetime, reason: str) -> str:
    body = org.body(meeting.body_code)
    deadlines = agenda_deadlines(body, local_day(meeting.starts_at),
                                 rules_for(org, body.code))
    if local_day(now) <= deadlines.submission:
        return ""
    reason = checked_text(reason, "Begrundelsen", max_length=MAX_REASON, lines=True)
    if not reason:
        raise TransitionRefused(
            f"Fristen for at indsende sager til {body.code}-mødet {format_date(meeting.starts_at)} "
            f"var {format_date(deadlines.submission)}. Angiv en begrundelse for at optage sagen "
            "alligevel.")
    return reason


def _append_item(session: Session, meeting: Meeting, item: AgendaItem) -> AgendaItem:
    """Number the new item last, but before a closing "Godkendelse af referat" not yet out."""
    existing = queries.items(session, meeting.id)
    item.supplementary = meeting.agenda_status == AGENDA_PUBLISHED
    item.number = len(existing) + 1 if not existing else existing[-1].number + 1
    last = existing[-1] if existing else None
    if last and last.standing == "godkendelse_af_referat" and last.published_in is None \
            and item.standing != "godkendelse_af_referat":
        item.number = last.number
        last.number = last.number + 1
        session.add(last)
        session.flush()
    session.add(item)
    session.flush()
    return item


def remove_item(session: Session, item_id: int, *, now: datetime | None = None,
                actor: str = DEFAULT_ACTOR) -> None:
    """Take an item off an agenda that is not yet published; later items move up."""
    now = now or utcnow()
    item = queries.get_item(session, item_id)
    meeting = _changeable_meeting(session, item.meeting_id)
    if item.published_in is not None:
        raise TransitionRefused("Punktet er offentliggjort og kan ikke fjernes. Registrér "
                                "beslutningen «Udgår» på mødet i stedet.")
    if meeting.agenda_status == AGENDA_LOCKED:
        raise TransitionRefused("Dagsordenen er låst.")
    removed_number = item.number
    _agenda_event(session, meeting, item, "remove_from_agenda", actor=actor, now=now)
    session.delete(item)
    session.flush()
    for later in queries.items(session, meeting.id):
        if later.number > removed_number and later.published_in is None:
            later.number -= 1
            session.add(later)
            session.flush()
            _agenda_event(session, meeting, later, "move_on_agenda", actor=actor, now=now,
                          from_item_number=later.number + 1)
    _mark_changed(session, meeting)


def order_items(session: Session, meeting_id: int, item_ids: list[int], *,
                actor: str = DEFAULT_ACTOR, now: datetime | None = None) -> list[AgendaItem]:
    """Renumber the agenda 1..n in the given order (before it is published)."""
    now = now or utcnow()
    meeting = _changeable_meeting(session, meeting_id)
    if meeting.agenda_status != AGENDA_DRAFT:
        raise TransitionRefused("Rækkefølgen kan kun ændres, før dagsordenen låses.")
    found = queries.items(session, meeting.id)
    if sorted(item_ids) != sorted(i.id for i in found):
        raise InvalidInput("Angiv alle dagsordenens punkter præcis én gang.")
    by_id = {i.id: i for i in found}
    numbers_before = {i.id: i.number for i in found}
    # Two passes: the unique (meeting, number) constraint must hold after every flush.
    for offset, item in enumerate(found, start=1):
        item.number = -offset
        session.add(item)
    session.flush()
    for number, item_id in enumerate(item_ids, start=1):
        by_id[item_id].number = number
        session.add(by_id[item_id])
    session.flush()
    for item in found:
        if item.number != numbers_before[item.id]:
            _agenda_event(session, meeting, item, "move_on_agenda", actor=actor, now=now,
                          from_item_number=numbers_before[item.id])
    return queries.items(session, meeting.id)


def set_closed(session: Session, item_id: int, closed: bool) -> AgendaItem:
    item = queries.get_item(session, item_id)
    meeting = _changeable_meeting(session, item.meeting_id)
    if item.published_in is not None or meeting.agenda_status == AGENDA_LOCKED:
        raise TransitionRefused("Punktet kan ikke ændres, når dagsordenen er låst eller "
                                "offentliggjort.")
    item.closed = closed
    session.add(item)
    session.flush()
    return item


def lock_agenda(session: Session, meeting_id: int) -> Meeting:
    meeting = _changeable_meeting(session, meeting_id)
    if meeting.agenda_status != AGENDA_DRAFT:
        raise TransitionRefused("Dagsordenen er allerede låst eller offentliggjort.")
    if not queries.items(session, meeting.id):
        raise InvalidInput("Dagsordenen har ingen punkter.")
    meeting.agenda_status = AGENDA_LOCKED
    session.add(meeting)
    session.flush()
    return meeting


def unlock_agenda(session: Session, meeting_id: int) -> Meeting:
    meeting = _changeable_meeting(session, meeting_id)
    if meeting.agenda_status != AGENDA_LOCKED:
        raise TransitionRefused("Dagsordenen er ikke låst.")
    meeting.agenda_status = AGENDA_DRAFT
    session.add(meeting)
    session.flush()
    return meeting


def publish_agenda(session: Session, meeting_id: int, *, actor: str, late_reason: str = "",
                   org: Organisation | None = None,
                   now: datetime | None = None) -> AgendaPublication:
    """Publish the agenda, or after that a tillægsdagsorden with the items added since.

    The published text is kept as it was (AgendaPublication.content) and stays retrievable.
    After the body's agenda deadline (`_publication_late_reason`) publishing is refused
    unless a reason is given; the reason is kept on the publication and in the audit log of
    each published case.
    """
    org = org or current_organisation()
    now = now or utcnow()
    meeting = _changeable_meeting(session, meeting_id)
    new_items = [i for i in queries.items(session, meeting.id) if i.published_in is None]
    if meeting.agenda_status == AGENDA_PUBLISHED:
        if not new_items:
            raise InvalidInput("Der er ingen nye punkter til en tillægsdagsorden.")
        kind = "tillaeg"
    else:
        if not new_items:
            raise InvalidInput("Dagsordenen har ingen punkter.")
        kind = "dagsorden"
    # Checked before anything is written (locking included).
    late_reason, deadline = _publication_late_reason(org, meeting, now, late_reason, kind)
    if kind == "dagsorden" and meeting.agenda_status != AGENDA_LOCKED:
        lock_agenda(session, meeting.id)
    for item in new_items:  # the agenda shows the case's title as it is when published
        if item.case_id:
            item.title = session.get(Case, item.case_id).title[:300]
            session.add(item)
    seq = len(queries.publications(session, meeting.id)) + 1
    publication = AgendaPublication(
        meeting_id=meeting.id, seq=seq, kind=kind, published_at=now, actor=actor,
        late_reason=late_reason,
        content=publication_content(session, meeting, new_items, kind=kind, org=org))
    session.add(publication)
    session.flush()
    for item in new_items:
        item.published_in = publication.id
        session.add(item)
    meeting.agenda_status = AGENDA_PUBLISHED
    session.add(meeting)
    session.flush()
    if late_reason:
        for item in new_items:
            _agenda_event(session, meeting, item, "publish_agenda_late", actor=actor, now=now,
                          reason=late_reason, publication_id=publication.id, kind=kind,
                          agenda_out=deadline.isoformat(),
                          published_on=local_day(now).isoformat())
    _mark_changed(session, meeting)
    return publication


def _publication_late_reason(org: Organisation, meeting: Meeting, now: datetime, reason: str,
                             kind: str) -> tuple[str, date]:
    """The reason kept for a late publication ("" when on time) and the agenda deadline.

    The deadline is the body's agenda rule (agenda_weekdays: KB 4 hverdage before the meeting,
    kommunestyrelsesloven § 8, stk. 4), counted in Danish weekdays; publishing on that day is
    on time. A tillægsdagsorden has the same deadline. An agenda published after the meeting
    was held records a meeting (an imported referat: meetings.importer), when no notice can
    be given any more: it is not refused, and a reason given is kept.
    """
    body = org.body(meeting.body_code)
    meeting_day = local_day(meeting.starts_at)
    deadline = agenda_deadlines(body, meeting_day, rules_for(org, body.code)).agenda_out
    today = local_day(now)
    reason = checked_text(reason, "Begrundelsen", max_length=MAX_REASON, lines=True)
    if today <= deadline:
        return "", deadline
    if not reason and today <= meeting_day:
        what = "tillægsdagsordenen" if kind == "tillaeg" else "dagsordenen"
        raise TransitionRefused(
            f"Fristen for at udsende {what} til {body.code}-mødet {format_date(meeting_day)} "
            f"var {format_date(deadline)} ({body.agenda_weekdays} hverdage før mødet). Angiv "
            f"en begrundelse for at offentliggøre {what} alligevel.")
    return reason, deadline


# -- postponement to a meeting ----------------------------------------------------------------
# "Udsat til næste møde" / "Udsat til mødet den 08-11-2022": the postponement (a workflow
# action of the case) names the body's meeting it goes to, and the case is put on that
# meeting's agenda in the same transaction. place_case marks the meeting, so the sweep
# (notifications.changes) refreshes its agenda reminders and those of its queue.

NEXT_MEETING = ("næste", "næste møde", "next")


def postponement_target(session: Session, body: str, after: date, ref: str | int) -> Meeting:
    """The body's meeting a case is postponed to from its meeting on `after`: "næste møde"
    (the first one after that day that is not cancelled), a date (08-11-2022) or an id."""
    text = str(ref).strip()
    if text.lower() in NEXT_MEETING:
        found = session.exec(select(Meeting).where(
            Meeting.body_code == body, Meeting.status != CANCELLED,
            Meeting.starts_at > end_of_day(after)).order_by(Meeting.starts_at)).first()
        if found is None:
            raise InvalidInput(f"{body} har intet planlagt møde efter {format_date(after)}. "
                               "Opret mødet, før sagen udsættes til det.")
        return found
    if text.isdigit():
        found = queries.get_meeting(session, int(text))
        if found.body_code != body:
            raise InvalidInput(f"Møde {found.id} er et {found.body_code}-møde; sagen udsættes "
                               f"til et af {body}s møder.")
    else:
        found = queries.meeting_by_body_day(session, body, parse_date(text))
    if found.status == CANCELLED:
        raise TransitionRefused(f"{body}-mødet {format_date(found.starts_at)} er aflyst.")
    if local_day(found.starts_at) <= after:
        raise InvalidInput(f"Sagen kan kun udsættes til et møde efter {format_date(after)}.")
    return found


def postponed_text(target: Meeting) -> str:
    return f"Udsat til mødet den {format_date(target.starts_at)}."


def run_case_action(session: Session, number: str, trigger: str, data: dict, *, actor: str,
                    expected_version: int | None = None, org: Organisation | None = None,
                    now: datetime | None = None) -> CaseEvent:
    """cases.actions.run_action, and for a postponement with `to_meeting` in `data` (an id, a
    date or "næste møde") the case put on that meeting's agenda as well."""
    data = dict(data)
    ref = data.pop("to_meeting", None)
    if ref is None or not str(ref).strip():
        return actions.run_action(session, number, trigger, data, actor=actor,
                                  expected_version=expected_version, org=org, now=now)
    if trigger != "postpone":
        raise InvalidInput("Et møde at udsætte sagen til angives kun ved «Udsæt».")
    return _postpone_to(session, number, ref, data, actor=actor, org=org, now=now,
                        fire=lambda extra: actions.run_action(
                            session, number, trigger, {**data, **extra}, actor=actor,
                            expected_version=expected_version, org=org, now=now))


def record_case_decision(session: Session, number: str, *, actor: str, body: str,
                         wording: str, meeting_date: str | date | None = None,
                         to_meeting: str | int | None = None, org: Organisation | None = None,
                         now: datetime | None = None, **arguments) -> CaseEvent:
    """cases.actions.record_decision, and for "Udsat" with `to_meeting` the case put on that
    meeting's agenda as well."""
    def fire(extra: dict) -> CaseEvent:
        return actions.record_decision(session, number, actor=actor, body=body, wording=wording,
                                       meeting_date=meeting_date, org=org, now=now,
                                       **{**arguments, **extra})

    if to_meeting is None or not str(to_meeting).strip():
        return fire({})
    found = decisions.wording(wording or "")
    if found is None or found.trigger != "postpone":
        raise InvalidInput("Et møde at udsætte sagen til angives kun ved «Udsat».")
    return _postpone_to(session, number, to_meeting,
                        {"body": body, "meeting_date": meeting_date, **arguments},
                        actor=actor, org=org, now=now, fire=fire)


def _postpone_to(session: Session, number: str, ref: str | int, data: dict, *, actor: str,
                 org: Organisation | None, now: datetime | None, fire) -> CaseEvent:
    org = org or current_organisation()
    now = now or utcnow()
    if not data.get("body") or not data.get("meeting_date"):
        raise InvalidInput("Angiv organet og mødedatoen, sagen blev udsat på.")
    body = org.body(data["body"]).code
    day = parse_date(data["meeting_date"])
    target = postponement_target(session, body, day, ref)
    extra = {"to_meeting_date": local_day(target.starts_at)}
    if not data.get("decision_text"):
        extra["decision_text"] = postponed_text(target)
    event = fire(extra)
    case = case_queries.get_case(session, number)
    earlier = queries.open_placement(session, case.id, body)
    if earlier is not None and earlier.meeting_id != target.id:
        at = queries.get_meeting(session, earlier.meeting_id)
        if local_day(at.starts_at) == day:  # the item of the meeting that postponed it
            earlier.wording = event.payload["wording"]
            earlier.decision_text = event.payload.get("decision_text", "")
            earlier.decided_at = now
            session.add(earlier)
            session.flush()
    place_postponed(session, target, number, day, actor=actor, org=org, now=now)
    return event


def place_postponed(session: Session, target: Meeting, number: str, from_day: date, *,
                    actor: str, org: Organisation, now: datetime) -> AgendaItem:
    """Put a postponed case on the agenda of the meeting it was postponed to (kept if it is
    there already); after the submission deadline the postponement is the reason."""
    case = case_queries.get_case(session, number)
    placed = queries.open_placement(session, case.id, target.body_code)
    if placed is not None and placed.meeting_id == target.id:
        return placed
    return place_case(session, target.id, number, org=org, now=now, actor=actor,
                      late_reason=f"Udsat fra mødet den {format_date(from_day)}.")


# -- the minutes -------------------------------------------------------------------------------

def record_item_decision(session: Session, item_id: int, *, wording: str, actor: str,
                         decision_text: str = "", proposal_decisions: list[dict] | None = None,
                         minority: str = "", bodies: list[str] | None = None, reason: str = "",
                         hearing: dict | None = None, replaced_by: str | None = None,
                         to_meeting: str | int | None = None,
                         finance_again: bool | None = None,
                         org: Organisation | None = None,
                         now: datetime | None = None) -> AgendaItem:
    """Record the decision on an item; for a case, this fires its workflow transition.

    "Sendes tilbage" goes back to the case's committees unless `bodies` names some; the
    decision text is the reason unless one is given. "Godkendt og sendes i høring" needs
    `hearing` = {title, parties, deadline, opened_on}; "Ny sag forelægges" needs the new
    case's number in `replaced_by`. "Henvist til fagudvalg" needs the committees in `bodies`
    (and from the council may say `finance_again`). "Udsat" with `to_meeting` (an id, a
    date, "næste møde") puts the case on that meeting's agenda.
    """
    org = org or current_organisation()
    now = now or utcnow()
    item = queries.get_item(session, item_id)
    meeting = queries.get_meeting(session, item.meeting_id)
    _check_minutes_open(meeting, now, decision=True)
    if item.decided_at:
        raise InvalidInput(f"Punkt {item.number} har allerede en beslutning.")
    found = decisions.wording(wording or "")
    if found is None or found.trigger == "record_earlier":
        known = ", ".join(w.label for w in decisions.WORDINGS if w.trigger != "record_earlier")
        raise InvalidInput(f"Ukendt beslutning: {wording!r}. Kendte: {known}.")
    _refuse_fields_of_another_wording(found, hearing, replaced_by)
    target = None
    if to_meeting is not None and str(to_meeting).strip():
        if found.trigger != "postpone" or item.case_id is None:
            raise InvalidInput("Et møde at udsætte sagen til angives kun, når beslutningen er "
                               "«Udsat» på en sag.")
        target = postponement_target(session, meeting.body_code, local_day(meeting.starts_at),
                                     to_meeting)
    decision_text = checked_text(decision_text, "Beslutningens tekst", max_length=ACTION_TEXT,
                                 lines=True)
    if target is not None and not decision_text:
        decision_text = postponed_text(target)
    minority = checked_text(minority, "Mindretallets udtalelse", max_length=ACTION_TEXT,
                            lines=True)
    proposal_decisions = proposal_decisions or []
    if item.case_id is not None and _answers_hearing(session, org, meeting, item, found):
        case = session.get(Case, item.case_id)
        case_services.answer_hearing(
            session, case.number, body=meeting.body_code, meeting_date=local_day(
                meeting.starts_at), wording=found.code, text=decision_text or found.label,
            actor=actor, item_number=item.number, agenda_item_id=item.id, org=org, now=now)
    elif item.case_id is not None and org.body(meeting.body_code).kind == HEARING_COUNCIL:
        if found.trigger != "postpone":
            raise TransitionRefused(f"{org.body_name(meeting.body_code)} er ikke længere part i "
                                    "en åben høring i sagen; beslutningen kan ikke registreres.")
    elif item.case_id is not None:
        _fire_case_decision(session, org, meeting, item, found, now=now, actor=actor,
                            decision_text=decision_text, proposal_decisions=proposal_decisions,
                            minority=minority, bodies=bodies, reason=reason, hearing=hearing,
                            replaced_by=replaced_by, target=target,
                            finance_again=finance_again)
    item.wording = found.code
    item.decision_text = (decision_text or "").strip()
    item.proposal_decisions = proposal_decisions
    item.minority = (minority or "").strip()
    item.decided_at = now
    session.add(item)
    session.flush()
    if target is not None:
        case = session.get(Case, item.case_id)
        place_postponed(session, target, case.number, local_day(meeting.starts_at),
                        actor=actor, org=org, now=now)
    return item


def _answers_hearing(session: Session, org: Organisation, meeting: Meeting, item: AgendaItem,
                     found: decisions.Wording) -> bool:
    """Is this decision the body's høringssvar? A council's on a case it is heard on (but a
    postponement), any body's «Høringssvar afgivet»."""
    if found.trigger == "answer_hearing":
        return True
    council = org.body(meeting.body_code).kind == HEARING_COUNCIL
    return council and found.trigger != "postpone" and \
        case_services.heard_party(session, item.case_id, meeting.body_code) is not None


def _refuse_fields_of_another_wording(found: decisions.Wording, hearing: dict | None,
                                      replaced_by: str | None) -> None:
    """One form (and one command) serves every wording: what belongs to another wording than
    the one chosen is refused, not dropped, so a wrong choice in the list loses nothing
    unseen."""
    if hearing and found.trigger != "send_to_hearing":
        raise InvalidInput("Høringens felter udfyldes kun, når beslutningen er "
                           f"«{decisions.wordings_for('send_to_hearing')[0].label}».")
    if replaced_by and found.trigger != "replace":
        raise InvalidInput("Den nye sags nummer angives kun, når beslutningen er "
                           f"«{decisions.wordings_for('replace')[0].label}».")


def _check_minutes_open(meeting: Meeting, now: datetime, *, decision: bool = False) -> None:
    if meeting.status == CANCELLED:
        raise TransitionRefused("Mødet er aflyst.")
    if meeting.agenda_status != AGENDA_PUBLISHED:
        raise TransitionRefused("Dagsordenen er ikke offentliggjort; beslutninger registreres "
                                "efter mødet.")
    if meeting.minutes_status != MINUTES_NONE:
        raise TransitionRefused("Referatet er udsendt til godkendelse og kan ikke ændres.")
    if decision:
        case_services.check_decision_day(local_day(meeting.starts_at), now)
    elif local_day(now) < local_day(meeting.starts_at):
        raise TransitionRefused(f"Mødet holdes først {format_date(meeting.starts_at)}.")


def _fire_case_decision(session, org, meeting, item, found, *, now, actor, decision_text,
                        proposal_decisions, minority, bodies, reason, hearing,
                        replaced_by, target=None, finance_again=None) -> None:
    case = session.get(Case, item.case_id)
    arguments = dict(body=meeting.body_code, meeting_date=local_day(meeting.starts_at),
                     item_number=item.number, agenda_item_id=item.id,
                     decision_text=decision_text, proposal_decisions=proposal_decisions,
                     minority=minority)
    if found.trigger == "send_back":
        arguments["bodies"] = list(bodies or case.committees)
        arguments["reason"] = reason or decision_text or found.label
    elif found.trigger == "refer":
        arguments["bodies"] = list(bodies or [])
        arguments["finance_again"] = finance_again
    elif found.trigger == "send_to_hearing":
        if not hearing:
            raise InvalidInput("Angiv høringens titel, parter og høringsfrist for at sende "
                               "sagen i høring.")
        case_services.send_to_hearing(session, case.number, actor=actor, org=org, now=now,
                                      wording=found.code, **hearing, **arguments)
        return
    elif found.trigger == "replace":
        arguments["replaced_by"] = replaced_by
        arguments["reason"] = reason or decision_text or found.label
    elif reason:
        arguments["reason"] = reason
    if target is not None:
        arguments["to_meeting_date"] = local_day(target.starts_at)
    actions.record_decision(session, case.number, wording=found.code, actor=actor, org=org,
                            now=now, **arguments)


# -- attendance and votes (meetings.attendance reads what was typed) ---------------------------
# Recorded after the meeting, until the minutes go out for approval, as the decisions are.

def record_attendance(session: Session, meeting: Meeting | int,
                      entries: list[AttendanceEntry]) -> list[Attendance]:
    """The meeting's attendance list as the referat has it (Deltog, Afbud, Fraværende, the
    substitutes, who took no part in which items): it replaces what was recorded before.

    A person is linked to the member of the body their username or name is; anyone else is
    kept by name (a substitute, a guest). Everything is checked before anything is written.
    """
    meeting = _attendance_meeting(session, meeting)
    members = queries.members(session, meeting.body_code)
    items = {item.number: item for item in queries.items(session, meeting.id)}
    rows, seen = [], set()
    for entry in entries:
        row = _attendance_row(session, meeting, members, entry)
        if row.name.casefold() in seen:
            raise InvalidInput(f"{row.name} står mere end én gang på fremmødelisten.")
        seen.add(row.name.casefold())
        rows.append((row, entry))
    attending = {row.name.casefold() for row, _ in rows if row.status == ATTENDED}
    for row, entry in rows:
        if row.substitute_for and row.substitute_for.casefold() in attending:
            raise InvalidInput(f"{row.substitute_for} står som deltager og kan ikke have en "
                               f"stedfortræder ({row.name}).")
        missing = [str(n) for n in entry.not_under if n not in items]
        if missing:
            raise InvalidInput(f"Mødet har intet punkt {', '.join(missing)} "
                               f"({row.name} deltog ikke under punkt {', '.join(missing)}).")
    _clear_attendance(session, meeting.id)
    for row, entry in rows:
        session.add(row)
        session.flush()
        session.add_all(ItemAbsence(attendance_id=row.id, agenda_item_id=items[n].id)
                        for n in entry.not_under)
    session.flush()
    return [row for row, _ in rows]


def _attendance_meeting(session: Session, meeting: Meeting | int) -> Meeting:
    if isinstance(meeting, int):
        meeting = queries.get_meeting(session, meeting)
    if meeting.status == CANCELLED:
        raise TransitionRefused("Mødet er aflyst.")
    if meeting.minutes_status != MINUTES_NONE:
        raise TransitionRefused("Referatet er udsendt til godkendelse; fremmødet kan ikke "
                                "ændres.")
    return meeting


def _attendance_row(session: Session, meeting: Meeting, members: list[User],
                    entry: AttendanceEntry) -> Attendance:
    if entry.status not in ATTENDANCE_STATUSES:
        raise InvalidInput(f"Ukendt fremmøde {entry.status!r}; vælg deltog, afbud eller "
                           "fraværende.")
    user = _user(session, entry.username) if entry.username else \
        _member_named(members, entry.name)
    name = checked_text(user.name if user else entry.name, "Navnet", max_length=200)
    if not name:
        raise InvalidInput("Angiv navnet på hver person på fremmødelisten.")
    substitute_for = checked_text(entry.substitute_for, "Navnet på det medlem, der havde "
                                  "stedfortræder", max_length=200)
    if substitute_for:
        if entry.status != ATTENDED:
            raise InvalidInput(f"{name} står som stedfortræder og skal derfor stå som "
                               "deltager.")
        member = _member_named(members, substitute_for)
        substitute_for = member.name if member else substitute_for
    if entry.not_under and entry.status != ATTENDED:
        raise InvalidInput(f"{name} deltog ikke i mødet og kan ikke have punkter, "
                           "vedkommende ikke deltog under.")
    return Attendance(meeting_id=meeting.id, user_id=user.id if user else None, name=name,
                      party=checked_text(entry.party, "Partiet", max_length=100),
                      status=entry.status, substitute_for=substitute_for,
                      note=checked_text(entry.note, "Bemærkningen", max_length=500,
                                        lines=True))


def _member_named(members: list[User], name: str) -> User | None:
    """The member a typed name means: their name or username, in any case."""
    wanted = " ".join((name or "").split()).casefold()
    return next((m for m in members if wanted in (m.name.casefold(), m.username.casefold())),
                None)


def _clear_attendance(session: Session, meeting_id: int) -> None:
    ids = [row.id for row in queries.attendance(session, meeting_id)]
    if ids:
        session.execute(sa.delete(ItemAbsence).where(ItemAbsence.attendance_id.in_(ids)))
        session.execute(sa.delete(Attendance).where(Attendance.id.in_(ids)))
        session.flush()


def record_absence(session: Session, meeting_id: int, *, name: str = "",
                   username: str | None = None, note: str = "") -> Attendance:
    """Add one member as Fraværende to the attendance list (the rest stays as it is)."""
    meeting = _attendance_meeting(session, meeting_id)
    members = queries.members(session, meeting.body_code)
    row = _attendance_row(session, meeting, members, AttendanceEntry(
        name=name, username=username, status=ABSENT, note=note))
    if any(a.name.casefold() == row.name.casefold()
           for a in queries.attendance(session, meeting.id)):
        raise InvalidInput(f"{row.name} står allerede på fremmødelisten.")
    session.add(row)
    session.flush()
    return row


def record_vote(session: Session, item_id: int, entry: VoteEntry, *,
                now: datetime | None = None) -> Vote:
    """The vote on one proposal of the item (or on the item as a whole): replaces an earlier
    record of the same vote. Voters are members of the body, people on the attendance
    list or parties on it; who was not there, or not under this item, cannot vote."""
    item, meeting = _minutes_item(session, item_id, now)
    vote, voters = _checked_vote(session, item, meeting, entry)
    old = session.exec(select(Vote).where(Vote.agenda_item_id == item.id,
                                          _same_proposal(entry.proposal))).first()
    if old is not None:
        _delete_votes(session, [old.id])
    return _add_vote(session, vote, voters)


def record_item_votes(session: Session, item_id: int, votes: list[VoteEntry],
                      notes: list[NoteEntry], *, now: datetime | None = None) -> None:
    """Everything the minutes say of the item besides its decision: its votes and its notes
    (minority statements, reservations, protocol notes), replacing what was recorded."""
    item, meeting = _minutes_item(session, item_id, now)
    if len({v.proposal for v in votes}) != len(votes):
        raise InvalidInput("Angiv hver afstemning én gang.")
    checked = [_checked_vote(session, item, meeting, entry) for entry in votes]
    kept = [_checked_note(item, note) for note in notes]
    _delete_votes(session, [v.id for v in session.exec(
        select(Vote).where(Vote.agenda_item_id == item.id))])
    session.execute(sa.delete(ItemNote).where(ItemNote.agenda_item_id == item.id))
    for vote, voters in checked:
        _add_vote(session, vote, voters)
    session.add_all(kept)
    session.flush()


def add_item_note(session: Session, item_id: int, note: NoteEntry, *,
                  now: datetime | None = None) -> ItemNote:
    """A minority statement, reservation or protocol note on the item."""
    item, _ = _minutes_item(session, item_id, now)
    row = _checked_note(item, note)
    session.add(row)
    session.flush()
    return row


def _minutes_item(session: Session, item_id: int,
                  now: datetime | None) -> tuple[AgendaItem, Meeting]:
    item = queries.get_item(session, item_id)
    meeting = queries.get_meeting(session, item.meeting_id)
    _check_minutes_open(meeting, now or utcnow())
    return item, meeting


def _same_proposal(number: int | None):
    return Vote.proposal_number.is_(None) if number is None else \
        Vote.proposal_number == number


def _checked_vote(session: Session, item: AgendaItem, meeting: Meeting,
                  entry: VoteEntry) -> tuple[Vote, list[VoteVoter]]:
    if entry.proposal is not None:
        numbers = {p.number for p in case_queries.proposals(session, item.case_id)} \
            if item.case_id else set()
        if entry.proposal not in numbers:
            raise InvalidInput(f"Punkt {item.number} har intet indstillingspunkt "
                               f"{entry.proposal}; afstemningen kan ikke registreres.")
    voters = _Voters(session, meeting, item)
    rows, counts, seen = [], {}, {}
    for choice, label in VOTE_CHOICES.items():
        counted = 0
        for raw in entry.names.get(choice, []):
            name, user_id, weight = voters.find(raw)
            earlier = seen.get(name.casefold())
            if earlier == label:
                raise InvalidInput(f"{name} står to gange under {label}.")
            if earlier:
                raise InvalidInput(f"{name} står under både {earlier} og {label}.")
            seen[name.casefold()] = label
            rows.append(VoteVoter(vote_id=0, choice=choice, name=name, user_id=user_id))
            counted += weight
        given = entry.counts.get(choice)
        if given is not None and (given < 0 or given > 10_000):
            raise InvalidInput(f"Antallet under {label} skal være et tal fra 0 og op.")
        if given is not None and given < counted:
            raise InvalidInput(f"Under {label} står {counted} navngivne stemmer, men antallet "
                               f"er {given}.")
        counts[choice] = counted if given is None else given
    if not rows and not any(counts.values()):
        raise InvalidInput("Angiv, hvem der stemte for, imod eller undlod, eller antallet.")
    vote = Vote(agenda_item_id=item.id, proposal_number=entry.proposal,
                votes_for=counts[VOTE_FOR], votes_against=counts[VOTE_AGAINST],
                abstentions=counts[VOTE_ABSTAIN])
    return vote, rows


class _Voters:
    """Who may vote on an item, and how a typed name is read: a person (one vote) or a
    party (its members present under the item)."""

    def __init__(self, session: Session, meeting: Meeting, item: AgendaItem):
        self.item = item
        rows = queries.attendance(session, meeting.id)
        away = {attendance_id for attendance_id, item_ids
                in queries.not_under_items(session, meeting.id).items() if item.id in item_ids}
        self.attendance = {row.name.casefold(): row for row in rows}
        self.away = {row.name.casefold() for row in rows if row.id in away}
        self.present = [row for row in rows if row.status == ATTENDED and row.id not in away]
        self.members = queries.members(session, meeting.body_code)

    def find(self, raw: str) -> tuple[str, int | None, int]:
        """(name, user id, how many votes) of a typed voter, or a Danish refusal."""
        typed = " ".join(raw.split())
        member = _member_named(self.members, typed)
        row = self.attendance.get((member.name if member else typed).casefold())
        if row is not None:
            if row.status != ATTENDED:
                raise InvalidInput(f"{row.name} deltog ikke i mødet "
                                   f"({ATTENDANCE_STATUSES[row.status].lower()}) og kan ikke "
                                   "stemme.")
            if row.name.casefold() in self.away:
                raise InvalidInput(f"{row.name} deltog ikke under punkt {self.item.number} "
                                   "og kan ikke stemme.")
            return row.name, row.user_id, 1
        party = [row for row in self.present if row.party.casefold() == typed.casefold()]
        if party:
            return party[0].party, None, len(party)
        if member is not None and not self.attendance:  # no attendance list recorded
            return member.name, member.id, 1
        if member is not None:
            raise InvalidInput(f"{member.name} står ikke på mødets fremmødeliste og kan ikke "
                               "stemme.")
        raise InvalidInput(f"Ukendt medlem eller parti: {typed!r}. Skriv et medlems navn "
                           "eller brugernavn, en deltager fra fremmødelisten eller et parti "
                           "fra den.")


def _add_vote(session: Session, vote: Vote, voters: list[VoteVoter]) -> Vote:
    session.add(vote)
    session.flush()
    for voter in voters:
        voter.vote_id = vote.id
    session.add_all(voters)
    session.flush()
    return vote


def _delete_votes(session: Session, vote_ids: list[int]) -> None:
    if vote_ids:
        session.execute(sa.delete(VoteVoter).where(VoteVoter.vote_id.in_(vote_ids)))
        session.execute(sa.delete(Vote).where(Vote.id.in_(vote_ids)))
        session.flush()


def _checked_note(item: AgendaItem, note: NoteEntry) -> ItemNote:
    kind = note_kind(note.kind)
    who = checked_text(note.who, "Hvem bemærkningen er fra", max_length=300)
    text = checked_text(note.text, "Bemærkningens tekst", max_length=ACTION_TEXT, lines=True)
    if not who:
        raise InvalidInput(f"Angiv, hvem {NOTE_KINDS[kind].lower()}en er fra (navne eller "
                           "partier).")
    if not text and kind != RESERVATION:
        raise InvalidInput(f"Skriv teksten til {NOTE_KINDS[kind].lower()}en.")
    return ItemNote(agenda_item_id=item.id, kind=kind, who=who, text=text)


def _user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"Brugeren {username!r} findes ikke.")
    return user


def send_minutes_for_approval(session: Session, meeting_id: int, *,
                              objection_deadline: str | date | None = None,
                              org: Organisation | None = None,
                              now: datetime | None = None) -> Meeting:
    """Close the minutes for changes and ask the members to approve them."""
    org = org or current_organisation()
    now = now or utcnow()
    meeting = queries.get_meeting(session, meeting_id)
    _check_minutes_open(meeting, now)
    undecided = [str(i.number) for i in queries.items(session, meeting.id)
                 if not i.decided_at]
    if undecided:
        raise TransitionRefused("Punkt " + ", ".join(undecided) + " mangler en beslutning.")
    deadline = parse_date(objection_deadline) if objection_deadline else add_weekdays(
        local_day(now), OBJECTION_WEEKDAYS, rules_for(org, meeting.body_code))
    meeting.minutes_status = MINUTES_APPROVAL
    meeting.objection_deadline = deadline
    session.add(meeting)
    session.flush()
    refresh_minutes_status(session, meeting, now)
    _mark_changed(session, meeting)
    return meeting


def approve_minutes(session: Session, meeting_id: int, *, username: str,
                    now: datetime | None = None) -> MinutesApproval:
    """A member clicks "Godkendt". Approving twice is harmless."""
    now = now or utcnow()
    meeting = queries.get_meeting(session, meeting_id)
    user = _user(session, username)
    if not session.get(Membership, (user.id, meeting.body_code)):
        raise TransitionRefused(f"{user.name} er ikke medlem af {meeting.body_code}.")
    existing = session.get(MinutesApproval, (meeting.id, user.id))
    if existing:
        return existing
    if meeting.minutes_status != MINUTES_APPROVAL:
        raise TransitionRefused("Referatet er ikke til godkendelse.")
    approval = MinutesApproval(meeting_id=meeting.id, user_id=user.id, approved_at=now)
    session.add(approval)
    session.flush()
    refresh_minutes_status(session, meeting, now)
    _mark_changed(session, meeting)
    return approval


def refresh_minutes_status(session: Session, meeting: Meeting, now: datetime) -> bool:
    """Make the minutes final when every member approved or the objection deadline passed.

    Returns True when they became final now. Safe to call repeatedly (a periodic task can).
    """
    if meeting.minutes_status != MINUTES_APPROVAL:
        return False
    member_ids = {u.id for u in queries.members(session, meeting.body_code)}
    approved = {a.user_id for a, _ in queries.approvals(session, meeting.id)}
    all_approved = bool(member_ids) and member_ids <= approved
    deadline_passed = meeting.objection_deadline is not None and \
        local_day(now) > meeting.objection_deadline
    if not (all_approved or deadline_passed):
        return False
    meeting.minutes_status = MINUTES_FINAL
    meeting.minutes_final_at = now
    session.add(meeting)
    session.flush()
    return True


def finalise_due_minutes(session: Session, now: datetime | None = None) -> list[int]:
    """Every meeting whose minutes became final by now (for a periodic sweep)."""
    now = now or utcnow()
    waiting = session.exec(select(Meeting).where(Meeting.minutes_status == MINUTES_APPROVAL))
    final = [m for m in list(waiting) if refresh_minutes_status(session, m, now)]
    for meeting in final:
        _mark_changed(session, meeting)
    return [m.id for m in final]


# -- route planning (the database edge of meetings.planner) ------------------------------------

def case_deadline(session: Session, case: Case) -> date | None:
    """The deadline the route is planned against: the earliest one not yet met."""
    due = [d.due_date for d in case_queries.deadlines(session, case.id) if d.met_on is None]
    return min(due) if due else None


def plan_case(session: Session, number: str, *, deadline: str | date | None = None,
              org: Organisation | None = None,
              calendar: queries.Calendar | None = None) -> RoutePlan | None:
    """The latest route for a case through the meeting calendar (`calendar`, else read
    here); None if it has no deadline (and none is given) or no steps left."""
    org = org or current_organisation()
    case = case_queries.get_case(session, number)
    deadline = parse_date(deadline) if deadline else case_deadline(session, case)
    if deadline is None:
        return None
    stages = remaining_stages(case_services.current_flow(session, org, case))
    if not stages:
        return None
    if calendar is None:
        calendar = queries.calendar(session)
    return plan_route(stages=stages, deadline=deadline, calendar=calendar, org=org)


def routes_no_longer_fitting(session: Session, *, today: date,
                             org: Organisation | None = None) -> list[tuple[Case, RoutePlan]]:
    """Active cases with a deadline whose route can no longer be made (for escalation)."""
    org = org or current_organisation()
    calendar = queries.calendar(session)
    found = []
    query = select(Case).where(Case.status.in_(ACTIVE)).order_by(Case.number)
    for case in session.exec(query):
        deadline = case_deadline(session, case)
        if deadline is None:
            continue
        stages = remaining_stages(case_services.current_flow(session, org, case))
        plan = plan_route(stages=stages, deadline=deadline, calendar=calendar, org=org)
        if no_longer_fits(plan, today):
            found.append((case, plan))
    return found
