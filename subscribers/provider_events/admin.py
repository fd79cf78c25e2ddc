"""Admin for the suppression list and provider events (imported by
``subscribers/admin.py``). Both are records: read-only, never deleted from
here; a suppression ends by being lifted with a reason, which is kept."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from config.lib.admin import address_html, moment_column
from subscribers.models import ProviderEvent, Suppression, email_hash
from subscribers.provider_events.processing import MAX_ATTEMPTS, provider_event_process
from subscribers.suppression import suppression_lift


class LiftForm(forms.Form):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why this address may be mailed again (kept with the suppression).",
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Say why the suppression is lifted.")
        return reason


class ActiveFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("lifted", "Lifted")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(lifted_at__isnull=True)
        if self.value() == "lifted":
            return queryset.filter(lifted_at__isnull=False)
        return queryset


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ["email_hash_short", "reason", "detail", moment_column("created_at", "created at"),
                    moment_column("lifted_at", "lifted at"), "lifted_by"]
    list_filter = [ActiveFilter, "reason"]
    search_fields = ["email_hash"]
    search_help_text = "Search by full email address (it is matched by its hash)."
    readonly_fields = [
        "email_hash", "reason", "detail", "created_at", "lifted_at", "lifted_reason", "lifted_by",
    ]
    actions = ["lift_with_reason"]
    show_full_result_count = False

    @admin.display(description="address hash", ordering="email_hash")
    def email_hash_short(self, obj):
        return f"{obj.email_hash[:16]}…"

    def get_search_results(self, request, queryset, search_term):
        # Only hashes are stored: an address is found by hashing it.
        if "@" in search_term:
            return queryset.filter(email_hash=email_hash(search_term)), False
        return super().get_search_results(request, queryset, search_term)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Lift selected suppressions (with a reason)", permissions=["change"])
    def lift_with_reason(self, request, queryset):
        active = list(queryset.filter(lifted_at__isnull=True))
        if not active:
            self.message_user(request, "None of the selected suppressions is active.", messages.WARNING)
            return None
        form = LiftForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for suppression in active:
                suppression_lift(
                    suppression=suppression, reason=form.cleaned_data["reason"],
                    by=request.user.get_username(),
                )
            self.message_user(request, f"Lifted {len(active)} suppression(s).", messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/subscribers/suppression/lift.html", {
            **self.admin_site.each_context(request),
            "title": "Lift suppressions",
            "opts": self.model._meta,
            "suppressions": active,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })


class ProcessedFilter(admin.SimpleListFilter):
    title = "processing"
    parameter_name = "processing"

    def lookups(self, request, model_admin):
        return [("done", "Processed"), ("pending", "Waiting"), ("stuck", f"Failed {MAX_ATTEMPTS} times")]

    def queryset(self, request, queryset):
        if self.value() == "done":
            return queryset.filter(processed_at__isnull=False)
        if self.value() == "pending":
            return queryset.filter(processed_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        if self.value() == "stuck":
            return queryset.filter(processed_at__isnull=True, attempts__gte=MAX_ATTEMPTS)
        return queryset


@admin.register(ProviderEvent)
class ProviderEventAdmin(admin.ModelAdmin):
    list_display = [
        moment_column("received_at", "received at"), "event", "recipient_cell", "delivery_link",
        moment_column("processed_at", "processed at"), "result",
    ]
    list_filter = [ProcessedFilter, "kind", "provider"]
    search_fields = ["recipient", "message_id", "event_id"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    actions = ["process_now"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="event")
    def event(self, obj):
        return format_html("{}<br><small>{}</small>", obj.get_kind_display(), obj.provider)

    @admin.display(description="recipient")
    def recipient_cell(self, obj):
        # The reader's page when the address is a reader's.
        if obj.subscriber_id is None:
            return address_html(obj.recipient)
        url = reverse("admin:subscribers_subscriber_change", args=[obj.subscriber_id])
        return format_html('<a href="{}">{}</a>', url, address_html(obj.recipient))

    @admin.display(description="delivery")
    def delivery_link(self, obj):
        if obj.delivery_id is None:
            return "–"
        url = reverse("admin:newsletter_delivery_change", args=[obj.delivery_id])
        return format_html('<a href="{}">#{}</a>', url, obj.delivery_id)

    @admin.action(description="Process selected events now", permissions=["change"])
    def process_now(self, request, queryset):
        pending = list(queryset.filter(processed_at__isnull=True).values_list("pk", flat=True))
        # A retry by hand starts the sweep's count afresh.
        ProviderEvent.objects.filter(pk__in=pending).update(attempts=0)
        done, failed = 0, 0
        for pk in pending:
            try:
                done += provider_event_process(event_id=pk) is not None
            except Exception:
                failed += 1
        level = messages.WARNING if failed else messages.SUCCESS
        self.message_user(request, f"Processed {done} event(s); {failed} failed (see their error).", level)
