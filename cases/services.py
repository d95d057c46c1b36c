"""The actions that change cases. Each runs inside the caller's write transaction.

The caller opens one transaction (`cases.db.write_session()`), calls one action and lets the
block commit; any error rolls back everything, so a refused action writes nothing. Every
action appends to the audit log (`CaseEvent`) in that same transaction. A workflow action
updates the case with a compare-and-set on its version, so that a concurrent writer gets a
Conflict instead of silently overwriting (transitions is not process-safe: docs/engineering.md).
"""

from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, func, select

from cases import queries
from cases.dates import COPENHAGEN, format_date, parse_date
from cases.models import (
    Attachment,
    Awaiting,
    Case,
    CaseEvent,
    CaseLink,
    Deadline,
    Hearing,
    HearingParty,
    HearingResponse,
    Proposal,
    Treatment,
    utcnow,
)
from cases.organisation import (
    COUNCIL,
    HEARING_COUNCIL,
    STANDING_COMMITTEE,
    Organisation,
)
from cases.schemas import (
    FIELD_LABELS,
    ActionIn,
    CaseCreate,
    CaseEdit,
    DeadlineIn,
    EndHearingIn,
    SendToHearingIn,
    checked_text,
    party_address,
    validated,
)
from cases.settings import current_organisation
from workflow.errors import Conflict, InvalidInput, NotFound, TransitionRefused
from workflow.machine import (
    CASE_FLOW_START_FIELDS,
    FINAL,
    MACHINE,
    STAGE_FOR_KIND,
    STATE_LABELS,
    CaseFlow,
    fire,
    replay,
)

# -- creating a case ---------------------------------------------------------------------------

def create_case(session: Session, data: dict | CaseCreate, *, actor: str,
                org: Organisation | None = None, now: datetime | None = None) -> Case:
    org = org or current_organisation()
    now = now or utcnow()
    data = data if isinstance(data, CaseCreate) else validated(CaseCreate, data)
    org.check_centre(data.centre)
    deciding, *joint = _deciding_bodies(org, data.deciding_body)
    committees = _route_committees(org, deciding, [*data.committees, *joint])
    if session.exec(select(Case.id).where(Case.number == data.number)).first():
        raise InvalidInput(f"Sagsnummeret {data.number!r} findes allerede.")
    case = Case(
        number=data.number, title=data.title, summary=data.summary,
        background=data.background, presentation=data.presentation, economy=data.economy,
        centre=data.centre, owner_name=data.owner_name, owner_email=data.owner_email,
        deciding_body=deciding, joint_bodies=joint, committees=committees,
        confidential=data.confidential, created_at=now, updated_at=now,
    )
    session.add(case)
    session.flush()
    for number, text in enumerate(data.proposals, start=1):
        session.add(Proposal(case_id=case.id, number=number, text=text))
    for number, attachment in enumerate(data.attachments, start=1):
        session.add(Attachment(case_id=case.id, number=number, title=attachment.title,
                               recommended=attachment.recommended))
    for deadline in data.deadlines:
        session.add(_deadline_row(case.id, deadline))
    if data.replaces:
        _link_replacement(session, new_case=case, old_number=data.replaces)
    for number in data.earlier:
        earlier = queries.get_case(session, number)
        session.add(CaseLink(case_id=case.id, linked_case_id=earlier.id, kind="earlier"))
    start = start_flow(org, case)
    append_event(session, case, actor=actor, trigger="create", from_state=None,
                 to_state=case.status, now=now,
                 payload={k: getattr(start, k) for k in CASE_FLOW_START_FIELDS})
    return case


def _deciding_bodies(org: Organisation, codes: list[str]) -> list[str]:
    """Who decides, each once. Joint competence is shared by standing committees: each treats
    the case in the same round, and it is decided when the last of them has."""
    codes = list(dict.fromkeys(codes))
    if len(codes) > 1:
        for code in codes:
            body = org.body(code)
            if body.kind != STANDING_COMMITTEE:
                raise InvalidInput(f"Fælles beslutningskompetence deles af fagudvalg; "
                                   f"{body.name} er ikke et fagudvalg.")
    return codes


def _route_committees(org: Organisation, deciding_code: str, codes: list[str]) -> list[str]:
    """Check the route's bodies; a committee that decides is always on its own route."""
    deciding = org.body(deciding_code)
    if deciding.kind not in STAGE_FOR_KIND:
        raise InvalidInput(f"{deciding.name} kan ikke træffe beslutning i en sag.")
    route = []
    for code in codes:
        body = org.body(code)
        if body.kind != STANDING_COMMITTEE:
            raise InvalidInput(f"{body.name} er ikke et fagudvalg og kan ikke stå på ruten "
                               "som fagudvalg.")
        if code not in route:
            route.append(code)
    if deciding.kind == STANDING_COMMITTEE and deciding_code not in route:
        route.append(deciding_code)
    if deciding.kind == COUNCIL and org.finance_committee is None \
            and org.require_finance_statement:
        raise InvalidInput("Organisationen har intet økonomiudvalg, men kræver dets udtalelse.")
    return route


def _link_replacement(session: Session, *, new_case: Case, old_number: str) -> None:
    old = queries.get_case(session, old_number)
    session.add(CaseLink(case_id=new_case.id, linked_case_id=old.id, kind="replaces"))


