"""WCAG 2.1 AA in a real Chromium: every kind of page of the demo, for every demo user and
for the public, checked by axe-core (npm, `make test` runs `npm ci`), at 1280 px and at
320 px, where nothing may scroll sideways (reflow); the skip link is the first stop of the
keyboard and moves it to the content. A screenshot of each page goes under the test run's
output folder (`--output`, default test-results/a11y/) for a person to look at.

Pages of the same kind (a case, a meeting: digits and case numbers aside) are checked for
two of each, so the run stays short while every template and state of the demo is seen.
"""

import re
from collections import deque
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from servers import app_in_thread
from test_browser import browser_type_launch_args  # noqa: F401  (a fixture)
from test_words import ELSEWHERE, SKIP

from demo.cases import load_demo
from demo.users import DEMO_USERS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]

AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PER_KIND = 2
WIDTHS = (1280, 320)


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, migrated_sqlite):

    if not AXE.exists():
        pytest.fail("axe-core is missing: run `npm ci` in the project folder (make test does)")
    url = migrated_sqlite(tmp_path_factory.mktemp("a11y") / "demo.db")
    assert load_demo(url).loaded
    with app_in_thread(url) as base:
        yield base


def kind(path: str) -> str:
    """/sager/SU-20221004-05 and /sager/26-101 are one kind of page; /moeder/3 and /moeder/7."""
    path = urlsplit(path).path
    return re.sub(r"/[^/]*\d[^/]*", "/N", path)


def axe(page, where: str) -> list[str]:
    if not page.evaluate("() => typeof axe !== 'undefined'"):  # once per page loaded
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           TAGS)
    return [f"{where}: {v['id']} ({v['help']}) at "
            + ", ".join(str(n["target"]) for n in v["nodes"][:3]) for v in result["violations"]]


def check(page, path: str, shots: Path, who: str) -> list[str]:
    """axe's violations on the loaded page at each width, and sideways scrolling at 320 px.
    The width changes without loading the page again, as zooming in to 400 % does (WCAG
    1.4.10 Reflow: 1280 px at 400 % is 320 CSS px)."""
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        problems += axe(page, f"{path} @{width}")
        if width == 320:
            wide = page.evaluate("document.documentElement.scrollWidth")
            if wide > 320:
                problems.append(f"{path} @320: scrolls sideways ({wide} px)")
        name = re.sub(r"[^\w-]+", "_", path.strip("/")) or "start"
        page.screenshot(path=str(shots / who / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    return problems


def crawl(page, base: str, start: str, visit, limit: int = 80) -> list[str]:
    """The pages reachable by links from `start`, at most PER_KIND of each kind; `visit(path)`
    is called on each while it is loaded (each page is loaded once)."""
    seen, kinds, found, todo = {start}, {}, [], deque([start])
    while todo and len(found) < limit:
        path = todo.popleft()
        response = page.goto(base + path)
        if response is None or "text/html" not in response.headers.get("content-type", ""):
            continue
        here = page.url.removeprefix(base)
        if here in found:  # a redirect to a page seen already
            continue
        found.append(here)
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        visit(here)
        for href in hrefs:
            target = urljoin(path, href)
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target in seen or any(target.startswith(s) for s in SKIP) \
                    or target.startswith(ELSEWHERE) or target.endswith(".pdf"):
                continue
            seen.add(target)
            if kinds.setdefault(kind(target), 0) >= PER_KIND:
                continue
            kinds[kind(target)] += 1
            todo.append(target)
    return found


def log_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log ind')")
    page.wait_for_load_state()


@pytest.mark.parametrize("username", [u[0] for u in DEMO_USERS] + [None])
def test_every_page_of_the_demo_passes_axe_and_reflows(browser, demo_server, username,
                                                       pytestconfig):
    shots = Path(pytestconfig.getoption("--output")).absolute() / "a11y"
    who = username or "offentlig"
    (shots / who).mkdir(parents=True, exist_ok=True)
    # The app's CSP forbids inline scripts; only the test's own axe is let in.
    context = browser.new_context(bypass_csp=True, viewport={"width": WIDTHS[0], "height": 900})
    page = context.new_page()
    if username:
        password = next(u[1] for u in DEMO_USERS if u[0] == username)
        log_in(page, demo_server, username, password)
    start = "/" if username else "/offentlig"
    problems = []
    paths = crawl(page, demo_server, start,
                  lambda path: problems.extend(check(page, path, shots, who)))
    assert len(paths) >= 3
    context.close()
    assert problems == []


def test_the_skip_link_is_the_first_stop_and_leads_to_the_content(browser, demo_server):
    context = browser.new_context()
    page = context.new_page()
    log_in(page, demo_server, "sekretariat", "sekretariat-demo")
    page.goto(f"{demo_server}/sager/SU-20221004-05")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Gå til indholdet"
    assert page.evaluate("getComputedStyle(document.activeElement).left") != "-999px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "indhold"
    context.close()


def test_a_refused_form_and_a_confirmation_pass_axe_done_by_keyboard(browser, demo_server,
                                                                     pytestconfig):
    """The secretariat adds a deadline with a wrong date and withdraws a case, by keyboard:
    the refused form (message at its field, summary on top) and the confirmation step."""
    from datetime import date

    shots = Path(pytestconfig.getoption("--output")).absolute() / "a11y" / "states"
    shots.mkdir(parents=True, exist_ok=True)
    number = f"{date.today():%y}-106"
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    log_in(page, demo_server, "sekretariat", "sekretariat-demo")
    page.goto(f"{demo_server}/sager/{number}")
    page.focus("#frist-due_date")
    page.keyboard.type("31-02-2031")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.type("Svar til tilsynet")
    with page.expect_navigation():  # the form is sent: wait for its answer, not the old page
        page.keyboard.press("Enter")
    assert page.input_value("#frist-due_date") == "31-02-2031"
    assert page.input_value("#frist-description") == "Svar til tilsynet"
    assert page.get_attribute("#frist-due_date", "aria-describedby") == "frist-due_date-fejl"
    assert "ugyldig dato" in page.inner_text(".error-summary")
    problems = axe(page, "afvist frist")
    page.screenshot(path=str(shots / "afvist-frist.png"), full_page=True)
    page.focus("#handling-withdraw summary")
    page.keyboard.press("Enter")
    page.focus("#handling-withdraw-reason")
    page.keyboard.type("Erstattes af en samlet politik")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "kan ikke genoptages" in page.inner_text("main")
    problems += axe(page, "bekræft tilbagetrækning")
    page.screenshot(path=str(shots / "bekraeft-tilbagetraekning.png"), full_page=True)
    page.focus("button.danger")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{demo_server}/sager/{number}")
    assert page.inner_text("#case-status") == "Trukket tilbage"
    context.close()
    assert problems == []
