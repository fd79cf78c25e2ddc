from django.urls import path

from newsletter.feedback import views

urlpatterns = [
    path("feedback/<isodate:day>/<str:token>/", views.digest_rate, name="feedback-rate"),
    path(
        "feedback/<isodate:day>/<str:token>/<path:arxiv_id>/<str:vote>/",
        views.paper_vote, name="feedback-vote",
    ),
    path("feedback/learned/<str:token>/reset/", views.learned_reset, name="feedback-reset"),
    path("feedback/learned/<str:token>/follow/", views.suggestion_accept, name="feedback-follow"),
]
