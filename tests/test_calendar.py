"""Danish weekday arithmetic: holidays, custom days off, Saturdays, DST."""

from datetime import UTC, date, datetime, time

import pytest

from meetings.calendar import (
    WeekdayRules,
    add_weekdays,
    agenda_deadlines,
    day_off_reason,
    end_of_day,
    is_weekday,
    local_day,
    local_instant,
    public_holidays,
    rules_for,
    weekdays_before,
    weekdays_between,
)

BALLERUP = WeekdayRules(custom_days_off=("12-24", "12-31"))
PLAIN = WeekdayRules()


def test_it_knows_store_bededag_in_2023_and_not_from_2024():
    assert public_holidays(2023)[date(2023, 5, 5)] == "Store bededag"
    assert not is_weekday(date(2023, 5, 5), PLAIN)
    assert date(2024, 4, 26) not in public_holidays(2024)  # the Friday it would have been
    assert is_weekday(date(2024, 4, 26), PLAIN)
    for year in range(2024, 2031):
        assert not any("bededag" in name.lower() for name in public_holidays(year).values())


def test_it_skips_easter_when_counting_back():
    # Easter 2023: Maundy Thursday 06-04, Good Friday 07-04, Easter Monday 10-04.
    # A Tuesday meeting on 11-04-2023: 4 weekdays before are 05-04, 04-04, 03-04, 31-03.
    assert weekdays_before(date(2023, 4, 11), 1, PLAIN) == date(2023, 4, 5)
    assert weekdays_before(date(2023, 4, 11), 4, PLAIN) == date(2023, 3, 31)
    assert day_off_reason(date(2023, 4, 10), PLAIN) == "Anden påskedag"


def test_it_counts_store_bededag_week_differently_in_2023_and_2024():
    # Monday after Store Bededag 2023 (Friday 05-05): 1 weekday back is Thursday 04-05.
    assert weekdays_before(date(2023, 5, 8), 1, PLAIN) == date(2023, 5, 4)
    # The same Friday in 2024 (26-04) is an ordinary weekday.
    assert weekdays_before(date(2024, 4, 29), 1, PLAIN) == date(2024, 4, 26)


def test_it_skips_christmas_and_the_custom_days_off():
    # Monday 19-12-2022 .. 02-01-2023: 24, 25, 26 and 31 December and 1 January are off.
    assert not is_weekday(date(2022, 12, 26), PLAIN)  # Anden juledag
    assert is_weekday(date(2023, 12, 27), BALLERUP)
    assert not is_weekday(date(2024, 12, 24), BALLERUP)  # a Tuesday, custom day off
    assert is_weekday(date(2024, 12, 24), PLAIN)
    assert day_off_reason(date(2024, 12, 31), BALLERUP) == "Fridag"
    # 4 weekdays before Thursday 02-01-2025 in Ballerup: 30-12, 27-12, 23-12, 20-12.
    assert weekdays_before(date(2025, 1, 2), 4, BALLERUP) == date(2024, 12, 20)
    assert weekdays_before(date(2025, 1, 2), 4, PLAIN) == date(2024, 12, 24)


def test_it_counts_saturday_only_for_a_body_that_says_so():
    saturdays = WeekdayRules(saturday_is_weekday=True)
    monday = date(2022, 10, 3)
    assert weekdays_before(monday, 1, PLAIN) == date(2022, 9, 30)
    assert weekdays_before(monday, 1, saturdays) == date(2022, 10, 1)
    assert not is_weekday(date(2022, 10, 2), saturdays)  # Sunday never counts
    assert not is_weekday(date(2023, 4, 8), PLAIN)


def test_it_adds_and_counts_weekdays_both_ways():
    assert add_weekdays(date(2023, 4, 5), 1, PLAIN) == date(2023, 4, 11)
    assert add_weekdays(date(2023, 4, 11), -1, PLAIN) == date(2023, 4, 5)
    assert add_weekdays(date(2023, 4, 9), 0, PLAIN) == date(2023, 4, 5)
    assert weekdays_between(date(2023, 4, 5), date(2023, 4, 11), PLAIN) == 1
    assert weekdays_between(date(2023, 4, 11), date(2023, 4, 5), PLAIN) == -1
    with pytest.raises(ValueError):
        weekdays_before(date(2023, 4, 11), -1, PLAIN)


def test_it_gives_kb_and_committee_agenda_deadlines(org):
    kb = org.body("KB")
    # KB Monday 28-11-2022: agenda out 4 weekdays before (Tue 22-11), material 3 (Wed 23-11).
    found = agenda_deadlines(kb, date(2022, 11, 28), rules_for(org, "KB"))
    assert found.agenda_out == date(2022, 11, 22)
    assert found.material == date(2022, 11, 23)
    assert found.submission == date(2022, 11, 14)  # 10 weekdays
    su = agenda_deadlines(org.body("SU"), date(2022, 11, 1), rules_for(org, "SU"))
    assert su.agenda_out == date(2022, 10, 26)
    assert su.submission == date(2022, 10, 19)


def test_it_computes_meeting_instants_across_the_dst_changes():
    # Summer time starts Sunday 29-03-2026 02:00 and ends Sunday 25-10-2026 03:00.
    assert local_instant(date(2026, 3, 28), time(18)) == datetime(2026, 3, 28, 17, tzinfo=UTC)
    assert local_instant(date(2026, 3, 29), time(18)) == datetime(2026, 3, 29, 16, tzinfo=UTC)
    assert local_instant(date(2026, 10, 24), time(18)) == datetime(2026, 10, 24, 16, tzinfo=UTC)
    assert local_instant(date(2026, 10, 25), time(18)) == datetime(2026, 10, 25, 17, tzinfo=UTC)
    # The day of the change is 23 and 25 hours long.
    spring = local_instant(date(2026, 3, 30)) - local_instant(date(2026, 3, 29))
    autumn = local_instant(date(2026, 10, 26)) - local_instant(date(2026, 10, 25))
    assert spring.total_seconds() == 23 * 3600
    assert autumn.total_seconds() == 25 * 3600
    assert local_day(end_of_day(date(2026, 3, 29))) == date(2026, 3, 29)
    assert local_day(end_of_day(date(2026, 10, 25))) == date(2026, 10, 25)
    # A deadline counted back over the DST weekend is still a plain date.
    assert weekdays_before(date(2026, 3, 30), 1, PLAIN) == date(2026, 3, 27)
    assert weekdays_before(date(2026, 10, 26), 1, PLAIN) == date(2026, 10, 23)
