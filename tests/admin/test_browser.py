"""The editor's desk in a real browser: an editor pins a paper and sends
a test; and a walk through every admin page and action at a laptop's width
(1280 px, where nothing may scroll sideways) and a phone's (390 px, where
only wide tables scroll, inside their box), with a screenshot of each step
in test-artifacts/admin/."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from newsletter.models import Delivery, Paper, Topic, WorkerPing
from subscribers.models import ProviderEvent, Subscriber, Suppression
from tests.browser import chromium
from tests.conftest import ROOT
from tests.factories import desk_make, edition_make, paper_make, reader_make
from tests.subscriber_helpers import eager_tasks

ARTIFACTS = ROOT / "test-artifacts" / "admin"
PASSWORD = "a-long-test-password"
VIEWPORTS = {"laptop": (1280, 900), "phone": (390, 844)}

pytestmark = [
    pytest.mark.browser,
    # The live server needs committed rows.
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser(settings):
    # The live server speaks plain http.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(15_000)
    return page


def log_in(page, base: str) -> None:
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("text=Dashboard")


def test_editor_logs_in_and_pins_a_paper(live_server, browser_page, django_user_model):
    django_user_model.objects.create_superuser("editor", "editor@example.org", PASSWORD)
    edition = edition_make(note="Reasoning day.")
    paper_make("2508.00001", title="A popular paper", upvotes=200)
    quiet = paper_make("2508.00002", title="A quiet but important paper", upvotes=2)
    page = browser_page
    log_in(page, live_server.url)

    page.goto(f"{live_server.url}/admin/newsletter/paper/")
    row = page.locator("#result_list tbody tr", has_text="A quiet but important paper")
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "pin")
    page.click("button[name=index]")
    page.wait_for_selector("text=1 paper(s) pinned.")
    assert Paper.objects.get(pk=quiet.pk).pinned

    page.goto(f"{live_server.url}/admin/newsletter/edition/{edition.pk}/change/")
    first_row = page.locator("#papers tr.dp-paper").first
    assert "A quiet but important paper" in first_row.inner_text()
    assert "Pinned" in first_row.inner_text()
    assert page.locator(".dp-state").inner_text() == "Curated"


def test_editor_pins_a_paper_previews_a_readers_digest_and_sends_a_test(
    live_server, browser_page, django_user_model
):
    from django.core import mail

    from newsletter.digest.pool import pools_forget

    pools_forget()
    django_user_model.objects.create_superuser("editor", "editor@example.org", PASSWORD)
    edition = edition_make(note="Reasoning day.")
    popular = paper_make("2508.00001", title="A popular reasoning paper", upvotes=200)
    quiet = paper_make("2508.00002", title="A quiet paper on robots", upvotes=2)
    reasoning = Topic.objects.get(slug="reasoning")
    popular.topics.add(reasoning)
    reader_make("reader1@example.org", topics=("reasoning",))
    page = browser_page
    log_in(page, live_server.url)

    # Pin the quiet paper from the edition page: it leads every digest.
    page.goto(f"{live_server.url}/admin/newsletter/edition/{edition.pk}/change/")
    row = page.locator("#papers tr.dp-paper", has_text="A quiet paper on robots")
    row.locator("button", has_text="Pin").click()
    page.wait_for_selector("text=pinned.")
    assert Paper.objects.get(pk=quiet.pk).pinned

    # Preview as the reader, found by part of their address.
    page.fill("#id_preview_email", "reader1@")
    page.locator("#preview-reader button").click()
    page.wait_for_selector(".dp-preview-subject")
    # The reader's own topic leads the subject, before the editor's pick's.
    subject = page.locator(".dp-preview-subject").inner_text()
    assert subject.startswith("Reasoning & test-time compute")
    assert subject.endswith(" · Daily Papers, Thu 10 Jul")
    frame = page.frame_locator("iframe.dp-preview-html")
    assert "A quiet paper on robots" in frame.locator("body").inner_text()
    assert "A popular reasoning paper" in frame.locator("body").inner_text()
    assert "A quiet paper on robots" in page.locator(".dp-preview-text").inner_text()

    # Send the preview to the editor as a test.
    page.locator("#send-test button").click()
    page.wait_for_selector("text=was sent to editor@example.org")
    [sent] = mail.outbox
    assert sent.to == ["editor@example.org"]
    assert sent.subject == f"[TEST] {subject}"
    assert sent.extra_headers["X-Daily-Papers-Test"] == "1"
    assert not Delivery.objects.exists()


# What may not run past the right edge at 1280 px: the page, a list's table,
# a module, a form row.
_OVERFLOW = """() => {
  const over = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > doc.clientWidth) over.push(`page ${doc.scrollWidth} > ${doc.clientWidth}`);
  for (const el of document.querySelectorAll('#changelist-form .results, .module, .form-row')) {
    if (el.scrollWidth > el.clientWidth + 1) {
      const right = el.getBoundingClientRect().right;
      const wide = [...el.querySelectorAll('*')].filter(c => c.getBoundingClientRect().right > right + 1)
        .map(c => `${c.tagName.toLowerCase()}.${c.className}`).slice(0, 3).join(', ');
      const name = `${el.tagName.toLowerCase()}#${el.id}.${el.className}`;
      over.push(`${name} ${el.scrollWidth} > ${el.clientWidth}: ${wide}`);
    }
  }
  return over;
}"""


class Walk:
    """One browser page at one width; each step is a numbered screenshot,
    and at a laptop's width nothing may scroll sideways."""

    def __init__(self, page, base: str, width: str):
        self.page, self.base, self.width, self.step = page, base, width, 0
        self.overflows: dict[str, list[str]] = {}

    def go(self, path: str, name: str) -> None:
        response = self.page.goto(self.base + path)
        assert response.status < 400, f"{path} answered {response.status}"
        self.shot(name)

    def shot(self, name: str) -> None:
        self.step += 1
        self.page.screenshot(path=str(ARTIFACTS / f"{self.width}-{self.step:02d}-{name}.png"), full_page=True)
        over = self.page.evaluate(_OVERFLOW)
        if self.width != "laptop":  # a phone scrolls wide tables inside their box, never the page
            over = [problem for problem in over if problem.startswith("page ")]
        if over:
            self.overflows[name] = over

    def act(self, changelist: str, action: str, rows: list[str], name: str, confirm: str | None = None,
            fill=None) -> None:
        """Tick ``rows`` (by text) on a list, run ``action``; on the
        confirmation page (screenshot) ``fill`` it and press ``confirm``."""
        self.page.goto(self.base + changelist)
        for text in rows:
            row = self.page.locator("#result_list tbody tr", has_text=text).first
            row.locator("input.action-select").check()
        self.page.select_option("select[name=action]", action)
        self.page.click("button[name=index]")
        if confirm:
            self.page.wait_for_selector("#content form")
            self.shot(f"{name}-confirm")
            if fill:
                fill(self.page)
            self.page.locator(f"input[type=submit][value='{confirm}']").click()
        self.page.wait_for_selector("ul.messagelist li")
        self.shot(name)


