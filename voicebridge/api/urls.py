from django.urls import path

from voicebridge.api import views

urlpatterns = [
    path("discord/bots/", views.DiscordBotListView.as_view(), name="discord-bot-list"),
    path(
        "discord/bots/<uuid:pk>/", views.DiscordBotDetailView.as_view(), name="discord-bot-detail"
    ),
    path(
        "discord/bots/<uuid:bot_pk>/bindings/",
        views.DiscordBindingListView.as_view(),
        name="discord-binding-list",
    ),
    path(
        "discord/bots/<uuid:bot_pk>/bindings/<uuid:pk>/",
        views.DiscordBindingDetailView.as_view(),
        name="discord-binding-detail",
    ),
]
