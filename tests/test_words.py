"""Danish words everywhere a person reads: every page of the demo, for every demo user and
for the public, is read as a person sees it (its visible text, placeholders and accessible
names), and no internal code (a state, role, action, wording, status or kind) and no English
status word may be in it. Codes inside <code> (a username, say) are names people use."""

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import sqlalchemy as sa
from web_fixtures import anonymous, logged_in

from cases.models import DEADLINE_KINDS, ROLES
from cases.organisation import load_organisation
from cases.settings import PROJECT_DIR
from demo.cases import load_demo
from demo.users import DEMO_USERS
from meetings import models as meeting_models
from notifications.models import STATUSES
from notifications.rules import KINDS
from workflow import decisions
from workflow.machine import STATES, TRIGGER_LABELS

CONFIG = PROJECT_DIR / "config" / "ballerup.toml"
# Codes are lowercase identifiers: found as written (case-sensitive), as whole words.
CODES = {*STATES, *TRIGGER_LABELS, *ROLES, *DEADLINE_KINDS, *KINDS, *STATUSES,
         *(w.code for w in decisions.WORDINGS if "_" in w.code),
         *meeting_models.MEETING_STATUSES, *meeting_models.AGENDA_STATUSES,
         *meeting_models.MINUTES_STATUSES, "case_owner", "hearing_council",
         "standing_committee", "finance_committee"}
# Body codes ("SU") are names people use only where marked so: in <abbr title="...">.
BODY_CODES = {b.code for b in load_organisation(CONFIG).bodies}
CODES |= BODY_CODES
# A wording of one word is Danish ("anbefales"), so are these; every other code is not.
CODES -= {"sent"}
ENGLISH = {"draft", "none", "approval", "published", "pending", "planned", "cancelled",
           "failed", "locked", "demo", "true", "false", "null", "undefined", "state"}
EMAIL = re.compile(r"[\w.+-]+@[\w.-]+")
WORDS = re.compile(r"(?<![\w-])(" + "|".join(sorted(map(re.escape, CODES), key=len,
                                                       reverse=True)) + r")(?![\w-])")
ENGLISH_WORDS = re.compile(r"(?<![\w-])(" + "|".join(ENGLISH) + r")(?![\w-])", re.I)

# Pages reworded on other branches of issue 13 (meeting pages and documents: branch pdf;
# search: branch search). Remove a line here when its branch is merged.
ELSEWHERE: tuple[str, ...] = ()

SKIP = ("/feeds/", "/api", "/static/", "/logout", "/afmeld")


class Visible(HTMLParser):
    """The text a person reads: text nodes, placeholders, aria-labels and titles; not
    scripts, styles, hidden inputs, <code> or <abbr> (its title is read)."""

    HIDDEN = {"script", "style", "code", "template", "abbr"}

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("placeholder", "aria-label", "title", "alt"):
            if attrs.get(name):
                self.parts.append(attrs[name])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden:
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def read(html: str) -> Visible:
    parser = Visible()
    parser.feed(html)
    return parser


def problems(text: str) -> list[str]:
    text = EMAIL.sub("", text)  # an address holds a username
    return sorted({m.group(0) for m in WORDS.finditer(text)}
                  | {m.group(0) for m in ENGLISH_WORDS.finditer(text)})


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory, migrated_sqlite):
    from web.app import create_app

    url = migrated_sqlite(tmp_path_factory.mktemp("words") / "demo.db")
    assert load_demo(url).loaded
    return create_app(url)


def authored(engine) -> list[str]:
    """What people wrote in the cases (their texts, a referat's wording): they may use the
    abbreviations they like ("godkender KMU, ØU og KB"); the check is of our words."""
    with engine.connect() as connection:
        texts = connection.execute(sa.text(
            'SELECT summary || char(10) || background || char(10) || presentation || char(10) '
            '|| economy FROM "case"')).scalars().all()
    lines = {" ".join(line.split()) for text in texts for line in text.splitlines()}
    return sorted((line for line in lines if len(line) > 20), key=len, reverse=True)


def without(text: str, written: list[str]) -> str:
    for line in written:
        text = text.replace(line, " ")
    return text


def crawl(client, start: str = "/", limit: int = 600) -> dict[str, str]:
    """Every page reachable by links from `start`: path → visible text."""
    seen, pages, todo = {start}, {}, deque([start])
    while todo and len(pages) < limit:
        path = todo.popleft()
        response = client.get(path, follow_redirects=True)
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        found = read(response.text)
        pages[path] = " ".join(" ".join(found.parts).split())
        for href in found.links:
            target = urljoin(path, href)
            parts = urlsplit(target)
            if parts.netloc or parts.fragment and not parts.path:
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in seen or any(target.startswith(s) for s in SKIP):
                continue
            seen.add(target)
            todo.append(target)
    return pages


def test_it_finds_codes_in_visible_text():
    """The check itself: the sort of line the issue found, and none in good Danish."""
    assert problems(" ".join(read("<p>Dagsorden: draft · Referat: none</p>").parts)) \
        == ["draft", "none"]
    assert problems("Roller: secretariat, case_owner") == ["case_owner", "secretariat"]
    assert problems("Sendt i høring hos Handicaprådet og Seniorrådet. For sent.") == []
    assert problems(" ".join(read("<td><code>admin</code></td>").parts)) == []


@pytest.mark.parametrize("username", [u[0] for u in DEMO_USERS] + [None])
def test_every_page_of_the_demo_speaks_danish(demo_app, username):
    if username is None:
        client, start = anonymous(demo_app), "/offentlig"
    else:
        password = next(u[1] for u in DEMO_USERS if u[0] == username)
        client, start = logged_in(demo_app, username, password), "/"
    pages = crawl(client, start)
    assert len(pages) > 3
    if username is None:  # the portal: bodies, their years, the accessibility statement
        reached = {path.rstrip("0123456789") for path in pages}
        assert {"/offentlig/organ/SU", "/offentlig/organ/SU/",
                "/offentlig/tilgaengelighed"} <= reached
    written = authored(demo_app.state.engine)
    found = {path: problems(without(text, written)) for path, text in pages.items()
             if not path.startswith(ELSEWHERE)}
    assert {path: words for path, words in found.items() if words} == {}


def test_the_command_line_speaks_danish_too(tmp_path, migrated_sqlite, monkeypatch):
    from click.testing import CliRunner

    from cli.main import cli

    url = migrated_sqlite(tmp_path / "cli.db")
    assert load_demo(url).loaded
    monkeypatch.setenv("DATABASE_URL", url)
    runner = CliRunner()
    for args in (["case", "history", "SU-20221004-11", "--events"], ["bodies"],
                 ["case", "show", "SU-20221004-05"]):
        result = runner.invoke(cli, args)
        assert result.exit_code == 0, result.output
        # Action names (submit, send-back) and body codes (--body SU) are the command line's
        # own words for what is typed into it.
        shown = result.output.split("Mulige handlinger:")[0]
        assert [w for w in problems(shown) if w not in BODY_CODES] == [], args
