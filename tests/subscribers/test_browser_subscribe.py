"""The whole subscription journey in a real Chromium: from the front page to
unsubscribing, on a desktop and a phone viewport. Screenshots of every step
land in test-artifacts/subscribe/<viewport>/."""

import re

import pytest
from django.core import mail
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from subscribers.models import Subscriber
from tests.browser import chromium
from tests.conftest import ROOT
from tests.subscriber_helpers import eager_tasks, html_part, unique_email

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts" / "subscribe"
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    # The live server speaks plain http: cookies marked Secure would be dropped.
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False
    # Every run signs up from 127.0.0.1; the limits are tested elsewhere.
    settings.SUBSCRIBE_RATE_PER_IP = settings.SUBSCRIBE_RATE_PER_ADDRESS = 10_000
    papers_ingest_file(path=SAMPLE_PATH, featured_on=timezone.localdate())
    with eager_tasks():
        yield live_server.url


def the_only_email_to(address: str):
    messages = [m for m in mail.outbox if address in m.to]
    assert messages, f"no email to {address}; outbox: {[m.subject for m in mail.outbox]}"
    return messages[-1]


@pytest.mark.parametrize("device", VIEWPORTS)
def test_subscribe_confirm_change_topics_and_unsubscribe(browser, site, device):
    shots = ARTIFACTS / device
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(**VIEWPORTS[device], timezone_id="America/New_York", locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def shot(name: str, *, full_page: bool = True):
        page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page)

    # 1. The front page, and its Subscribe button.
    page.goto(f"{site}/")
    assert page.get_by_role("heading", name="Get trending papers in your email inbox!").is_visible()
    shot("01-home", full_page=False)  # 91 papers below the fold
    page.locator(".banner").get_by_role("link", name="Subscribe").click()
    page.wait_for_url(f"{site}/subscribe/")

    # 2. The form: the time zone comes from the browser; weekday only for weekly.
    assert page.locator("#id_timezone").input_value() == "America/New_York"
    assert page.locator("#weekday-field").is_hidden()
    shot("02-subscribe-form")
    reader = unique_email("browser")
    page.get_by_label("Email address").fill(reader)
    page.get_by_text("Reasoning & test-time compute").click()
    page.get_by_text("Agents & tool use").click()
    page.get_by_label("Papers mentioning…").fill("Mamba, KV cache")
    page.get_by_role("radio", name="Weekly").check()
    assert page.locator("#weekday-field").is_visible()
    page.get_by_label("Weekday").select_option(label="Friday")
    page.get_by_label("Preferred hour").select_option(label="06:00")
    shot("03-subscribe-filled")
    page.get_by_role("button", name="Subscribe").click()

    # 3. Check your inbox; nothing is active yet.
    page.wait_for_url(f"{site}/subscribe/check-your-inbox/")
    assert page.get_by_role("heading", name="Check your inbox").is_visible()
    shot("04-check-your-inbox")
    subscriber = Subscriber.objects.get(email=reader)
    assert subscriber.status == Subscriber.Status.PENDING
    assert (subscriber.timezone, subscriber.frequency, subscriber.weekday, subscriber.send_hour) == (
        "America/New_York", "weekly", 4, 6)

    # 4. The confirmation email, as a reader sees it; then its link.
    confirmation = the_only_email_to(reader)
    assert confirmation.subject == "Confirm your subscription to Daily Papers"
    email_page = context.new_page()
    email_page.set_content(html_part(confirmation))
    email_page.screenshot(path=str(shots / "05-confirmation-email.png"), full_page=True)
    link = email_page.get_by_role("link", name="Confirm my subscription").get_attribute("href")
    email_page.close()
    assert link.startswith(f"{site}/confirm/")
    page.goto(link)
    assert page.get_by_role("heading", name="One last step").is_visible()
    shot("06-confirm-page")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.PENDING  # opening the link changes nothing
    page.get_by_role("button", name="Confirm my subscription").click()
    assert page.get_by_role("heading", name="You're subscribed").is_visible()
    shot("07-confirmed")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.ACTIVE

    welcome = the_only_email_to(reader)
    assert welcome.subject == "Welcome to Daily Papers"
    email_page = context.new_page()
    email_page.set_content(html_part(welcome))
    email_page.screenshot(path=str(shots / "08-welcome-email.png"), full_page=True)
    email_page.close()

    # 5. Preferences: swap a topic and save.
    page.get_by_role("link", name="Change topics and time").click()
    page.wait_for_url(re.compile(r".*/preferences/[^/]+/$"))
    assert page.get_by_role("heading", name="Your preferences").is_visible()
    assert page.get_by_label("Preferred hour").input_value() == "6"
    shot("09-preferences")
    page.get_by_text("Agents & tool use").click()
    page.get_by_text("Code & software engineering").click()
    page.get_by_role("button", name="Save preferences").click()
    assert page.get_by_text("Your preferences are saved.").is_visible()
    shot("10-preferences-saved")
    assert sorted(subscriber.topics.values_list("slug", flat=True)) == ["code", "reasoning"]

    # 6. Unsubscribe from the preferences page.
    page.get_by_role("button", name="Unsubscribe").click()
    assert page.get_by_role("heading", name="You're unsubscribed").is_visible()
    shot("11-unsubscribed")
    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.UNSUBSCRIBED

    assert errors == []
    context.close()
