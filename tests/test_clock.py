"""The product's clock (cases.clock): SAGSGANG_TODAY and `sagsgang --today`."""

import os
from datetime import UTC, date, datetime, timedelta

from click.testing import CliRunner

from cases import clock
from cases.dates import COPENHAGEN
from cases.settings import get_settings
from cli.main import cli


def test_unset_it_is_the_wall_clock(monkeypatch):
    monkeypatch.delenv("SAGSGANG_TODAY", raising=False)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_day_moves_the_clock_to_that_day_and_it_runs_on(monkeypatch):
    monkeypatch.setenv("SAGSGANG_TODAY", "04-10-2022")
    first = clock.now()
    assert clock.today() == date(2022, 10, 4)
    # Whole days back: the time of day is the real one.
    shift = timedelta(days=(date(2022, 10, 4) - datetime.now(COPENHAGEN).date()).days)
    assert abs(first - (datetime.now(UTC) + shift)) < timedelta(seconds=5)
    assert clock.now() > first  # it runs at the wall clock's pace
    assert clock.wall_now().year >= 2026  # what must be real stays real


def test_an_instant_stops_the_clock_there_in_copenhagen_time(monkeypatch):
    monkeypatch.setenv("SAGSGANG_TODAY", "2022-10-04T17:00")
    assert clock.now() == datetime(2022, 10, 4, 15, tzinfo=UTC) == clock.now()
    get_settings.cache_clear()
    monkeypatch.setenv("SAGSGANG_TODAY", "2022-10-04T17:00+00:00")
    assert clock.now() == datetime(2022, 10, 4, 17, tzinfo=UTC)


def test_today_is_for_the_one_command_and_a_bad_one_is_refused_in_danish(sqlite_url,
                                                                         monkeypatch):
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.delenv("SAGSGANG_TODAY", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["--today", "2022-10-04", "case", "create", "--number", "T-1",
                                 "--title", "Tid", "--centre", "Center for Voksne og Sundhed",
                                 "--decided-by", "SU"])
    assert result.exit_code == 0, result.output
    assert "SAGSGANG_TODAY" not in os.environ
    shown = runner.invoke(cli, ["case", "history", "T-1", "--events"]).output
    assert "04-10-2022" in shown
    result = runner.invoke(cli, ["--today", "i går", "case", "list"])
    assert result.exit_code == 1
    assert result.stderr == ("Fejl: Indstillingen SAGSGANG_TODAY skal være en dag som "
                             "2022-10-04 eller 04-10-2022, eller et tidspunkt som "
                             "2022-10-04T10:00 (fik 'i går').\n")
    assert "SAGSGANG_TODAY" not in os.environ
