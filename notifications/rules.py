"""Which reminders a case should have: a pure function of the case's facts, the rules and the
calendar. No database, no clock: `now` and every fact are arguments, so the due times can be
checked for any day (the DST Sundays, Easter) without waiting for it.

The rules come from the `[reminders]` section of the organisation's TOML file; a missing
section means the defaults below.

Weekdays (hverdage) come from the one calendar, meetings.calendar: the office calendar
(`ReminderRules.weekdays`: no Saturdays, the custom days off) decides when mail may go out; a
reminder counted back from a body's agenda deadline counts that body's weekdays (its
`saturday_is_weekday`), as the deadline itself was counted.
"""

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta

from cases.dates import COPENHAGEN
from cases.organisation import parse_time
from meetings.calendar import WeekdayRules, add_weekdays, is_weekday, local_instant, weekdays_before
from workflow.machine import FINAL

# Every kind of reminder, with the Danish label the secretariat sees.
KINDS = {
    "hearing_request": "Anmodning om høringssvar",
    "hearing_reminder": "Påmindelse om høringsfrist",
    "hearing_missing": "Manglende høringssvar",
    "hearing_overdue": "Høringsfristen er overskredet",
    "deadline_warning": "Frist nærmer sig",
    "deadline_overdue": "Frist overskredet",
    "submission_due": "Intern aflevering nærmer sig",
    "submission_passed": "Intern aflevering overskredet",
    "route_at_risk": "Sagen når ikke frem inden fristen",
    "agenda_due": "Dagsorden skal udsendes",
    "agenda_published": "Dagsorden udsendt",
    "minutes_approval": "Referat afventer godkendelse",
    "weekly_digest": "Ugeoversigt",
    "case_information": "Sag til orientering",
}

# A case in one of these states needs no more reminders about its deadlines and hearings.
FINISHED_STATES = FINAL

WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class ReminderRules:
    enabled: bool = True
    office_hours_only: bool = True  # send only on weekdays, within office hours
    office_hours: tuple[time, time] = (time(8, 0), time(16, 0))
    send_at: time = time(8, 0)  # the local time of day a date-based reminder is due
    custom_days_off: tuple[str, ...] = ()  # "MM-DD", besides the public holidays
    hearing_request: bool = True
    hearing_reminder_weekdays: tuple[int, ...] = (3,)
    hearing_missing: bool = True
    # Weekdays after a missed deadline that the party who missed it is reminded itself: a
    # hearing party whose answer is overdue, a case owner whose submission is late.
    overdue_weekdays: tuple[int, ...] = (1, 5)
    deadline_warning_weekdays: tuple[int, ...] = (5,)
    deadline_overdue: bool = True
    submission_weekdays: tuple[int, ...] = (10, 5, 1)
    submission_passed: bool = True
    route_at_risk: bool = True
    agenda_due_weekdays: tuple[int, ...] = (1,)
    agenda_published: bool = True
    minutes_approval: bool = True
    case_information: bool = True  # members of the bodies a decided case is sent to
    weekly_digest_weekday: int | None = 0  # Monday; None: no digest
    secretariat_email: str = ""  # used when no user has the secretariat role
    # A reminder due, or news of a thing done, longer ago than this is history, not news: it
    # is never queued. A history recorded afterwards, or replayed with the clock set back,
    # sends nobody a mail about a meeting held a year ago.
    stale_after_days: int = 14
    optional_kinds: frozenset[str] = frozenset(
        {"hearing_reminder", "deadline_warning", "submission_due", "agenda_published",
         "weekly_digest", "case_information"})

    @property
    def weekdays(self) -> WeekdayRules:
        """The office calendar: Monday to Friday, without holidays and the custom days off."""
        return WeekdayRules(custom_days_off=self.custom_days_off)


