from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from newsletter.models import Delivery, Edition
from tests.factories import DAY, delivery_make, edition_make, paper_make, reader_make

pytestmark = pytest.mark.django_db


def page_url(edition):
    return reverse("admin:newsletter_edition_change", args=[edition.pk])


def test_edition_page_lists_papers_pins_first_and_hidden_apart(admin_client):
    edition = edition_make(note="Big day for reasoning.")
    popular = paper_make("2508.00001", upvotes=300)
    quiet = paper_make("2508.00002", upvotes=3, pinned=True)
    middle = paper_make("2508.00003", upvotes=40)
    hidden = paper_make("2508.00004", upvotes=999, hidden=True)
    paper_make("2508.00005", day=DAY + timedelta(days=1), upvotes=1000)  # another edition's
    response = admin_client.get(page_url(edition))
    assert response.status_code == 200
    assert [p.pk for p in response.context["papers"]] == [quiet.pk, popular.pk, middle.pk]
    assert [p.pk for p in response.context["hidden_papers"]] == [hidden.pk]
    html = response.content.decode()
    assert "Big day for reasoning." in html
    assert "Papers in digest order (3), pins first" in html


def test_buttons_on_the_edition_page_pin_and_hide(admin_client):
    edition = edition_make()
    first, second = paper_make("2508.00001", upvotes=10), paper_make("2508.00002", upvotes=5)
    op = "admin:newsletter_edition_paper_op"
    response = admin_client.post(reverse(op, args=[edition.pk, second.pk, "pin"]))
    assert response.status_code == 302
    assert response["Location"].endswith(page_url(edition) + "#papers")
    admin_client.post(reverse(op, args=[edition.pk, first.pk, "hide"]))
    page = admin_client.get(page_url(edition))
    assert [p.pk for p in page.context["papers"]] == [second.pk]
    assert [p.pk for p in page.context["hidden_papers"]] == [first.pk]
    admin_client.post(reverse(op, args=[edition.pk, first.pk, "unhide"]))
    assert len(admin_client.get(page_url(edition)).context["papers"]) == 2
    assert list(LogEntry.objects.order_by("pk").values_list("change_message", flat=True)) == [
        "Pinned", "Hidden", "Unhidden",
    ]


def test_paper_buttons_only_accept_post_and_papers_of_that_edition(admin_client):
    edition = edition_make()
    paper = paper_make("2508.00001")
    other = paper_make("2508.00002", day=DAY + timedelta(days=1))
    op = "admin:newsletter_edition_paper_op"
    assert admin_client.get(reverse(op, args=[edition.pk, paper.pk, "pin"])).status_code == 405
    assert admin_client.post(reverse(op, args=[edition.pk, other.pk, "pin"])).status_code == 404
    assert admin_client.post(reverse(op, args=[edition.pk, paper.pk, "delete"])).status_code == 404
    paper.refresh_from_db()
    other.refresh_from_db()
    assert not paper.pinned and not other.pinned


def test_editing_the_note_is_logged(admin_client):
    edition = edition_make()
    response = admin_client.post(page_url(edition), {"note": "Three papers on long context today."})
    assert response.status_code == 302
    edition.refresh_from_db()
    assert edition.note == "Three papers on long context today."
    entry = LogEntry.objects.get()
    assert entry.object_id == str(edition.pk)
    assert "Editor's note" in entry.get_change_message()


def test_the_date_cannot_be_changed_on_the_page(admin_client):
    edition = edition_make()
    admin_client.post(page_url(edition), {"note": "x", "date": "2030-01-01"})
    edition.refresh_from_db()
    assert (edition.date, edition.note) == (DAY, "x")


def test_delivery_counts_link_to_the_filtered_list(admin_client):
    edition = edition_make()
    for n, status in enumerate(["sent", "sent", "sent", "failed", "skipped", "pending"]):
        delivery_make(reader=reader_make(f"reader{n}@example.org"), edition=edition, status=status,
                      reason="suppressed" if status == "skipped" else "")
    response = admin_client.get(page_url(edition))
    counts = {label: (count, url) for label, count, url in response.context["delivery_counts"]}
    assert counts["Sent"][0] == 3
    assert counts["Failed"][0] == 1
    assert counts["Skipped"][0] == 1
    assert counts["Pending"][0] == 1
    listed = admin_client.get(counts["Sent"][1])
    assert {d.status for d in listed.context["cl"].result_list} == {"sent"}
    assert len(listed.context["cl"].result_list) == 3
    assert counts["Sent"][1] in response.content.decode().replace("&amp;", "&")


def test_edition_of_a_date_opens_it_or_the_add_form(admin_client):
    url = reverse("admin:newsletter_edition_on", kwargs={"day": DAY.isoformat()})
    response = admin_client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:newsletter_edition_add") + f"?date={DAY.isoformat()}"
    assert not Edition.objects.exists()  # a GET creates nothing
    add_form = admin_client.get(response["Location"])
    assert f'value="{DAY.isoformat()}"' in add_form.content.decode()
    edition = edition_make()
    assert admin_client.get(url)["Location"] == page_url(edition)
    bad = reverse("admin:newsletter_edition_on", kwargs={"day": "yesterday"})
    assert admin_client.get(bad).status_code == 404


def test_edition_list_counts_visible_and_pinned_papers(admin_client):
    edition_make()
    paper_make("2508.00001", pinned=True)
    paper_make("2508.00002")
    paper_make("2508.00003", hidden=True)
    cl = admin_client.get("/admin/newsletter/edition/").context["cl"]
    progress = cl.result_list[0].admin_progress
    assert (progress.papers, progress.pinned, progress.hidden) == (2, 1, 1)


def test_preview_place_is_marked_for_the_digest_renderer():
    # The template keeps a named block where preview and test-send go.
    from django.template.loader import get_template

    source = get_template("admin/newsletter/edition/change_form.html").template.source
    assert "{% block edition_preview %}" in source


def test_delivery_statuses_all_have_a_count(admin_client):
    edition = edition_make()
    labels = [label for label, _, _ in admin_client.get(page_url(edition)).context["delivery_counts"]]
    assert labels == [label for _, label in Delivery.Status.choices]
