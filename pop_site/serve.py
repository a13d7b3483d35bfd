"""The production server: uvicorn, with a websocket protocol that reads a few messages ahead.

    python -m pop_site.serve --host 127.0.0.1 --port 8001      # one per core, behind a proxy

uvicorn's websocket protocol stops reading a socket after every message and starts again when the
application takes it: two epoll system calls per keystroke of every student, a tenth of the event
loop's time under a class's typing (bench/live_sync.py). `ReadAheadWebSocketProtocol` stops only
when READ_AHEAD messages wait, which still keeps a flood in the socket's buffers, not in memory.
Everything else is uvicorn's, with the settings production needs (no lifespan, our logging).
"""

from __future__ import annotations

import argparse

import uvicorn
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# Messages a socket may have waiting for the application before uvicorn stops reading it.
READ_AHEAD = 8
# uvicorn's own frame limit (16 MiB by default) times READ_AHEAD is what one socket may hold in
# memory. The worksheet socket closes at 512 KiB with its own message (worksheets/rooms.py); frames
# past this never reach it and are closed by uvicorn, with the same code (1009).
MAX_FRAME_BYTES = 1024 * 1024


class ReadAheadWebSocketProtocol(WebSocketsSansIOProtocol):
    def send_receive_event_to_app(self) -> None:
        if self.read_paused or self.queue.qsize() + 1 >= READ_AHEAD:
            super().send_receive_event_to_app()  # uvicorn's own: queue it and stop reading
            return
        # Below the read-ahead: uvicorn pauses only when it believes it is not paused yet.
        self.read_paused = True
        try:
            super().send_receive_event_to_app()
        finally:
            self.read_paused = False


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the site with uvicorn (production).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--uds", default=None, help="a Unix socket instead of host and port")
    parser.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from --forwarded-allow-ips")
    parser.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--loop", default="asyncio", help="asyncio or uvloop")
    args = parser.parse_args(argv)
    uvicorn.run(
        "pop_site.asgi:application",
        host=args.host,
        port=args.port,
        uds=args.uds,
        ws=ReadAheadWebSocketProtocol,
        ws_max_size=MAX_FRAME_BYTES,
        loop=args.loop,
        lifespan="off",
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=args.log_level,
        access_log=False,
    )


if __name__ == "__main__":
    main()
