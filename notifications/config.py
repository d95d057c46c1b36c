"""The reminder rules in force: read from the organisation file the settings name.

The rules themselves (notifications.rules) are pure; reading the file and the environment
happens here, one layer up.
"""

import tomllib
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

from cases.settings import get_settings
from notifications.rules import ReminderRules, parse_rules


def load_rules(path: Path) -> ReminderRules:
    with open(path, "rb") as f:
        return parse_rules(tomllib.load(f))


@lru_cache(maxsize=4)
def _cached_rules(path: Path) -> ReminderRules:
    return load_rules(path)


def current_rules() -> ReminderRules:
    """The reminder rules of this process's organisation file (SAGSGANG_ORGANISATION), with
    office hours as SAGSGANG_OFFICE_HOURS_ONLY says, when it is set."""
    settings = get_settings()
    rules = _cached_rules(settings.organisation_file)
    if settings.office_hours_only is not None:
        rules = replace(rules, office_hours_only=settings.office_hours_only)
    return rules
