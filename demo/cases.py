"""The demo: the seed meeting's 13 items (11 cases, 2 standing items) and the new case that
replaces Punkt 8, replayed from our own data file of facts.

`load_demo()` reads `demo/data.toml` and replays every case's history through the
service layer (create, earlier treatments, hearings, decisions, send-back, replacement), so
that the histories are real audit events and treatments, never typed rows. The audit events
carry the historical times (a decision at the meeting's evening), not the time of loading.
It runs in one transaction and is idempotent: a database that already has the demo's cases
is left alone.

Where other parts plug in:
* demo users: `create_demo_users(session)` uses `demo.users.ensure_demo_users` when the
  web part is installed (users with known passwords), and then adds the members of SU that
  the minutes approval needs;
* meetings: the data file's `[[meetings]]` (the SU meeting of 04-10-2022 and its items) is
  handed to `demo.meetings.load_demo_meetings(session, meetings, org=org)` when that module
  exists; see `load_meetings` below.
"""

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import actions, queries, services
from cases.dates import Clock, local_to_utc, parse_date
from cases.db import get_engine, make_engine, write_session
from cases.models import Case, Membership, User, utcnow
from cases.organisation import Organisation
from cases.settings import current_organisation
from demo.meetings import load_demo_meetings
from demo.today import load_today
from demo.users import ensure_demo_users
from meetings.calendar import local_day
from notifications.changes import skip_news
from workflow.errors import InvalidInput

DATA_FILE = Path(__file__).with_name("data.toml")
ACTOR = "sekretariat"  # the demo secretariat (Sara Sekretær) did it all

# Members of Socialudvalget besides the web part's demo member (fictional people).
SU_MEMBERS = (
    ("su-formand", "Sofie Formand"),
    ("su-naestformand", "Niels Næstformand"),
    ("su-medlem-3", "Asta Andersen"),
    ("su-medlem-4", "Bjørn Bech"),
    ("su-medlem-5", "Cecilie Carlsen"),
    ("su-medlem-6", "Dennis Dahl"),
)
# Used when the web part is not installed: one user per role the demo needs.
@dataclass
class DemoReport:
    loaded: bool
    cases: list[str] = field(default_factory=list)
    users: int = 0
    meetings: int = 0


def read_data(path: Path = DATA_FILE) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def load_demo(target: Session | sa.Engine | str | None = None, *,
              org: Organisation | None = None, path: Path = DATA_FILE,
              today: date | None = None) -> DemoReport:
    """Load the demo into a database: a Session (runs in its transaction), an Engine, a URL,
    or None for the configured database. Its present (demo.today) is computed from `today`,
    by default the day it is loaded. Returns what was done."""
    today = today or local_day(utcnow())
    if isinstance(target, Session):
        return _load(target, org or current_organisation(), read_data(path), today)
    engine = make_engine(target) if isinstance(target, str) else target or get_engine()
    try:
        with write_session(engine) as session:
            return _load(session, org or current_organisation(), read_data(path), today)
    finally:
        if isinstance(target, str):
            engine.dispose()


def _load(session: Session, org: Organisation, data: dict, today: date) -> DemoReport:
    present = _present(session, [case["number"] for case in data["cases"]])
    if present:
        return DemoReport(loaded=False, cases=present)
    report = DemoReport(loaded=True)
    report.users = create_demo_users(session)
    for spec in data["cases"]:
        _create(session, org, spec)
    for spec in data["cases"]:
        _replay_history(session, org, spec)
        report.cases.append(spec["number"])
    check_expected(session, data)
    report.meetings = load_meetings(session, data.get("meetings", []), org)
    # The outbox follows the case as of now (the histories above ran on historical times),
    # with no follow news of a past that was loaded rather than lived.
    now = utcnow()
    for number in report.cases:
        skip_news(session, queries.get_case(session, number), now)
    # Then the work under way today, lived now: its reminders (a hearing's requests) are due.
    present = load_today(session, org, today)
    report.meetings += present["meetings"]
    report.cases += present["cases"]
    return report


def _present(session: Session, numbers: list[str]) -> list[str]:
    return list(session.exec(select(Case.number).where(Case.number.in_(numbers))))


# -- one case --------------------------------------------------------------------------------

def _create(session: Session, org: Organisation, spec: dict) -> None:
    fields = ("number", "title", "summary", "centre", "deciding_body", "committees",
              "proposals", "attachments", "deadlines", "replaces")
    data = {key: spec[key] for key in fields if key in spec}
    services.create_case(session, data, actor=ACTOR, org=org,
                         now=local_to_utc(parse_date(spec["registered"]), 9))