def _deadline_row(case_id: int, deadline: DeadlineIn) -> Deadline:
    return Deadline(case_id=case_id, due_date=deadline.due_date, kind=deadline.kind,
                    description=deadline.description, legal_basis=deadline.legal_basis)


# -- editing a case's text ---------------------------------------------------------------------

# What `update_case` may change, as Case columns. The short ones go into the audit event with
# their old and new values; of the long texts only the names (a Sagsfremstilling can be pages).
EDIT_SHORT_FIELDS = ("title", "owner_name", "owner_email", "confidential")
EDIT_LONG_FIELDS = ("summary", "background", "presentation", "economy")
# The workflow's fields, named when someone tries to edit them here.
WORKFLOW_FIELDS = {"number": "sagsnummer", "deciding_body": "beslutningskompetence",
                   "committees": "fagudvalg", "status": "tilstand", "centre": "center"}


def check_editable(case: Case) -> None:
    """A finished case (closed, withdrawn, replaced) keeps the text it was decided on."""
    if case.status in FINAL:
        raise TransitionRefused(f"Sagen {case.number} er {STATE_LABELS[case.status].lower()} "
                                "og kan ikke længere redigeres.")


def update_case(session: Session, number: str, data: dict | CaseEdit, *, actor: str,
                expected_version: int | None = None,
                now: datetime | None = None) -> CaseEvent | None:
    """Change a registered case's text (title, texts, owner, Indstilling, Bilag, lukket punkt),
    with an "edit_case" audit event naming what changed; None when nothing did (and nothing is
    written).

    An edit bumps the case's version by a compare-and-set, as a workflow action does: two
    editors, or an editor and a decision recorded from a page read before the edit, cannot
    overwrite each other; the later one gets a Conflict. `expected_version` is the version the
    caller showed (a form); without it, the version read in this transaction is the one set.
    """
    now = now or utcnow()
    if not isinstance(data, CaseEdit):
        fixed = [label for key, label in WORKFLOW_FIELDS.items() if key in data]
        if fixed:
            raise InvalidInput(f"{', '.join(fixed).capitalize()} kan ikke redigeres her; det "
                               "ændres gennem sagsgangen.")
        data = validated(CaseEdit, data)
    case = queries.get_case(session, number)
    if expected_version is not None and case.version != expected_version:
        raise Conflict(_conflict_message(case))
    check_editable(case)
    given = {k: v for k, v in data.model_dump().items() if v is not None}
    values = {k: given[k] for k in (*EDIT_SHORT_FIELDS, *EDIT_LONG_FIELDS)
              if k in given and given[k] != getattr(case, k)}
    changed = [k for k in (*EDIT_SHORT_FIELDS, *EDIT_LONG_FIELDS) if k in values]
    old_proposals = [p.text for p in queries.proposals(session, case.id)]
    if "proposals" in given and given["proposals"] != old_proposals:
        changed.append("proposals")
    # The edit names the Bilag that are titles only; a Bilag with a file (cases.files) stays.
    files = [a for a in queries.attachments(session, case.id) if a.digest]
    old_attachments = [{"title": a.title, "recommended": a.recommended}
                       for a in queries.attachments(session, case.id) if not a.digest]
    if "attachments" in given and given["attachments"] != old_attachments:
        changed.append("attachments")
    if not changed:
        return None
    before = {k: getattr(case, k) for k in values}
    version = case.version + 1
    updated = session.connection().execute(
        _CASE.update().where(_CASE.c.id == case.id, _CASE.c.version == case.version),
        {**values, "version": version}).rowcount
    if updated != 1:
        raise Conflict(_conflict_message(case))
    _update_loaded_case(session, case.id, {**values, "version": version})
    if "proposals" in changed:
        session.execute(sa.delete(Proposal).where(Proposal.case_id == case.id))
        session.add_all(Proposal(case_id=case.id, number=n, text=text)
                        for n, text in enumerate(given["proposals"], start=1))
    if "attachments" in changed:
        session.execute(sa.delete(Attachment).where(Attachment.case_id == case.id,
                                                    Attachment.digest.is_(None)))
        first = max((a.number for a in files), default=0) + 1
        session.add_all(Attachment(case_id=case.id, number=n, title=a["title"],
                                   recommended=a["recommended"])
                        for n, a in enumerate(given["attachments"], start=first))
    labels = ", ".join(FIELD_LABELS.get(name, name) for name in changed)
    return append_event(session, case, actor=actor, trigger="edit_case", from_state=case.status,
                        to_state=case.status, now=now, reason=f"Ændret: {labels}", payload={
                            "fields": changed,
                            "values": {k: {"old": before[k], "new": values[k]}
                                       for k in EDIT_SHORT_FIELDS if k in values}})


# -- the workflow ------------------------------------------------------------------------------

def start_flow(org: Organisation, case: Case) -> CaseFlow:
    """The flow of a newly registered case (also the start of a replay)."""
    finance = org.finance_committee
    council = org.council
    return CaseFlow(
        deciding_body=case.deciding_body,
        deciding_stage=STAGE_FOR_KIND[org.body(case.deciding_body).kind],
        committees=list(case.committees),
        joint_bodies=list(case.joint_bodies or []),
        finance_body=finance.code if finance else None,
        council_body=council.code if council else None,
        require_finance_statement=org.require_finance_statement,
    )