def _offsets(raw, where: str, least: int = 0) -> tuple[int, ...]:
    if not isinstance(raw, list) or not all(isinstance(n, int) and not isinstance(n, bool)
                                            and n >= least for n in raw):
        raise ValueError(f"[reminders] {where}: expected a list of whole weekdays"
                         f"{' (at least 1)' if least else ''}, got {raw!r}")
    return tuple(sorted(set(raw), reverse=True))


def parse_rules(data: dict) -> ReminderRules:
    """The rules from a parsed organisation TOML (its [municipality] and [reminders])."""
    municipality = data.get("municipality", {})
    raw = dict(data.get("reminders", {}))
    defaults = ReminderRules()
    known = set(ReminderRules.__dataclass_fields__) | {"weekly_digest", "optional"}
    unknown = set(raw) - known - {"office_hours", "custom_days_off"}
    if unknown:
        raise ValueError(f"[reminders]: unknown settings {', '.join(sorted(unknown))}")
    hours = municipality.get("office_hours", ["08:00", "16:00"])
    values = {
        "office_hours": (parse_time(hours[0], "[reminders] office_hours"),
                         parse_time(hours[1], "[reminders] office_hours")),
        "custom_days_off": tuple(municipality.get("custom_days_off", [])),
    }
    for name in ("enabled", "office_hours_only", "hearing_request", "hearing_missing",
                 "deadline_overdue", "submission_passed", "route_at_risk", "agenda_published",
                 "minutes_approval", "case_information"):
        if name in raw:
            if not isinstance(raw[name], bool):
                raise ValueError(f"[reminders] {name}: expected true or false")
            values[name] = raw[name]
    for name in ("hearing_reminder_weekdays", "deadline_warning_weekdays",
                 "submission_weekdays", "agenda_due_weekdays"):
        if name in raw:
            values[name] = _offsets(raw[name], name)
    if "overdue_weekdays" in raw:  # after the deadline: 0 would be the deadline's own day
        values["overdue_weekdays"] = tuple(sorted(_offsets(raw["overdue_weekdays"],
                                                           "overdue_weekdays", least=1)))
    if "stale_after_days" in raw:
        days = raw["stale_after_days"]
        if not isinstance(days, int) or isinstance(days, bool) or days < 1:
            raise ValueError(f"[reminders] stale_after_days: expected a whole number of days "
                             f"(at least 1), got {days!r}")
        values["stale_after_days"] = days
    if "send_at" in raw:
        values["send_at"] = parse_time(raw["send_at"], "[reminders] send_at")
    if "weekly_digest" in raw:
        day = raw["weekly_digest"]
        if day not in ("", *WEEKDAY_NAMES):
            raise ValueError("[reminders] weekly_digest: a weekday name, or \"\" for none")
        values["weekly_digest_weekday"] = WEEKDAY_NAMES.index(day) if day else None
    if "secretariat_email" in raw:
        values["secretariat_email"] = str(raw["secretariat_email"])
    if "optional" in raw:
        bad = set(raw["optional"]) - set(KINDS)
        if bad:
            raise ValueError(f"[reminders] optional: unknown kinds {', '.join(sorted(bad))}")
        values["optional_kinds"] = frozenset(raw["optional"])
    rules = ReminderRules(**{**defaults.__dict__, **values})
    if not rules.office_hours[0] <= rules.send_at < rules.office_hours[1]:
        raise ValueError("[reminders] send_at must lie within the office hours")
    return rules


# -- when mail may go out ----------------------------------------------------------------------

def next_weekday_after(day: date, rules: ReminderRules) -> date:
    return add_weekdays(day, 1, rules.weekdays)


def first_weekday_from(day: date, rules: ReminderRules) -> date:
    """`day` if it is an office weekday, else the next one."""
    return day if is_weekday(day, rules.weekdays) else next_weekday_after(day, rules)


def office_day_on_or_before(day: date, rules: ReminderRules) -> date:
    """A reminder *before* a deadline that falls on a day the office is closed (a Saturday a
    body counts) goes out on the office weekday before it, not after."""
    return weekdays_before(day, 0, rules.weekdays)


