"""ASGI entry point: HTTP through Django, WebSockets through Channels (see config/server.py)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.request_body import RequestBodyLimit  # noqa: E402
from config.routing import websocket_urlpatterns  # noqa: E402  (needs Django set up first)
from sessions.ws_auth import LoginCookieMiddleware  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": RequestBodyLimit(django_asgi_app),  # chunked bodies get a length and a limit
        # Origin is checked by the consumer: a session token works from any origin (it is the
        # credential), a login cookie only from our own hosts (cross-site hijacking).
        # types-channels wants a list of its own pattern type (python/typeshed#15080).
        "websocket": LoginCookieMiddleware(URLRouter(websocket_urlpatterns)),  # type: ignore[arg-type]
    }
)
