"""The site's URLs as laptop mode (DEBUG on) mounts them: with the outbox.
Tests run with DEBUG off, so config.urls leaves the outbox out."""

from django.urls import include, path

from config import outbox_views
from config.urls import urlpatterns as site_urlpatterns

urlpatterns = [*site_urlpatterns, path("outbox/", include(outbox_views.urlpatterns))]
