"""The embedded default's channel layer: Channels' in-memory layer with a cheaper expiry sweep.

Channels' `InMemoryChannelLayer` walks every channel and every group membership on each
`group_send` and `receive` to drop expired ones. Every live socket has a channel and two groups,
and each worksheet room announces progress to its class with a `group_send`, so with a few hundred
sockets that walk was a few per cent of the event loop (bench/live_sync.py). Here it runs at most
once a second; messages live 60 s and group memberships a day, so nothing expires noticeably later.
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer as ChannelsInMemoryChannelLayer

SWEEP_SECONDS = 1.0


class InMemoryChannelLayer(ChannelsInMemoryChannelLayer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._swept_at = float("-inf")

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = now
        super()._clean_expired()
