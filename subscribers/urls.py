from django.urls import path

from subscribers import views

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
    path("subscribe/check-your-inbox/", views.subscribe_done, name="subscribe-done"),
    path("confirm/resend/", views.confirm_resend, name="confirm-resend"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("preferences/new-link/<str:purpose>/<str:token>/", views.preferences_link_request,
         name="preferences-new-link"),
    path("preferences/<str:token>/", views.preferences, name="preferences"),
    path("preferences/<str:token>/export/", views.preferences_export, name="preferences-export"),
    path("preferences/<str:token>/erase/", views.preferences_erase, name="preferences-erase"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
