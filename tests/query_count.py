"""Counting the SQL statements something sends: the tests that a page or a rule costs the same
queries however many rows it shows."""

import sqlalchemy as sa


def queries_during(ask, engine=sa.engine.Engine) -> tuple[int, object]:
    """How many statements `ask()` sent through `engine` (by default any engine, such as the
    web app's own), and what it returned."""
    run = []

    def count(*args):
        run.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        result = ask()
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    return len(run), result
