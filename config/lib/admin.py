"""Pieces shared by the admin pages of both apps: the intermediate page that
confirms an action (and asks for its options), and list filters that stay
fast on big tables."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Count, IntegerField, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

CONFIRMED = "post"
_SAMPLE = 20


def action_confirmed(request) -> bool:
    """True when the POST comes from the confirmation page, not the list."""
    return request.POST.get(CONFIRMED) == "yes"


def action_confirm_page(
    modeladmin: admin.ModelAdmin,
    request,
    queryset: QuerySet,
    *,
    title: str,
    question: str,
    confirm_label: str,
    form: forms.Form | None = None,
    danger: bool = False,
) -> TemplateResponse:
    """The page between choosing an action and running it: names the selected
    objects, shows the action's form if it has one, and posts back to the
    same list (filters and "select all" included) with ``post=yes``."""
    select_across = request.POST.get("select_across") == "1"
    selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
    sample = list(queryset[:_SAMPLE])
    total = queryset.count() if select_across or len(selected) > _SAMPLE else len(sample)
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "question": question,
        "confirm_label": confirm_label,
        "form": form,
        "danger": danger,
        "opts": opts,
        "app_label": opts.app_label,
        "action": request.POST.get("action", ""),
        "select_across": select_across,
        # The list view only runs an action when at least one box is sent, even
        # with "select all"; the filters in the URL then decide the rows.
        "selected": selected or [obj.pk for obj in sample],
        "sample": sample,
        "more": max(0, total - len(sample)),
        "total": total,
        "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/dp_action_confirm.html", context)


class ChoiceFromQueryFilter(admin.SimpleListFilter):
    """A filter whose choices are the distinct values of a field, read with
    one bounded query (an index makes it cheap on big tables)."""

    field_name = ""
    max_choices = 60

    def values(self, model_admin) -> list:
        model = model_admin.model
        return list(
            model.objects.exclude(**{self.field_name: ""})
            .order_by(self.field_name)
            .values_list(self.field_name, flat=True)
            .distinct()[: self.max_choices]
        )

    def lookups(self, request, model_admin):
        return [(value, value[:60]) for value in self.values(model_admin)]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(**{self.field_name: self.value()})
        return queryset


class PageAnnotatedChangeList(ChangeList):
    """A change list that lets the ModelAdmin add facts to the shown rows
    only, with one query per page: ``model_admin.page_annotate(request, objs)``.
    The page stays a QuerySet (list_editable needs one), evaluated here."""

    def get_results(self, request):
        super().get_results(request)
        self.result_list._fetch_all()
        self.model_admin.page_annotate(request, self.result_list._result_cache)


def count_of(queryset, group: str) -> Coalesce:
    """A correlated COUNT per row, computed only for the rows shown; joining
    two many-valued relations in one GROUP BY would multiply them."""
    counted = queryset.order_by().values(group).annotate(n=Count("*")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def moment_column(field: str, description: str):
    """A list column with a date and time as "2026-12-05 07:01" (the site's
    time zone), kept on one line: Django's "Dec. 5, 2026, 7:01 a.m." takes
    two."""

    @admin.display(description=description)
    def column(obj):
        value = getattr(obj, field)
        if value is None:
            return "–"
        local = timezone.localtime(value)
        return format_html('<time datetime="{}">{}</time>', local.isoformat(), f"{local:%Y-%m-%d %H:%M}")

    column.__name__ = field  # the column's CSS class: column-<field>
    return column


def address_html(email: str) -> str:
    """An address that wraps inside its column instead of widening it."""
    return format_html('<span class="dp-address">{}</span>', email)
