"""Editions: the list, and the edition page (papers, note, preview, test send)."""


from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

from config.lib.admin import PageAnnotatedChangeList
from newsletter.admin.edition_page import EditionPagesMixin
from newsletter.admin.preview import EditionPreviewMixin
from newsletter.editions import State, editions_progress
from newsletter.models import Delivery, Edition


@admin.register(Edition)
class EditionAdmin(EditionPreviewMixin, EditionPagesMixin, admin.ModelAdmin):
    list_display = ["date", "state_cell", "visible_papers", "pinned_papers", "note_cell"]
    date_hierarchy = "date"
    fields = ["date", "note"]
    sortable_by = ["date"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        # The date names the edition.
        return ["date"] if obj else []

    def get_changelist(self, request, **kwargs):
        return PageAnnotatedChangeList

    def page_annotate(self, request, editions):
        progress = editions_progress(editions=editions)
        for edition in editions:
            edition.admin_progress = progress[edition.pk]

    @admin.display(description="state")
    def state_cell(self, obj):
        progress = obj.admin_progress
        if progress.state == State.SENDING:
            detail = f"{progress.finished:,} of {progress.planned:,} done"
        elif progress.state == State.SENT:
            failed = progress.deliveries.get(Delivery.Status.FAILED, 0)
            detail = f"{progress.planned:,} digests" + (f", {failed:,} failed" if failed else "")
        else:
            detail = ""
        return format_html('<strong class="dp-state-{}">{}</strong> <small>{}</small>',
                           progress.state.replace(" ", "-"), progress.label, detail)

    @admin.display(description="editor's note")
    def note_cell(self, obj):
        return Truncator(obj.note).chars(80) or "–"

    @admin.display(description="papers")
    def visible_papers(self, obj):
        return obj.admin_progress.papers

    @admin.display(description="pinned")
    def pinned_papers(self, obj):
        return obj.admin_progress.pinned
