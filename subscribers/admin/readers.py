import copy
from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ShowFacets
from django.db.models import Min
from django.http import StreamingHttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from config.lib.admin import (
    ChoiceFromQueryFilter,
    PageAnnotatedChangeList,
    action_confirm_page,
    action_confirmed,
    address_html,
)
from config.lib.paging import EstimatedCountPaginator
from newsletter.admin.topics import TopicFilter
from newsletter.models import Delivery
from subscribers.admin.importing import subscriber_import_view
from subscribers.choices import WEEKDAYS
from subscribers.editorial import (
    subscribers_confirmation_resend,
    subscribers_mark_unsubscribed,
    subscribers_suppress,
)
from subscribers.exporting import csv_line, subscribers_csv_rows
from subscribers.forms import ChoicesForm
from subscribers.models import ConsentRecord, Subscriber
from subscribers.suppression import is_suppressed, suppressed_among
from subscribers.tasks import confirmation_enqueue


def _public_field(name: str, **changes) -> forms.Field:
    """The public form's field: the same choices, checks and messages."""
    field = copy.deepcopy(ChoicesForm.base_fields[name])
    for attribute, value in changes.items():
        setattr(field, attribute, value)
    return field


class ReaderForm(forms.ModelForm):
    """Weekday names, hours 00-23 and the time zone list, as readers see
    them; a bad value is an error on its field, not a database constraint."""

    weekday = _public_field("weekday")
    timezone = _public_field("timezone")
    send_hour = _public_field("send_hour", label="Send hour", help_text="In the reader's time zone.")

    class Meta:
        model = Subscriber
        fields = ["weekday", "timezone", "send_hour"]  # the admin adds its other fields
        widgets = {"keywords": forms.TextInput(attrs={"size": 60}), "topics": forms.CheckboxSelectMultiple}


class ConsentInline(admin.TabularInline):
    model = ConsentRecord
    extra = 0
    can_delete = False
    readonly_fields = ["kind", "source", "wording_version", "wording", "ip", "user_agent", "created_at"]

    def has_add_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    """The reader's latest deliveries; the full history is one link away."""

    model = Delivery
    limit = 20
    extra = 0
    can_delete = False
    fields = ["edition", "status", "reason", "attempts", "sent_at", "created_at"]
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    verbose_name_plural = f"delivery history (latest {limit})"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("edition")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# A list row names this many topics and counts the rest.
TOPICS_SHOWN = 3
WEEKDAY_NAMES = dict(WEEKDAYS)


class ReaderTopicFilter(TopicFilter):
    through = Subscriber.topics.through
    column = "subscriber"


class TimezoneFilter(ChoiceFromQueryFilter):
    title = "time zone"
    parameter_name = "timezone"
    field_name = "timezone"


