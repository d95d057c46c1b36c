"""The migration history: one line from an empty database to the models, every step
reversible, and no version script that depends on today's application code."""

import ast
import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

# Every table module, for the comparison with the models.
import cases.models  # noqa: F401
import meetings.models  # noqa: F401
import notifications.models  # noqa: F401
from cases.db import MIGRATIONS_DIR, alembic_config, make_engine, migrate
from cases.settings import PROJECT_DIR

VERSIONS_DIR = MIGRATIONS_DIR / "versions"
# The project's own packages (cases, meetings, web, ...), whatever they are named today.
APPLICATION = {init.parent.name for init in PROJECT_DIR.glob("*/__init__.py")}
# What a version script may import besides the standard library.
ALLOWED = {"alembic", "sqlalchemy", "sqlmodel.sql.sqltypes"}


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def schema_diff(url: str) -> list:
    """What autogenerate would change to make the database match the models (Alembic's
    default comparison: tables, columns, types, nullability, indexes, constraints).

    Server defaults are not compared: the migrations that added `case.last_seq`,
    `case.notified_seq` and `agenda_publication.late_reason` give them one, to fill the rows
    that existed before; the models give the same value from Python. The search index
    (search_fts*) has no model: the migration alone makes it."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"include_name": meetings.models.made_by_migration_only})
            return compare_metadata(context, SQLModel.metadata)
    finally:
        engine.dispose()


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def imported_modules(source: str) -> set[str]:
    """Every module a Python source imports, anywhere in it (also inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def disallowed_imports(source: str) -> set[str]:
    return {name for name in imported_modules(source)
            if name.split(".")[0] not in sys.stdlib_module_names
            and not any(name == allowed or name.startswith(allowed + ".") for allowed in ALLOWED)}


def config_without_history(tmp_path):
    """The migrations' environment with an empty history of its own: a new revision is
    written to tmp_path and starts from nothing."""
    config = alembic_config(f"sqlite:///{tmp_path / 'empty.db'}")
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(tmp_path))
    return config


def test_the_history_is_one_line_numbered_in_order():
    directory = scripts()
    assert len(directory.get_heads()) == 1, directory.get_heads()
    assert len(directory.get_bases()) == 1, directory.get_bases()
    line = list(reversed(list(directory.walk_revisions())))  # from the first to the last
    for number, script in enumerate(line, start=1):
        assert not script.is_branch_point and not script.is_merge_point, script.revision
        assert script.revision.startswith(f"{number:04d}_"), script.revision
        assert script.path.endswith(f"/{script.revision}.py"), script.path
    assert len(line) == len(list(VERSIONS_DIR.glob("*.py")))


def test_migrating_an_empty_database_gives_the_models(empty_url):
    migrate(empty_url)
    assert schema_diff(empty_url) == []
    # The same comparison through env.py, as a developer's `alembic check` makes it.
    command.check(alembic_config(empty_url))


def test_every_step_goes_down_and_up_again_and_the_line_down_to_nothing(empty_url):
    config = alembic_config(empty_url)
    for script in reversed(list(scripts().walk_revisions())):
        command.upgrade(config, script.revision)
        command.downgrade(config, "-1")
        command.upgrade(config, script.revision)
    assert schema_diff(empty_url) == []
    command.downgrade(config, "base")
    assert tables(empty_url) == {"alembic_version"}
    engine = make_engine(empty_url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "sqlite":
                leftovers = connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type IN ('index', 'trigger') "
                    "AND name NOT LIKE 'sqlite_autoindex_%'").all()
            else:
                leftovers = connection.exec_driver_sql(
                    "SELECT proname FROM pg_proc JOIN pg_namespace n ON n.oid = pronamespace "
                    "WHERE nspname = 'public'").all()
        assert leftovers == []
    finally:
        engine.dispose()
    migrate(empty_url)
    assert schema_diff(empty_url) == []


@pytest.mark.parametrize("path", sorted(VERSIONS_DIR.glob("*.py")), ids=lambda path: path.name)
def test_a_version_script_imports_no_application_code(path):
    assert disallowed_imports(path.read_text()) == set()


def test_a_new_version_script_imports_no_application_code(tmp_path):
    script = command.revision(config_without_history(tmp_path), "new", rev_id="0001_new")
    assert disallowed_imports(open(script.path).read()) == set()


def test_autogenerate_writes_the_models_without_application_types(tmp_path):
    """A script autogenerated from the models (here: from an empty database, so every table)
    names the plain SQLAlchemy types, not UTCDateTime or SQLModel's AutoString."""
    script = command.revision(config_without_history(tmp_path), "all", autogenerate=True,
                              rev_id="0001_all")
    source = open(script.path).read()
    assert disallowed_imports(source) == set()
    assert "sa.DateTime(timezone=True)" in source
    for table in SQLModel.metadata.tables:
        assert f"op.create_table('{table}'" in source, table


def test_upgrading_imports_no_application_module(tmp_path):
    """The plain upgrade path (the Alembic command, without migrate()) runs on a Python that
    never loads the application: an old migration must run whatever the models are today."""
    program = (
        "import sys\n"
        "from alembic import command\n"
        "from alembic.config import Config\n"
        "config = Config()\n"
        f"config.set_main_option('script_location', {str(MIGRATIONS_DIR)!r})\n"
        f"config.set_main_option('sqlalchemy.url', 'sqlite:///{tmp_path / 'plain.db'}')\n"
        "command.upgrade(config, 'head')\n"
        "command.downgrade(config, '-1')\n"
        "command.upgrade(config, 'head')\n"
        f"print(sorted({{name.split('.')[0] for name in sys.modules}} & {APPLICATION!r}))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                            cwd=tmp_path, check=True)
    assert result.stdout.strip() == "[]"
    assert "alembic_version" in tables(f"sqlite:///{tmp_path / 'plain.db'}")
