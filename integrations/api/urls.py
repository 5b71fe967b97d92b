from django.urls import path

from integrations.api import views

urlpatterns = [
    path(
        "integrations/notion/",
        views.NotionConnectionListView.as_view(),
        name="notion-connection-list",
    ),
    path(
        "integrations/notion/<uuid:pk>/",
        views.NotionConnectionDetailView.as_view(),
        name="notion-connection-detail",
    ),
]
