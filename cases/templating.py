"""The one Jinja2 environment for documents, emails and web pages (templates/).

Autoescaping is on for .html/.xml (and for any template rendered from a string via
`render_html`), and an undefined variable is an error, not an empty string.
"""

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cases.dates import format_date, format_instant
from cases.settings import PROJECT_DIR, current_organisation
from workflow.machine import TRIGGER_LABELS

TEMPLATES_DIR = PROJECT_DIR / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["dato"] = format_date
    env.filters["tidspunkt"] = format_instant
    env.filters["tilstand"] = lambda state: current_organisation().state_label(state)
    env.filters["handling"] = lambda trigger: TRIGGER_LABELS.get(trigger, trigger)
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