def in_office_hours(instant: datetime, rules: ReminderRules) -> bool:
    """May a reminder be sent at this instant?"""
    if not rules.office_hours_only:
        return True
    local = instant.astimezone(COPENHAGEN)
    start, end = rules.office_hours
    return is_weekday(local.date(), rules.weekdays) and start <= local.time() < end


def next_send_time(instant: datetime, rules: ReminderRules) -> datetime:
    """The first instant at or after `instant` when a reminder may be sent (UTC)."""
    if in_office_hours(instant, rules):
        return instant.astimezone(UTC)
    local = instant.astimezone(COPENHAGEN)
    start = rules.office_hours[0]
    day = local.date()
    if not (is_weekday(day, rules.weekdays) and local.time() < start):
        day = next_weekday_after(day, rules)
    return local_instant(day, start)


def is_history(instant: datetime, now: datetime, rules: ReminderRules) -> bool:
    """Is this (a reminder's due time, the time a thing was done) too long ago to tell anyone
    of now? Then it is history, and no mail is queued for it."""
    return instant < now - timedelta(days=rules.stale_after_days)


def weekdays_after(day: date, days: int, rules: ReminderRules) -> date:
    """The office weekday `days` weekdays after `day` (1: the next one)."""
    return add_weekdays(day, days, rules.weekdays)


def send_time_on(day: date, rules: ReminderRules) -> datetime:
    """A date-based reminder's due instant: the configured time of day, Copenhagen time."""
    return local_instant(day, rules.send_at)


# -- the facts of a case, as plain data -----------------------------------------------------------

@dataclass(frozen=True)
class Person:
    email: str
    name: str = ""


@dataclass(frozen=True)
class PartyFacts:
    id: int
    name: str
    recipients: tuple[Person, ...]  # the party's own address, or the members of its body
    responded: bool


@dataclass(frozen=True)
class HearingFacts:
    id: int
    title: str
    opened_on: date
    deadline: date  # høringsfrist
    closed: bool
    parties: tuple[PartyFacts, ...]


@dataclass(frozen=True)
class DeadlineFacts:
    id: int
    due_date: date
    description: str
    met: bool


@dataclass(frozen=True)
class NextMeeting:
    """The next meeting of a body whose queue the case is in, and its internal deadline."""

    body_code: str
    body_name: str
    meeting_id: int
    day: date
    submission: date  # the secretariat's internal submission deadline for the case owner
    on_agenda: bool  # the case is placed on this meeting's agenda already
    weekdays: WeekdayRules | None = None  # the body's (rules_for); None: the office calendar
    delivered: bool = False  # the owner reported it ready for this body's agenda (afleveret)


@dataclass(frozen=True)
class RouteRisk:
    """The route planner's verdict: the case no longer fits before its deadline."""

    deadline: date
    since: date  # the day it stopped fitting
    lines: tuple[str, ...] = ()  # the plan, in Danish


@dataclass(frozen=True)
class CaseFacts:
    id: int
    number: str
    title: str
    status: str
    centre: str
    owner: Person | None
    hearings: tuple[HearingFacts, ...] = ()
    deadlines: tuple[DeadlineFacts, ...] = ()
    managers: tuple[Person, ...] = ()  # managers of the case's centre
    secretariat: tuple[Person, ...] = ()
    next_meetings: tuple[NextMeeting, ...] = ()
    route_risk: RouteRisk | None = None


@dataclass(frozen=True)
class MeetingFacts:
    id: int
    body_code: str
    body_name: str
    day: date
    agenda_out: date  # the agenda must be sent out by this day
    cancelled: bool
    agenda_published_at: datetime | None
    minutes_in_approval: bool
    objection_deadline: date | None
    members: tuple[Person, ...] = ()
    approved: frozenset[str] = frozenset()  # emails of members who approved the minutes
    secretariat: tuple[Person, ...] = ()
    weekdays: WeekdayRules | None = None  # the body's (rules_for); None: the office calendar


