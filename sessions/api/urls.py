"""Session routes. The live-session runtime appends its routes below (sessions/api/live.py):
POST sessions/<id>/end/, and POST on the "session-messages" URL."""

from django.urls import path

from sessions.api import live, usage, views

urlpatterns = [
    path("sessions/", views.SessionListView.as_view(), name="session-list"),
    path("sessions/<uuid:pk>/", views.SessionDetailView.as_view(), name="session-detail"),
    path(
        "sessions/<uuid:pk>/messages/",
        views.SessionMessagesView.as_view(),
        name="session-messages",
    ),
    path("sessions/<uuid:pk>/end/", live.SessionEndView.as_view(), name="session-end"),
    path("sessions/<uuid:pk>/token/", live.SessionTokenView.as_view(), name="session-token"),
    path("usage/", usage.UsageView.as_view(), name="usage"),
]
