import gzip

import pytest
from django.utils import timezone

from newsletter.ingest.files import SAMPLE_PATH, papers_ingest_file
from tests.factories import paper_make

pytestmark = pytest.mark.django_db


def test_home_lists_the_sample_papers_under_the_banner(client):
    papers_ingest_file(path=SAMPLE_PATH, featured_on=timezone.localdate())
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Get trending papers in your email inbox!" in html
    assert html.count('class="paper"') == 91
    assert 'href="/subscribe/"' in html
    # Title, authors, abstract (expandable) and links of the first paper.
    assert 'href="/papers/2507.06607/">Decoder-Hybrid-Decoder Architecture for Efficient Reasoning' in html
    assert "Liliang Ren" in html
    assert '<details class="abstract"><summary>Abstract</summary><p>Recent advances in language' in html
    assert "https://arxiv.org/abs/2507.06607" in html
    assert "https://github.com/microsoft/ArchScale" in html
    assert 'href="/topics/architectures/">Model architectures' in html  # a topic tag, linked


def test_home_has_the_site_name_title_brand_and_footer_address(client):
    paper_make("2501.00001", day=timezone.localdate())
    html = client.get("/").content.decode()
    assert "<title>Daily Papers · trending AI papers of" in html
    assert "> Daily Papers</a>" in html  # the brand
    assert "Daily Papers, 1 Test Street, 00000 Testville" in html
    assert 'rel="icon" href="/static/favicon.svg"' in html
    assert 'action="/search/"' in html


def test_home_shows_counts_and_thumbnails_that_do_not_shift_the_page(client):
    paper_make("2501.00001", day=timezone.localdate(), upvotes=1234, num_comments=7,
               github_repo="https://github.com/org/repo", github_stars=4321,
               thumbnail="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2501.00001.png")
    html = client.get("/").content.decode()
    assert "▲ 1,234" in html and "7 comments" in html and "Code ★ 4,321" in html
    assert ('<img src="https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2501.00001.png" alt="" '
            'width="160" height="90" loading="lazy"') in html


def test_home_escapes_paper_text_and_hides_hidden_papers(client):
    today = timezone.localdate()
    paper_make("2501.00001", day=today, title="<script>alert(1)</script>")
    paper_make("2501.00002", day=today, title="Hidden paper", hidden=True)
    paper_make("2501.00003", day=today, title="Withdrawn paper", withdrawn_at=timezone.now())
    html = client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Hidden paper" not in html and "Withdrawn paper" not in html


def test_home_without_papers_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No papers yet" in response.content.decode()


def test_home_is_compressed_for_clients_that_accept_it(client):
    papers_ingest_file(path=SAMPLE_PATH, featured_on=timezone.localdate())
    plain = client.get("/")
    packed = client.get("/", headers={"accept-encoding": "gzip, deflate, br"})
    again = client.get("/", headers={"accept-encoding": "gzip"})  # from the cache

    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert gzip.decompress(packed.content) == plain.content == gzip.decompress(again.content)
    assert len(packed.content) < len(plain.content) / 3


def test_subscribe_banner_leads_to_the_signup_form(client):
    home = client.get("/").content.decode()
    assert 'class="button" href="/subscribe/"' in home
    response = client.get("/subscribe/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<form method="post" action="/subscribe/"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'type="email" name="email"' in html
    # Every active topic is offered, with its description.
    assert html.count('name="topics"') == 19
    assert "LLM inference &amp; serving" in html
    assert "Discrete and masked diffusion for text." in html
    assert "I agree to receive the Daily Papers digest" in html


def test_healthz(client):
    response = client.get("/healthz/")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_home_shows_an_editors_change_at_once(client):
    today = timezone.localdate()
    paper = paper_make("2501.00003", day=today, title="Soon hidden")
    paper_make("2501.00004", day=today, title="Stays")
    assert "Soon hidden" in client.get("/").content.decode()  # now cached
    paper.hidden = True
    paper.save()
    html = client.get("/").content.decode()
    assert "Soon hidden" not in html and "Stays" in html
