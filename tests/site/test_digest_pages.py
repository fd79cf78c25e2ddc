"""The web copies: an edition's public page and a reader's personal copy."""

import re
from datetime import timedelta

import pytest

from newsletter.models import Delivery, Paper
from subscribers.tokens import token_make
from tests.factories import DAY, delivery_make, edition_make, edition_small, paper_make, reader_make

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_pools")]


def test_edition_page_lists_visible_papers_pins_first_with_the_note(client):
    papers = edition_small()
    edition_make(note="Quantization week.")
    paper_make("2507.00099", day=DAY - timedelta(days=1), topics={"code": 1.0})
    page = client.get("/digests/2025-07-10/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Papers of Thursday, 10 July 2025" in html
    assert "Quantization week." in html
    assert papers["F"].title not in html  # hidden
    order = [html.index(f'id="paper-{papers[k].arxiv_id}"') for k in "GDEAH"]
    assert order == sorted(order)  # pins, then by attention
    assert 'href="/digests/2025-07-09/"' in html


def test_edition_page_of_a_day_without_papers_or_a_bad_date_is_404(client):
    assert client.get("/digests/2025-07-10/").status_code == 404
    assert client.get("/digests/2025-02-30/").status_code == 404
    assert client.get("/digests/yesterday/").status_code == 404


def test_reader_copy_shows_what_was_sent_frozen_with_why_lines(client):
    papers = edition_small()
    reader = reader_make("a@example.org", topics=("quantization-compression",))
    sent = [papers["B"].arxiv_id, papers["A"].arxiv_id, papers["D"].arxiv_id]
    delivery_make(reader=reader, edition=edition_make(), paper_ids=sent, for_you_count=2)
    Paper.objects.filter(pk=papers["B"].pk).update(upvotes=1)  # changes nothing already sent
    token = token_make(subscriber=reader, purpose="digest")
    page = client.get(f"/digests/2025-07-10/{token}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert html.index(papers["B"].title) < html.index(papers["A"].title) < html.index("Also trending today")
    assert html.index("Also trending today") < html.index(papers["D"].title)
    assert papers["C"].title not in html  # not in what was sent
    assert "Quantization &amp; compression" in html
    assert "https://papers.example.org/unsubscribe/" in html
    # The web copy's link never expires: it offers to email a preferences link, never shows one.
    assert f'href="/preferences/new-link/digest/{token}/"' in html
    assert not re.search(r"/preferences/(?!new-link/)", html)


def test_reader_copy_before_sending_shows_what_they_would_get(client):
    papers = edition_small()
    reader = reader_make("a@example.org", topics=("quantization-compression",), keywords="W4A16")
    page = client.get(f"/digests/2025-07-10/{token_make(subscriber=reader, purpose='digest')}/")
    html = page.content.decode()
    assert "Quantization &amp; compression · matches &#x27;W4A16&#x27;" in html
    assert html.index(papers["G"].title) < html.index(papers["A"].title)
    assert not Delivery.objects.exists()  # looking creates nothing


def test_reader_copy_with_a_token_for_another_purpose_or_tampered_is_refused(client):
    edition_small()
    reader = reader_make("a@example.org", topics=("quantization-compression",))
    wrong = token_make(subscriber=reader, purpose="unsubscribe")
    for token in (wrong, token_make(subscriber=reader, purpose="digest")[:-2] + "xx"):
        page = client.get(f"/digests/2025-07-10/{token}/")
        assert page.status_code == 404
        assert "This link is not valid" in page.content.decode()