class SignupMonthFilter(admin.SimpleListFilter):
    title = "signup month"
    parameter_name = "signup_month"
    months = 24

    def lookups(self, request, model_admin):
        first = Subscriber.objects.aggregate(first=Min("created_at"))["first"]
        if first is None:
            return []
        first = timezone.localtime(first)
        year, month = timezone.localdate().year, timezone.localdate().month
        choices = []
        while (year, month) >= (first.year, first.month) and len(choices) < self.months:
            choices.append((f"{year:04d}-{month:02d}", f"{year:04d}-{month:02d}"))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return choices

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            year, month = (int(part) for part in self.value().split("-"))
            start = timezone.make_aware(datetime(year, month, 1))
        except ValueError:
            return queryset.none()
        end = timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1))
        return queryset.filter(created_at__gte=start, created_at__lt=end)


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    form = ReaderForm
    list_display = ["address", "status", "schedule", "topics_cell", "suppressed", "joined"]
    list_filter = ["status", ReaderTopicFilter, "frequency", "digest_format", TimezoneFilter,
                   SignupMonthFilter, "paused"]
    search_fields = ["email"]
    search_help_text = "Address or part of it."
    sortable_by = ["address", "status", "joined"]
    # Status, address and dates change only through the reader's own links,
    # the import, the actions and the provider's reports (see
    # Subscriber.Status), each of which keeps a trail.
    readonly_fields = ["status", "created_at", "updated_at", "confirmation_requested_at",
                       "confirmation_sent_at", "confirmed_at", "welcome_sent_at", "unsubscribed_at",
                       "pending_choices", "suppression", "all_deliveries"]
    fieldsets = [
        (None, {"fields": ["email", "status", "suppression", "all_deliveries"]}),
        ("The digest", {"fields": ["topics", "keywords", "frequency", "weekday", "send_hour", "timezone",
                                   "digest_format", "paused"]}),
        ("History", {"fields": ["created_at", "confirmation_requested_at", "confirmation_sent_at",
                                "confirmed_at", "welcome_sent_at", "unsubscribed_at", "pending_choices",
                                "updated_at"]}),
    ]
    inlines = [ConsentInline, DeliveryInline]
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    paginator = EstimatedCountPaginator
    actions = ["resend_confirmation", "unsubscribe", "suppress", "export_csv"]
    change_list_template = "admin/subscribers/subscriber/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "email"] if obj else self.readonly_fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("topics")

    def get_changelist(self, request, **kwargs):
        return PageAnnotatedChangeList

    def page_annotate(self, request, readers):
        # Suppressions are stored as hashes, so no join can tell; one query
        # for the page can.
        suppressed = suppressed_among(r.email for r in readers)
        for reader in readers:
            reader.admin_suppressed = reader.email in suppressed

    def get_urls(self):
        return [
            path(
                "import/", self.admin_site.admin_view(self.import_view), name="subscribers_subscriber_import"
            ),
            *super().get_urls(),
        ]

    def import_view(self, request):
        return subscriber_import_view(self, request)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, DeliveryInline) and obj is not None and obj.pk:
            latest = Delivery.objects.filter(subscriber=obj).order_by("-created_at", "-pk").values("pk")
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=latest[: inline.limit])
        return kwargs

    @admin.display(description="email", ordering="email")
    def address(self, obj):
        return address_html(obj.email)

    @admin.display(description="when")
    def schedule(self, obj):
        weekly = obj.frequency == Subscriber.Frequency.WEEKLY
        day = f"{WEEKDAY_NAMES[obj.weekday]}s" if weekly else "daily"
        return format_html("{} {}<br><small>{}</small>", day, f"{obj.send_hour:02d}:00", obj.timezone)

    @admin.display(description="topics")
    def topics_cell(self, obj):
        names = [t.name for t in obj.topics.all()]  # prefetched
        if not names:
            # Selection's rule: no topics and no keywords follows everything.
            return "keywords only" if obj.keywords.strip() else "every topic"
        more = len(names) - TOPICS_SHOWN
        if more > 0:
            return format_html("{} <small>+{}</small>", ", ".join(names[:TOPICS_SHOWN]), more)
        return ", ".join(names)

    @admin.display(description="joined", ordering="created_at")
    def joined(self, obj):
        day = timezone.localdate(obj.created_at)
        return format_html('<time datetime="{}">{}</time>', day.isoformat(), day.isoformat())

    @admin.display(description="suppressed", boolean=True)
    def suppressed(self, obj):
        return getattr(obj, "admin_suppressed", None)

    @admin.display(description="suppression list")
    def suppression(self, obj):
        if obj.pk is None:
            return "–"
        return "suppressed: never mailed" if is_suppressed(obj.email) else "not suppressed"

    @admin.display(description="deliveries")
    def all_deliveries(self, obj):
        if obj.pk is None:
            return "–"
        url = reverse("admin:newsletter_delivery_changelist") + f"?subscriber__id__exact={obj.pk}"
        return format_html('<a href="{}">All deliveries to this reader</a>', url)

    @admin.action(description="Resend the confirmation email", permissions=["change"])
    def resend_confirmation(self, request, queryset):
        owed = subscribers_confirmation_resend(subscribers=queryset, by=request.user)
        for subscriber_id in owed:
            confirmation_enqueue(subscriber_id=subscriber_id)
        count = len(owed)
        skipped = queryset.count() - count
        note = f" ({skipped} skipped: already confirmed, left, or suppressed)" if skipped else ""
        self.message_user(request, f"Confirmation email requested for {count} reader(s){note}.",
                          messages.SUCCESS)

    @admin.action(description="Unsubscribe selected readers…", permissions=["change"])
    def unsubscribe(self, request, queryset):
        if not action_confirmed(request):
            return action_confirm_page(
                self, request, queryset, title="Unsubscribe readers", confirm_label="Yes, unsubscribe",
                danger=True, question="Unsubscribe these readers? Pending and active readers stop "
                "receiving digests; they are not emailed about it.",
            )
        count = subscribers_mark_unsubscribed(subscribers=queryset, by=request.user)
        self.message_user(request, f"{count} reader(s) unsubscribed.", messages.SUCCESS)
        return None

    @admin.action(description="Suppress selected addresses…", permissions=["change"])
    def suppress(self, request, queryset):
        if not action_confirmed(request):
            return action_confirm_page(
                self, request, queryset, title="Suppress addresses", confirm_label="Yes, suppress",
                danger=True, question="Put these addresses on the suppression list? Nothing is sent to "
                "them again, whatever their status, until an editor lifts the suppression.",
            )
        count = subscribers_suppress(subscribers=queryset, by=request.user)
        self.message_user(request, f"{count} address(es) suppressed.", messages.SUCCESS)
        return None

    @admin.action(description="Export selected readers to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        rows = (csv_line(values) for values in subscribers_csv_rows(subscribers=queryset))
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="readers-{stamp}.csv"'
        return response

