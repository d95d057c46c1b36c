"""Login throttling: a few wrong passwords are free; after that each further try waits, twice
as long after each wrong password, never longer than the window (SAGSGANG_LOGIN_WINDOW_MINUTES,
15 minutes). Counted per account (the username typed, also one nobody has) and per client
address, so guessing one person's password and trying one password on many people are both
slowed down.

Nobody is locked out for good: a refused try is not counted (there is nothing to count: its
password is not even checked), so the wait always ends, and a window after the last wrong
password the account is free again. A right password clears the account's count.

The wrong passwords are rows in the database (web_login_failure), not in memory: every web
worker process, and every server, counts the same ones. Two tries at the same moment may both
be checked before either is counted; that lets one more try through, never fewer.
"""

import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import Request
from sqlmodel import Session, select

from cases.models import LoginFailure
from cases.settings import get_settings

ACCOUNT_FREE = 5  # wrong passwords for one account within the window before waits begin
ADDRESS_FREE = 20  # from one address (an office behind one address has many people)
FIRST_WAIT = timedelta(seconds=30)  # after the first try that is over, then doubled


def window() -> timedelta:
    return timedelta(minutes=get_settings().login_window_minutes)


def client_address(request: Request) -> str:
    """The client's address. Behind a reverse proxy this is the one it forwards
    (uvicorn trusts X-Forwarded-For from the addresses in FORWARDED_ALLOW_IPS)."""
    return (request.client.host if request.client else "")[:64]


def _account(username: str) -> str:
    return (username or "").strip().lower()[:100]


def wait_seconds(session: Session, username: str, address: str, now: datetime) -> int:
    """How many seconds until this account may try again from this address; 0: now."""
    since = now - window()
    waits = [_wait(session, LoginFailure.username == _account(username), ACCOUNT_FREE,
                   since, now),
             _wait(session, LoginFailure.address == address, ADDRESS_FREE, since, now)]
    return max(waits)


def _wait(session: Session, which, free: int, since: datetime, now: datetime) -> int:
    count, latest = session.exec(select(sa.func.count(), sa.func.max(LoginFailure.at))
                                 .where(which, LoginFailure.at > since)).one()
    if count < free:
        return 0
    wait = min(FIRST_WAIT * 2 ** (count - free), window())
    return max(0, math.ceil((latest + wait - now).total_seconds()))


def record_failure(session: Session, username: str, address: str, now: datetime) -> None:
    """Count a wrong password; forget those that have left the window."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.at <= now - window()))
    session.add(LoginFailure(username=_account(username), address=address, at=now))
    session.flush()


def forget_account(session: Session, username: str) -> None:
    """The right password: the account starts afresh (its address's count stays)."""
    session.execute(sa.delete(LoginFailure).where(LoginFailure.username == _account(username)))


def wait_message(seconds: int) -> str:
    """The Danish refusal."""
    return f"For mange forkerte forsøg på at logge ind. Prøv igen om {duration_text(seconds)}."


def duration_text(seconds: int) -> str:
    """A wait in Danish: in seconds up to two minutes, then in whole minutes."""
    if seconds < 120:
        return "1 sekund" if seconds == 1 else f"{seconds} sekunder"
    return f"{math.ceil(seconds / 60)} minutter"
