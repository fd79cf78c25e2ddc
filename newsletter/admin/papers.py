"""Papers: curation from the list (pin, hide, re-topic) and the change form."""

import json
import re
from datetime import date, timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ShowFacets
from django.db import connection, models
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator

from config.lib.admin import (
    action_confirm_page,
    action_confirmed,
)
from config.lib.paging import EstimatedCountPaginator
from newsletter import curation
from newsletter.admin.topics import TopicFilter
from newsletter.models import Paper, PaperTopic, Topic


class FeaturedDateFilter(admin.SimpleListFilter):
    """Recent ranges and the last featured dates, from the featured_on index."""

    title = "featured date"
    parameter_name = "featured"
    recent_dates = 14

    def lookups(self, request, model_admin):
        dates = (
            Paper.objects.exclude(featured_on=None)
            .order_by("-featured_on")
            .values_list("featured_on", flat=True)
            .distinct()[: self.recent_dates]
        )
        return [("7d", "Past 7 days"), ("30d", "Past 30 days"), ("none", "No date")] + [
            (day.isoformat(), day.isoformat()) for day in dates
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        today = timezone.localdate()
        if value in ("7d", "30d"):
            return queryset.filter(featured_on__gt=today - timedelta(days=int(value[:-1])))
        if value == "none":
            return queryset.filter(featured_on=None)
        try:
            return queryset.filter(featured_on=date.fromisoformat(value))
        except ValueError:
            return queryset.none()


class PaperTopicFilter(TopicFilter):
    through = PaperTopic
    column = "paper"


class HasCodeFilter(admin.SimpleListFilter):
    title = "code"
    parameter_name = "has_code"

    def lookups(self, request, model_admin):
        return [("yes", "Has code"), ("no", "No code")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(github_repo="")
        if self.value() == "no":
            return queryset.filter(github_repo="")
        return queryset


class PaperTopicForm(forms.ModelForm):
    class Meta:
        model = PaperTopic
        fields = ["topic"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An existing link can only be removed; changing its topic in place
        # would hide a removal (which must exclude the old topic) behind an edit.
        if self.instance.pk:
            self.fields["topic"].disabled = True


class PaperTopicInline(admin.TabularInline):
    model = PaperTopic
    form = PaperTopicForm
    extra = 0
    fields = ["topic", "origin", "score", "created_at"]
    readonly_fields = ["origin", "score", "created_at"]
    verbose_name = "topic"
    verbose_name_plural = "topics (added ones are editor-owned; removed ones stay off)"

    def get_queryset(self, request):
        # Each row is labelled with str(link), which names the paper and topic.
        return super().get_queryset(request).select_related("paper", "topic")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "topic":
            # Fixed choices are copied to every row; a queryset would be read
            # once per row.
            field.choices = list(field.choices)
        return field


class TopicChoiceForm(forms.Form):
    topic = forms.ModelChoiceField(queryset=Topic.objects.filter(active=True), empty_label=None)


_ARXIV_VERSION = re.compile(r"\b(\d{4}\.\d{4,5})v\d+\b")


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = [
        "title_cell", "featured", "upvotes", "comments", "topics_cell", "pinned", "hidden",
    ]
    list_display_links = ["title_cell"]
    list_filter = [FeaturedDateFilter, PaperTopicFilter, "source", "pinned", "hidden", HasCodeFilter]
    search_fields = ["title", "abstract", "arxiv_id", "authors"]
    search_help_text = "Title, abstract, arXiv id or author."
    sortable_by = ["title_cell", "featured", "upvotes", "comments"]
    list_per_page = 50
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    inlines = [PaperTopicInline]
    readonly_fields = [
        "ai_summary", "ai_keywords", "arxiv_categories", "primary_category", "organization",
        "source", "sources", "created_at", "updated_at",
    ]
    filter_horizontal = ["excluded_topics"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        (None, {"fields": ["arxiv_id", "version", "title", "abstract", "authors", "featured_on",
                           "published_on"]}),
        ("Editorial", {"fields": ["pinned", "hidden", "title_edited", "abstract_edited", "excluded_topics"],
                       "description": "Edited titles and abstracts are editor-owned: ingestion keeps "
                       "them. Clear a box to let ingestion update that field again."}),
        ("Attention and links", {"fields": ["upvotes", "num_comments", "github_repo", "github_stars",
                                            "project_page", "thumbnail", "withdrawn_at"]}),
        ("From the sources", {"classes": ["collapse"], "fields": [
            "ai_summary", "ai_keywords", "arxiv_categories", "primary_category", "organization",
            "source", "sources", "created_at", "updated_at"]}),
    ]
    actions = ["pin", "unpin", "hide", "unhide", "add_topic", "remove_topic", "retag"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(
            Prefetch(
                "papertopic_set",
                queryset=PaperTopic.objects.select_related("topic").order_by(
                    "topic__position", "topic__name"
                ),
                to_attr="admin_topic_links",
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        form.base_fields["abstract"].label = "Summary (abstract)"
        return form

    def get_search_results(self, request, queryset, search_term):
        # Editors paste ids with their version ("2507.06607v2"); papers are
        # stored without it.
        term = _ARXIV_VERSION.sub(r"\1", search_term)
        results, may_have_duplicates = super().get_search_results(request, queryset, term)
        if connection.vendor == "sqlite" and not term.isascii():
            # SQLite keeps JSON as written, with non-ASCII letters escaped
            # ("M\u00fcller"); PostgreSQL's jsonb text has the letters.
            escaped = [json.dumps(word)[1:-1] for word in term.split() if not word.isascii()]
            results = results | queryset.filter(*[Q(authors__icontains=word) for word in escaped])
        return results, may_have_duplicates

    def save_model(self, request, obj, form, change):
        curation.paper_mark_edited(paper=obj, fields=form.changed_data)
        super().save_model(request, obj, form, change)

    def save_formset(self, request, form, formset, change):
        if formset.model is not PaperTopic:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)
        for link in formset.deleted_objects:
            curation.paper_topic_remove(paper=form.instance, topic=link.topic)
        for link in formset.new_objects:
            curation.paper_topic_add(paper=form.instance, topic=link.topic)
        return None

    @admin.display(description="title", ordering="title")
    def title_cell(self, obj):
        return format_html(
            "{}<br><small>{}{}</small>", Truncator(obj.title).chars(110), obj.arxiv_id,
            " · title edited" if obj.title_edited else "",
        )

    @admin.display(description="featured on", ordering="featured_on")
    def featured(self, obj):
        if obj.featured_on is None:
            return "–"
        day = obj.featured_on.isoformat()
        return format_html('<time datetime="{}">{}</time>', day, day)

    @admin.display(description="comments", ordering="num_comments")
    def comments(self, obj):
        return obj.num_comments

    @admin.display(description="topics")
    def topics_cell(self, obj):
        return format_html_join(
            ", ", "{}{}", ((link.topic.name, "✎" if link.origin == PaperTopic.Origin.EDITOR else "")
                           for link in obj.admin_topic_links)
        ) or "–"

    def _done(self, request, count, what):
        self.message_user(request, f"{count} paper(s) {what}.", messages.SUCCESS)

    @admin.action(description="Pin selected papers", permissions=["change"])
    def pin(self, request, queryset):
        self._done(request, curation.papers_pin(papers=queryset, by=request.user), "pinned")

    @admin.action(description="Unpin selected papers", permissions=["change"])
    def unpin(self, request, queryset):
        self._done(request, curation.papers_unpin(papers=queryset, by=request.user), "unpinned")

    @admin.action(description="Hide selected papers (from editions and digests)", permissions=["change"])
    def hide(self, request, queryset):
        self._done(request, curation.papers_hide(papers=queryset, by=request.user), "hidden")

    @admin.action(description="Unhide selected papers", permissions=["change"])
    def unhide(self, request, queryset):
        self._done(request, curation.papers_unhide(papers=queryset, by=request.user), "shown again")

    @admin.action(description="Add a topic to selected papers…", permissions=["change"])
    def add_topic(self, request, queryset):
        form = TopicChoiceForm(request.POST if action_confirmed(request) else None)
        if form.is_bound and form.is_valid():
            topic = form.cleaned_data["topic"]
            count = curation.papers_topic_add(papers=queryset, topic=topic, by=request.user)
            return self._done(request, count, f"now have “{topic.name}” as an editor's topic")
        return action_confirm_page(
            self, request, queryset, title="Add a topic", form=form, confirm_label="Add topic",
            question="Which topic should these papers get? It becomes editor-owned: automatic "
            "tagging never removes it.",
        )

    @admin.action(description="Remove a topic from selected papers…", permissions=["change"])
    def remove_topic(self, request, queryset):
        form = TopicChoiceForm(request.POST if action_confirmed(request) else None)
        form.fields["topic"].queryset = Topic.objects.all()
        if form.is_bound and form.is_valid():
            topic = form.cleaned_data["topic"]
            count = curation.papers_topic_remove(papers=queryset, topic=topic, by=request.user)
            return self._done(request, count, f"lost “{topic.name}” (automatic tagging keeps it off)")
        return action_confirm_page(
            self, request, queryset, title="Remove a topic", form=form, confirm_label="Remove topic",
            danger=True, question="Which topic should these papers lose? Automatic tagging will not "
            "put it back (undo by adding it again).",
        )

    @admin.action(description="Re-run automatic tagging on selected papers…", permissions=["change"])
    def retag(self, request, queryset):
        if not action_confirmed(request):
            return action_confirm_page(
                self, request, queryset, title="Re-run automatic tagging", confirm_label="Re-tag",
                question="Replace the automatic topics of these papers with what the current topic "
                "keywords give? Topics an editor added or removed stay as they are.",
            )
        try:
            count = curation.papers_retag(papers=queryset, by=request.user)
        except ValueError as exc:
            self.message_user(request, f"Nothing re-tagged: {exc}.", messages.ERROR)
            return None
        return self._done(request, count, "re-tagged")
