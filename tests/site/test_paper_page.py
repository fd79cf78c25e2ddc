"""A paper's page: everything known about it, where it appeared, related
papers, a way to get more like it, and a preview when the link is shared."""

from datetime import timedelta

import pytest
from django.utils import timezone

from newsletter.models import Paper
from tests.factories import DAY, paper_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def paper():
    return paper_make(
        "2507.06607", topics={"architectures": 5.0, "reasoning": 2.0},
        title="Decoder-Hybrid-Decoder Architecture for Efficient Reasoning",
        authors=[f"Author {n}" for n in range(1, 13)], abstract="We introduce the Gated Memory Unit.",
        ai_summary="A gated memory unit shares states.", ai_keywords=["GMU", "SambaY"],
        upvotes=42, num_comments=3, github_repo="https://github.com/microsoft/ArchScale", github_stars=1200,
        project_page="https://example.org/sambay", published_on=DAY - timedelta(days=1),
        thumbnail="https://cdn.example.org/2507.06607.png",
    )


def test_the_paper_page_shows_everything_known(client, paper):
    response = client.get("/papers/2507.06607/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<title>Decoder-Hybrid-Decoder Architecture for Efficient Reasoning · Daily Papers</title>" in html
    assert "Author 1, Author 2" in html and "Author 12" in html  # all authors
    assert "We introduce the Gated Memory Unit." in html
    assert "A gated memory unit shares states." in html and ">SambaY<" in html
    assert "▲ 42 upvotes" in html and "3 comments" in html and "★ 1,200 GitHub stars" in html
    for link in ("https://huggingface.co/papers/2507.06607", "https://arxiv.org/abs/2507.06607",
                 "https://arxiv.org/pdf/2507.06607", "https://github.com/microsoft/ArchScale",
                 "https://example.org/sambay"):
        assert f'href="{link}"' in html
    assert 'href="/topics/architectures/">Model architectures' in html
    assert 'href="/digests/2025-07-10/">Thursday, 10 July 2025' in html
    assert 'href="/week/2025-W28/"' in html and 'href="/month/2025-07/"' in html
    assert 'href="/subscribe/?topics=architectures%2Creasoning">Subscribe' in html
    assert paper.get_absolute_url() == "/papers/2507.06607/"


def test_a_shared_link_previews_with_open_graph_tags(client, paper):
    html = client.get("/papers/2507.06607/").content.decode()

    title = "Decoder-Hybrid-Decoder Architecture for Efficient Reasoning"
    assert f'<meta property="og:title" content="{title}">' in html
    assert '<meta property="og:description" content="A gated memory unit shares states.">' in html
    assert '<meta property="og:url" content="https://papers.example.org/papers/2507.06607/">' in html
    assert '<meta property="og:image" content="https://cdn.example.org/2507.06607.png">' in html
    assert '<meta name="description" content="A gated memory unit shares states.">' in html
    assert '<link rel="canonical" href="https://papers.example.org/papers/2507.06607/">' in html


def test_related_papers_share_topics_and_words_best_first(client, paper):
    paper_make("2507.00001", topics={"architectures": 5.0}, title="Gated memory for hybrid decoder models",
               day=DAY - timedelta(days=3))
    paper_make("2507.00002", topics={"architectures": 5.0, "reasoning": 4.0}, title="Another architecture",
               day=DAY + timedelta(days=2))
    paper_make("2507.00003", topics={"reasoning": 1.0}, title="Plain reasoning")
    paper_make("2507.00004", topics={"code": 8.0}, title="Decoder hybrid gated memory")  # no shared topic
    paper_make("2507.00005", topics={"architectures": 5.0}, title="Hybrid decoder architecture reasoning",
               day=DAY + timedelta(days=10))  # featured too long after
    paper_make("2507.00006", topics={"architectures": 5.0}, hidden=True)
    paper_make("2507.00007", topics={"architectures": 5.0}, withdrawn_at=timezone.now())
    for n in range(8, 12):
        paper_make(f"2507.{n:05d}", topics={"reasoning": 1.0}, title=f"More reasoning {n}")

    html = client.get("/papers/2507.06607/").content.decode()
    related = listed_related(html)

    # Two shared topics (2 + 2) and a shared word (architecture) first; then
    # one topic (2) and two shared words (hybrid, decoder); then one weak topic each.
    assert related[:2] == ["2507.00002", "2507.00001"]
    assert len(related) == 5
    assert not {"2507.00004", "2507.00005", "2507.00006", "2507.00007"} & set(related)


def listed_related(html: str) -> list[str]:
    section = html.split("<h2>Related papers</h2>", 1)[1]
    return [part.split('"', 1)[0] for part in section.split('id="paper-')[1:]]


def test_a_versioned_id_redirects_to_the_paper(client, paper):
    response = client.get("/papers/2507.06607v3/")
    assert response.status_code == 301 and response["Location"] == "/papers/2507.06607/"


def test_old_style_arxiv_ids_have_pages(client):
    paper_make("cs/0112017", title="An old paper")
    assert "An old paper" in client.get("/papers/cs/0112017/").content.decode()
    assert Paper.objects.get(arxiv_id="cs/0112017").get_absolute_url() == "/papers/cs/0112017/"


def test_hidden_unknown_and_malformed_papers_are_not_found(client):
    paper_make("2507.00001", hidden=True)
    for path in ("/papers/2507.00001/", "/papers/2507.99999/", "/papers/2507.1/", "/papers/٢٥٠٧.٠٦٦٠٧/",
                 "/papers/2507.00001v0/"):
        assert client.get(path).status_code == 404, path


def test_a_withdrawn_paper_says_so_and_shows_nothing_of_it(client):
    paper_make("2507.00001", title="A secret title", withdrawn_at=timezone.now())
    response = client.get("/papers/2507.00001/")
    html = response.content.decode()
    assert response.status_code == 410
    assert "This paper was withdrawn" in html and "A secret title" not in html
    assert '<meta name="robots" content="noindex">' in html


def test_a_paper_without_topics_or_date_still_has_a_page(client):
    paper_make("2507.00001", day=None, title="Lonely")
    html = client.get("/papers/2507.00001/").content.decode()
    assert "Lonely" in html and "Related papers" not in html
    assert 'href="/subscribe/">Subscribe' in html
