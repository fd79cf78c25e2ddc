from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from newsletter import admin_views

urlpatterns = [
    path("admin/worker/", admin_views.worker_status, name="admin-worker"),
    path("admin/dashboard/", admin_views.dashboard_view, name="admin-dashboard"),
    path("admin/", admin.site.urls),
    path("", include("newsletter.urls")),
    path("", include("subscribers.urls")),
]

if settings.DEBUG:
    from config import outbox_views

    urlpatterns += [
        path("outbox/", outbox_views.outbox_list, name="outbox"),
        path("outbox/<str:name>/", outbox_views.outbox_message, name="outbox-message"),
    ]
