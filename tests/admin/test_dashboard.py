import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from newsletter.admin import dashboard
from subscribers.models import ProviderEvent, Subscriber, email_hash
from tests.factories import delivery_make, edition_make, paper_make, reader_make

pytestmark = pytest.mark.django_db

TODAY = date(2025, 8, 10)
LONG_AGO = datetime(2025, 6, 1, tzinfo=UTC)


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2025, 8, day, hour, tzinfo=UTC)


@pytest.fixture
def history():
    """Four readers confirmed, one unsubscribed, one bounced, one complained,
    four emails sent on the 9th."""
    new = [reader_make(f"reader{n}@example.org") for n in range(3)]
    Subscriber.objects.filter(pk__in=[r.pk for r in new]).update(confirmed_at=at(9))
    old = reader_make("reader3@example.org")
    Subscriber.objects.filter(pk=old.pk).update(confirmed_at=at(1))
    left = reader_make("reader4@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=left.pk).update(confirmed_at=LONG_AGO, unsubscribed_at=at(8))
    never = reader_make("reader5@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    Subscriber.objects.filter(pk=never.pk).update(confirmed_at=None, unsubscribed_at=at(8))
    bounced = reader_make("reader6@example.org", status=Subscriber.Status.BOUNCED)
    Subscriber.objects.filter(pk=bounced.pk).update(confirmed_at=LONG_AGO, updated_at=at(9))
    complained = reader_make("reader7@example.org", status=Subscriber.Status.COMPLAINED)
    Subscriber.objects.filter(pk=complained.pk).update(confirmed_at=LONG_AGO, updated_at=at(10))
    # What the provider reported: a hard bounce on the 9th (plus a soft one,
    # which is no bounce for the rate), a complaint on the 10th.
    for n, (reader, kind, day) in enumerate([(bounced, "hard_bounce", 9), (bounced, "soft_bounce", 9),
                                             (complained, "complaint", 10)]):
        ProviderEvent.objects.create(
            provider="postmark", event_key=f"k{n}", event_type="bounced", kind=kind,
            recipient=reader.email, recipient_hash=email_hash(reader.email), subscriber=reader,
            received_at=at(day),
        )
    edition = edition_make(date(2025, 8, 9))
    for reader in [*new, old]:
        delivery_make(reader=reader, edition=edition, sent_at=at(9, 7))
    delivery_make(reader=bounced, edition=edition, status="failed", reason="provider rejected")


def test_stats_per_day_over_thirty_days(history):
    stats = dashboard.dashboard_stats(today=TODAY)
    days = {d.day: d for d in stats.days}
    assert len(stats.days) == 30
    assert (stats.days[0].day, stats.days[-1].day) == (TODAY - timedelta(days=29), TODAY)
    assert stats.active_now == 4
    ninth, tenth, eighth = days[date(2025, 8, 9)], days[TODAY], days[date(2025, 8, 8)]
    assert (ninth.confirmations, ninth.sent, ninth.bounces, ninth.complaints) == (3, 4, 1, 0)
    assert ninth.bounce_rate == 0.25
    assert (tenth.complaints, tenth.complaint_rate) == (1, None)  # nothing sent that day
    assert eighth.unsubscribes == 2
    # Active readers at the end of each day, reconstructed backwards.
    assert [days[date(2025, 8, d)].active for d in (7, 8, 9, 10)] == [4, 3, 5, 4]
    assert days[date(2025, 8, 1)].confirmations == 1
    assert (stats.sent, stats.bounces, stats.complaints) == (4, 1, 1)
    assert stats.bounce_level == "critical" and stats.complaint_level == "critical"


@pytest.mark.parametrize(
    ("rate", "level"), [(None, "ok"), (0.0, "ok"), (0.0009, "ok"), (0.001, "warning"), (0.0029, "warning"),
                        (0.003, "critical")],
)
def test_complaint_rate_levels_follow_the_mailbox_provider_thresholds(rate, level):
    assert dashboard.rate_level(rate, warn=dashboard.COMPLAINT_WARN, limit=dashboard.COMPLAINT_MAX) == level


def test_page_draws_charts_inline_and_shows_rates_against_thresholds(admin_client, history):
    with time_machine.travel(at(10, 12), tick=False):
        response = admin_client.get("/admin/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    charts = response.context["charts"]
    assert [c.figure.title for c in charts] == [
        "Active readers", "New confirmations", "Unsubscribes", "Emails sent", "Bounce rate", "Complaint rate",
    ]
    for chart in charts:
        assert chart.svg.startswith("<svg") and "<script" not in chart.svg and "href" not in chart.svg
        # A visible title over each chart, and the unit on its axis.
        assert f'<h2>{chart.figure.title}</h2>\n{chart.svg}' in html
        assert f'class="dp-unit">{chart.figure.unit}</text>' in chart.svg
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" viewBox') == 6
    assert "0.1%: keep under" in html and "0.3%: never reach" in html
    assert "25.00%" in html  # the bounce rate of the 9th in its tooltip
    assert 'class="dp-card dp-critical" id="card-complaints"' in html
    assert "2025-08-09" in html
    # The 10th had a complaint but no sends: a gap in the rate, not a zero.
    complaint_rate = charts[-1].svg
    assert '<title>08-10: no emails sent</title>' in complaint_rate
    assert '<title>08-10: 0.00%</title>' not in complaint_rate


def test_the_day_by_day_table_holds_every_figure(admin_client, history):
    with time_machine.travel(at(10, 12), tick=False):
        html = admin_client.get("/admin/dashboard/").content.decode()
    table = html.split('<table id="dp-daily"', 1)[1].split("</table>", 1)[0]
    headings = re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', table)
    assert headings == ["Day", "Active readers", "New confirmations", "Unsubscribes", "Emails sent",
                        "Unanswered sends settled", "Hard bounces", "Bounce rate", "Complaints",
                        "Complaint rate"]
    def day_row(day: str) -> str:
        cells = rf'<th scope="row"><time datetime="{day}">{day}</time></th>(.*?)</tr>'
        return re.search(cells, table).group(1)

    row = day_row("2025-08-09")
    assert re.findall(r'<td class="dp-num">([^<]*)</td>', row) == ["5", "3", "0", "4", "0", "1", "25.00%",
                                                                   "0", "0.00%"]
    tenth = day_row("2025-08-10")
    assert re.findall(r'<td class="dp-num">([^<]*)</td>', tenth)[-4:] == ["0", "–", "1", "–"]


def test_dashboard_is_linked_from_the_admin_index_and_for_staff_only(admin_client, client, django_user_model):
    index = admin_client.get("/admin/").content.decode()
    assert 'href="/admin/dashboard/"' in index
    assert "/admin/newsletter/edition/on/" in index
    assert client.get("/admin/dashboard/").status_code == 302
    client.force_login(django_user_model.objects.create_user("reader", password="pw"))
    response = client.get("/admin/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_top_papers_of_the_last_edition_by_clicks(admin_client):
    edition = edition_make(date(2025, 8, 9))
    first = paper_make("2508.00001", day=edition.date, title="Clicked most",
                       github_repo="https://github.com/example/most")
    second = paper_make("2508.00002", day=edition.date, title="Clicked once")
    paper_make("2508.00003", day=edition.date, title="Never clicked")
    reader = reader_make("reader1@example.org")
    delivery = delivery_make(reader=reader, edition=edition, sent_at=at(9, 7))
    links = ["https://huggingface.co/papers/2508.00001", "https://arxiv.org/pdf/2508.00001",
             "https://github.com/example/most", "https://arxiv.org/abs/2508.00002",
             "https://papers.example.org/preferences/abc/"]
    for n, url in enumerate(links):
        ProviderEvent.objects.create(
            provider="postmark", event_key=f"c{n}", event_type="clicked", kind="clicked",
            recipient=reader.email, recipient_hash=email_hash(reader.email), subscriber=reader,
            delivery=delivery, click_url=url,
        )
    assert dashboard.top_clicked_papers(edition=edition) == [(first, 3), (second, 1)]
    html = admin_client.get("/admin/dashboard/").content.decode()
    section = html.split('id="dp-top-clicked"', 1)[1]
    assert section.index("Clicked most") < section.index("Clicked once")
    assert "Never clicked" not in section


def test_unanswered_sends_settled_with_the_provider_are_counted_per_day(admin_client):
    edition = edition_make(date(2025, 8, 9))
    ways = ["lookup", "event", "resend", ""]
    for n, way in enumerate(ways):
        delivery_make(reader=reader_make(f"reader{n}@example.org"), edition=edition, sent_at=at(9, 7),
                      reconciled=way)
    # Sent once more on the 10th; one still waiting for the provider.
    delivery_make(reader=reader_make("late@example.org"), edition=edition, sent_at=at(10, 7),
                  reconciled="resend")
    delivery_make(reader=reader_make("open@example.org"), edition=edition, status="uncertain",
                  reason="interrupted")
    days = {d.day: d for d in dashboard.dashboard_stats(today=TODAY).days}
    assert (days[date(2025, 8, 9)].reconciled, days[TODAY].reconciled) == (3, 1)
    assert (days[date(2025, 8, 9)].sent, days[TODAY].sent) == (4, 1)
    with time_machine.travel(at(10, 12)):
        html = admin_client.get("/admin/dashboard/").content.decode()
    assert "Unanswered sends settled" in html
