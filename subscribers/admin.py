from django.contrib import admin

from subscribers import admin_events  # noqa: F401  (suppression and provider-event admin)
from subscribers.models import ConsentRecord, Subscriber


class ConsentInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "source", "wording_version", "wording", "ip", "user_agent", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["email", "status", "frequency", "timezone", "send_hour", "paused", "created_at"]
    list_filter = ["status", "frequency", "paused", "topics"]
    search_fields = ["email"]
    filter_horizontal = ["topics"]
    readonly_fields = [
        "created_at", "updated_at", "confirmation_requested_at", "confirmation_sent_at", "confirmed_at",
        "welcome_sent_at", "unsubscribed_at", "pending_choices",
    ]
    inlines = [ConsentInline]
    show_full_result_count = False

