"""The dashboard (signed-in members): every page is one organization's, chosen in the switcher.

Each area keeps its routes beside its views; this module only gathers them.
"""

from frontend.views import (
    api_keys,
    assistants,
    chat,
    discord,
    home,
    integrations,
    members,
    overview,
    sessions,
)

app_name = "dashboard"

urlpatterns = [
    *home.urls,
    *overview.urls,
    *assistants.urls,
    *chat.urls,
    *sessions.urls,
    *members.urls,
    *api_keys.urls,
    *integrations.urls,
    *discord.urls,
]
