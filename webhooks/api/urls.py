from django.urls import path

from webhooks.api import views

urlpatterns = [
    path("webhooks/endpoints/", views.EndpointListView.as_view(), name="webhook-endpoint-list"),
    path(
        "webhooks/endpoints/<uuid:pk>/",
        views.EndpointDetailView.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhooks/endpoints/<uuid:pk>/rotate-secret/",
        views.EndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_pk>/deliveries/",
        views.DeliveryListView.as_view(),
        name="webhook-delivery-list",
    ),
    path(
        "webhooks/endpoints/<uuid:endpoint_pk>/deliveries/<uuid:pk>/redeliver/",
        views.DeliveryRedeliverView.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
