"""API tokens for systems and the secret of a person's private calendar address."""

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.clock import wall_now
from cases.models import ApiToken, FeedToken, User
from cases.schemas import checked_text
from web.passwords import new_token, token_hash
from workflow.errors import InvalidInput, NotFound


def new_api_token(session: Session, user_id: int, name: str) -> str:
    """Make a token; return it in clear text (shown once, only its hash is kept)."""
    name = checked_text(name, "API-nøglens navn", max_length=200)
    if not name:
        raise InvalidInput("Giv API-nøglen et navn (1-200 tegn), fx systemets navn.")
    token = "sg_" + new_token()
    session.add(ApiToken(user_id=user_id, name=name, token_hash=token_hash(token),
                         created_at=wall_now()))
    session.flush()
    return token


def api_tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id)
                             .order_by(ApiToken.created_at)))


def revoke_api_token(session: Session, user_id: int, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFound("API-nøglen findes ikke.")
    row.revoked_at = row.revoked_at or wall_now()
    session.add(row)


def revoke_api_tokens(session: Session, user_id: int) -> None:
    """Revoke every API key of the user still in force (a new password, deactivation,
    reactivation: web.users.end_sessions). The page lists them as revoked."""
    session.execute(sa.update(ApiToken).where(ApiToken.user_id == user_id,
                                              ApiToken.revoked_at.is_(None))
                    .values(revoked_at=wall_now()))


def new_feed_token(session: Session, user_id: int) -> str:
    """A new private calendar secret for the user; the old address stops working."""
    token = new_token()
    row = session.get(FeedToken, user_id)
    if row is None:
        row = FeedToken(user_id=user_id, token_hash="", created_at=wall_now())
    row.token_hash = token_hash(token)
    row.created_at = wall_now()
    session.add(row)
    session.flush()
    return token


def feed_owner(session: Session, token: str) -> User | None:
    row = session.exec(select(FeedToken).where(FeedToken.token_hash == token_hash(token))).first()
    user = session.get(User, row.user_id) if row else None
    return user if user and user.active else None
