"""Every admin page makes the same number of queries for 10 rows as for 50:
a query per row (N+1) fails these tests."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from newsletter.digest.pool import pools_forget
from newsletter.models import Edition, Paper, PaperTopic, Topic, WorkerPing
from subscribers.models import ConsentRecord, Subscriber, Suppression
from subscribers.suppression import suppression_add
from tests.factories import DAY, delivery_make, edition_make, paper_make, provider_event_make, reader_make

pytestmark = pytest.mark.django_db


def _papers(start, stop):
    topics = list(Topic.objects.all()[:3])
    for n in range(start, stop):
        paper = paper_make(f"2508.{n:05d}", github_repo="https://github.com/x/y" if n % 2 else "")
        for topic in topics[: 1 + n % 3]:
            PaperTopic.objects.create(paper=paper, topic=topic, origin="editor" if n % 2 else "auto")


def _topics(start, stop):
    for n in range(start, stop):
        topic = Topic.objects.create(slug=f"extra-{n}", name=f"Extra {n}")
        PaperTopic.objects.create(paper=paper_make(f"2508.{n:05d}"), topic=topic)
        reader_make(f"reader{n}@example.org", topics=()).topics.add(topic)


def _editions(start, stop):
    for n in range(start, stop):
        day = DAY + timedelta(days=n)
        edition_make(day, note=f"Note {n}")
        paper_make(f"2508.{n:05d}", day=day, pinned=n % 2 == 0)


def _readers(start, stop):
    for n in range(start, stop):
        reader_make(f"reader{n}@example.org", topics=("code", "reasoning") if n % 2 else ("surveys",),
                    timezone="Europe/Paris")


def _deliveries(start, stop):
    edition, other = edition_make(), edition_make(DAY - timedelta(days=1))
    for n in range(start, stop):
        reader = reader_make(f"reader{n}@example.org")
        delivery_make(reader=reader, edition=edition if n % 2 else other,
                      reason="" if n % 3 else "suppressed")


def _edition_states(start, stop):
    # Editions at every stage: with papers, pins, a note, deliveries under way or done.
    for n in range(start, stop):
        day = DAY + timedelta(days=n)
        edition = edition_make(day, note="Note" if n % 3 == 0 else "")
        paper_make(f"2508.{n:05d}", day=day, pinned=n % 4 == 0, hidden=n % 5 == 0)
        if n % 2:
            reader = reader_make(f"reader{n}@example.org")
            delivery_make(reader=reader, edition=edition, status="sent" if n % 4 == 1 else "pending")


def _month_of_sends(start, stop):
    # Sends, bounces and complaints on every day the dashboard shows.
    now = timezone.now()
    for n in range(start, stop):
        when = now - timedelta(days=n % 30, minutes=1)
        edition = edition_make(timezone.localdate(when))
        reader = reader_make(f"reader{n}@example.org", confirmed_at=when)
        delivery = delivery_make(reader=reader, edition=edition, sent_at=when)
        provider_event_make(reader=reader, kind="hard_bounce" if n % 2 else "complaint", delivery=delivery,
                            received_at=when)


def _suppressions(start, stop):
    for n in range(start, stop):
        suppression_add(email=f"reader{n}@example.org", reason=Suppression.Reason.MANUAL)


def _provider_events(start, stop):
    edition = edition_make()
    for n in range(start, stop):
        reader = reader_make(f"reader{n}@example.org")
        delivery = delivery_make(reader=reader, edition=edition) if n % 2 else None
        provider_event_make(reader=reader, kind="hard_bounce" if n % 3 else "clicked", delivery=delivery)


def _worker_pings(start, stop):
    for n in range(start, stop):
        WorkerPing.objects.create(hostname=f"worker-{n}")


def _reader_history(start, stop):
    reader = (Subscriber.objects.filter(email="reader0@example.org").first()
              or reader_make("reader0@example.org"))
    for n in range(start, stop):
        delivery_make(reader=reader, edition=edition_make(DAY + timedelta(days=n)), status="failed",
                      reason="bounced")
        ConsentRecord.objects.create(subscriber=reader, kind="signup", wording=f"w{n}", wording_version="1")


def _edition_papers(start, stop):
    edition = edition_make()
    _papers(start, stop)
    for n in range(start, stop):
        delivery_make(reader=reader_make(f"reader{n}@example.org"), edition=edition, status="pending")


def _edition_papers_and_a_reader(start, stop):
    _edition_papers(start, stop)
    if start == 0:
        reader_make("reader999@example.org", topics=())  # follows every topic: all papers are candidates


@dataclass
class Page:
    name: str
    make: object
    url: object
    rows: object


def _result_rows(response):
    return len(response.context["cl"].result_list)


PAGES = [
    Page("papers", _papers, lambda: "/admin/newsletter/paper/", _result_rows),
    Page("papers filtered", _papers,
         lambda: f"/admin/newsletter/paper/?has_code=yes&featured={DAY.isoformat()}&q=paper",
         lambda r: len(r.context["cl"].result_list) * 2),  # half of them have code
    Page("topics", _topics, lambda: "/admin/newsletter/topic/", lambda r: _result_rows(r) - 19),
    Page("editions", _editions, lambda: "/admin/newsletter/edition/", _result_rows),
    Page("editions at every stage", _edition_states, lambda: "/admin/newsletter/edition/", _result_rows),
    Page("suppressions", _suppressions, lambda: "/admin/subscribers/suppression/", _result_rows),
    Page("provider events", _provider_events, lambda: "/admin/subscribers/providerevent/", _result_rows),
    Page("worker pings", _worker_pings, lambda: "/admin/newsletter/workerping/", _result_rows),
    Page("readers", _readers, lambda: "/admin/subscribers/subscriber/", _result_rows),
    Page("deliveries", _deliveries, lambda: "/admin/newsletter/delivery/", _result_rows),
    Page(
        "reader page", _reader_history,
        lambda: reverse("admin:subscribers_subscriber_change",
                        args=[Subscriber.objects.get(email="reader0@example.org").pk]),
        # Consent records shown; deliveries stop at 20.
        lambda r: len(r.context["inline_admin_formsets"][0].formset.forms),
    ),
    Page(
        "edition page", _edition_papers,
        lambda: reverse("admin:newsletter_edition_change", args=[Edition.objects.get(date=DAY).pk]),
        lambda r: len(r.context["papers"]),
    ),
    Page(
        "edition page with a reader's preview", _edition_papers_and_a_reader,
        lambda: reverse("admin:newsletter_edition_change", args=[Edition.objects.get(date=DAY).pk])
        + "?preview=reader&preview_email=reader999@example.org",
        lambda r: len(r.context["papers"]) if r.context["preview"].message else 0,
    ),
    Page(
        "edition page with a topic preview", _edition_papers,
        lambda: reverse("admin:newsletter_edition_change", args=[Edition.objects.get(date=DAY).pk])
        + "?preview=topics&preview_topic=1&preview_topic=2&preview_keywords=paper",
        lambda r: len(r.context["papers"]) if r.context["preview"].message else 0,
    ),
    Page("dashboard", _readers, lambda: "/admin/dashboard/", lambda r: r.context["stats"].active_now),
    Page("dashboard with a month of sends", _month_of_sends, lambda: "/admin/dashboard/",
         lambda r: r.context["stats"].sent),
]


def _queries(client, url) -> int:
    pools_forget()  # a preview's edition pool is cached in-process: count its loading every time
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_queries_do_not_grow_with_rows(admin_client, django_assert_max_num_queries, page):
    page.make(0, 10)
    url = page.url()
    admin_client.get(url)  # session, content types and permissions are cached after this
    with_ten = _queries(admin_client, url)
    page.make(10, 50)
    pools_forget()
    with django_assert_max_num_queries(with_ten):
        response = admin_client.get(url)
    assert page.rows(response) == 50


def test_paper_page_queries_do_not_grow_with_topics(admin_client, django_assert_max_num_queries):
    paper = paper_make("2508.00001")
    topics = list(Topic.objects.all())
    for topic in topics[:2]:
        PaperTopic.objects.create(paper=paper, topic=topic)
    url = reverse("admin:newsletter_paper_change", args=[paper.pk])
    admin_client.get(url)
    with_two = _queries(admin_client, url)
    for topic in topics[2:12]:
        PaperTopic.objects.create(paper=paper, topic=topic)
    with django_assert_max_num_queries(with_two):
        admin_client.get(url)
    assert Paper.objects.get().topics.count() == 12
