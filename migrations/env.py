"""Alembic environment.

Upgrading and downgrading run the version scripts alone, so that an old migration still runs
whatever the models look like today: nothing on that path imports the application.
`cases.db.migrate()` hands over its own connection (the application's SQLite settings);
any other caller gets an engine from the configured URL. Only autogenerate
(`alembic revision --autogenerate`, `alembic check`) compares the database with the models,
so only it imports them.
"""

import sqlalchemy as sa
from alembic import context

config = context.config


def models_metadata() -> sa.MetaData:
    # Imported here, not at the top: only autogenerate needs the models.
    from sqlmodel import SQLModel

    # Every table module, so that the metadata knows all tables.
    import cases.models  # noqa: F401
    import meetings.models  # noqa: F401
    import notifications.models  # noqa: F401

    return SQLModel.metadata


def render_item(type_, obj, autogen_context):
    """Writes the application's column types (UTCDateTime, SQLModel's AutoString) as the plain
    SQLAlchemy types they are stored as, so that a new version script imports no application
    code."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_migrations(connection: sa.Connection) -> None:
    context.configure(connection=connection, render_item=render_item,
                      render_as_batch=connection.dialect.name == "sqlite")
    migration_context = context.get_context()
    # Alembic hands a revision context only to `revision` and `check`, the commands that
    # autogenerate. Should that ever change, autogenerate stops with "does not provide a
    # MetaData object" (the migration tests run `check`), it never compares against nothing.
    if "revision_context" in migration_context.opts:
        migration_context.opts["target_metadata"] = models_metadata()
        from meetings.models import made_by_migration_only  # the search index: no model

        migration_context.opts["include_name"] = made_by_migration_only
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url"), poolclass=sa.NullPool)
    with engine.connect() as connection:
        run_migrations(connection)
    engine.dispose()


run_migrations_online()
