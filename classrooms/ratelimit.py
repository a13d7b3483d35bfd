"""A small fixed-window failure counter in Django's cache (Redis in production, so every process
shares it; local memory in development and tests).

The window starts at the first failure and lasts `window` seconds; once `limit` failures are
counted the key is locked until the window ends. `cache.add` + `cache.incr` keep the count
atomic on Redis and correct on the local-memory cache.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache

PREFIX = "havruta:ratelimit"


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window: int  # seconds

    def _keys(self, ident: str) -> tuple[str, str]:
        base = f"{PREFIX}:{self.name}:{ident}"
        return base + ":count", base + ":start"

    def failures(self, ident: str) -> int:
        count_key, _start_key = self._keys(ident)
        return int(cache.get(count_key, 0))

    def retry_after(self, ident: str) -> int:
        """Seconds until the key may try again; 0 when it is not locked."""
        count_key, start_key = self._keys(ident)
        values = cache.get_many([count_key, start_key])
        if int(values.get(count_key, 0)) < self.limit:
            return 0
        started = float(values.get(start_key, time.time()))
        return max(1, math.ceil(started + self.window - time.time()))

    def hit(self, ident: str) -> int:
        """Count one failure; returns the number of failures in the current window."""
        count_key, start_key = self._keys(ident)
        cache.add(start_key, time.time(), self.window)
        cache.add(count_key, 0, self.window)
        try:
            return int(cache.incr(count_key))
        except ValueError:  # the window expired between add and incr
            cache.set_many({start_key: time.time(), count_key: 1}, self.window)
            return 1

    def remaining(self, ident: str) -> int:
        return max(0, self.limit - self.failures(ident))

    def reset(self, ident: str) -> None:
        cache.delete_many(list(self._keys(ident)))


def minutes(seconds: int) -> int:
    """Whole minutes to tell a person to wait (never "0 minutes")."""
    return max(1, math.ceil(seconds / 60))
