"""A paper its authors withdrew from arXiv is shown nowhere: the same rule
("an edition's visible papers") for the pages, the admin and the digests."""

import pytest
from django.urls import reverse
from django.utils import timezone

from newsletter.digest.pool import pool_get
from newsletter.models import Edition, Paper

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]

KEPT = "A paper that still stands"
WITHDRAWN = "A paper its authors withdrew"


@pytest.fixture
def edition():
    day = timezone.localdate()
    Paper.objects.create(arxiv_id="2508.00001", title=KEPT, featured_on=day, upvotes=5)
    Paper.objects.create(arxiv_id="2508.00002", title=WITHDRAWN, featured_on=day, upvotes=50,
                         withdrawn_at=timezone.now())
    return Edition.objects.create(date=day)


def test_the_front_page_leaves_out_a_withdrawn_paper(client, edition):
    html = client.get("/").content.decode()
    assert KEPT in html
    assert WITHDRAWN not in html


def test_the_archive_page_leaves_out_a_withdrawn_paper(client, edition):
    html = client.get(f"/digests/{edition.date.isoformat()}/").content.decode()
    assert KEPT in html
    assert WITHDRAWN not in html


def test_the_admin_edition_page_leaves_out_a_withdrawn_paper(admin_client, edition):
    response = admin_client.get(reverse("admin:newsletter_edition_change", args=[edition.pk]))
    assert [p.title for p in response.context["papers"]] == [KEPT]
    assert WITHDRAWN not in response.content.decode()


def test_digests_leave_out_a_withdrawn_paper(edition):
    assert [p.title for p in pool_get(first=edition.date, last=edition.date).papers] == [KEPT]


def test_a_day_with_only_withdrawn_papers_is_no_edition(client, edition):
    Paper.objects.filter(title=KEPT).update(withdrawn_at=timezone.now())
    assert client.get(f"/digests/{edition.date.isoformat()}/").status_code == 404
    assert "No papers yet" in client.get("/").content.decode()
