"""The pure reminder rules: which reminders a case wants, and when (DST, Easter, office hours)."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from cases.settings import PROJECT_DIR
from meetings.calendar import WeekdayRules, is_weekday, weekdays_before
from notifications.config import load_rules
from notifications.rules import (
    CaseFacts,
    DeadlineFacts,
    HearingFacts,
    NextMeeting,
    PartyFacts,
    Person,
    ReminderRules,
    case_reminders,
    next_send_time,
    parse_rules,
    weekly_digest_reminders,
)

RULES = ReminderRules(custom_days_off=("12-24", "12-31"))
OFFICE = RULES.weekdays  # the reminders' weekdays are meetings.calendar's
OWNER = Person("ejer@ballerup.dk", "Sagsbehandler")
MANAGER = Person("chef@ballerup.dk", "Centerchef")
SECRETARIAT = Person("sekr@ballerup.dk", "Sekretariatet")
HR = Person("hr@example.org", "Handicaprådet")
FORENING = Person("forening@example.org", "Foreningen")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def case_with(*, hearing_deadline=None, opened=None, deadline=None, responded=False,
              status="hearing") -> CaseFacts:
    hearings = ()
    if hearing_deadline:
        hearings = (HearingFacts(
            id=7, title="Udsattestrategi", opened_on=opened or date(2026, 3, 2),
            deadline=hearing_deadline, closed=False,
            parties=(PartyFacts(id=1, name="Handicaprådet", recipients=(HR,),
                                responded=responded),
                     PartyFacts(id=2, name="Foreningen", recipients=(FORENING,),
                                responded=False))),)
    deadlines = ()
    if deadline:
        deadlines = (DeadlineFacts(id=3, due_date=deadline, description="KB-behandling",
                                   met=False),)
    return CaseFacts(id=1, number="22-001", title="Sag", status=status,
                     centre="Center for Voksne og Sundhed", owner=OWNER, hearings=hearings,
                     deadlines=deadlines, managers=(MANAGER,), secretariat=(SECRETARIAT,))


def due(wanted, kind, email, party="Handicaprådet"):
    found = [w.due_at for w in wanted if w.kind == kind and w.recipient.email == email
             and w.context.get("party", party) == party]
    assert len(found) == 1, (kind, email, wanted)
    return found[0]


def test_it_counts_weekdays_around_easter_2026():
    # Maundy Thursday 02-04, Good Friday 03-04 and Easter Monday 06-04 are no weekdays.
    assert not is_weekday(date(2026, 4, 2), OFFICE)
    assert not is_weekday(date(2026, 4, 6), OFFICE)
    assert weekdays_before(date(2026, 4, 7), 1, OFFICE) == date(2026, 4, 1)
    assert weekdays_before(date(2026, 4, 7), 3, OFFICE) == date(2026, 3, 30)


def test_it_knows_store_bededag_was_abolished_in_2024():
    assert not is_weekday(date(2023, 5, 5), OFFICE)
    assert is_weekday(date(2024, 4, 26), OFFICE)
    # Store Bededag 2023 (Friday 05-05) moves a deadline warning back over it; 2024 does not.
    warning_2023 = case_reminders(case_with(deadline=date(2023, 5, 8), status="committee"),
                                  RULES, utc(2023, 4, 3, 9))
    assert due(warning_2023, "deadline_warning", OWNER.email) == utc(2023, 4, 28, 6)
    warning_2024 = case_reminders(case_with(deadline=date(2024, 4, 29), status="committee"),
                                  RULES, utc(2024, 4, 1, 9))
    assert due(warning_2024, "deadline_warning", OWNER.email) == utc(2024, 4, 22, 6)


def test_it_skips_the_configured_custom_days_off():
    assert not is_weekday(date(2026, 12, 24), OFFICE)
    assert is_weekday(date(2026, 12, 24), replace(RULES, custom_days_off=()).weekdays)


def test_it_puts_the_hearing_reminder_on_the_right_instant_across_spring_dst():
    # Høringsfrist Tuesday 31-03-2026; 3 weekdays before is Thursday 26-03, still winter time
    # (08:00 CET = 07:00 UTC); the missing-response alert is Wednesday 01-04, summer time.
    wanted = case_reminders(case_with(hearing_deadline=date(2026, 3, 31)), RULES,
                            utc(2026, 3, 2, 9))
    assert due(wanted, "hearing_reminder", HR.email) == utc(2026, 3, 26, 7)
    assert due(wanted, "hearing_missing", SECRETARIAT.email) == utc(2026, 4, 1, 6)


def test_it_moves_the_send_hour_with_the_clock_on_2026_03_29():
    friday = case_reminders(case_with(hearing_deadline=date(2026, 3, 27)), RULES,
                            utc(2026, 3, 2, 9))
    # Missing after Friday 27-03 → Monday 30-03 08:00 CEST = 06:00 UTC (not 07:00).
    assert due(friday, "hearing_missing", SECRETARIAT.email) == utc(2026, 3, 30, 6)
    assert due(friday, "hearing_reminder", HR.email) == utc(2026, 3, 24, 7)


def test_it_moves_the_send_hour_back_on_2026_10_25():
    wanted = case_reminders(case_with(hearing_deadline=date(2026, 10, 23),
                                      opened=date(2026, 10, 1)), RULES, utc(2026, 10, 1, 9))
    assert due(wanted, "hearing_reminder", HR.email) == utc(2026, 10, 20, 6)  # CEST
    assert due(wanted, "hearing_missing", SECRETARIAT.email) == utc(2026, 10, 26, 7)  # CET


def test_it_skips_easter_for_a_missing_response_alert():
    wanted = case_reminders(case_with(hearing_deadline=date(2026, 4, 1)), RULES,
                            utc(2026, 3, 2, 9))
    assert due(wanted, "hearing_missing", SECRETARIAT.email) == utc(2026, 4, 7, 6)
    # 3 weekdays before Wednesday 01-04: 31-03, 30-03, 27-03.
    assert due(wanted, "hearing_reminder", HR.email) == utc(2026, 3, 27, 7)


@pytest.mark.parametrize("instant, expected", [
    # Saturday night before spring DST → Monday 08:00 CEST.
    (utc(2026, 3, 28, 23, 30), utc(2026, 3, 30, 6)),
    # In the repeated hour of fall-back night → Monday 08:00 CET.
    (utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 7)),
    (utc(2026, 10, 25, 1, 30), utc(2026, 10, 26, 7)),
    # Maundy Thursday evening → Tuesday after Easter.
    (utc(2026, 4, 1, 17, 0), utc(2026, 4, 7, 6)),
    # Inside office hours: unchanged.
    (utc(2026, 3, 30, 10, 15), utc(2026, 3, 30, 10, 15)),
    # Early on a weekday: the same day at 08:00.
    (utc(2026, 10, 26, 5, 0), utc(2026, 10, 26, 7)),
])
def test_it_sends_only_in_office_hours_on_weekdays(instant, expected):
    assert next_send_time(instant, RULES) == expected


def test_it_sends_at_any_hour_when_configured():
    anytime = replace(RULES, office_hours_only=False)
    assert next_send_time(utc(2026, 4, 3, 22), anytime) == utc(2026, 4, 3, 22)


def submission_due_days(weekdays: WeekdayRules | None) -> tuple[list, datetime]:
    """The case owner's submission reminders before a body's deadline on Monday 16-03-2026."""
    meeting = NextMeeting(body_code="X", body_name="Lørdagsudvalget", meeting_id=9,
                          day=date(2026, 3, 25), submission=date(2026, 3, 16),
                          on_agenda=False, weekdays=weekdays)
    facts = replace(case_with(status="committee"), next_meetings=(meeting,))
    wanted = case_reminders(facts, RULES, utc(2026, 3, 2, 9))
    before = sorted(w.due_at for w in wanted if w.kind == "submission_due")
    return before, sorted(w.due_at for w in wanted if w.kind == "submission_passed")


def test_it_counts_back_from_a_bodys_deadline_in_that_bodys_weekdays():
    # A body that counts Saturday: 1, 5 and 10 weekdays before Monday 16-03 are Saturday
    # 14-03 (sent on Friday 13-03, the office is closed on Saturday), Tuesday 10-03 and
    # Wednesday 04-03.
    saturdays = WeekdayRules(custom_days_off=RULES.custom_days_off, saturday_is_weekday=True)
    before, passed = submission_due_days(saturdays)
    assert before == [utc(2026, 3, 4, 7), utc(2026, 3, 10, 7), utc(2026, 3, 13, 7)]
    assert passed == [utc(2026, 3, 17, 7), utc(2026, 3, 23, 7)]  # 1 and 5 weekdays after
    # Without Saturdays: Monday 02-03, Monday 09-03 and Friday 13-03.
    before, passed = submission_due_days(None)
    assert before == [utc(2026, 3, 2, 7), utc(2026, 3, 9, 7), utc(2026, 3, 13, 7)]
    assert passed == [utc(2026, 3, 17, 7), utc(2026, 3, 23, 7)]  # 1 and 5 weekdays after


def test_it_wants_no_submission_reminders_for_a_body_the_case_is_delivered_for():
    def meeting(code, delivered):
        return NextMeeting(body_code=code, body_name=code, meeting_id=len(code),
                           day=date(2026, 3, 25), submission=date(2026, 3, 16),
                           on_agenda=False, delivered=delivered)

    def kinds_by_body(*meetings):
        facts = replace(case_with(status="committee"), next_meetings=meetings)
        wanted = case_reminders(facts, RULES, utc(2026, 3, 2, 9))
        return {(w.context["body"], w.kind) for w in wanted}

    both = kinds_by_body(meeting("SU", False), meeting("BSU", False))
    assert both == {(b, k) for b in ("SU", "BSU")
                    for k in ("submission_due", "submission_passed")}
    # Delivered for BSU: its reminders, before and after the deadline, are no longer wanted.
    assert kinds_by_body(meeting("SU", False), meeting("BSU", True)) == \
        {("SU", "submission_due"), ("SU", "submission_passed")}
    assert kinds_by_body(meeting("SU", True), meeting("BSU", True)) == set()


def test_it_wants_a_request_for_every_party_and_reminders_only_for_silent_ones():
    wanted = case_reminders(case_with(hearing_deadline=date(2026, 3, 31), responded=True),
                            RULES, utc(2026, 3, 2, 9))
    kinds = sorted((w.kind, w.recipient.email) for w in wanted)
    assert kinds == [("hearing_missing", SECRETARIAT.email),
                     ("hearing_overdue", FORENING.email),  # 1 and 5 weekdays after
                     ("hearing_overdue", FORENING.email),
                     ("hearing_reminder", FORENING.email),
                     ("hearing_request", FORENING.email),
                     ("hearing_request", HR.email)]
    assert len({w.key for w in wanted}) == len(wanted)


def test_it_drops_the_before_deadline_reminder_once_the_deadline_day_is_over():
    wanted = case_reminders(case_with(hearing_deadline=date(2026, 3, 31)), RULES,
                            utc(2026, 4, 1, 9))
    assert "hearing_reminder" not in {w.kind for w in wanted}
    assert "hearing_missing" in {w.kind for w in wanted}


def test_it_escalates_an_overdue_case_deadline_to_the_centres_managers():
    wanted = case_reminders(case_with(deadline=date(2026, 11, 30), status="committee"), RULES,
                            utc(2026, 10, 1, 9))
    assert due(wanted, "deadline_overdue", MANAGER.email) == utc(2026, 12, 1, 7)
    assert due(wanted, "deadline_warning", OWNER.email) == utc(2026, 11, 23, 7)


def test_it_wants_nothing_for_a_finished_case():
    facts = case_with(hearing_deadline=date(2026, 3, 31), deadline=date(2026, 11, 30),
                      status="withdrawn")
    assert case_reminders(facts, RULES, utc(2026, 3, 2, 9)) == []


def test_it_keys_reminders_by_what_decides_them():
    before = case_reminders(case_with(hearing_deadline=date(2026, 3, 31)), RULES,
                            utc(2026, 3, 2, 9))
    moved = case_reminders(case_with(hearing_deadline=date(2026, 4, 14)), RULES,
                           utc(2026, 3, 2, 9))
    assert {w.key for w in before if w.kind == "hearing_reminder"}.isdisjoint(
        {w.key for w in moved if w.kind == "hearing_reminder"})
    again = case_reminders(case_with(hearing_deadline=date(2026, 3, 31)), RULES,
                           utc(2026, 3, 3, 9))
    assert {w.key for w in before} == {w.key for w in again}


def test_it_plans_one_weekly_digest_per_manager_on_the_configured_day():
    managers = {"Center for By og Miljø": (MANAGER,)}
    # On Sunday 29-03 this week's Monday is past: nothing until the next week begins.
    assert weekly_digest_reminders(managers, RULES, utc(2026, 3, 29, 12)) == []
    # Monday 30-03-2026, the day after spring DST: 08:00 CEST.
    monday = weekly_digest_reminders(managers, RULES, utc(2026, 3, 30, 5))
    assert [w.due_at for w in monday] == [utc(2026, 3, 30, 6)]
    assert monday[0].optional
    # Easter Monday is no weekday: that week's digest goes out on Tuesday.
    easter = weekly_digest_reminders(managers, RULES, utc(2026, 4, 6, 5))
    assert [w.due_at for w in easter] == [utc(2026, 4, 7, 6)]


def test_it_reads_the_rules_from_the_shipped_organisation_file():
    rules = load_rules(PROJECT_DIR / "config" / "ballerup.toml")
    assert rules.office_hours_only
    assert rules.submission_weekdays == (10, 5, 1)
    assert "hearing_request" not in rules.optional_kinds


def test_it_refuses_a_misspelt_setting():
    with pytest.raises(ValueError, match="unknown settings"):
        parse_rules({"reminders": {"hearing_reminder_days": [3]}})
    with pytest.raises(ValueError, match="weekdays"):
        parse_rules({"reminders": {"hearing_reminder_weekdays": "3"}})


def test_a_hearing_request_is_news_while_the_hearing_runs_however_long_ago_it_opened():
    """A hearing registered today that opened months ago still asks its parties; once its
    deadline is long past, the request is history and is not mailed."""
    facts = case_with(hearing_deadline=date(2026, 6, 30), opened=date(2026, 1, 5))
    running = utc(2026, 5, 4, 9)
    requests = [w for w in case_reminders(facts, RULES, running) if w.kind == "hearing_request"]
    assert len(requests) == 2
    assert all(w.due_at < utc(2026, 1, 6) for w in requests)  # due when it opened
    assert not any(w.is_history(running, RULES) for w in requests)
    long_after = utc(2026, 8, 3, 9)
    assert all(w.is_history(long_after, RULES) for w in requests)
