from django.contrib import admin
from django.db.models import Count

from newsletter.models import Delivery, Edition, Paper, PaperTopic, Topic, WorkerPing


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "active", "position", "paper_count"]
    list_filter = ["active"]
    list_editable = ["active", "position"]
    search_fields = ["name", "slug", "keywords"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_papers=Count("papertopic", distinct=True))

    @admin.display(description="papers", ordering="_papers")
    def paper_count(self, obj):
        return obj._papers

    def save_model(self, request, obj, form, change):
        from newsletter.tagging import topics_retag_later

        super().save_model(request, obj, form, change)
        # Existing papers follow a new topic or a change in what it matches;
        # the re-tag runs on the worker once this save has committed.
        if not change or {"name", "description", "keywords", "active"} & set(form.changed_data):
            topics_retag_later(topic_ids=[obj.pk])


class PaperTopicInline(admin.TabularInline):
    model = PaperTopic
    extra = 0
    autocomplete_fields = ["topic"]
    readonly_fields = ["score", "created_at"]


@admin.register(Paper)
class PaperAdmin(admin.ModelAdmin):
    list_display = [
        "arxiv_id", "title", "featured_on", "upvotes", "num_comments", "source", "pinned", "hidden",
    ]
    list_filter = ["featured_on", "source", "pinned", "hidden", "topics"]
    search_fields = ["arxiv_id", "title", "abstract"]
    date_hierarchy = "featured_on"
    list_per_page = 50
    show_full_result_count = False
    inlines = [PaperTopicInline]
    readonly_fields = ["created_at", "updated_at", "sources"]
    filter_horizontal = ["excluded_topics"]


@admin.register(Edition)
class EditionAdmin(admin.ModelAdmin):
    list_display = ["date", "status", "published_at"]
    list_filter = ["status"]
    date_hierarchy = "date"


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["id", "subscriber", "edition", "status", "reason", "attempts", "sent_at"]
    list_filter = ["status", "edition"]
    list_select_related = ["subscriber", "edition"]
    search_fields = ["subscriber__email", "provider_message_id"]
    raw_id_fields = ["subscriber", "edition"]
    show_full_result_count = False


@admin.register(WorkerPing)
class WorkerPingAdmin(admin.ModelAdmin):
    list_display = ["id", "requested_at", "answered_at", "hostname"]
