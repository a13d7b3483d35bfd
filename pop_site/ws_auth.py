"""Channels' session auth stack for websockets, saying "try again later" while the database is down.

Channels' AuthMiddleware reads the session and the user from the database before any consumer runs.
While PostgreSQL was down or restarting that raised inside the handshake: the server answered HTTP
500 with a traceback for every attempt, and the browser saw an unexplained failure (1006) it could
not tell from a broken server. Here the socket is accepted and closed with 1013, "try again later"
(4013 under daphne, worksheets/PROTOCOL.md), as the consumers do when they cannot reach the database;
the page shows "reconnecting" and retries with backoff (tests/test_drills.py, PostgreSQL restart).
"""

from __future__ import annotations

import logging
from typing import Any

from channels.auth import AuthMiddleware
from channels.sessions import CookieMiddleware, SessionMiddleware
from django.db import DatabaseError

from worksheets.consumers import CLOSE_TRY_AGAIN, PRIVATE_CODE_OFFSET

log = logging.getLogger("havruta.ws")


class TryAgainAuthMiddleware(AuthMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] != "websocket":
            return await super().__call__(scope, receive, send)
        scope = dict(scope)
        self.populate_scope(scope)
        try:
            await self.resolve_scope(scope)
        except DatabaseError:
            # Ids only in logs; no traceback: this is an outage, not a bug.
            log.warning("event=socket.closed by=server code=1013 reason=database-unavailable path=%s", scope["path"])
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            try:
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})
            except Exception:  # daphne sends only 1000 and 3000-4999 (worksheets/consumers.py)
                await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN + PRIVATE_CODE_OFFSET})
            return None
        return await self.inner(scope, receive, send)


def AuthMiddlewareStack(inner: Any) -> Any:  # the name Channels gives it
    return CookieMiddleware(SessionMiddleware(TryAgainAuthMiddleware(inner)))
