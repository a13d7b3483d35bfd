"""Real ASGI server processes for websocket and browser tests.

pytest-django's `live_server` is WSGI and cannot serve websockets, so these fixtures start
`manage.py runserver` (daphne) in subprocesses pointed at the test database. Use them with
`transactional_db` so rows written by the test are visible to the server. Several servers can
run at once: with REDIS_URL set they share the channel layer, as production processes do.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_url() -> str:
    """The URL of the database the test run created, for child processes."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@dataclass
class AsgiServer:
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None)
    production: bool = False  # `python -m pop_site.serve` (uvicorn) instead of runserver (daphne)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> AsgiServer:
        log = self.log_path.open("ab")
        command = [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"]
        if self.production:
            command = [sys.executable, "-m", "pop_site.serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"ASGI server exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"ASGI server did not start:\n{self.log_path.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Stop the process (SIGKILL by default: no graceful shutdown, as in a crash)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                # A graceful stop waits for open websockets to finish; at teardown on a loaded
                # machine that can take longer than we care to wait.
                self.process.kill()
                self.process.wait(timeout=15)

    def restart(self) -> AsgiServer:
        self.kill()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def asgi_server_factory(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., AsgiServer]]:
    servers: list[AsgiServer] = []

    def start(*, production: bool = False, **extra_env: str) -> AsgiServer:
        env = {
            **os.environ,
            "DEBUG": "1",
            "SECRET_KEY": settings.SECRET_KEY,  # the same key, so sessions made in the test are valid
            "DATABASE_URL": test_database_url(),
            "DJANGO_SETTINGS_MODULE": "pop_site.settings",
            **extra_env,
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        # This worker's own Redis database and channel prefix (pop_site/settings.py), passed as is.
        env.pop("PYTEST_XDIST_WORKER", None)
        env["CHANNELS_PREFIX"] = settings.CHANNELS_PREFIX
        if settings.REDIS_URL and "REDIS_URL" not in extra_env:
            env["REDIS_URL"] = settings.REDIS_URL
        port = free_port()  # logs named by port: the drills start servers side by side from threads
        server = AsgiServer(port=port, env=env, log_path=tmp_path / f"server-{port}.log", production=production)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.kill(signal.SIGTERM)


@pytest.fixture
def asgi_server(asgi_server_factory: Callable[..., AsgiServer]) -> AsgiServer:
    return asgi_server_factory()


def session_cookie_for(user: object) -> dict[str, str]:
    """A session for `user` saved in the test database, as a cookie for a browser or client."""
    from django.test import Client

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
