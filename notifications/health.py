"""Is this installation ready to serve? The checks behind `/readyz` and `sagsgang check`:
the database answers, its schema is at the migrations' head, the broker (Redis) and the
SMTP server accept a connection. One place for them, so the probe and the pre-deploy check
can never disagree.

Each check has a short timeout: a readiness probe must answer quickly, also when a part
hangs instead of refusing.
"""

import smtplib
from dataclasses import dataclass

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from cases.db import alembic_config
from cases.settings import get_settings

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class Check:
    name: str  # "database", "skema", "kø", "smtp": the key in /readyz's answer
    problem: str | None  # what is wrong, in Danish, safe to show anyone; None when fine
    detail: str = ""  # the error itself (addresses, driver messages): for the operator only

    @property
    def ok(self) -> bool:
        return self.problem is None


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def check_database(engine: sa.Engine) -> list[Check]:
    """The database answers, and its schema is the one this code was written for."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return [Check("database", "Databasen kan ikke nås.", _reason(error)),
                Check("skema", "Databasens skema kan ikke læses.", "")]
    url = engine.url.render_as_string(hide_password=False)
    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    schema = None if current == heads else (
        "Databasens skema er ikke opdateret (kør `sagsgang init-db`).")
    return [Check("database", None),
            Check("skema", schema, f"databasen: {sorted(current)}, koden: {sorted(heads)}")]


def check_broker(url: str | None = None) -> Check:
    """The broker accepts a connection (Redis in production, the embedded one otherwise)."""
    from kombu import Connection  # here: every command imports this module, few need kombu

    url = url or get_settings().broker_url
    try:
        with Connection(url, connect_timeout=TIMEOUT_SECONDS,
                        transport_options={"socket_timeout": TIMEOUT_SECONDS}) as connection:
            connection.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
            connection.default_channel  # noqa: B018 - Redis is only asked when a channel opens
    except Exception as error:  # noqa: BLE001
        return Check("kø", "Køen (Redis) kan ikke nås.", _reason(error))
    return Check("kø", None)


def check_smtp(host: str | None = None, port: int | None = None) -> Check:
    """The mail server greets us and answers NOOP (nothing is sent)."""
    settings = get_settings()
    host, port = host or settings.smtp_host, port or settings.smtp_port
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS) as smtp:
            code, _ = smtp.noop()
            if code != 250:
                raise smtplib.SMTPResponseException(code, "NOOP refused")
    except (OSError, smtplib.SMTPException) as error:  # a timeout is an OSError
        return Check("smtp", "Mailserveren kan ikke nås.", f"{host}:{port}: {_reason(error)}")
    return Check("smtp", None)


def readiness(engine: sa.Engine) -> list[Check]:
    """Every check, in the order a person would fix them."""
    return [*check_database(engine), check_broker(), check_smtp()]
