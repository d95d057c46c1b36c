"""The Følg uden konto pages in a real Chromium, checked by axe-core as tests/test_a11y.py
checks the demo's pages (WCAG 2.1 AA at 1280 and 320 px): the form, the form refused with
its message next to the field, and the confirmation link's page. A person's way through:
the labels are what the keyboard and a screen reader reach."""

import pytest
from servers import app_in_thread
from test_a11y import axe
from test_browser import browser_type_launch_args  # noqa: F401  (a fixture)

from cases.db import make_engine, write_session
from cases.models import utcnow
from notifications import citizens
from notifications.email import confirm_token

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_sqlite):
    url = migrated_sqlite(tmp_path_factory.mktemp("foelg") / "foelg.db")
    engine = make_engine(url)
    with write_session(engine) as session:
        row = citizens.sign_up(session, email="borger@example.org", phrase="Kildedal",
                               now=utcnow())
    engine.dispose()
    with app_in_thread(url) as base:
        yield base, f"/offentlig/foelg/bekraeft/{confirm_token(row.id)}"


def problems_at_both_widths(page) -> list[str]:
    found = []
    for width in (1280, 320):
        page.set_viewport_size({"width": width, "height": 900})
        found += axe(page, f"{page.url} @{width}")
        if page.evaluate("document.documentElement.scrollWidth") > width:
            found.append(f"{page.url} @{width}: scrolls sideways")
    return found


def test_the_follow_pages_pass_axe_and_the_refusal_sits_at_its_field(browser, site):
    base, confirm_path = site
    context = browser.new_context(bypass_csp=True)  # only the test's own axe is let in
    page = context.new_page()
    page.goto(f"{base}/offentlig/foelg?organ=SU")
    problems = problems_at_both_widths(page)
    page.get_by_label("Din e-mailadresse").fill("ikke-en-adresse@")
    page.get_by_label("Søgeord (valgfrit)").fill("Vestvolden")
    # The browser's own check of type=email would stop the form: the server's is tested.
    page.evaluate("document.querySelector('form.card').noValidate = true")
    page.get_by_role("button", name="Tilmeld").click()
    page.wait_for_load_state()
    email = page.get_by_label("Din e-mailadresse")
    assert email.get_attribute("aria-invalid") == "true"
    described = page.locator(f"#{email.get_attribute('aria-describedby')}")
    assert "er ikke en gyldig e-mailadresse" in described.inner_text()
    assert page.get_by_label("Søgeord (valgfrit)").input_value() == "Vestvolden"
    assert page.get_by_label("Udvalg").input_value() == "SU"
    problems += problems_at_both_widths(page)
    page.goto(base + confirm_path)
    problems += problems_at_both_widths(page)
    page.get_by_role("button", name="Bekræft").click()
    page.wait_for_load_state()
    assert "Nu får borger@example.org e-mails om søgeordet »Kildedal«" in page.content()
    problems += problems_at_both_widths(page)
    context.close()
    assert problems == []
