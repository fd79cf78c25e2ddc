from datetime import date

from django.urls import include, path, register_converter

from newsletter import views


class IsoDateConverter:
    """``2025-07-10`` <-> date; anything else is no match (a 404)."""

    regex = r"\d{4}-\d{2}-\d{2}"

    def to_python(self, value: str) -> date:
        return date.fromisoformat(value)  # ValueError (e.g. 2025-02-30) means no match

    def to_url(self, value: date) -> str:
        return value.isoformat()


register_converter(IsoDateConverter, "isodate")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("digests/<isodate:day>/", views.digest_edition, name="digest-edition"),
    path("digests/<isodate:day>/<str:token>/", views.digest_reader, name="digest-reader"),
    path("", include("newsletter.feedback.urls")),
]
