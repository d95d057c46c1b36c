"""The one settings object (cases.settings): defaults, every variable, a Danish message naming
a bad one wherever a process starts, and the secret key made once."""

import json
import os
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cases import settings as settings_module
from cases.settings import PROJECT_DIR, Settings, SettingsError, get_settings, secret_key
from cli.main import cli
from notifications import outbox

VARIABLES = [field.validation_alias for field in Settings.model_fields.values()]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No setting from the machine running the tests."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_fit_a_fresh_checkout():
    settings = get_settings()
    var = PROJECT_DIR / "var"
    assert settings.var_dir == var
    assert settings.database_url == f"sqlite:///{var / 'sagsgang.db'}"
    assert settings.broker_url == f"sqla+sqlite:///{var / 'broker.db'}"
    assert settings.organisation_file == PROJECT_DIR / "config" / "ballerup.toml"
    assert settings.site_url == "http://127.0.0.1:8000"
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 8025)
    assert settings.mail_from == "Sagsgang <sagsgang@localhost>"
    assert settings.secret_key is None
    assert settings.secure_cookies is False
    assert (settings.session_hours, settings.stale_weeks) == (12, 6)
    assert (settings.db_pool_size, settings.db_pool_timeout_seconds) == (40, 10.0)
    assert (settings.sweep_seconds, settings.plan_seconds) == (30.0, 600.0)
    # The outbox's own defaults (used by tests that change one or two) are the settings'.
    assert outbox.timing() == outbox.Timing()


def test_the_derived_paths_follow_the_var_dir_and_an_empty_variable_counts_as_unset(
        monkeypatch, tmp_path):
    monkeypatch.setenv("SAGSGANG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SAGSGANG_SWEEP_SECONDS", "")
    monkeypatch.setenv("DATABASE_URL", "")
    settings = get_settings()
    assert settings.database_url == f"sqlite:///{tmp_path / 'sagsgang.db'}"
    assert settings.broker_url == f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    assert settings.sweep_seconds == 30.0


