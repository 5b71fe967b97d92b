from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from assistants.api import (
    schema,  # noqa: F401  (registers the auth scheme extension)
    views,
)

schema_view = SpectacularAPIView.as_view(
    authentication_classes=[], permission_classes=[], throttle_classes=[]
)
docs_view = SpectacularSwaggerView.as_view(
    url_name="api-schema", authentication_classes=[], permission_classes=[], throttle_classes=[]
)

urlpatterns = [
    path("assistants/", views.AssistantListView.as_view(), name="assistant-list"),
    path("assistants/<uuid:pk>/", views.AssistantDetailView.as_view(), name="assistant-detail"),
    path(
        "assistants/<uuid:pk>/tool-signing-secret/",
        views.AssistantToolSigningSecretView.as_view(),
        name="assistant-tool-signing-secret",
    ),
    path("api-keys/", views.ApiKeyListView.as_view(), name="api-key-list"),
    path("api-keys/<uuid:pk>/", views.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path("organization/", views.OrganizationView.as_view(), name="organization"),
    path("schema/", schema_view, name="api-schema"),
    path("docs/", docs_view, name="api-docs"),
]
