from django.urls import path

from subscribers import views

urlpatterns = [
    path("subscribe/", views.subscribe, name="subscribe"),
]