MAPPED = [
    ("SAGSGANG_VAR_DIR", "/srv/sagsgang", "var_dir", Path("/srv/sagsgang")),
    ("DATABASE_URL", "postgresql+psycopg://u@db/sager", "database_url",
     "postgresql+psycopg://u@db/sager"),
    ("SAGSGANG_BROKER_URL", "redis://redis:6379/0", "broker_url", "redis://redis:6379/0"),
    ("SAGSGANG_ORGANISATION", "config/aarhus.toml", "organisation_file",
     Path("config/aarhus.toml")),
    ("SAGSGANG_SITE_URL", "https://sager.example.dk/", "site_url", "https://sager.example.dk"),
    ("SAGSGANG_SMTP_HOST", "mail.example.dk", "smtp_host", "mail.example.dk"),
    ("SAGSGANG_SMTP_PORT", "2525", "smtp_port", 2525),
    ("SAGSGANG_MAIL_FROM", "Byrådet <byraad@example.dk>", "mail_from",
     "Byrådet <byraad@example.dk>"),
    ("SAGSGANG_SECRET_KEY", "k" * 40, "secret_key", "k" * 40),
    ("SAGSGANG_SECURE_COOKIES", "true", "secure_cookies", True),
    ("SAGSGANG_OFFICE_HOURS_ONLY", "false", "office_hours_only", False),
    ("SAGSGANG_SESSION_HOURS", "8", "session_hours", 8),
    ("SAGSGANG_SESSION_IDLE_MINUTES", "0.5", "session_idle_minutes", 0.5),
    ("SAGSGANG_LOGIN_WINDOW_MINUTES", "5", "login_window_minutes", 5.0),
    ("SAGSGANG_STALE_WEEKS", "3", "stale_weeks", 3),
    ("SAGSGANG_DB_POOL_SIZE", "40", "db_pool_size", 40),
    ("SAGSGANG_DB_POOL_TIMEOUT_SECONDS", "2.5", "db_pool_timeout_seconds", 2.5),
    ("SAGSGANG_SWEEP_SECONDS", "0.5", "sweep_seconds", 0.5),
    ("SAGSGANG_PLAN_SECONDS", "60", "plan_seconds", 60.0),
    ("SAGSGANG_SWEEP_BATCH", "50", "sweep_batch", 50),
    ("SAGSGANG_TASK_SIZE", "3", "task_size", 3),
    ("SAGSGANG_QUEUE_TIMEOUT_SECONDS", "4", "queue_timeout_seconds", 4.0),
    ("SAGSGANG_SEND_TIMEOUT_SECONDS", "5", "send_timeout_seconds", 5.0),
    ("SAGSGANG_RETRY_BASE_SECONDS", "0.3", "retry_base_seconds", 0.3),
    ("SAGSGANG_RETRY_MAX_SECONDS", "1", "retry_max_seconds", 1.0),
    ("SAGSGANG_MAX_ATTEMPTS", "100", "max_attempts", 100),
    ("SAGSGANG_SMTP_TIMEOUT_SECONDS", "2", "smtp_timeout_seconds", 2.0),
    ("SAGSGANG_OIDC_ISSUER", "https://login.example.dk/realms/ballerup", "oidc_issuer",
     "https://login.example.dk/realms/ballerup"),
    ("SAGSGANG_OIDC_CLIENT_ID", "sagsgang", "oidc_client_id", "sagsgang"),
    ("SAGSGANG_OIDC_CLIENT_SECRET", "hemmelig", "oidc_client_secret", "hemmelig"),
    ("SAGSGANG_LOCAL_LOGIN", "false", "local_login", False),
    ("SAGSGANG_MAX_ATTACHMENT_MB", "50", "max_attachment_mb", 50),
    ("SAGSGANG_ATTACHMENT_STORE", "database", "attachment_store", "database"),
    ("SAGSGANG_ATTACHMENT_DIR", "/mnt/delt/bilag", "attachment_dir", Path("/mnt/delt/bilag")),
    ("SAGSGANG_METRICS_ALLOW", "10.0.0.0/8", "metrics_allow", "10.0.0.0/8"),
    ("SAGSGANG_METRICS_TOKEN", "m" * 20, "metrics_token", "m" * 20),
    ("SAGSGANG_LOG_FORMAT", "json", "log_format", "json"),
    ("SAGSGANG_OPARL_REQUESTS_PER_MINUTE", "60", "oparl_requests_per_minute", 60),
    ("SAGSGANG_TODAY", "04-10-2022", "today", date(2022, 10, 4)),
]


def test_every_setting_is_tested_below():
    assert sorted(name for name, *_ in MAPPED) == sorted(VARIABLES)


@pytest.mark.parametrize("name, raw, field, expected", MAPPED)
def test_each_variable_sets_its_setting(monkeypatch, name, raw, field, expected):
    monkeypatch.setenv(name, raw)
    assert getattr(get_settings(), field) == expected


@pytest.mark.parametrize("site_url, secure_cookies, expected", [
    ("https://sager.ballerup.dk", None, True),  # derived from the site's address
    ("HTTPS://sager.ballerup.dk/", None, True),
    ("http://127.0.0.1:8000", None, False),
    ("https://sager.ballerup.dk", "false", False),  # the variable, when set, decides
    ("http://127.0.0.1:8000", "true", True),
])
def test_the_session_cookie_is_secure_when_the_site_is_https(monkeypatch, site_url,
                                                            secure_cookies, expected):
    monkeypatch.setenv("SAGSGANG_SITE_URL", site_url)
    if secure_cookies is not None:
        monkeypatch.setenv("SAGSGANG_SECURE_COOKIES", secure_cookies)
    assert get_settings().secure_cookies is expected


