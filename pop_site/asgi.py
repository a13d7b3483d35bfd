"""ASGI entry point: HTTP through Django, websockets through Channels.

Every websocket goes through the origin check (ALLOWED_HOSTS) and the session auth stack
before any consumer sees it; each consumer then checks membership before joining a room.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pop_site.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routing modules import models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from classrooms.routing import websocket_urlpatterns as classroom_routes  # noqa: E402
from pop_site.ws_auth import AuthMiddlewareStack  # noqa: E402 - Channels' stack + "try again" (1013)
from worksheets.routing import websocket_urlpatterns as worksheet_routes  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter([*worksheet_routes, *classroom_routes]))
        ),
    }
)