@dataclass(slots=True)
class StoredFlow:
    """The rows besides the case's own that its flow is built from."""

    start: dict | None  # the first event's payload: the flow's start values
    awaiting: list[str]  # the body codes of its Awaiting rows
    open_blocking_hearings: int


def current_flow(session: Session, org: Organisation, case: Case | sa.Row,
                 stored: StoredFlow | None = None) -> CaseFlow:
    """The flow as stored: the start values from the case's first event, the rest from rows
    (read here, or given as `stored` when the caller loaded them with the case)."""
    if stored is None or stored.start is None:
        stored = StoredFlow(
            start=session.exec(select(CaseEvent.payload).where(
                CaseEvent.case_id == case.id, CaseEvent.seq == 1)).one(),
            awaiting=queries.awaiting_bodies(session, case.id),
            open_blocking_hearings=queries.open_blocking_hearings(session, case.id))
    flow = CaseFlow(**stored.start)
    flow.committees = list(case.committees)
    flow.state = case.status
    flow.finance_statement = case.finance_statement
    flow.return_stage = case.referral_return
    flow.pending = list(stored.awaiting) if case.status == "committee" else []
    flow.pending.sort(key=flow.committees.index)
    flow.open_blocking_hearings = stored.open_blocking_hearings
    return flow


# The hot path's statements are built once: building a statement costs SQLAlchemy more than
# SQLite takes to run it, and one query or round trip less is worth more than any index.
@lru_cache(maxsize=4)
def _case_with_flow_query(dialect: str) -> sa.Select:
    """The case's columns a transition reads, its first event's payload, its open blocking
    hearings and its Awaiting bodies (a JSON array), by number: plain columns, not a loaded
    Case (loading an ORM object costs more than the rest of the query)."""
    aggregate = sa.func.json_agg if dialect == "postgresql" else sa.func.json_group_array
    correlated = (
        select(CaseEvent.payload).where(CaseEvent.case_id == Case.id, CaseEvent.seq == 1),
        select(func.count()).select_from(Hearing).where(
            Hearing.case_id == Case.id, Hearing.blocking, Hearing.closed_on.is_(None)),
        select(aggregate(Awaiting.body_code, type_=sa.JSON)).where(Awaiting.case_id == Case.id),
    )
    subqueries = [q.correlate(Case).scalar_subquery() for q in correlated]
    columns = _CASE.c
    return select(columns.id, columns.number, columns.status, columns.version,
                  columns.committees, columns.finance_statement, columns.referral_return,
                  *subqueries) \
        .where(columns.number == sa.bindparam("number"))


def _case_with_flow(session: Session, number: str) -> tuple[sa.Row, StoredFlow]:
    """The case's state and the rows its flow is built from, in one query: the per-statement
    cost of the database layer, not the database, dominates a transition."""
    session.flush()  # what the caller added in this transaction counts (a hearing, a link)
    connection = session.connection()
    row = connection.execute(_case_with_flow_query(connection.dialect.name),
                             {"number": number}).first()
    if row is None:
        raise NotFound(f"Sagen {number!r} findes ikke.")
    *_, start, open_hearings, awaiting = row
    return row, StoredFlow(start=start, awaiting=awaiting or [],
                           open_blocking_hearings=open_hearings)


def transition(session: Session, number: str, model: type[ActionIn], data: dict, *,
               actor: str, expected_version: int | None = None,
               org: Organisation | None = None, now: datetime | None = None) -> CaseEvent:
    """Run one workflow action on a case, with its audit event, in the caller's transaction:
    the one way every action (cases.actions) changes a case's state.

    1. The case is read with what its flow is built from, and `expected_version` compared.
    2. `data` is validated with the action's input model (types, lengths, dates; what the
       action does not take is refused); its dump is the event's payload.
    3. What needs the organisation or the register is checked (`_check_in_register`).
    4. The machine fires the trigger with the payload; the flow is written back with a
       compare-and-set on the version, with the audit event, the treatment row (an action
       that names a body's treatment) and the link of a replacement.

    Reminders and follow news are not made here: the beat derives them from the audit log
    shortly after (notifications.changes), so a transition writes only the case, its event
    and its treatment.
    """
    org = org or current_organisation()
    now = now or utcnow()
    case, stored = _case_with_flow(session, number)
    if expected_version is not None and case.version != expected_version:
        raise Conflict(_conflict_message(case))
    payload = validated(model, data).model_dump(mode="json", exclude_none=True)
    if "wording" in payload and payload.get("meeting_date"):
        check_decision_day(date.fromisoformat(payload["meeting_date"]), now)
    _check_in_register(session, org, case, model.trigger, payload)
    if model.trigger == "refer":
        _complete_referral(org, case, payload)
    flow = current_flow(session, org, case, stored)
    from_state, to_state = fire(flow, model.trigger, **payload)
    seq = _store_flow(session, case, flow, seen_version=case.version, now=now,
                      awaiting=stored.awaiting)
    event = _insert_event(session, {
        "case_id": case.id, "seq": seq, "at": now, "actor": actor, "trigger": model.trigger,
        "from_state": from_state, "to_state": to_state, "body": payload.get("body"),
        "reason": payload.get("reason") or payload.get("override_reason", ""),
        "payload": payload})
    if "wording" in payload:  # the input models give a wording only with a body's treatment
        session.connection().execute(_INSERT_TREATMENT, _treatment_row(org, case, event,
                                                                       payload))
    if model.trigger == "replace":
        _link_replaced(session, case, payload["replaced_by"])
    return event


