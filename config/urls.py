from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from config.security import throttled_login
from newsletter.admin import views as admin_views
from subscribers.provider_events.webhooks import tracking_urlpatterns

# Admin is the only authenticated area: throttle password guessing.
admin.site.login = throttled_login(admin.site.login)
desk_name = f"{settings.SITE_NAME} · Editor's desk"
admin.site.site_header = admin.site.site_title = admin.site.index_title = desk_name
# The index and breadcrumbs lead everywhere; the sidebar's 300 px are worth
# more to the lists, which must fit a laptop's screen beside their filters.
admin.site.enable_nav_sidebar = False
admin.site.empty_value_display = "–"

# Django's default 400 page is rendered without the request (no site name).
handler400 = "config.errors.bad_request"

urlpatterns = [
    path("admin/worker/", admin_views.worker_status, name="admin-worker"),
    path("admin/dashboard/", admin_views.dashboard_view, name="admin-dashboard"),
    path("admin/", admin.site.urls),
    # Provider webhooks: /anymail/<provider>/tracking/ for the providers in
    # WEBHOOK_PROVIDERS only (docs/providers.md); any other provider's address
    # is a 404, so its weaker or absent checks cannot be used to forge events.
    # Tracking only: nothing here receives mail, so anymail's inbound
    # endpoints (MIME parsing of whatever is posted) stay unrouted.
    path("anymail/", include(tracking_urlpatterns(providers=settings.WEBHOOK_PROVIDERS))),
    path("", include("newsletter.urls")),
    path("", include("subscribers.urls")),
]

if settings.DEBUG:
    from config import outbox_views

    urlpatterns += [path("outbox/", include(outbox_views.urlpatterns))]
