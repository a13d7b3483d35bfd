"""Baseline for bench/live_sync.py: a plain Channels group relay (not part of the product).

What a first Channels version of live sync usually looks like: one group per havruta, every
frame `group_send` to it, the in-memory channel layer, Channels' default `dispatch` (which hops to
a thread to close old database connections before every handler). No auth, no database, no CRDT:
it only forwards frames, so it shows what the Channels plumbing alone costs.

Served by daphne from the project root:  daphne -b 127.0.0.1 -p 8002 bench.channels_relay:application
"""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

os.environ.pop("DJANGO_SETTINGS_MODULE", None)
if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-channels-relay-only",  # noqa: S106 - nothing is signed here
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "channels"],
        DATABASES={},
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        USE_TZ=True,
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import re_path


class RelayConsumer(AsyncWebsocketConsumer):
    """Forwards every frame to the other sockets of the same worksheet through a group."""

    group = ""

    async def connect(self) -> None:
        self.group = f"havruta-{self.scope['url_route']['kwargs']['worksheet_id']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        await self.channel_layer.group_send(
            self.group, {"type": "relay.frame", "bytes": bytes_data, "text": text_data, "sender": self.channel_name}
        )

    async def relay_frame(self, event: dict[str, Any]) -> None:
        if event["sender"] != self.channel_name:  # no echo to the sender
            await self.send(text_data=event["text"], bytes_data=event["bytes"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([re_path(r"^ws/worksheets/(?P<worksheet_id>\d+)/?$", RelayConsumer.as_asgi())])}
)
