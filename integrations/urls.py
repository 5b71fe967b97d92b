"""/integrations/: connecting outside systems from the dashboard (session login)."""

from django.urls import path

from integrations import views

app_name = "integrations"

urlpatterns = [
    path("notion/connect/", views.notion_connect, name="notion-connect"),
    path("notion/callback/", views.notion_callback, name="notion-callback"),
    path("notion/connections/<uuid:pk>/", views.notion_connection, name="notion-connection"),
]