@pytest.fixture
def desk(settings, tmp_path, django_user_model):
    # Emails go to the laptop outbox, so the walk can read them there.
    settings.EMAIL_BACKEND = "config.mail.OutboxBackend"
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"
    settings.ROOT_URLCONF = "tests.laptop_urls"
    django_user_model.objects.create_superuser("editor", "editor@example.org", PASSWORD)
    with eager_tasks():
        yield desk_make(today=timezone.localdate())


@pytest.mark.slow
@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_walk_through_every_admin_page_and_action(live_server, browser, desk, width):
    from newsletter.digest.pool import pools_forget

    pools_forget()
    w, h = VIEWPORTS[width]
    page = browser.new_page(viewport={"width": w, "height": h})
    page.set_default_timeout(20_000)
    for old in ARTIFACTS.glob(f"{width}-*.png"):
        old.unlink()
    walk = Walk(page, live_server.url, width)
    today, yesterday = desk["today"], desk["yesterday"]

    walk.go("/admin/login/", "login")
    assert page.title() == "Log in | Daily Papers · Editor's desk"
    log_in(page, live_server.url)
    walk.shot("index")
    assert page.locator("#site-name").inner_text() == "Daily Papers · Editor's desk"

    # The dashboard: six charts with titles and units, the numbers in a table.
    walk.go("/admin/dashboard/", "dashboard")
    assert page.locator(".dp-figure h2").all_inner_texts() == [
        "Active readers", "New confirmations", "Unsubscribes", "Emails sent", "Bounce rate", "Complaint rate",
    ]
    assert page.locator("#chart-bounce_rate .dp-gap").count() >= 2  # two days without sends
    assert page.locator("#dp-daily tbody tr").count() == 30
    # The brand's colours, light and dark (Django's theme follows the system here).
    header = "getComputedStyle(document.querySelector('#header')).backgroundColor"
    assert page.evaluate(header) == "rgb(154, 52, 18)"
    page.emulate_media(color_scheme="dark")
    walk.shot("dashboard-dark")
    assert page.evaluate(header) == "rgb(67, 20, 7)"
    page.emulate_media(color_scheme="light")
    walk.go("/admin/worker/", "worker")
    page.click("input[value='Ping the worker now']")
    page.wait_for_load_state()
    walk.shot("worker-pinged")
    assert WorkerPing.objects.filter(answered_at__isnull=False).count() == 2

    # Papers: the list, every action, the change form.
    papers = "/admin/newsletter/paper/"
    walk.go(papers, "papers")
    first = Paper.objects.filter(featured_on=today.date).order_by("-upvotes").first()
    title = first.title[:40]
    walk.act(papers, "pin", [title], "papers-pin")
    walk.act(papers, "unpin", [title], "papers-unpin")
    walk.act(papers, "hide", [title], "papers-hide")
    walk.act(papers + "?hidden__exact=1", "unhide", [title], "papers-unhide")
    walk.act(papers, "add_topic", [title], "papers-add-topic", confirm="Add topic",
             fill=lambda p: p.select_option("#id_topic", label="Surveys"))
    walk.act(papers, "remove_topic", [title], "papers-remove-topic", confirm="Remove topic",
             fill=lambda p: p.select_option("#id_topic", label="Surveys"))
    walk.act(papers, "retag", [title], "papers-retag", confirm="Re-tag")
    walk.act(papers, "delete_selected", [title], "papers-delete", confirm="Yes, I’m sure")
    assert not Paper.objects.filter(pk=first.pk).exists()
    paper = Paper.objects.filter(featured_on=today.date).order_by("-upvotes").first()
    walk.go(f"/admin/newsletter/paper/{paper.pk}/change/", "paper")
    page.fill("#id_title", paper.title + " (edited)")
    page.click("input[name=_continue]")
    page.wait_for_selector("ul.messagelist li")
    walk.shot("paper-saved")
    assert Paper.objects.get(pk=paper.pk).title_edited

    # Topics.
    walk.go("/admin/newsletter/topic/", "topics")
    walk.go(f"/admin/newsletter/topic/{Topic.objects.get(slug='reasoning').pk}/change/", "topic")
    walk.go("/admin/newsletter/topic/add/", "topic-add")
    page.fill("#id_name", "Graph learning")
    page.fill("#id_keywords", "graph neural network, GNN")
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li")
    walk.shot("topic-added")

    # Editions: the list with each one's state, today's page mid-send, yesterday's sent.
    walk.go("/admin/newsletter/edition/", "editions")
    walk.go(f"/admin/newsletter/edition/{today.pk}/change/", "edition-today")
    assert page.locator(".dp-state").inner_text().startswith("Sending ")
    assert page.locator(".dp-times").inner_text().count("none yet") == 0
    row = page.locator("#papers tr.dp-paper").nth(2)
    row.locator("button", has_text="Pin").click()
    page.wait_for_selector("ul.messagelist li")
    walk.shot("edition-pinned")
    page.locator("#papers tr.dp-paper").nth(3).locator("button", has_text="Hide").click()
    page.wait_for_selector("ul.messagelist li")
    page.locator("#papers tr.dp-hidden-paper button", has_text="Unhide").first.click()
    page.wait_for_selector("ul.messagelist li")
    walk.shot("edition-unhidden")
    reader = next(r for r in desk["readers"] if r.status == Subscriber.Status.ACTIVE)
    page.fill("#id_preview_email", reader.email)
    page.locator("#preview-reader button").click()
    page.wait_for_selector(".dp-preview-subject")
    walk.shot("edition-preview")
    page.locator("#send-test button").click()
    page.wait_for_selector("text=was sent to editor@example.org")
    walk.shot("edition-test-sent")
    page.locator("#preview-topics input[name=preview_topic]").first.check()
    page.locator("#preview-topics button").click()
    page.wait_for_selector(".dp-preview-subject")
    walk.shot("edition-preview-topics")
    walk.go(f"/admin/newsletter/edition/{yesterday.pk}/change/", "edition-yesterday")
    assert page.locator(".dp-state").inner_text() == "Sent"
    walk.go(f"/admin/newsletter/edition/on/{timezone.localdate() + timedelta(days=1)}/", "edition-add")

    # Readers: the list, the form (its errors on the fields), every action, the import page.
    readers = "/admin/subscribers/subscriber/"
    walk.go(readers, "readers")
    cells = page.locator("td.field-topics_cell").all_inner_texts()
    assert cells and all(len(c.split(", ")) <= 3 for c in cells)
    assert any(re.search(r"\+\d+$", c) for c in cells)
    active = [r for r in desk["readers"] if r.status == Subscriber.Status.ACTIVE]
    walk.go(f"/admin/subscribers/subscriber/{active[1].pk}/change/", "reader")
    page.select_option("#id_timezone", "Asia/Tokyo")
    page.select_option("#id_send_hour", label="06:00")
    page.select_option("#id_weekday", label="Friday")
    page.evaluate("document.querySelector('#id_send_hour').options[0].value = '30'")
    page.select_option("#id_send_hour", index=0)
    page.click("input[name=_continue]")
    page.wait_for_selector(".errorlist")
    walk.shot("reader-errors")
    # The message sits with its field.
    assert page.locator(".form-row.field-send_hour .errorlist").inner_text() == (
        "Pick an hour between 00:00 and 23:00.")
    assert page.locator(".errorlist").count() == 1
    page.select_option("#id_send_hour", label="06:00")
    page.click("input[name=_continue]")
    page.wait_for_selector("ul.messagelist li")
    walk.shot("reader-saved")
    saved = Subscriber.objects.get(pk=active[1].pk)
    assert (saved.timezone, saved.send_hour, saved.weekday) == ("Asia/Tokyo", 6, 4)
    walk.go("/admin/subscribers/subscriber/add/", "reader-add")
    page.fill("#id_email", "new.reader@example.org")
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li")
    walk.shot("reader-added")
    pending = next(r for r in desk["readers"] if r.status == Subscriber.Status.PENDING)
    walk.act(readers, "resend_confirmation", [pending.email], "readers-resend")
    walk.act(readers, "unsubscribe", [active[2].email], "readers-unsubscribe", confirm="Yes, unsubscribe")
    walk.act(readers, "suppress", [active[3].email], "readers-suppress", confirm="Yes, suppress")
    page.goto(walk.base + readers)
    page.locator("#result_list tbody tr", has_text=active[4].email).locator("input.action-select").check()
    page.select_option("select[name=action]", "export_csv")
    with page.expect_download() as download:
        page.click("button[name=index]")
    assert download.value.suggested_filename.startswith("readers-")
    walk.go("/admin/subscribers/subscriber/import/", "readers-import")

    # Deliveries, worker pings, suppressions (lifted with a reason), provider events.
    walk.go("/admin/newsletter/delivery/", "deliveries")
    assert page.locator("th.column-sent_at").is_visible()
    walk.go(f"/admin/newsletter/delivery/?edition__id__exact={today.pk}&status__exact=pending",
            "deliveries-filtered")
    walk.go(f"/admin/newsletter/delivery/{Delivery.objects.filter(status='sent').first().pk}/change/",
            "delivery")
    walk.go("/admin/newsletter/workerping/", "worker-pings")
    walk.go("/admin/subscribers/suppression/", "suppressions")
    walk.act("/admin/subscribers/suppression/", "lift_with_reason", ["Suppressed by an editor"],
             "suppressions-lift", confirm="Lift 1 suppression",
             fill=lambda p: p.fill("#id_reason", "The reader asked to be mailed again."))
    assert Suppression.objects.filter(lifted_at__isnull=False).count() == 1
    walk.go(f"/admin/subscribers/suppression/{Suppression.objects.first().pk}/change/", "suppression")
    walk.go("/admin/subscribers/providerevent/", "provider-events")
    walk.act("/admin/subscribers/providerevent/", "process_now", ["Soft bounce"], "provider-events-process")
    walk.go(f"/admin/subscribers/providerevent/{ProviderEvent.objects.first().pk}/change/", "provider-event")

    # Users and groups, the change-password and log-out pages.
    walk.go("/admin/auth/user/", "users")
    walk.go(f"/admin/auth/user/{get_user_model().objects.get(username='editor').pk}/change/", "user")
    walk.go("/admin/auth/group/", "groups")
    walk.go("/admin/auth/group/add/", "group-add")
    walk.go("/admin/password_change/", "password-change")

    # Laptop mode's outbox: the test digest, its links open outside the frame.
    walk.go("/outbox/", "outbox")
    page.locator("a", has_text="[TEST]").first.click()
    page.wait_for_selector("iframe")
    walk.shot("outbox-message")
    text = page.locator("pre.outbox-text")
    assert text.locator("a").count() > 3
    # No test reaches the internet: the paper's page answers from here.
    page.context.route("https://arxiv.org/**", lambda route: route.fulfill(body="the paper's page"))
    with page.context.expect_page() as opened:
        page.frame_locator("iframe").locator("a[href^='https://arxiv.org/abs/']").first.click()
    opened.value.wait_for_load_state()
    assert opened.value.url.startswith("https://arxiv.org/abs/")
    assert opened.value.locator("body").inner_text() == "the paper's page"
    opened.value.close()

    page.goto(walk.base + "/admin/")
    page.locator("#logout-form button").click()
    page.wait_for_load_state()
    walk.shot("logged-out")
    assert walk.overflows == {}, f"these pages scroll sideways at {w} px"