def check_decision_day(meeting_day: date, now: datetime) -> None:
    """A body's decision is recorded from its meeting's day on (in Copenhagen), never
    before: what a meeting not yet held decides is not known. Every way a decision is
    recorded passes here (an agenda item's, a case's on its page, the API's, the command
    line's), so none of them is a way round it."""
    if meeting_day > now.astimezone(COPENHAGEN).date():
        raise TransitionRefused("Beslutningen kan først registreres på mødedagen "
                                f"({format_date(meeting_day)}).")


def _link_replaced(session: Session, case: sa.Row, new_number: str) -> None:
    new_case = queries.get_case(session, new_number)
    session.connection().execute(_CASE.update().where(_CASE.c.id == case.id),
                                 {"replaced_by_id": new_case.id})
    _update_loaded_case(session, case.id, {"replaced_by_id": new_case.id})
    if not session.exec(select(CaseLink.id).where(CaseLink.case_id == new_case.id,
                                                  CaseLink.linked_case_id == case.id)).first():
        session.add(CaseLink(case_id=new_case.id, linked_case_id=case.id, kind="replaces"))


def _conflict_message(case: Case | sa.Row) -> str:
    return (f"Sagen {case.number} er ændret af en anden, siden du hentede den. "
            "Hent sagen igen og prøv på ny.")


def _check_in_register(session: Session, org: Organisation, case: sa.Row, trigger: str,
                       payload: dict) -> None:
    """The checks of an action's input that need the organisation or the register (its input
    model has checked the rest). On the payload, a plain dict: reading a field an input model
    lacks would cost more than the check."""
    if "body" in payload and "body_name" not in payload:
        org.body(payload["body"])
    if trigger in ("send_back", "refer"):  # to committees only
        for code in payload.get("bodies", []):
            if org.body(code).kind != STANDING_COMMITTEE:
                raise InvalidInput(f"{code} er ikke et fagudvalg.")
    elif trigger == "send_for_information":
        for code in payload.get("bodies", []):
            org.body(code)
    if "proposal_decisions" in payload:
        _check_proposal_decisions(session, case.id, payload["proposal_decisions"])
    if "wording" in payload and trigger != "record_earlier":  # history is copied as it is
        _check_not_decided_yet(session, org, case, payload)
    if trigger == "replace":
        if payload["replaced_by"] == case.number:
            raise InvalidInput("En sag kan ikke erstatte sig selv.")
        queries.get_case(session, payload["replaced_by"])


def _complete_referral(org: Organisation, case: sa.Row, payload: dict) -> None:
    """What a referral records besides what was given: whether the finance committee treats
    the case again (from the council: as chosen, else the organisation's default; from the
    finance committee itself: always), and its wording in the history ("Henvist til
    Socialudvalget og Børne- og Skoleudvalget")."""
    if case.status == "council":
        payload.setdefault("finance_again", org.referral_finance_again)
    else:
        payload.pop("finance_again", None)
    names = [org.body_name(code) for code in dict.fromkeys(payload.get("bodies", []))]
    if names and not payload.get("decision_text"):
        joined = " og ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
        again = (f" Sagen behandles derefter igen i {org.finance_committee.name}."
                 if payload.get("finance_again") and org.finance_committee else "")
        payload["decision_text"] = f"Henvist til {joined}.{again}"


def _check_not_decided_yet(session: Session, org: Organisation, case: sa.Row,
                           payload: dict) -> None:
    """A body decides a case once at a meeting: a second decision for the same meeting (two
    clicks, two clients, a retried request without `version`) is refused, not recorded twice.
    Changing a recorded decision is the secretariat's correction, not a new decision."""
    day = date.fromisoformat(payload["meeting_date"])
    if session.exec(select(Treatment.id).where(
            Treatment.case_id == case.id, Treatment.body_code == payload["body"],
            Treatment.meeting_date == day)).first() is not None:
        raise Conflict(f"{org.body_name(payload['body'])} har allerede truffet beslutning i "
                       f"sagen {case.number} på mødet {format_date(day)}.")


def information_bodies(payload: dict) -> list[str]:
    """The bodies (codes) a send_for_information event went to, each once."""
    return list(dict.fromkeys(code for code in [payload.get("body"),
                                                *payload.get("bodies", [])] if code))


def information_recipients(org: Organisation, payload: dict) -> list[str]:
    """Who a send_for_information event went to, by name: bodies, then outside ones."""
    return [org.body_name(code) for code in information_bodies(payload)] + \
        list(payload.get("recipients", []))


def _check_proposal_decisions(session: Session, case_id: int, given: list[dict]) -> None:
    """A decision per proposal names a proposal of the case's Indstilling, once each."""
    numbers = {p.number for p in queries.proposals(session, case_id)}
    seen = set()
    for item in given:
        number = item["number"]
        if number not in numbers:
            raise InvalidInput(f"Sagens indstilling har intet punkt {number}.")
        if number in seen:
            raise InvalidInput(f"Indstillingens punkt {number} er angivet to gange.")
        seen.add(number)


_CASE = Case.__table__
# One statement checks the version, writes the flow and numbers the audit event: a writer
# that read the same version finds no row (on PostgreSQL the second UPDATE waits for the
# first and then re-checks the WHERE clause; on SQLite BEGIN IMMEDIATE serialises writers).
_COMPARE_AND_SET = _CASE.update().where(
    _CASE.c.id == sa.bindparam("case"), _CASE.c.version == sa.bindparam("seen_version")) \
    .values(last_seq=_CASE.c.last_seq + 1).returning(_CASE.c.last_seq)
