"""Deliveries and worker pings: what was sent, to whom, and why not."""


from django.contrib import admin
from django.contrib.admin import ShowFacets
from django.db.models.functions import Lower
from django.utils.html import format_html

from config.lib.admin import ChoiceFromQueryFilter, address_html, moment_column
from config.lib.paging import EstimatedCountPaginator
from newsletter.models import Delivery, Edition, WorkerPing
from subscribers.models import Subscriber


class RecentEditionFilter(admin.RelatedFieldListFilter):
    """The last 30 editions, not every edition ever sent."""

    def field_choices(self, field, request, model_admin):
        return [(e.pk, f"{e.date:%Y-%m-%d}") for e in Edition.objects.order_by("-date")[:30]]


class ReasonFilter(ChoiceFromQueryFilter):
    title = "reason"
    parameter_name = "reason"
    field_name = "reason"


class ReconciledFilter(admin.SimpleListFilter):
    """Sends that got no answer and were settled with the provider: found
    there, named by one of its events, or sent again because it had nothing."""

    title = "reconciled"
    parameter_name = "reconciled"

    def lookups(self, request, model_admin):
        return [("any", "any way"), *Delivery.Reconciled.choices]

    def queryset(self, request, queryset):
        if self.value() == "any":
            return queryset.exclude(reconciled="")
        if self.value() in Delivery.Reconciled.values:
            return queryset.filter(reconciled=self.value())
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: deliveries are the sending machinery's record."""

    list_display = ["id", "reader", "edition_date", "status", "reason", "settled", "attempts",
                    moment_column("sent_at", "sent at"), moment_column("due_at", "due at")]
    list_filter = [("edition", RecentEditionFilter), "status", ReasonFilter, ReconciledFilter]
    list_select_related = ["subscriber", "edition"]
    search_fields = ["subscriber__email", "provider_message_id"]
    search_help_text = "A reader's full address, or a provider message id."
    # Sorting a million rows on an unindexed column is what makes a list slow.
    sortable_by = ["id"]
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        # Exact matches only, each on its own index: a substring search, or
        # an OR across the join, reads all million rows.
        term = search_term.strip()
        if not term:
            return queryset, False
        if "@" in term:
            readers = Subscriber.objects.annotate(address=Lower("email")).filter(address=term.lower())
            return queryset.filter(subscriber__in=readers.values("pk")), False
        return queryset.filter(provider_message_id=term), False

    @admin.display(description="reader")
    def reader(self, obj):
        return address_html(obj.subscriber.email)

    @admin.display(description="settled")
    def settled(self, obj):
        """How a send that got no answer was settled, or what is pending for it."""
        if obj.reconciled:
            label = obj.get_reconciled_display()
        elif obj.status == Delivery.Status.UNCERTAIN:
            label = "asking the provider"
        elif obj.status == Delivery.Status.FAILED and obj.reconcile_note:
            label = "the provider could not say"
        else:
            return ""
        return format_html('<span title="{}">{}</span>', obj.reconcile_note, label)

    @admin.display(description="edition")
    def edition_date(self, obj):
        day = obj.edition.date.isoformat()
        return format_html('<time datetime="{}">{}</time>', day, day)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkerPing)
class WorkerPingAdmin(admin.ModelAdmin):
    list_display = ["id", moment_column("requested_at", "requested at"),
                    moment_column("answered_at", "answered at"), "hostname"]
