"""A visitor's walk through the site in a real Chromium, on a desktop and a
phone viewport: the front page, the day before, a paper, its topic, a
search, and the signup form with that topic ticked. Screenshots of every
step land in test-artifacts/site/<viewport>/."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from tests.conftest import ROOT
from tests.factories import paper_make
from tests.subscribers.test_browser_subscribe import VIEWPORTS, browser  # noqa: F401 - the fixture

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts" / "site"


@pytest.fixture
def site(live_server, settings):
    settings.SITE_URL = live_server.url
    settings.CSRF_COOKIE_SECURE = settings.SESSION_COOKIE_SECURE = False
    today = timezone.localdate()
    papers_ingest_file(path=SAMPLE_PATH, featured_on=today)
    # The day before has no papers: "previous" skips it.
    before = today - timedelta(days=2)
    paper_make("2501.00001", day=before, title="Speculative decoding with draft trees",
               topics={"speculative-decoding": 6.0, "inference-serving": 5.0}, upvotes=120, num_comments=14,
               abstract="Draft trees let a small model propose many continuations at once.",
               thumbnail="data:image/png;base64,iVBORw0KGgo=")  # not a web address: never shown
    paper_make("2501.00002", day=before, title="Serving long prompts with paged attention",
               topics={"inference-serving": 5.0}, upvotes=40,
               thumbnail=f"{live_server.url}/static/favicon.svg")  # served by the site itself
    return live_server.url, before


@pytest.mark.parametrize("device", VIEWPORTS)
def test_front_page_to_signup_through_a_day_a_paper_a_topic_and_a_search(browser, site, device):  # noqa: F811
    base, before = site
    shots = ARTIFACTS / device
    shots.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(**VIEWPORTS[device], locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def shot(name: str, *, full_page: bool = False):
        page.screenshot(path=str(shots / f"{name}.png"), full_page=full_page)

    # 1. The front page: the newest day, compact, with a way back.
    page.goto(f"{base}/")
    assert page.title().startswith("Daily Papers · trending AI papers of")
    assert page.locator("li.paper").count() == 91
    first = page.locator("li.paper").first
    first.locator("summary").click()  # the abstract opens in place
    assert first.locator("details p").is_visible()
    shot("01-home")

    # 2. The previous day with papers (the empty day between is skipped).
    page.locator(".period-nav a[rel=prev]").click()
    page.wait_for_url(f"{base}/digests/{before.isoformat()}/")
    assert page.locator("li.paper").count() == 2
    # The data: thumbnail is not shown; the web one is, sized before it loads.
    assert page.locator("li.paper img").count() == 1
    assert page.locator("li.paper img").get_attribute("width") == "160"
    shot("02-previous-day", full_page=True)

    # 3. A paper's page, with its links and a way to get more like it.
    page.get_by_role("link", name="Speculative decoding with draft trees").click()
    page.wait_for_url(f"{base}/papers/2501.00001/")
    assert page.get_by_role("heading", name="Speculative decoding with draft trees").is_visible()
    assert page.locator(".links").get_by_role("link", name="arXiv").get_attribute("href") == (
        "https://arxiv.org/abs/2501.00001")
    assert page.get_by_role("heading", name="Related papers").is_visible()
    shot("03-paper", full_page=True)

    # 4. Its topic.
    page.locator(".paper-topics").get_by_role("link", name="Speculative & parallel decoding").click()
    page.wait_for_url(f"{base}/topics/speculative-decoding/")
    assert page.get_by_role("heading", name="Speculative & parallel decoding").is_visible()
    shot("04-topic")

    # 5. A search from the header, narrowed to the topic.
    page.locator("#site-q").fill("decoding draft")
    page.locator("#site-q").press("Enter")
    page.wait_for_url(re.compile(r".*/search/\?q=decoding\+draft$"))
    assert page.locator("li.paper mark").count() > 0
    page.locator("#id_topic").select_option("speculative-decoding")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r".*topic=speculative-decoding.*"))
    results = page.locator("li.paper")
    assert results.count() >= 1
    shot("05-search")

    # 6. The first result, and signup with its topics already ticked.
    results.first.locator("h3 a").click()
    page.wait_for_url(re.compile(r".*/papers/[^/]+/$"))
    page.locator(".subscribe-like").get_by_role("link", name="Subscribe").click()
    page.wait_for_url(re.compile(r".*/subscribe/\?topics=.*speculative-decoding.*"))
    assert page.get_by_role("checkbox", name=re.compile("Speculative & parallel decoding")).is_checked()
    assert not page.get_by_role("checkbox", name=re.compile("Surveys")).is_checked()
    shot("06-subscribe-ticked")

    assert errors == []
    context.close()
