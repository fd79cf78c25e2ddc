"""An editor in a real browser: logs in, pins a paper from the paper list and
sees it lead the edition page. Screenshots go to test-artifacts/."""

from pathlib import Path

import pytest
from django.db import connections

from newsletter.models import Paper
from tests.conftest import ROOT, require
from tests.factories import edition_make, paper_make, reader_make

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed rows.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser_page(monkeypatch, settings):
    require(CHROMIUM.exists(), f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls
    # the test makes between browser steps are still plain synchronous code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server speaks plain http.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        yield page
        browser.close()
        # With the loop running, Django keeps this thread's connection apart
        # (per async context); close it here or it outlives the test database.
        connections.close_all()


def test_editor_logs_in_and_pins_a_paper(live_server, browser_page, django_user_model):
    django_user_model.objects.create_superuser("editor", "editor@example.org", "a-long-test-password")
    edition = edition_make(note="Reasoning day.")
    paper_make("2508.00001", title="A popular paper", upvotes=200)
    quiet = paper_make("2508.00002", title="A quiet but important paper", upvotes=2)
    page = browser_page

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_selector("text=Dashboard")
    page.screenshot(path=str(ARTIFACTS / "admin-1-index.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/newsletter/paper/")
    row = page.locator("#result_list tbody tr", has_text="A quiet but important paper")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "pin")
    page.click("button[name=index]")
    page.wait_for_selector("text=1 paper(s) pinned.")
    page.screenshot(path=str(ARTIFACTS / "admin-2-pinned.png"), full_page=True)
    assert Paper.objects.get(pk=quiet.pk).pinned

    page.goto(f"{live_server.url}/admin/newsletter/edition/{edition.pk}/change/")
    first_row = page.locator("#papers tr.dp-paper").first
    assert "A quiet but important paper" in first_row.inner_text()
    assert "Pinned" in first_row.inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin-3-edition.png"), full_page=True)


def test_editor_pins_a_paper_previews_a_readers_digest_and_sends_a_test(
    live_server, browser_page, django_user_model
):
    from django.core import mail

    from newsletter.digest.pool import pools_forget
    from newsletter.models import Delivery, Topic

    pools_forget()
    django_user_model.objects.create_superuser("editor", "editor@example.org", "a-long-test-password")
    edition = edition_make(note="Reasoning day.")
    popular = paper_make("2508.00001", title="A popular reasoning paper", upvotes=200)
    quiet = paper_make("2508.00002", title="A quiet paper on robots", upvotes=2)
    reasoning = Topic.objects.get(slug="reasoning")
    popular.topics.add(reasoning)
    reader_make("reader1@example.org", topics=("reasoning",))
    page = browser_page

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_selector("text=Dashboard")

    # Pin the quiet paper from the edition page: it leads every digest.
    page.goto(f"{live_server.url}/admin/newsletter/edition/{edition.pk}/change/")
    row = page.locator("#papers tr.dp-paper", has_text="A quiet paper on robots")
    row.locator("button", has_text="Pin").click()
    page.wait_for_selector("text=pinned.")
    assert Paper.objects.get(pk=quiet.pk).pinned
    page.screenshot(path=str(ARTIFACTS / "admin-4-edition-pinned.png"), full_page=True)

    # Preview as the reader, found by part of their address.
    page.fill("#id_preview_email", "reader1@")
    page.locator("#preview-reader button").click()
    page.wait_for_selector(".dp-preview-subject")
    assert page.locator(".dp-preview-subject").inner_text().startswith("Daily Papers · Thu 10 Jul: ")
    frame = page.frame_locator("iframe.dp-preview-html")
    assert "A quiet paper on robots" in frame.locator("body").inner_text()
    assert "A popular reasoning paper" in frame.locator("body").inner_text()
    assert "A quiet paper on robots" in page.locator(".dp-preview-text").inner_text()
    page.screenshot(path=str(ARTIFACTS / "admin-5-preview.png"), full_page=True)

    # Send the preview to the editor as a test.
    page.locator("#send-test button").click()
    page.wait_for_selector("text=was sent to editor@example.org")
    page.screenshot(path=str(ARTIFACTS / "admin-6-test-sent.png"), full_page=True)
    [sent] = mail.outbox
    assert sent.to == ["editor@example.org"]
    assert sent.subject.startswith("[TEST] Daily Papers · Thu 10 Jul: ")
    assert sent.extra_headers["X-Daily-Papers-Test"] == "1"
    assert not Delivery.objects.exists()