# The next audit number of a case, for an event that changes no state. The row lock it takes
# also queues two writers of one case's log on PostgreSQL; UNIQUE (case_id, seq) backs it.
_NEXT_SEQ = _CASE.update().where(_CASE.c.id == sa.bindparam("case")) \
    .values(last_seq=_CASE.c.last_seq + 1).returning(_CASE.c.last_seq)
_DELETE_AWAITING = Awaiting.__table__.delete().where(
    Awaiting.__table__.c.case_id == sa.bindparam("case"),
    Awaiting.__table__.c.body_code == sa.bindparam("code"))
_INSERT_AWAITING = Awaiting.__table__.insert()
_INSERT_EVENT = CaseEvent.__table__.insert()
_INSERT_TREATMENT = Treatment.__table__.insert()


def _store_flow(session: Session, case: Case | sa.Row, flow: CaseFlow, *, seen_version: int,
                now: datetime, awaiting: list[str] | None = None) -> int:
    """Write the flow back with a compare-and-set on the version, resync the queues and
    return the seq of the audit event that records it.

    `awaiting`: the case's Awaiting rows as read in this transaction (read here if not given);
    the compare-and-set guarantees nobody changed them since.
    """
    values = {"status": flow.state, "committees": list(flow.committees),
              "finance_statement": flow.finance_statement,
              "referral_return": flow.return_stage, "version": seen_version + 1,
              "updated_at": now}
    seq = session.connection().execute(
        _COMPARE_AND_SET, {**values, "case": case.id, "seen_version": seen_version}).scalar()
    if seq is None:
        raise Conflict(_conflict_message(case))
    _update_loaded_case(session, case.id, {**values, "last_seq": seq})
    if awaiting is None:
        awaiting = queries.awaiting_bodies(session, case.id)
    _sync_awaiting(session, case.id, present=awaiting, wanted=flow.awaiting_bodies(), now=now)
    return seq


def _update_loaded_case(session: Session, case_id: int, values: dict) -> None:
    """A Case the session already holds shows what its row now holds, without reading it
    back (the statements above go round the ORM)."""
    loaded = session.identity_map.get(sa.orm.util.identity_key(Case, case_id))
    if loaded is not None:
        for name, value in values.items():
            set_committed_value(loaded, name, value)


def _sync_awaiting(session: Session, case_id: int, *, present: list[str], wanted: list[str],
                   now: datetime) -> None:
    """Make the case's Awaiting rows the wanted bodies; a body still wanted keeps its since."""
    gone = [code for code in present if code not in wanted]
    if gone:
        session.connection().execute(_DELETE_AWAITING, [{"case": case_id, "code": code}
                                                        for code in gone])
    new = [{"case_id": case_id, "body_code": code, "since": now}
           for code in wanted if code not in present]
    if new:
        session.connection().execute(_INSERT_AWAITING, new)


def append_event(session: Session, case: Case, *, actor: str, trigger: str,
                 from_state: str | None, to_state: str, now: datetime, payload: dict,
                 body: str | None = None, reason: str = "") -> CaseEvent:
    """Append to the case's audit log. Other parts record their facts about a case here too
    (meetings: "place_on_agenda"); a trigger that is no workflow event is skipped by replay
    (`replayed_flow`), so such events never change the case's state. The case's reminders
    follow from the new event (notifications.changes)."""
    session.flush()
    seq = session.connection().execute(_NEXT_SEQ, {"case": case.id}).scalar_one()
    _update_loaded_case(session, case.id, {"last_seq": seq})
    return _insert_event(session, {
        "case_id": case.id, "seq": seq, "at": now, "actor": actor, "trigger": trigger,
        "from_state": from_state, "to_state": to_state, "body": body, "reason": reason,
        "payload": payload})


IMPORTING = "importing"  # the session's info key set by `importing`


@contextmanager
def importing(session: Session):
    """Every audit event written in the block is flagged `imported`: history carried over
    from the municipality's earlier system (cases.onboarding), not lived here. A flag at
    insert, since the log is append-only (the database refuses an update)."""
    session.info[IMPORTING] = True
    try:
        yield
    finally:
        session.info.pop(IMPORTING, None)


def _insert_event(session: Session, values: dict) -> CaseEvent:
    values = {"imported": session.info.get(IMPORTING, False), **values}
    event_id = session.connection().execute(_INSERT_EVENT, values).inserted_primary_key[0]
    return _as_loaded(CaseEvent, {"id": event_id, **values})


def _as_loaded(model: type, values: dict):
    """An instance of the stored row, built as the ORM builds a row it loads: without the
    model's __init__ (SQLModel's costs ~10 times more) and with no pending changes."""
    sa.orm.configure_mappers()  # a no-op once done; the instance manager needs it
    row = sa.inspect(model).class_manager.new_instance()
    row.__dict__.update(values)
    make_transient_to_detached(row)
    return row


