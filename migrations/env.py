"""Alembic environment: the URL comes from cases.db.alembic_config (DATABASE_URL)."""

from alembic import context
from sqlmodel import SQLModel

# Every table module, so that SQLModel.metadata knows all tables (autogenerate compares it).
import cases.models  # noqa: F401
import meetings.models  # noqa: F401
import notifications.models  # noqa: F401
from cases.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
