import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from newsletter.models import Paper, PaperTopic
from tests.factories import DAY, edition_make, paper_make, papers_sample, topic

pytestmark = pytest.mark.django_db

LIST = "/admin/newsletter/paper/"


def listed(response) -> list[str]:
    """arXiv ids of the rows on a change list page, in order."""
    return [obj.arxiv_id for obj in response.context["cl"].result_list]


def act(client, action: str, papers, **extra):
    data = {"action": action, "_selected_action": [p.pk for p in papers], "index": 0, **extra}
    return client.post(LIST, data)


def confirm(client, action: str, papers, **extra):
    data = {"action": action, "_selected_action": [p.pk for p in papers], "post": "yes", **extra}
    return client.post(LIST, data)


@pytest.fixture
def papers():
    return papers_sample()


def test_list_shows_compact_rows_with_topics(admin_client, papers):
    response = admin_client.get(LIST, {"all": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Decoder-Hybrid-Decoder Architecture for Efficient Reasoning with Long Generation" in html
    assert "2507.06607" in html
    assert "Model architectures" in html  # the topics column
    for header in ("featured on", "upvotes", "comments", "topics", "source", "pinned", "hidden"):
        assert header in html.lower()


def test_filters_by_topic_code_pinned_and_date(admin_client, papers):
    diffusion = topic("diffusion-lm")
    tagged = set(Paper.objects.filter(topics=diffusion).values_list("arxiv_id", flat=True))
    assert tagged
    assert set(listed(admin_client.get(LIST, {"topic": diffusion.pk}))) == tagged

    with_code = set(Paper.objects.exclude(github_repo="").values_list("arxiv_id", flat=True))
    assert 0 < len(with_code) < len(papers)
    response = admin_client.get(LIST, {"has_code": "yes", "all": ""})
    assert set(listed(response)) == with_code

    Paper.objects.filter(arxiv_id="2507.06607").update(pinned=True)
    assert listed(admin_client.get(LIST, {"pinned__exact": "1"})) == ["2507.06607"]

    other = paper_make("2508.00001", day=DAY.replace(day=1))
    assert listed(admin_client.get(LIST, {"featured": DAY.replace(day=1).isoformat()})) == [other.arxiv_id]
    assert DAY.isoformat() in admin_client.get(LIST).content.decode()  # offered as a date choice


def test_search_by_title_arxiv_id_with_version_and_author(admin_client, papers):
    assert listed(admin_client.get(LIST, {"q": "Decoder-Hybrid-Decoder"})) == ["2507.06607"]
    assert listed(admin_client.get(LIST, {"q": "2507.06607v2"})) == ["2507.06607"]
    assert listed(admin_client.get(LIST, {"q": "Liliang Ren"})) == ["2507.06607"]


def test_search_finds_authors_with_non_ascii_names(admin_client):
    paper_make("2508.00001", authors=["Jörg Müller"])
    paper_make("2508.00002", authors=["Jorg Muller"])
    assert listed(admin_client.get(LIST, {"q": "Müller"})) == ["2508.00001"]


def test_sortable_by_upvotes(admin_client):
    for n, votes in [(1, 5), (2, 50), (3, 20)]:
        paper_make(f"2508.{n:05d}", upvotes=votes)
    # Column 3 is upvotes; "-" sorts descending.
    assert listed(admin_client.get(LIST, {"o": "-3"})) == ["2508.00002", "2508.00003", "2508.00001"]
    assert listed(admin_client.get(LIST, {"o": "3"})) == ["2508.00001", "2508.00003", "2508.00002"]


def test_pin_and_hide_actions_change_the_edition_page(admin_client, papers):
    edition = edition_make()
    # Edition order: upvotes, comments, then the source's own list.
    day = Paper.objects.filter(featured_on=DAY)
    low = day.order_by("upvotes", "num_comments", "-source_position").first()
    top = day.order_by("-upvotes", "-num_comments", "source_position").first()
    url = reverse("admin:newsletter_edition_change", args=[edition.pk])
    before = [p.pk for p in admin_client.get(url).context["papers"]]
    assert before[0] == top.pk and before[-1] == low.pk

    act(admin_client, "pin", [low])
    act(admin_client, "hide", [top])
    page = admin_client.get(url)
    shown = [p.pk for p in page.context["papers"]]
    assert shown[0] == low.pk
    assert top.pk not in shown
    assert len(shown) == len(before) - 1
    assert [p.pk for p in page.context["hidden_papers"]] == [top.pk]
    assert '<strong class="dp-pin">Pinned</strong>' in page.content.decode()
    assert {e.change_message for e in LogEntry.objects.all()} == {"Pinned", "Hidden"}


def test_add_topic_asks_which_then_adds_it_as_the_editors(admin_client):
    a, b = paper_make("2508.00001"), paper_make("2508.00002")
    page = act(admin_client, "add_topic", [a, b])
    assert page.status_code == 200
    assert "Which topic should these papers get?" in page.content.decode()
    assert not PaperTopic.objects.exists()
    code = topic("code")
    response = confirm(admin_client, "add_topic", [a, b], topic=code.pk)
    assert response.status_code == 302
    links = PaperTopic.objects.filter(topic=code)
    assert {(link.paper_id, link.origin) for link in links} == {(a.pk, "editor"), (b.pk, "editor")}


def test_remove_topic_confirms_then_excludes_it(admin_client):
    a = paper_make("2508.00001")
    code = topic("code")
    PaperTopic.objects.create(paper=a, topic=code, origin="auto")
    page = act(admin_client, "remove_topic", [a])
    assert "Remove topic" in page.content.decode()
    assert PaperTopic.objects.filter(paper=a).exists()
    confirm(admin_client, "remove_topic", [a], topic=code.pk)
    assert not PaperTopic.objects.filter(paper=a).exists()
    assert list(a.excluded_topics.all()) == [code]


def test_retag_asks_for_confirmation_first(admin_client):
    paper = paper_make("2508.00001", title="Chain-of-thought reasoning for math")
    page = act(admin_client, "retag", [paper])
    assert "Re-run automatic tagging" in page.content.decode()
    assert not PaperTopic.objects.exists()
    confirm(admin_client, "retag", [paper])
    assert list(paper.topics.values_list("slug", flat=True)) == ["reasoning"]


def _change_form_data(paper, **changes):
    data = {
        "arxiv_id": paper.arxiv_id, "version": "", "title": paper.title, "abstract": paper.abstract,
        "authors": '["Jörg Müller"]', "featured_on": paper.featured_on.isoformat(), "published_on": "",
        "upvotes": paper.upvotes, "num_comments": 0, "github_repo": "", "github_stars": "",
        "project_page": "", "thumbnail": "", "withdrawn_at_0": "", "withdrawn_at_1": "",
        "papertopic_set-TOTAL_FORMS": 0, "papertopic_set-INITIAL_FORMS": 0,
        "papertopic_set-MIN_NUM_FORMS": 0, "papertopic_set-MAX_NUM_FORMS": 1000,
    }
    data.update(changes)
    return data


def test_editing_title_and_summary_marks_them_editor_owned(admin_client):
    paper = paper_make("2508.00001")
    url = reverse("admin:newsletter_paper_change", args=[paper.pk])
    response = admin_client.post(url, _change_form_data(paper, title="A better title"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    paper.refresh_from_db()
    assert (paper.title, paper.title_edited, paper.abstract_edited) == ("A better title", True, False)
    admin_client.post(url, _change_form_data(paper, abstract="A clearer summary."))
    paper.refresh_from_db()
    assert paper.abstract_edited


def test_topics_added_in_the_form_are_editors_and_removed_ones_excluded(admin_client):
    paper = paper_make("2508.00001")
    code, reasoning = topic("code"), topic("reasoning")
    kept = PaperTopic.objects.create(paper=paper, topic=reasoning, origin="auto", score=2.0)
    url = reverse("admin:newsletter_paper_change", args=[paper.pk])
    data = _change_form_data(
        paper,
        **{
            "papertopic_set-TOTAL_FORMS": 2, "papertopic_set-INITIAL_FORMS": 1,
            "papertopic_set-0-id": kept.pk, "papertopic_set-0-paper": paper.pk,
            "papertopic_set-0-topic": reasoning.pk, "papertopic_set-0-DELETE": "on",
            "papertopic_set-1-paper": paper.pk, "papertopic_set-1-topic": code.pk,
        },
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302
    links = PaperTopic.objects.filter(paper=paper)
    assert [(link.topic, link.origin) for link in links] == [(code, "editor")]
    assert list(paper.excluded_topics.all()) == [reasoning]


def test_staff_without_change_permission_gets_no_actions(client, django_user_model):
    from django.contrib.auth.models import Permission

    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_paper"))
    client.force_login(viewer)
    paper = paper_make("2508.00001")
    response = client.get(LIST)
    assert response.status_code == 200
    assert 'value="pin"' not in response.content.decode()
    act(client, "pin", [paper])
    paper.refresh_from_db()
    assert not paper.pinned


def test_anonymous_visitors_are_sent_to_the_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