def test_the_outbox_paces_itself_by_the_settings(monkeypatch):
    for name, raw in [("SAGSGANG_SWEEP_SECONDS", "0.5"), ("SAGSGANG_SWEEP_BATCH", "50"),
                      ("SAGSGANG_TASK_SIZE", "3"), ("SAGSGANG_QUEUE_TIMEOUT_SECONDS", "4"),
                      ("SAGSGANG_SEND_TIMEOUT_SECONDS", "5"),
                      ("SAGSGANG_RETRY_BASE_SECONDS", "0.3"),
                      ("SAGSGANG_RETRY_MAX_SECONDS", "1"), ("SAGSGANG_MAX_ATTEMPTS", "100"),
                      ("SAGSGANG_SMTP_TIMEOUT_SECONDS", "2")]:
        monkeypatch.setenv(name, raw)
    assert outbox.timing() == outbox.Timing(
        sweep_seconds=0.5, batch_size=50, task_size=3, queue_timeout=timedelta(seconds=4),
        send_timeout=timedelta(seconds=5), retry_base=timedelta(seconds=0.3),
        retry_max=timedelta(seconds=1), max_attempts=100, smtp_timeout=2.0)


def test_celery_is_configured_from_the_same_settings(tmp_path):
    env = {**_environment(), "SAGSGANG_VAR_DIR": str(tmp_path), "SAGSGANG_SWEEP_SECONDS": "7",
           "SAGSGANG_PLAN_SECONDS": "70"}
    script = ("import json, celeryconfig as c; s = c.beat_schedule; print(json.dumps(["
              "c.broker_url, c.beat_schedule_filename, "
              "s['sweep-reminders']['schedule'].total_seconds(), "
              "s['plan-reminders']['schedule'].total_seconds()]))")
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [f"sqla+sqlite:///{tmp_path / 'broker.db'}",
                                         str(tmp_path / "celerybeat-schedule"), 7.0, 70.0]


TODAY_PROBLEM = ("skal være en dag som 2022-10-04 eller 04-10-2022, eller et tidspunkt som "
                 "2022-10-04T10:00")
BAD = [
    ("SAGSGANG_SWEEP_SECONDS", "abc", "skal være et tal (fik 'abc')"),
    ("SAGSGANG_SESSION_HOURS", "tolv", "skal være et helt tal (fik 'tolv')"),
    ("SAGSGANG_SESSION_HOURS", "-1", "skal være større end 0 (fik '-1')"),
    ("SAGSGANG_SMTP_PORT", "99999", "må højst være 65535 (fik '99999')"),
    ("SAGSGANG_MAX_ATTEMPTS", "0", "skal være mindst 1 (fik '0')"),
    ("SAGSGANG_SECURE_COOKIES", "måske", "skal være true eller false (fik 'måske')"),
    ("SAGSGANG_ATTACHMENT_STORE", "s3", "skal være folder eller database (fik 's3')"),
    ("SAGSGANG_MAX_ATTACHMENT_MB", "0", "skal være mindst 1 (fik '0')"),
    ("SAGSGANG_LOG_FORMAT", "xml", "skal være 'text' eller 'json' (fik 'xml')"),
    ("SAGSGANG_OPARL_REQUESTS_PER_MINUTE", "0", "skal være mindst 1 (fik '0')"),
    ("SAGSGANG_TODAY", "i morgen", f"{TODAY_PROBLEM} (fik 'i morgen')"),
    ("SAGSGANG_TODAY", "31-02-2022", f"{TODAY_PROBLEM} (fik '31-02-2022')"),
]


@pytest.mark.parametrize("name, raw, problem", BAD)
def test_a_bad_value_gives_a_danish_message_naming_the_variable(monkeypatch, name, raw,
                                                                problem):
    monkeypatch.setenv(name, raw)
    with pytest.raises(SettingsError) as raised:
        get_settings()
    assert str(raised.value) == f"Indstillingen {name} {problem}."
    # A SystemExit: wherever it is first read, the process ends with just this message.
    assert isinstance(raised.value, SystemExit)


def test_every_bad_value_is_named_at_once(monkeypatch):
    monkeypatch.setenv("SAGSGANG_SWEEP_SECONDS", "abc")
    monkeypatch.setenv("SAGSGANG_STALE_WEEKS", "0")
    with pytest.raises(SettingsError) as raised:
        get_settings()
    assert str(raised.value).splitlines() == [
        "Indstillingen SAGSGANG_STALE_WEEKS skal være mindst 1 (fik '0').",
        "Indstillingen SAGSGANG_SWEEP_SECONDS skal være et tal (fik 'abc').",
    ]