def _replay_history(session: Session, org: Organisation, spec: dict) -> None:
    number = spec["number"]
    clock = Clock()
    clock.at(spec["registered"], 9)
    hearing = spec.get("hearing")
    treatments = spec.get("treatments", [])
    for treatment in (t for t in treatments if t.get("earlier")):
        _fire(session, org, number, "record_earlier", clock.at(), **_treatment_args(treatment))
    if hearing and hearing.get("before_committee"):
        _open_hearing(session, org, number, hearing, clock)
        _finish_hearing(session, org, number, hearing, clock)
    elif spec.get("submitted", True):
        _fire(session, org, number, "submit", clock.at())
    for treatment in (t for t in treatments if not t.get("earlier")):
        when = clock.at(treatment["date"], 19)
        if treatment["wording"] == "godkendt_til_hoering":
            _open_hearing(session, org, number, hearing, clock, when=when,
                          **_treatment_args(treatment))
            _finish_hearing(session, org, number, hearing, clock)
        else:
            _fire(session, org, number, None, when, **_treatment_args(treatment))
    information = spec.get("information")
    if information:
        _fire(session, org, number, "send_for_information",
              clock.at(information["date"], 20), body=information["body"],
              reason=information.get("text", ""))


def _treatment_args(treatment: dict) -> dict:
    """The service layer's arguments for one treatment of the data file."""
    args = {"wording": treatment["wording"], "meeting_date": treatment["date"],
            "item_number": treatment.get("item"), "decision_text": treatment.get("text", ""),
            "proposal_decisions": treatment.get("proposals", []),
            "minority": treatment.get("minority"), "bodies": treatment.get("to", []),
            "reason": treatment.get("reason"), "replaced_by": treatment.get("replaced_by")}
    if "body_name" in treatment:
        args["body_name"] = treatment["body_name"]
    else:
        args["body"] = treatment["body"]
    if treatment["wording"] == "ny_sag" and not args["reason"]:
        args["reason"] = treatment.get("text") or "Ny sag forelægges"
    return args


def _fire(session, org, number, trigger, now, **arguments):
    if trigger is None:
        return actions.record_decision(session, number, actor=ACTOR, org=org, now=now,
                                       **arguments)
    return actions.run_action(session, number, trigger, arguments, actor=ACTOR, org=org,
                              now=now)


def _open_hearing(session, org, number, hearing, clock, *, when=None, **decision) -> None:
    when = when or clock.at(hearing["opened"], 9)
    for key in ("wording", "bodies", "replaced_by"):  # not of a decision to hear the case
        decision.pop(key, None)
    services.send_to_hearing(session, number, title=hearing["title"],
                             parties=hearing["parties"], deadline=hearing["deadline"],
                             opened_on=hearing["opened"], actor=ACTOR, org=org, now=when,
                             wording="godkendt_til_hoering" if decision else None,
                             **decision)


def _finish_hearing(session, org, number, hearing, clock) -> None:
    """Record the responses and close the hearing, if the data file says it happened."""
    case = queries.get_case(session, number)
    (found,) = [h for h in queries.hearings(session, case.id) if h.title == hearing["title"]]
    for response in hearing.get("responses", []):
        services.record_hearing_response(session, found.id, party=response["party"],
                                         received_on=response["received"],
                                         text=response["text"], actor=ACTOR,
                                         now=clock.at(response["received"], 12))
    if hearing.get("closed"):
        services.close_hearing(session, found.id, closed_on=hearing["closed"], actor=ACTOR,
                               org=org, now=clock.at(hearing["closed"], 15))


def check_expected(session: Session, data: dict) -> None:
    """The data file says where each case ends; a replay that disagrees is a data error."""
    for spec in data["cases"]:
        case = queries.get_case(session, spec["number"])
        awaiting = sorted(queries.awaiting_bodies(session, case.id))
        if (case.status, awaiting) != (spec["expected_state"],
                                       sorted(spec["expected_awaiting"])):
            raise InvalidInput(f"Demodata: sag {case.number} endte i {case.status} "
                               f"{awaiting}, forventet {spec['expected_state']} "
                               f"{spec['expected_awaiting']}.")


# -- users and meetings ------------------------------------------------------------------------

def create_demo_users(session: Session) -> int:
    """The demo's users (with known passwords, one per role), then the members of SU that
    the minutes approval needs. Returns how many users were created."""
    before = _count_users(session)
    ensure_demo_users(session)
    _add_user(session, "medlem", "Mads Medlem", "member", bodies=("SU",))
    for username, name in SU_MEMBERS:
        _add_user(session, username, name, "member", bodies=("SU",))
    session.flush()
    return _count_users(session) - before


def _count_users(session: Session) -> int:
    return len(list(session.exec(select(User.id))))


def _add_user(session: Session, username: str, name: str, role: str, *,
              centre: str | None = None, bodies: tuple[str, ...] = ()) -> None:
    if session.exec(select(User.id).where(User.username == username)).first():
        return
    user = User(username=username, name=name, email=f"{username}@demo.sagsgang.invalid",
                role=role, centre=centre)
    session.add(user)
    session.flush()
    for code in bodies:
        session.add(Membership(user_id=user.id, body_code=code))


def load_meetings(session: Session, meetings: list[dict], org: Organisation) -> int:
    """Hand the data file's meetings (body, date, time, items with the case number of each
    Punkt) to the meetings' demo, after every case and its history is loaded. Returns how
    many meetings it created."""
    if not meetings:
        return 0
    return load_demo_meetings(session, meetings, org=org) or 0