@dataclass(frozen=True)
class Wanted:
    """One reminder a case should have: the outbox row it becomes."""

    key: str
    kind: str
    recipient: Person
    due_at: datetime  # UTC
    optional: bool
    case_id: int | None = None
    context: dict = field(default_factory=dict, compare=False)
    # When it stops being news (is_history); None: its due time. A hearing request is news
    # until the høringsfrist, however long ago the hearing opened.
    news_until: datetime | None = None

    def is_history(self, now: datetime, rules: "ReminderRules") -> bool:
        return is_history(self.news_until or self.due_at, now, rules)


def _wanted(rules: ReminderRules, kind: str, key: str, person: Person, due_at: datetime,
            case_id: int | None, **context) -> Wanted:
    return Wanted(key=f"{key}:{person.email.lower()}", kind=kind, recipient=person,
                  due_at=due_at, optional=kind in rules.optional_kinds, case_id=case_id,
                  context=context)


def case_reminders(facts: CaseFacts, rules: ReminderRules, now: datetime) -> list[Wanted]:
    """Every reminder the case should have now; the outbox is brought in line with this."""
    if not rules.enabled or facts.status in FINISHED_STATES:
        return []
    wanted = []
    for hearing in facts.hearings:
        if not hearing.closed:
            wanted += _hearing_reminders(facts, hearing, rules, now)
    for deadline in facts.deadlines:
        if not deadline.met:
            wanted += _deadline_reminders(facts, deadline, rules, now)
    for meeting in facts.next_meetings:
        wanted += _submission_reminders(facts, meeting, rules, now)
    if facts.route_risk and rules.route_at_risk:
        risk = facts.route_risk
        day = first_weekday_from(risk.since, rules)
        for person in facts.managers:
            wanted.append(_wanted(rules, "route_at_risk",
                                  f"route-at-risk:{facts.id}:{risk.deadline.isoformat()}",
                                  person, send_time_on(day, rules), facts.id,
                                  deadline=risk.deadline.isoformat(), plan=list(risk.lines)))
    return wanted


def _day_over(day: date, now: datetime) -> bool:
    return now >= local_instant(day + timedelta(days=1))


def _before_body_deadline(deadline: date, days: int, body_weekdays: WeekdayRules | None,
                          rules: ReminderRules) -> date:
    """The office day to remind `days` weekdays before a body's deadline, counted in the
    body's weekdays (as the deadline was)."""
    day = weekdays_before(deadline, days, body_weekdays or rules.weekdays)
    return office_day_on_or_before(day, rules)


def _submission_reminders(facts: CaseFacts, meeting: NextMeeting, rules: ReminderRules,
                          now: datetime) -> list[Wanted]:
    """The case owner, before the internal submission deadline of the next meeting; none once
    the case is delivered for that body's agenda or placed on it."""
    if meeting.on_agenda or meeting.delivered or facts.owner is None:
        return []
    wanted = []
    base = f"submission:{facts.id}:{meeting.meeting_id}:{meeting.submission.isoformat()}"
    context = {"meeting_id": meeting.meeting_id, "body": meeting.body_name,
               "meeting_day": meeting.day.isoformat(),
               "submission": meeting.submission.isoformat()}
    today = now.astimezone(COPENHAGEN).date()
    if not _day_over(meeting.submission, now):
        for days in rules.submission_weekdays:
            day = _before_body_deadline(meeting.submission, days, meeting.weekdays, rules)
            if day >= today:  # an offset already past when the case arrived is skipped
                wanted.append(_wanted(rules, "submission_due", f"{base}:{days}wd", facts.owner,
                                      send_time_on(day, rules), facts.id, weekdays=days,
                                      **context))
    if rules.submission_passed:
        for days in rules.overdue_weekdays:
            # The first weekday's key is the one used before the offsets could be set: a
            # reminder sent already is not sent again under a new key.
            key = f"{base}:passed" if days == 1 else f"{base}:passed:{days}wd"
            day = weekdays_after(meeting.submission, days, rules)
            wanted.append(_wanted(rules, "submission_passed", key, facts.owner,
                                  send_time_on(day, rules), facts.id, weekdays=days,
                                  **context))
    return wanted


