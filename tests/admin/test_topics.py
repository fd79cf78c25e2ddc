import pytest

from newsletter.models import PaperTopic, Topic
from subscribers.models import Subscriber
from tests.factories import paper_make, reader_make, topic

pytestmark = pytest.mark.django_db

LIST = "/admin/newsletter/topic/"


def test_list_counts_papers_and_active_readers_per_topic(admin_client):
    code, reasoning = topic("code"), topic("reasoning")
    for n in range(3):
        PaperTopic.objects.create(paper=paper_make(f"2508.{n:05d}"), topic=code)
    PaperTopic.objects.create(paper=paper_make("2508.00009"), topic=reasoning)
    reader_make("reader1@example.org", topics=("code", "reasoning"))
    reader_make("reader2@example.org", topics=("code",))
    reader_make("reader3@example.org", topics=("code",), status=Subscriber.Status.UNSUBSCRIBED)
    response = admin_client.get(LIST)
    rows = {t.slug: t for t in response.context["cl"].result_list}
    assert (rows["code"]._papers, rows["code"].admin_readers) == (3, 2)
    assert (rows["reasoning"]._papers, rows["reasoning"].admin_readers) == (1, 1)
    assert (rows["surveys"]._papers, rows["surveys"].admin_readers) == (0, 0)
    html = response.content.decode()
    assert f'?topic={code.pk}&amp;status__exact=active">2</a>' in html
    assert f'/admin/newsletter/paper/?topic={code.pk}">3</a>' in html


def test_sorting_by_paper_count(admin_client):
    PaperTopic.objects.create(paper=paper_make("2508.00001"), topic=topic("surveys"))
    first = admin_client.get(LIST, {"o": "-5"}).context["cl"].result_list[0]
    assert first.slug == "surveys"


def test_topic_form_edits_name_description_keywords_and_active(admin_client):
    code = topic("code")
    response = admin_client.post(f"/admin/newsletter/topic/{code.pk}/change/", {
        "name": "Code", "slug": "code", "description": "Programs.", "keywords": "code generation, SWE-bench",
        "position": 3,
    })
    assert response.status_code == 302
    code.refresh_from_db()
    assert (code.name, code.description, code.active) == ("Code", "Programs.", False)
    assert code.keyword_list() == ["code generation", "SWE-bench"]


def test_list_edits_active_in_place(admin_client):
    topics = list(Topic.objects.order_by("position", "name", "-id"))
    data = {"form-TOTAL_FORMS": len(topics), "form-INITIAL_FORMS": len(topics), "_save": "Save"}
    for i, t in enumerate(topics):
        data |= {f"form-{i}-id": t.pk, f"form-{i}-position": t.position}
        if t.slug != "surveys":
            data[f"form-{i}-active"] = "on"
    response = admin_client.post(LIST, data)
    assert response.status_code == 302
    assert list(Topic.objects.filter(active=False).values_list("slug", flat=True)) == ["surveys"]
