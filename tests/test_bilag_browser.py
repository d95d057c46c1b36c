"""In a real headless Chromium: a case owner attaches a PDF on the case page's form (a real
multipart upload from the browser's file input), and the link on the page serves that file
byte for byte. The app runs in its own process (tests/servers.py WebServer)."""

import os

import pytest
from bilag_samples import pdf_with_text
from live_web import live_site
from web_fixtures import ROLE_USERS, make_case

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]

CHROMIUM = os.environ.get("SAGSGANG_CHROMIUM", "/usr/bin/chromium")
OWNER = ROLE_USERS["case_owner"]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync"]}


def test_a_case_owner_attaches_a_pdf_in_the_browser_and_its_link_serves_it(
        page, tmp_path, migrated_sqlite):
    content = pdf_with_text("Danmarkskort over kommunens tilbud")
    upload = tmp_path / "Danmarkskort – bilag 1.pdf"
    upload.write_bytes(content)
    with live_site(tmp_path, migrated_sqlite) as (server, engine):
        number = make_case(engine, owner_email=f"{OWNER[0]}@demo.sagsgang.invalid")
        page.goto(f"{server.url}/login")
        page.fill("input[name=username]", OWNER[0])
        page.fill("input[name=password]", OWNER[1])
        page.click("button:has-text('Log ind')")
        page.wait_for_url(f"{server.url}/**")
        page.goto(f"{server.url}/sager/{number}")
        page.click("summary:has-text('Vedhæft en fil')")
        form = page.locator(f"form[action='/sager/{number}/bilag']")
        form.locator("input[name=title]").fill("Danmarkskortet")
        form.locator("input[type=file]").set_input_files(str(upload))
        form.locator("input[name=recommended]").check()
        form.locator("button:has-text('Vedhæft')").click()
        page.wait_for_url(f"{server.url}/sager/{number}")
        assert "Bilaget «Danmarkskortet» er vedhæftet." in page.inner_text(".flash-ok")
        link = page.locator("a:has-text('Danmarkskortet')")
        assert "(anbefales)" in page.inner_text("#bilag + ul")
        served = page.request.get(f"{server.url}{link.get_attribute('href')}")
        assert served.status == 200 and served.body() == content
        assert served.headers["content-type"] == "application/pdf"
        assert "filename*=UTF-8''Danmarkskort%20%E2%80%93%20bilag%201.pdf" in \
            served.headers["content-disposition"]
