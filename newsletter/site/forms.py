"""The search form: parses and validates what a visitor typed, nothing more."""

from __future__ import annotations

from django import forms

from newsletter.models import Topic
from newsletter.site.listing import NEWEST
from newsletter.site.search import Search, query_clean

RELEVANCE = "relevance"
SEARCH_SORTS = {RELEVANCE: "Best match", NEWEST: "Newest"}


class SearchForm(forms.Form):
    q = forms.CharField(required=False, label="Search papers", strip=True)
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.filter(active=True), to_field_name="slug", required=False,
        empty_label="Any topic",
        error_messages={"invalid_choice": "There is no such topic; pick one from the list."},
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the first day as YYYY-MM-DD."},
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the last day as YYYY-MM-DD."},
    )
    sort = forms.ChoiceField(choices=list(SEARCH_SORTS.items()), required=False)

    def clean_q(self) -> str:
        return query_clean(self.cleaned_data.get("q"))

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", "The last day comes before the first.")
        return cleaned

    def search(self) -> Search:
        """The search to run: the valid parts of what was asked (an invalid
        filter is left out and shown as an error)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return Search(
            text=data.get("q") or "",
            topic=data.get("topic"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            sort=data.get("sort") or RELEVANCE,
        )
