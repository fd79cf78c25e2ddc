"""Topics: what each matches, how many papers and readers it has."""


from django.contrib import admin
from django.db.models import OuterRef
from django.urls import reverse
from django.utils.html import format_html

from config.lib.admin import (
    PageAnnotatedChangeList,
    count_of,
)
from newsletter.admin.dashboard import topics_reader_counts
from newsletter.models import PaperTopic, Topic
from newsletter.tagging.corrections import corrections_by_topic
from newsletter.tasks import topics_retag_later


class TopicFilter(admin.SimpleListFilter):
    """Rows having a topic, as ``pk IN (links to the topic)``: the plain
    many-to-many filter adds DISTINCT, which makes PostgreSQL sort and count
    every matching row."""

    title = "topic"
    parameter_name = "topic"
    through = None  # the link model
    column = ""  # its foreign key to the listed model

    def lookups(self, request, model_admin):
        return [(str(t.pk), t.name) for t in Topic.objects.order_by("-active", "position", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        if not self.value().isdigit():
            return queryset.none()
        links = self.through.objects.filter(topic_id=int(self.value())).values(self.column)
        return queryset.filter(pk__in=links)


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "position", "paper_count", "reader_count", "editor_corrections"]
    list_filter = ["active"]
    list_editable = ["active", "position"]
    search_fields = ["name", "slug", "keywords"]
    prepopulated_fields = {"slug": ["name"]}
    fields = ["name", "slug", "description", "keywords", "active", "position"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_papers=count_of(PaperTopic.objects.filter(topic=OuterRef("pk")), "topic"))
        )

    def get_changelist(self, request, **kwargs):
        return PageAnnotatedChangeList

    def page_annotate(self, request, topics):
        readers = topics_reader_counts()
        corrections = corrections_by_topic()
        for topic in topics:
            topic.admin_readers = readers.get(topic.pk, 0)
            topic.admin_corrections = corrections.get(topic.pk)

    @admin.display(description="papers", ordering="_papers")
    def paper_count(self, obj):
        url = reverse("admin:newsletter_paper_changelist") + f"?topic={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, obj._papers)

    @admin.display(description="active readers")
    def reader_count(self, obj):
        url = (
            reverse("admin:subscribers_subscriber_changelist")
            + f"?topic={obj.pk}&status__exact=active"
        )
        return format_html('<a href="{}">{}</a>', url, obj.admin_readers)

    @admin.display(description="editor corrections")
    def editor_corrections(self, obj):
        # Each correction is a labelled example; `manage.py tagger_eval --suggest` turns them into advice.
        c = obj.admin_corrections
        if c is None:
            return "–"
        precision = "–" if c.precision is None else f"{c.precision:.0%}"
        return f"{c.removed} removed · {c.added} added · precision {precision}"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Existing papers follow a new topic or a change in what it matches;
        # the re-tag runs on the worker once this save has committed.
        if not change or {"name", "description", "keywords", "active"} & set(form.changed_data):
            topics_retag_later(topic_ids=[obj.pk])