def _treatment_row(org: Organisation, case: sa.Row, event: CaseEvent, payload: dict) -> dict:
    """The Treatment row's values (inserted with Core: nothing reads it back as an object)."""
    code = payload.get("body")
    name = payload.get("body_name") or org.body(code).name
    return dict(
        case_id=case.id, event_id=event.id, body_code=code if "body_name" not in payload else
        None, body_name=name, meeting_date=date.fromisoformat(payload["meeting_date"]),
        item_number=payload.get("item_number"), agenda_item_id=payload.get("agenda_item_id"),
        wording=payload["wording"], decision_text=payload.get("decision_text", ""),
        proposal_decisions=payload.get("proposal_decisions", []),
        minority=payload.get("minority", ""),
    )


# -- deadlines and hearings --------------------------------------------------------------------

def add_deadline(session: Session, number: str, data: dict, *, actor: str,
                 now: datetime | None = None) -> Deadline:
    now = now or utcnow()
    case = queries.get_case(session, number)
    deadline = _deadline_row(case.id, validated(DeadlineIn, data))
    session.add(deadline)
    append_event(session, case, actor=actor, trigger="add_deadline", from_state=case.status,
                 to_state=case.status, now=now,
                 payload={"due_date": deadline.due_date.isoformat(), "kind": deadline.kind,
                          "description": deadline.description})
    return deadline


def meet_deadline(session: Session, number: str, deadline_id: int, *, met_on: str | date,
                  actor: str, now: datetime | None = None) -> Deadline:
    """Mark a deadline as met ("Frist overholdt") on the day it was.

    A met deadline stops counting: its reminders are cancelled when the sweep refreshes the
    case (the audit event marks it), and the dashboard and planner go by the earliest unmet
    deadline. No state change; a closed case's deadline may still be marked afterwards.
    """
    now = now or utcnow()
    case = queries.get_case(session, number)
    deadline = session.get(Deadline, deadline_id)
    if deadline is None or deadline.case_id != case.id:
        raise NotFound(f"Sag {case.number} har ingen frist med id {deadline_id}.")
    met_on = parse_date(met_on)
    if deadline.met_on is not None:
        raise InvalidInput(f"Fristen «{deadline.description}» er allerede overholdt "
                           f"{format_date(deadline.met_on)}.")
    if met_on > now.astimezone(COPENHAGEN).date():
        raise InvalidInput(f"Datoen {format_date(met_on)} ligger i fremtiden; en frist "
                           "markeres som overholdt, når den er det.")
    deadline.met_on = met_on
    session.add(deadline)
    append_event(session, case, actor=actor, trigger="meet_deadline", from_state=case.status,
                 to_state=case.status, now=now,
                 reason=f"{deadline.description}: overholdt {format_date(met_on)}",
                 payload={"deadline_id": deadline.id, "due_date": deadline.due_date.isoformat(),
                          "description": deadline.description, "met_on": met_on.isoformat()})
    return deadline


# -- delivered for the agenda ------------------------------------------------------------------

_AWAITING = Awaiting.__table__
# Set or clear the mark only if it is in the state the caller saw: of two concurrent marks
# the second finds no row (PostgreSQL re-checks the WHERE clause once the first commits), and
# a row a transition deleted meanwhile is not there to mark.
_SET_DELIVERED = _AWAITING.update().where(
    _AWAITING.c.case_id == sa.bindparam("case"), _AWAITING.c.body_code == sa.bindparam("code"),
    _AWAITING.c.delivered_at.is_(None))
_CLEAR_DELIVERED = _AWAITING.update().where(
    _AWAITING.c.case_id == sa.bindparam("case"), _AWAITING.c.body_code == sa.bindparam("code"),
    _AWAITING.c.delivered_at.is_not(None)).values(delivered_at=None, delivered_by=None)


def mark_delivered(session: Session, number: str, body: str, *, actor: str,
                   org: Organisation | None = None, now: datetime | None = None) -> Awaiting:
    """The case owner (or the secretariat) reports the case ready for the agenda of the next
    meeting of a body whose queue it is in ("afleveret til dagsorden").

    The mark is kept on the case's Awaiting row for that body, so it goes with the queue: when
    the case leaves it (treated, sent to hearing, withdrawn) the mark goes too, and a case that
    comes back (ØU sends it back to the committee) starts undelivered. A postponed case stays in
    the queue and keeps its mark: its material was delivered and is on the secretariat's table;
    if the body wants it reworked, the owner withdraws the mark (`unmark_delivered`).
    The audit event makes the sweep cancel the owner's submission reminders for that body.
    """
    org = org or current_organisation()
    now = now or utcnow()
    case, row = _awaiting_row(session, org, number, body)
    if row.delivered_at is not None:
        raise InvalidInput(f"Sag {case.number} er allerede afleveret til dagsorden i "
                           f"{org.body_name(body)} ({format_date(row.delivered_at)} af "
                           f"{row.delivered_by}).")
    _change_delivered(session, case, body, _SET_DELIVERED.values(delivered_at=now,
                                                                 delivered_by=actor))
    append_event(session, case, actor=actor, trigger="mark_delivered", from_state=case.status,
                 to_state=case.status, now=now, body=body, payload={"body": body})
    return _awaiting_row(session, org, number, body)[1]