def test_the_command_line_reads_the_settings_afresh_when_it_starts(monkeypatch, tmp_path):
    get_settings()  # read earlier in this process, as a test or an import might
    monkeypatch.setenv("SAGSGANG_SWEEP_SECONDS", "abc")
    result = CliRunner().invoke(cli, ["init-db"])
    assert result.exit_code == 1
    assert result.output == ("Fejl: Indstillingen SAGSGANG_SWEEP_SECONDS skal være et tal "
                             "(fik 'abc').\n")


def _environment() -> dict:
    """This environment without any setting, and this checkout first on the path, also when
    the installed package points at another checkout."""
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_DIR),
                                                      env.get("PYTHONPATH")]))
    return env


def test_the_installed_command_names_a_bad_variable_and_does_nothing(tmp_path):
    sagsgang = Path(sys.executable).parent / "sagsgang"
    database = tmp_path / "sagsgang.db"
    env = {**_environment(), "DATABASE_URL": f"sqlite:///{database}",
           "SAGSGANG_SWEEP_SECONDS": "abc"}
    result = subprocess.run([str(sagsgang), "init-db"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("Fejl: Indstillingen SAGSGANG_SWEEP_SECONDS skal være et tal "
                             "(fik 'abc').\n")
    assert result.stdout == ""
    assert not database.exists()


def test_celery_stops_at_start_on_a_bad_variable():
    env = {**_environment(), "SAGSGANG_SESSION_HOURS": "-1"}
    result = subprocess.run([sys.executable, "-c", "import celeryconfig"], env=env,
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == ("Indstillingen SAGSGANG_SESSION_HOURS skal være større end 0 "
                             "(fik '-1').\n")


def test_the_web_app_stops_at_start_on_a_bad_variable(monkeypatch, sqlite_url):
    from web.app import create_app

    monkeypatch.setenv("SAGSGANG_STALE_WEEKS", "mange")
    with pytest.raises(SettingsError, match="^Indstillingen SAGSGANG_STALE_WEEKS skal være et "
                                            "helt tal"):
        create_app(sqlite_url)


# -- the secret key ------------------------------------------------------------------------

def test_a_configured_secret_key_is_used_and_a_short_one_refused_without_echoing_it(
        monkeypatch, tmp_path):
    monkeypatch.setenv("SAGSGANG_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SAGSGANG_SECRET_KEY", "s" * 32)
    assert secret_key() == "s" * 32
    assert not (tmp_path / "secret_key").exists()
    get_settings.cache_clear()
    monkeypatch.setenv("SAGSGANG_SECRET_KEY", "hemmelig-men-kort")
    with pytest.raises(SettingsError) as raised:
        secret_key()
    assert str(raised.value) == ("Indstillingen SAGSGANG_SECRET_KEY skal være mindst 32 tegn "
                                 "(fik 17 tegn).")
    assert "hemmelig" not in repr(Settings.model_construct(secret_key="hemmelig"))


def test_the_secret_key_is_generated_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("SAGSGANG_VAR_DIR", str(tmp_path / "var"))
    first = secret_key()
    path = tmp_path / "var" / "secret_key"
    assert path.read_text() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    get_settings.cache_clear()  # a later process
    assert secret_key() == first
    assert os.listdir(tmp_path / "var") == ["secret_key"]


def test_a_process_that_loses_the_race_for_the_key_uses_the_winners(monkeypatch, tmp_path):
    monkeypatch.setenv("SAGSGANG_VAR_DIR", str(tmp_path))
    link = os.link

    def another_process_links_first(source, target):
        Path(target).write_text("the key of the process that won")
        link(source, target)  # raises FileExistsError, as it would in the real race

    monkeypatch.setattr(settings_module.os, "link", another_process_links_first)
    assert secret_key() == "the key of the process that won"
    assert os.listdir(tmp_path) == ["secret_key"]  # its own draft is gone
