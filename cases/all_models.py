"""Imports every table module so that SQLModel.metadata knows all tables (Alembic, tests)."""

import cases.models  # noqa: F401
import meetings.models  # noqa: F401
import notifications.models  # noqa: F401
import web.models  # noqa: F401
