"""The one settings object: every setting of every process (CLI, web, Celery) comes from the
environment through `get_settings()`, with embedded defaults for a fresh machine.

The environment is read and checked once, when a process starts (the CLI, `create_app`,
celeryconfig): a bad value stops the process with a Danish message naming the variable,
never a stack trace and never a guess.
"""

import os
import re
import secrets
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from cases.dates import COPENHAGEN
from cases.organisation import Organisation, load_organisation

PROJECT_DIR = Path(__file__).resolve().parent.parent


class SettingsError(SystemExit):
    """A setting in the environment is malformed. A SystemExit, so that wherever it is first
    read, the process ends with the message alone; the CLI prefixes it like its other errors."""


class Settings(BaseSettings):
    # The variable names are exact (as the shell and the service files spell them); an empty
    # variable counts as unset, as `VAR= command` means "no value" to most people.
    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True,
                                      extra="ignore", frozen=True)

    # Where the files of a running installation go; declared first, the defaults below use it.
    var_dir: Path = Field(PROJECT_DIR / "var", validation_alias="SAGSGANG_VAR_DIR")
    database_url: str | None = Field(None, validation_alias="DATABASE_URL",
                                     validate_default=True)
    broker_url: str | None = Field(None, validation_alias="SAGSGANG_BROKER_URL",
                                   validate_default=True)
    organisation_file: Path = Field(PROJECT_DIR / "config" / "ballerup.toml",
                                    validation_alias="SAGSGANG_ORGANISATION")
    # Base address of links in emails and feeds.
    site_url: str = Field("http://127.0.0.1:8000", validation_alias="SAGSGANG_SITE_URL")

    # Mail
    smtp_host: str = Field("127.0.0.1", validation_alias="SAGSGANG_SMTP_HOST")
    smtp_port: int = Field(8025, ge=1, le=65535, validation_alias="SAGSGANG_SMTP_PORT")
    mail_from: str = Field("Sagsgang <sagsgang@localhost>", validation_alias="SAGSGANG_MAIL_FROM")

    # Web. The key signs session cookies and unsubscribe links; unset, secret_key() makes one.
    secret_key: str | None = Field(None, min_length=32, repr=False,
                                   validation_alias="SAGSGANG_SECRET_KEY")
    # Send the session cookie over HTTPS only: unset, on exactly when the site URL is https.
    secure_cookies: bool | None = Field(None, validation_alias="SAGSGANG_SECURE_COOKIES",
                                        validate_default=True)
    # Reminders only in office hours: unset, as the organisation file's [reminders] says;
    # `sagsgang run` with its own mail sink (the demo) sets it false: mail goes out at once.
    office_hours_only: bool | None = Field(None, validation_alias="SAGSGANG_OFFICE_HOURS_ONLY")
    session_hours: int = Field(12, gt=0, validation_alias="SAGSGANG_SESSION_HOURS")
    # Database connections per process: each web request holds one for its whole life, and
    # waits at most this long for one before it is answered "try again" (503). As many as the
    # web server's worker threads (40, anyio's default), so a request waits for a thread (in
    # turn, without a time limit) rather than for a connection.
    db_pool_size: int = Field(40, ge=1, le=500, validation_alias="SAGSGANG_DB_POOL_SIZE")
    db_pool_timeout_seconds: float = Field(10.0, gt=0,
                                           validation_alias="SAGSGANG_DB_POOL_TIMEOUT_SECONDS")
    # A login not used for this long ends (web.auth); the login window throttles wrong
    # passwords (web.logins). Minutes, fractions allowed (the tests use seconds' worth).
    session_idle_minutes: float = Field(60.0, gt=0,
                                        validation_alias="SAGSGANG_SESSION_IDLE_MINUTES")
    login_window_minutes: float = Field(15.0, gt=0,
                                        validation_alias="SAGSGANG_LOGIN_WINDOW_MINUTES")
    # Single sign-on by OpenID Connect (web.oidc): issuer and client id override the
    # organisation file's [oidc]; the redirect URI is SAGSGANG_SITE_URL + /login/oidc/svar.
    # Local passwords can be turned off once everyone logs in through the provider.
    oidc_issuer: str | None = Field(None, validation_alias="SAGSGANG_OIDC_ISSUER")
    oidc_client_id: str | None = Field(None, validation_alias="SAGSGANG_OIDC_CLIENT_ID")
    oidc_client_secret: str | None = Field(None, repr=False,
                                           validation_alias="SAGSGANG_OIDC_CLIENT_SECRET")
    local_login: bool = Field(True, validation_alias="SAGSGANG_LOCAL_LOGIN")

    # Bilag (cases.files): the largest file taken, and where files are kept: "folder" (a
    # folder, by default under the var dir; shared by several web servers only on a shared
    # disk) or "database" (a table in the database, for several web servers).
    max_attachment_mb: int = Field(25, ge=1, le=1000, validation_alias="SAGSGANG_MAX_ATTACHMENT_MB")
    attachment_store: str = Field("folder", pattern="^(folder|database)$",
                                  validation_alias="SAGSGANG_ATTACHMENT_STORE")
    attachment_dir: Path | None = Field(None, validation_alias="SAGSGANG_ATTACHMENT_DIR",
                                        validate_default=True)
    # The product's clock (cases.clock): unset, the real time. A day (2022-10-04) sets the
    # clock to that day, running on; an instant (2022-10-04T10:00) stops it there. `sagsgang
    # --today` sets it for one command.
    today: date | datetime | None = Field(None, validation_alias="SAGSGANG_TODAY")
    # The dashboard's "no movement for N weeks".
    stale_weeks: int = Field(6, ge=1, validation_alias="SAGSGANG_STALE_WEEKS")

    # Operations (web.ops, cases.logs): who may read /metrics (client addresses or networks,
    # comma-separated, and/or a bearer token); log lines as text or one JSON object each.
    metrics_allow: str = Field("127.0.0.1,::1", validation_alias="SAGSGANG_METRICS_ALLOW")
    metrics_token: str | None = Field(None, min_length=16, repr=False,
                                      validation_alias="SAGSGANG_METRICS_TOKEN")
    log_format: Literal["text", "json"] = Field("text", validation_alias="SAGSGANG_LOG_FORMAT")
    # The open data (/oparl/v1): requests a client address may make per minute (web.oparl).
    oparl_requests_per_minute: int = Field(
        300, ge=1, le=100_000, validation_alias="SAGSGANG_OPARL_REQUESTS_PER_MINUTE")

    # How beat, the sweep and the workers pace themselves (notifications.outbox.Timing).
    sweep_seconds: float = Field(30.0, gt=0, validation_alias="SAGSGANG_SWEEP_SECONDS")
    plan_seconds: float = Field(600.0, gt=0, validation_alias="SAGSGANG_PLAN_SECONDS")
    sweep_batch: int = Field(200, ge=1, validation_alias="SAGSGANG_SWEEP_BATCH")
    task_size: int = Field(10, ge=1, validation_alias="SAGSGANG_TASK_SIZE")
    queue_timeout_seconds: float = Field(600.0, gt=0,
                                         validation_alias="SAGSGANG_QUEUE_TIMEOUT_SECONDS")
    send_timeout_seconds: float = Field(300.0, gt=0,
                                        validation_alias="SAGSGANG_SEND_TIMEOUT_SECONDS")
    retry_base_seconds: float = Field(60.0, gt=0, validation_alias="SAGSGANG_RETRY_BASE_SECONDS")
    retry_max_seconds: float = Field(3600.0, gt=0, validation_alias="SAGSGANG_RETRY_MAX_SECONDS")
    max_attempts: int = Field(8, ge=1, validation_alias="SAGSGANG_MAX_ATTEMPTS")
    smtp_timeout_seconds: float = Field(30.0, gt=0,
                                        validation_alias="SAGSGANG_SMTP_TIMEOUT_SECONDS")

    @field_validator("database_url")
    @classmethod
    def _database_under_var_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value or "var_dir" not in info.data:
            return value
        return f"sqlite:///{info.data['var_dir'] / 'sagsgang.db'}"

    @field_validator("broker_url")
    @classmethod
    def _broker_under_var_dir(cls, value: str | None, info: ValidationInfo) -> str | None:
        # The embedded SQLite broker lets `make run` work without a Redis server.
        if value or "var_dir" not in info.data:
            return value
        return f"sqla+sqlite:///{info.data['var_dir'] / 'broker.db'}"

    @field_validator("attachment_dir")
    @classmethod
    def _attachments_under_var_dir(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value or "var_dir" not in info.data:
            return value
        return info.data["var_dir"] / "bilag"

    @field_validator("today", mode="before")
    @classmethod
    def _day_or_instant(cls, value):
        return parse_today(value) if isinstance(value, str) else value

    @field_validator("site_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("secure_cookies")
    @classmethod
    def _secure_behind_https(cls, value: bool | None, info: ValidationInfo) -> bool | None:
        # Declared after site_url, so that one is read first.
        if value is not None or "site_url" not in info.data:
            return value
        return info.data["site_url"].lower().startswith("https://")


_PROBLEMS = {
    "int_parsing": "skal være et helt tal",
    "int_from_float": "skal være et helt tal",
    "float_parsing": "skal være et tal",
    "bool_parsing": "skal være true eller false",
    "greater_than": "skal være større end {gt}",
    "greater_than_equal": "skal være mindst {ge}",
    "less_than_equal": "må højst være {le}",
    "string_too_short": "skal være mindst {min_length} tegn",
    "string_pattern_mismatch": "skal være folder eller database",
    "literal_error": "skal være {expected}",
    "today": "skal være en dag som 2022-10-04 eller 04-10-2022, eller et tidspunkt som "
             "2022-10-04T10:00",
}

_DAY = re.compile(r"(\d{4})-(\d\d)-(\d\d)|(\d\d)-(\d\d)-(\d{4})", re.ASCII)


def parse_today(raw: str) -> date | datetime:
    """SAGSGANG_TODAY: a day, or an instant (Copenhagen time unless it has an offset)."""
    text = raw.strip()
    try:
        if found := _DAY.fullmatch(text):
            year, month, day = (found[1], found[2], found[3]) if found[1] else \
                (found[6], found[5], found[4])
            return date(int(year), int(month), int(day))
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise PydanticCustomError("today", "not a day or an instant") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=COPENHAGEN)
    return instant.astimezone(UTC)


def _danish(error: dict) -> str:
    name = error["loc"][0] if error["loc"] else "?"
    problem = _PROBLEMS.get(error["type"], "er ugyldig").format(**error.get("ctx", {}))
    problem = problem.replace("' or '", "' eller '")  # pydantic's list of allowed values
    field = next((f for f in Settings.model_fields.values() if f.validation_alias == name), None)
    # A secret is never echoed back, not even a wrong one.
    got = f"{len(error['input'])} tegn" if field and not field.repr else repr(error["input"])
    return f"Indstillingen {name} {problem} (fik {got})."


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process, read from the environment once. Tests that change the
    environment call `get_settings.cache_clear()` (tests/conftest.py does, around each test)."""
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError("\n".join(_danish(e) for e in error.errors())) from None


def load_settings() -> Settings:
    """Read the environment afresh and check it: what a process does when it starts."""
    get_settings.cache_clear()
    return get_settings()


def secret_key() -> str:
    """SAGSGANG_SECRET_KEY, or a key generated once for this installation and kept in the var
    directory, shared by the web application and the workers (the unsubscribe links the
    workers sign must verify in the web application).

    A generated key keeps a development machine working across restarts without a key ever
    being committed. Processes starting together may race to make it: each writes a key of
    its own to a private file and links it into place, which only one link can win, so no
    process ever reads a half-written or different key.
    """
    settings = get_settings()
    if settings.secret_key:
        return settings.secret_key
    path = settings.var_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
            os.link(draft, path)
        except FileExistsError:
            pass  # another process linked its key first: that one is the key
        finally:
            draft.unlink()
    return path.read_text().strip()


@lru_cache(maxsize=4)
def _organisation_at(path: Path) -> Organisation:
    return load_organisation(path)


def current_organisation() -> Organisation:
    """The organisation configured for this process (SAGSGANG_ORGANISATION). Cached by its
    path: every action asks, and parsing the file costs more than the action's own checks."""
    return _organisation_at(get_settings().organisation_file)