def unmark_delivered(session: Session, number: str, body: str, *, actor: str,
                     org: Organisation | None = None, now: datetime | None = None) -> Awaiting:
    """Withdraw a delivered mark ("fortryd"): the case is not ready after all, and the owner's
    submission reminders for that body come back."""
    org = org or current_organisation()
    now = now or utcnow()
    case, row = _awaiting_row(session, org, number, body)
    if row.delivered_at is None:
        raise InvalidInput(f"Sag {case.number} er ikke meldt afleveret til dagsorden i "
                           f"{org.body_name(body)}.")
    _change_delivered(session, case, body, _CLEAR_DELIVERED)
    append_event(session, case, actor=actor, trigger="unmark_delivered", from_state=case.status,
                 to_state=case.status, now=now, body=body,
                 reason=f"Afleveret {format_date(row.delivered_at)} af {row.delivered_by}",
                 payload={"body": body, "delivered_at": row.delivered_at.isoformat(),
                          "delivered_by": row.delivered_by})
    return _awaiting_row(session, org, number, body)[1]


def _awaiting_row(session: Session, org: Organisation, number: str,
                  body: str) -> tuple[Case, Awaiting]:
    case = queries.get_case(session, number)
    org.body(body)
    session.flush()
    row = session.exec(select(Awaiting).where(Awaiting.case_id == case.id,
                                              Awaiting.body_code == body)
                       .execution_options(populate_existing=True)).first()
    if row is None:
        raise InvalidInput(f"Sag {case.number} afventer ikke behandling i "
                           f"{org.body_name(body)} og kan ikke afleveres til dens dagsorden.")
    return case, row


def _change_delivered(session: Session, case: Case, body: str, statement) -> None:
    changed = session.connection().execute(statement, {"case": case.id, "code": body}).rowcount
    if changed != 1:
        raise Conflict(_conflict_message(case))


def add_hearing(session: Session, number: str, *, title: str, parties: list[str],
                deadline: str | date, opened_on: str | date, actor: str, blocking: bool = True,
                org: Organisation | None = None, now: datetime | None = None) -> Hearing:
    """Register a hearing (høring) with its parties and høringsfrist; no state change."""
    org = org or current_organisation()
    now = now or utcnow()
    case = queries.get_case(session, number)
    hearing = _hearing_row(session, org, case, title=title, parties=parties, deadline=deadline,
                           opened_on=opened_on, blocking=blocking)
    append_event(session, case, actor=actor, trigger="add_hearing", from_state=case.status,
                 to_state=case.status, now=now,
                 payload={"hearing_id": hearing.id, "deadline": hearing.deadline.isoformat(),
                          "parties": parties, "blocking": blocking})
    return hearing


def send_to_hearing(session: Session, number: str, *, title: str, parties: list[str],
                    deadline: str | date, opened_on: str | date, actor: str,
                    body: str | None = None, wording: str | None = None,
                    meeting_date: str | date | None = None, item_number: int | None = None,
                    agenda_item_id: int | None = None, decision_text: str | None = None,
                    proposal_decisions: list[dict] | None = None, minority: str | None = None,
                    reason: str | None = None, org: Organisation | None = None,
                    now: datetime | None = None) -> Hearing:
    """Open a blocking hearing and move the case into it, in one transaction: the hearing
    row, then the send_to_hearing action (cases.actions.send_to_hearing, which moves the case
    without a hearing row).

    From a committee round, pass body, meeting_date (and wording) for the committee's decision
    to send it to hearing.
    """
    org = org or current_organisation()
    case = queries.get_case(session, number)
    hearing = _hearing_row(session, org, case, title=title, parties=parties, deadline=deadline,
                           opened_on=opened_on, blocking=True)
    transition(session, number, SendToHearingIn, {
        "body": body, "wording": wording, "meeting_date": meeting_date,
        "item_number": item_number, "agenda_item_id": agenda_item_id,
        "decision_text": decision_text, "proposal_decisions": proposal_decisions,
        "minority": minority, "reason": reason}, actor=actor, org=org, now=now)
    return hearing


def _hearing_row(session: Session, org: Organisation, case: Case, *, title: str,
                 parties: list[str], deadline, opened_on, blocking: bool) -> Hearing:
    title = checked_text(title, "Høringens titel", max_length=300)
    if not title:
        raise InvalidInput("Høringens titel skal have 1-300 tegn.")
    if not parties:
        raise InvalidInput("Angiv mindst én høringspart.")
    if len(parties) > MAX_PARTIES:
        raise InvalidInput(f"En høring kan højst have {MAX_PARTIES} parter.")
    deadline, opened_on = parse_date(deadline), parse_date(opened_on)
    if deadline < opened_on:
        raise InvalidInput("Høringsfristen ligger før høringen åbner.")
    hearing = Hearing(case_id=case.id, title=title, deadline=deadline, blocking=blocking,
                      opened_on=opened_on)
    session.add(hearing)
    session.flush()
    for party in parties:
        session.add(_party_row(org, hearing.id, party))
    session.flush()
    return hearing


MAX_PARTIES = 100


def _party_row(org: Organisation, hearing_id: int, party: str) -> HearingParty:
    """A party given as a hearing council's code (HR), as "Name <email>" (checked: exactly
    that one recipient) or as a name alone (no mail)."""
    party = checked_text(party, "En høringspart", max_length=300)
    if not party:
        raise InvalidInput("En høringspart skal have et navn (højst 300 tegn).")
    address = party_address(party)
    if address:
        return HearingParty(hearing_id=hearing_id, name=address[0], email=address[1])
    try:
        body = org.body(party)
    except NotFound:
        return HearingParty(hearing_id=hearing_id, name=party)
    if body.kind != HEARING_COUNCIL and not body.is_committee:
        raise InvalidInput(f"{body.name} kan ikke være høringspart.")
    return HearingParty(hearing_id=hearing_id, body_code=body.code, name=body.name)


