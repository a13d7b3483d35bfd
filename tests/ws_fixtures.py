"""Fixtures for the live worksheet socket tests (load with `pytest_plugins = ["tests.ws_fixtures"]`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tests.conftest import PERSONAS, World, client_for
from worksheets import persistence


@pytest.fixture
def live_settings(settings: Any) -> Any:
    """Short delays so materialisation and unloading happen within a test."""
    settings.WORKSHEETS_LIVE = {
        "MATERIALISE_DELAY_SECONDS": 0.05,
        "MATERIALISE_MAX_DELAY_SECONDS": 0.2,
        "IDLE_UNLOAD_SECONDS": 0.05,
    }
    return settings


@pytest.fixture(autouse=True)
def _quiet_db_threads() -> Iterator[None]:
    """After each test: let the writer and maintenance threads finish, then close their connections.

    (Autouse wherever this plugin is loaded; a no-op when the live server never ran.)

    The test database is flushed (or dropped) right after; an open connection or a late write from a
    thread would get in its way.
    """
    yield
    persistence.settle()


@pytest.fixture
def logins(world: World) -> dict[str, Client]:
    """A signed-in test client per persona (made before the test's event loop runs)."""
    return {persona: client_for(world, persona) for persona in PERSONAS}
