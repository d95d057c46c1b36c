"""The demo's present: the seed meeting of 04-10-2022 is history, and this is the work under
way on the day the demo is loaded, every date computed from that day.

* a meeting plan from today: each committee every fourth week, Økonomiudvalget the week
  after, Kommunalbestyrelsen the week after that, six rounds;
* cases under way: one that fits its deadline (on a committee's agenda), two whose route no
  longer fits (at risk), one overdue, one in hearing at Handicaprådet and Seniorrådet, one
  being prepared, and a lukket punkt on an agenda;
* a contact person for each hearing council (their mail goes to the local mail sink), so a
  hearing sends its requests.
"""

from datetime import date, timedelta

from sqlmodel import Session

from cases import actions, services
from cases.models import Membership, User
from cases.organisation import COUNCIL, FINANCE_COMMITTEE, HEARING_COUNCIL, Organisation
from meetings import queries as meeting_queries
from meetings import services as meetings
from meetings.calendar import is_weekday, rules_for
from workflow.errors import InvalidInput

SECRETARIAT = "sekretariat"  # the demo secretariat (Sara Sekretær) places and submits
OWNER = ("sagsbehandler", "Bo Sagsbehandler", "sagsbehandler@demo.sagsgang.invalid")
CENTRE = "Center for Voksne og Sundhed"
ROUNDS = 6

# A contact person for each hearing council: their members get its hearing requests.
COUNCIL_CONTACTS = {
    "HR": ("hr-kontakt", "Henrik Holm"),
    "SR": ("sr-kontakt", "Sonja Skov"),
    "PR": ("pr-kontakt", "Peter Pind"),
    "IR": ("ir-kontakt", "Ida Iversen"),
}


def numbers(today: date) -> list[str]:
    """The numbers of today's demo cases (by the year they are loaded in)."""
    return [f"{today:%y}-{n}" for n in range(101, 108)]


def load_today(session: Session, org: Organisation, today: date) -> dict:
    """Meeting plan, council contacts and today's cases; returns what was made."""
    plan = meeting_plan(session, org, today)
    add_council_contacts(session, org)
    cases = add_cases(session, org, today)
    return {"meetings": plan, "cases": cases}


# -- the meeting plan --------------------------------------------------------------------------

def meeting_plan(session: Session, org: Organisation, today: date) -> int:
    """ROUNDS rounds of meetings from next week on; a meeting day that is no weekday (a
    holiday) moves to the next weekday."""
    monday = today + timedelta(days=7 - today.weekday())
    made = 0
    for round_ in range(ROUNDS):
        start = monday + timedelta(weeks=4 * round_)
        for body in org.bodies:
            if body.kind == HEARING_COUNCIL:
                continue
            week = {FINANCE_COMMITTEE: 1, COUNCIL: 2}.get(body.kind, 0)
            day = start + timedelta(weeks=week, days=body.meeting_weekday)
            while not is_weekday(day, rules_for(org, body.code)):
                day += timedelta(days=1)
            meetings.create_meeting(session, body=body.code, day=day, org=org)
            made += 1
    return made


def add_council_contacts(session: Session, org: Organisation) -> None:
    for code, (username, name) in COUNCIL_CONTACTS.items():
        org.body(code)
        user = User(username=username, name=f"{name} ({org.body_name(code)})",
                    email=f"{username}@demo.sagsgang.invalid", role="member")
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, body_code=code))
    session.flush()


# -- the cases under way -----------------------------------------------------------------------

def add_cases(session: Session, org: Organisation, today: date) -> list[str]:
    n = dict(zip(range(101, 108), numbers(today), strict=True))
    days = lambda k: today + timedelta(days=k)  # noqa: E731
    _case(session, n[101], "Kvalitetsstandarder for personlig og praktisk hjælp",
          "KB", ["SÆU"], days(120), "Kommunalbestyrelsen godkender senest",
          "Kvalitetsstandarderne for hjemmehjælp revideres hvert år.")
    _case(session, n[102], "Tilsynsrapport for botilbuddet Lindehuset", "SU", ["SU"],
          days(10), "Udvalget orienteres inden svarfristen til tilsynet",
          "Det sociale tilsyn har aflagt sit årlige besøg på Lindehuset.")
    _case(session, n[103], "Budgetopfølgning på det specialiserede voksenområde", "KB",
          ["SU"], days(30), "Kommunalbestyrelsen orienteres senest",
          "Forbruget på området ligger over budgettet; der foreslås tiltag.")
    _case(session, n[104], "Opfølgning på handleplanen for udsatte borgere", "SU", ["SU"],
          days(-6), "Svar til Ankestyrelsen",
          "Ankestyrelsen har bedt om kommunens opfølgning på handleplanen.")
    _case(session, n[105], "Sundhedspolitik – udkast til høring", "KB", ["SU", "SÆU"],
          days(90), "Kommunalbestyrelsen vedtager politikken senest",
          "Udkastet til en ny sundhedspolitik sendes i høring i rådene.", submit=False)
    services.send_to_hearing(session, n[105], title="Høring om udkast til sundhedspolitik",
                             parties=["HR", "SR"], deadline=days(21), opened_on=today,
                             actor=SECRETARIAT, org=org)
    _case(session, n[106], "Frivillighedspolitik", "SU", ["SU"], days(70),
          "Udvalget vedtager politikken senest",
          "Centret skriver et udkast sammen med de frivillige foreninger.", submit=False)
    _case(session, n[107], "Køb af ejendom til nyt botilbud", "KB", ["SU"], days(60),
          "Tilbuddet udløber", "Forhandling om køb af en ejendom; lukket punkt.",
          confidential=True)
    # On the agenda of a committee meeting far enough ahead to be in time for it.
    _place(session, org, "SÆU", n[101], today)
    _place(session, org, "SU", n[107], today)
    return list(n.values())


def _case(session: Session, number: str, title: str, deciding_body: str, committees: list,
          due: date, description: str, summary: str, *, submit: bool = True,
          confidential: bool = False) -> None:
    username, name, email = OWNER
    services.create_case(session, {
        "number": number, "title": title, "deciding_body": deciding_body,
        "committees": committees, "centre": CENTRE, "summary": summary,
        "owner_name": name, "owner_email": email, "confidential": confidential,
        "proposals": [f"at {title[0].lower()}{title[1:]} godkendes"],
        "deadlines": [{"due_date": due.isoformat(), "kind": "statutory",
                       "description": description}]}, actor=username)
    if submit:
        actions.submit(session, number, actor=SECRETARIAT)


def _place(session: Session, org: Organisation, body: str, number: str, today: date) -> None:
    """On the body's second meeting from today (its submission deadline is still ahead)."""
    upcoming = meeting_queries.next_meetings(session, org, body, today, limit=2)
    if len(upcoming) < 2:
        raise InvalidInput(f"Demodata: {body} har ikke to kommende møder.")
    meetings.place_case(session, upcoming[1]["id"], number, org=org, actor=SECRETARIAT)