def meeting_reminders(facts: MeetingFacts, rules: ReminderRules, now: datetime) -> list[Wanted]:
    """The secretariat before the agenda deadline; members when it is out and when the minutes
    await their approval; the secretariat when approvals are missing on the last day."""
    if not rules.enabled or facts.cancelled:
        return []
    base = f"meeting:{facts.id}"
    context = {"meeting_id": facts.id, "body": facts.body_name, "meeting_day":
               facts.day.isoformat(), "agenda_out": facts.agenda_out.isoformat()}
    wanted = []
    if facts.agenda_published_at is None and not _day_over(facts.agenda_out, now):
        for days in rules.agenda_due_weekdays:
            day = _before_body_deadline(facts.agenda_out, days, facts.weekdays, rules)
            for person in facts.secretariat:
                wanted.append(_wanted(rules, "agenda_due", f"{base}:agenda-due:{days}wd",
                                      person, send_time_on(day, rules), None, weekdays=days,
                                      **context))
    # News of a published agenda is stale once the meeting is held (an imported referat
    # publishes an old meeting's agenda).
    if facts.agenda_published_at is not None and rules.agenda_published \
            and not _day_over(facts.day, now):
        for person in facts.members:
            wanted.append(_wanted(rules, "agenda_published", f"{base}:agenda-published",
                                  person, facts.agenda_published_at, None, **context))
    if facts.minutes_in_approval and rules.minutes_approval:
        deadline = facts.objection_deadline
        context["objection_deadline"] = deadline.isoformat() if deadline else ""
        for person in facts.members:
            if person.email.lower() not in facts.approved:
                # Due when first wanted: the minutes went out for approval.
                wanted.append(_wanted(rules, "minutes_approval", f"{base}:minutes", person,
                                      now, None, **context))
        missing = [p.name or p.email for p in facts.members
                   if p.email.lower() not in facts.approved]
        if deadline and missing:
            last_day = send_time_on(office_day_on_or_before(deadline, rules), rules)
            for person in facts.secretariat:
                wanted.append(_wanted(rules, "minutes_approval", f"{base}:minutes-missing",
                                      person, last_day, None, missing=missing, **context))
    return wanted


def _hearing_reminders(facts: CaseFacts, hearing: HearingFacts, rules: ReminderRules,
                       now: datetime) -> list[Wanted]:
    wanted = []
    deadline = hearing.deadline.isoformat()
    # A reminder *before* the høringsfrist is pointless once the day is over.
    deadline_over = _day_over(hearing.deadline, now)
    missing_due = send_time_on(next_weekday_after(hearing.deadline, rules), rules)
    for party in hearing.parties:
        base = f"{hearing.id}:{party.id}:{deadline}"
        context = {"hearing_id": hearing.id, "party_id": party.id, "party": party.name,
                   "hearing_title": hearing.title, "deadline": deadline}
        # A request is news while the hearing runs (it may have opened long before it was
        # registered); after the høringsfrist it asks for nothing that can still be given.
        for person in party.recipients if rules.hearing_request and not deadline_over else ():
            request = _wanted(rules, "hearing_request", f"hearing-request:{base}", person,
                              send_time_on(hearing.opened_on, rules), facts.id, **context)
            wanted.append(replace(request, news_until=send_time_on(hearing.deadline, rules)))
        if party.responded:
            continue
        for days in rules.hearing_reminder_weekdays if not deadline_over else ():
            day = weekdays_before(hearing.deadline, days, rules.weekdays)
            if day < hearing.opened_on:
                continue  # the hearing is shorter than the reminder's offset
            for person in party.recipients:
                wanted.append(_wanted(rules, "hearing_reminder",
                                      f"hearing-reminder:{base}:{days}wd", person,
                                      send_time_on(day, rules), facts.id, weekdays=days,
                                      **context))
        for person in facts.secretariat if rules.hearing_missing else ():
            wanted.append(_wanted(rules, "hearing_missing", f"hearing-missing:{base}", person,
                                  missing_due, facts.id, **context))
        for days in rules.overdue_weekdays:  # [] in the file: none
            # The party itself, once its answer is overdue (the secretariat hears above).
            day = weekdays_after(hearing.deadline, days, rules)
            for person in party.recipients:
                wanted.append(_wanted(rules, "hearing_overdue",
                                      f"hearing-overdue:{base}:{days}wd", person,
                                      send_time_on(day, rules), facts.id, weekdays=days,
                                      **context))
    return wanted