def record_hearing_response(session: Session, hearing_id: int, *, party: str,
                            received_on: str | date, text: str, actor: str,
                            now: datetime | None = None) -> HearingResponse:
    now = now or utcnow()
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound(f"Høringen {hearing_id} findes ikke.")
    found = [p for p in queries.hearing_parties(session, hearing_id)
             if party in (p.body_code, p.name)]
    if not found:
        raise NotFound(f"{party!r} er ikke part i høringen.")
    text = checked_text(text, "Høringssvaret", max_length=50_000, lines=True)
    if not text:
        raise InvalidInput("Høringssvaret skal have 1-50000 tegn.")
    response = HearingResponse(hearing_id=hearing_id, party_id=found[0].id,
                               received_on=parse_date(received_on), text=text)
    session.add(response)
    case = session.get(Case, hearing.case_id)
    append_event(session, case, actor=actor, trigger="hearing_response",
                 from_state=case.status, to_state=case.status, now=now,
                 payload={"hearing_id": hearing_id, "party": found[0].name,
                          "received_on": response.received_on.isoformat()})
    return response


def heard_party(session: Session, case_id: int, body: str) -> tuple[Hearing, HearingParty] | None:
    """The case's open hearing in which the body is a party that has not answered yet."""
    for hearing in queries.hearings(session, case_id):
        if hearing.closed_on is not None:
            continue
        answered = {r.party_id for r in queries.hearing_responses(session, hearing.id)}
        for party in queries.hearing_parties(session, hearing.id):
            if party.body_code == body and party.id not in answered:
                return hearing, party
    return None


def answer_hearing(session: Session, number: str, *, body: str, meeting_date: str | date,
                   wording: str, text: str, actor: str, item_number: int | None = None,
                   agenda_item_id: int | None = None, org: Organisation | None = None,
                   now: datetime | None = None) -> HearingResponse:
    """A hearing party's decision at its own meeting (Handicaprådet on its agenda item) is its
    høringssvar: the response to the case's open hearing, linked to the item, and a treatment
    in the case's Beslutningshistorik, which the deciding body sees. No state change."""
    org = org or current_organisation()
    now = now or utcnow()
    case = queries.get_case(session, number)
    found = heard_party(session, case.id, body)
    if found is None:
        raise TransitionRefused(f"{org.body_name(body)} er ikke part i en åben høring i sag "
                                f"{case.number}, der mangler dets høringssvar.")
    hearing, party = found
    day = parse_date(meeting_date)
    text = checked_text(text, "Høringssvaret", max_length=50_000, lines=True)
    if not text:
        raise InvalidInput("Skriv rådets høringssvar i beslutningens tekst.")
    response = HearingResponse(hearing_id=hearing.id, party_id=party.id, received_on=day,
                               text=text, agenda_item_id=agenda_item_id)
    session.add(response)
    event = append_event(session, case, actor=actor, trigger="hearing_response",
                         from_state=case.status, to_state=case.status, now=now, body=body,
                         payload={"hearing_id": hearing.id, "party": party.name,
                                  "received_on": day.isoformat(), "meeting_date": day.isoformat(),
                                  "agenda_item_id": agenda_item_id})
    session.connection().execute(_INSERT_TREATMENT, dict(
        case_id=case.id, event_id=event.id, body_code=body, body_name=org.body_name(body),
        meeting_date=day, item_number=item_number, agenda_item_id=agenda_item_id,
        wording=wording, decision_text=text, proposal_decisions=[], minority=""))
    session.flush()
    return response


def close_hearing(session: Session, hearing_id: int, *, closed_on: str | date, actor: str,
                  org: Organisation | None = None, now: datetime | None = None) -> Hearing:
    """Close a hearing; a case waiting in hearing moves on when no blocking one is left open."""
    now = now or utcnow()
    hearing = session.get(Hearing, hearing_id)
    if hearing is None:
        raise NotFound(f"Høringen {hearing_id} findes ikke.")
    if hearing.closed_on is not None:
        raise InvalidInput("Høringen er allerede afsluttet.")
    hearing.closed_on = parse_date(closed_on)
    session.add(hearing)
    case = session.get(Case, hearing.case_id)
    append_event(session, case, actor=actor, trigger="close_hearing", from_state=case.status,
                 to_state=case.status, now=now, payload={"hearing_id": hearing_id})
    session.flush()
    if case.status == "hearing" and queries.open_blocking_hearings(session, case.id) == 0:
        transition(session, case.number, EndHearingIn, {}, actor=actor, org=org, now=now)
    return hearing


# -- replay ------------------------------------------------------------------------------------

def replayed_flow(session: Session, case: Case) -> CaseFlow:
    """Rebuild the case's flow from its audit log alone (see workflow.machine.replay)."""
    log = queries.events(session, case.id)
    start = CaseFlow(**log[0].payload)
    steps = [(e.trigger, e.payload) for e in log[1:] if e.trigger in MACHINE.events]
    return replay(start, steps)


def flow_summary(flow: CaseFlow) -> dict:
    """The parts of a flow that must equal between stored state and replay."""
    data = asdict(flow)
    data.pop("replaying")
    data.pop("open_blocking_hearings")
    return data
