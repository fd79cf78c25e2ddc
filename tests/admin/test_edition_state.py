"""The edition's real state through the day, on its page and in the list:
ingested, curated, sending N%, sent, with counts and when the first and
last digest left."""

import re
from datetime import UTC, datetime

import pytest

from newsletter import curation
from newsletter.models import Delivery
from tests.factories import delivery_make, edition_make, paper_make, reader_make

pytestmark = pytest.mark.django_db

LIST = "/admin/newsletter/edition/"


def _page(client, edition) -> str:
    response = client.get(f"/admin/newsletter/edition/{edition.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def _state(html: str) -> str:
    return re.search(r'<strong class="dp-state">([^<]*)</strong>', html).group(1)


def _listed_state(client) -> str:
    html = client.get(LIST).content.decode()
    return re.search(r'<td class="field-state_cell">(.*?)</td>', html, re.S).group(1)


def test_edition_moves_from_ingested_to_curated_to_sending_to_sent(admin_client):
    edition = edition_make()
    paper_make("2508.00001", upvotes=9)
    quiet = paper_make("2508.00002")
    html = _page(admin_client, edition)
    assert _state(html) == "Ingested"
    assert "2 papers, not curated yet" in html
    assert "Ingested" in _listed_state(admin_client)

    curation.paper_pin(paper=quiet, by=None)
    html = _page(admin_client, edition)
    assert _state(html) == "Curated"
    assert "2 papers · 1 pinned" in html

    readers = [reader_make(f"reader{n}@example.org") for n in range(4)]
    first = datetime(2025, 7, 10, 5, 1, 30, tzinfo=UTC)
    delivery_make(reader=readers[0], edition=edition, sent_at=first)
    delivery_make(reader=readers[1], edition=edition, status="skipped", reason="suppressed")
    waiting = [delivery_make(reader=r, edition=edition, status="pending") for r in readers[2:]]
    html = _page(admin_client, edition)
    assert _state(html) == "Sending 50%"
    assert "2 of 4 digests done: 1 sent, 1 skipped; 2 waiting" in html
    assert '<progress max="4" value="2">50%</progress>' in html
    assert "2025-07-10 05:01:30" in html  # the first digest left
    assert "Sending 50%" in _listed_state(admin_client)

    last = datetime(2025, 7, 10, 9, 45, 2, tzinfo=UTC)
    Delivery.objects.filter(pk=waiting[0].pk).update(status="sent", sent_at=last)
    Delivery.objects.filter(pk=waiting[1].pk).update(status="failed", reason="provider rejected")
    html = _page(admin_client, edition)
    assert _state(html) == "Sent"
    assert "4 digests: 2 sent, 1 failed, 1 skipped" in html
    assert "2025-07-10 05:01:30" in html and "2025-07-10 09:45:02" in html
    assert "Draft" not in html
    assert "Sent" in _listed_state(admin_client)


def test_an_edition_without_papers_says_so(admin_client):
    edition = edition_make(note="Quiet day.")
    assert _state(_page(admin_client, edition)) == "No papers yet"