def _deadline_reminders(facts: CaseFacts, deadline: DeadlineFacts, rules: ReminderRules,
                        now: datetime) -> list[Wanted]:
    wanted = []
    due = deadline.due_date.isoformat()
    base = f"{facts.id}:{deadline.id}:{due}"
    context = {"deadline_id": deadline.id, "due_date": due, "description": deadline.description}
    deadline_over = _day_over(deadline.due_date, now)
    if facts.owner and not deadline_over:
        for days in rules.deadline_warning_weekdays:
            day = weekdays_before(deadline.due_date, days, rules.weekdays)
            wanted.append(_wanted(rules, "deadline_warning", f"deadline-warning:{base}:{days}wd",
                                  facts.owner, send_time_on(day, rules), facts.id,
                                  weekdays=days, **context))
    if rules.deadline_overdue:
        overdue_due = send_time_on(next_weekday_after(deadline.due_date, rules), rules)
        for person in facts.managers:
            wanted.append(_wanted(rules, "deadline_overdue", f"deadline-overdue:{base}", person,
                                  overdue_due, facts.id, **context))
    return wanted


def weekly_digest_reminders(centre_managers: dict[str, tuple[Person, ...]],
                            rules: ReminderRules, now: datetime) -> list[Wanted]:
    """This week's digest per centre, for its managers (not yet if the day is over)."""
    if not rules.enabled or rules.weekly_digest_weekday is None:
        return []
    today = now.astimezone(COPENHAGEN).date()
    day = today - timedelta(days=today.weekday()) + timedelta(days=rules.weekly_digest_weekday)
    day = first_weekday_from(day, rules)
    if day < today:
        return []  # this week's digest day is past; next week's is planned next week
    year, week, _ = day.isocalendar()
    label = f"{year}-W{week:02d}"
    wanted = []
    for centre, managers in sorted(centre_managers.items()):
        for person in managers:
            wanted.append(_wanted(rules, "weekly_digest", f"weekly-digest:{centre}:{label}",
                                  person, send_time_on(day, rules), None, centre=centre,
                                  week=label))
    return wanted


def information_notices(event_id: int, members: tuple[Person, ...], rules: ReminderRules,
                        now: datetime, **context) -> list[Wanted]:
    """One notice per member of the bodies a decided case was sent to for information (the
    same address once), due now. No case_id on the rows: the refresh of the case's reminders
    cancels the rows it plans itself, and it does not plan these."""
    if not rules.case_information:
        return []
    unique: dict[str, Person] = {}
    for person in members:  # a member of two of the bodies gets one notice
        if person.email:
            unique.setdefault(person.email.lower(), person)
    return [_wanted(rules, "case_information", f"information:{event_id}", person, now, None,
                    **context) for person in sorted(unique.values(), key=lambda p: p.email)]
