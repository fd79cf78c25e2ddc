"""Editions: the list, and the edition page (papers, note, preview, test send)."""


from django.contrib import admin
from django.db.models import OuterRef
from django.utils.text import Truncator

from config.lib.admin import (
    count_of,
)
from newsletter.admin.edition_page import EditionPagesMixin
from newsletter.admin.preview import EditionPreviewMixin
from newsletter.models import Edition
from newsletter.selectors import papers_visible


@admin.register(Edition)
class EditionAdmin(EditionPreviewMixin, EditionPagesMixin, admin.ModelAdmin):
    list_display = ["date", "status", "note_cell", "visible_papers", "pinned_papers", "published_at"]
    list_filter = ["status"]
    date_hierarchy = "date"
    fields = ["date", "note", "status", "published_at"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # The date names the edition and the sending side owns its status.
        return ["date", "status", "published_at"] if obj else ["status", "published_at"]

    def get_queryset(self, request):
        papers = papers_visible().filter(featured_on=OuterRef("date"))
        return (
            super()
            .get_queryset(request)
            .annotate(
                _visible=count_of(papers, "featured_on"),
                _pinned=count_of(papers.filter(pinned=True), "featured_on"),
            )
        )

    @admin.display(description="editor's note")
    def note_cell(self, obj):
        return Truncator(obj.note).chars(80) or "–"

    @admin.display(description="papers", ordering="_visible")
    def visible_papers(self, obj):
        return obj._visible

    @admin.display(description="pinned", ordering="_pinned")
    def pinned_papers(self, obj):
        return obj._pinned
