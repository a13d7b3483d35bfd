"""Settings helpers and production mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from pop_site.settings import env_bool, env_int, env_list, redis_url_for_worker

ROOT = Path(__file__).resolve().parent.parent


def test_it_reads_booleans(monkeypatch: pytest.MonkeyPatch) -> None:
    for raw, expected in [("1", True), ("true", True), ("Yes", True), ("0", False), ("off", False), ("", False)]:
        monkeypatch.setenv("SOME_FLAG", raw)
        assert env_bool("SOME_FLAG", not expected) is expected
    monkeypatch.delenv("SOME_FLAG")
    assert env_bool("SOME_FLAG", True) is True


def test_it_refuses_a_misspelt_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEBUG_FLAG", "Flase")
    with pytest.raises(ImproperlyConfigured, match="DEBUG_FLAG='Flase' is not a boolean"):
        env_bool("DEBUG_FLAG", False)


def test_it_refuses_a_non_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="not a whole number"):
        env_int("SOME_INT", 1)


def test_it_splits_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOSTS", "a.example, b.example,,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def test_it_gives_each_parallel_test_worker_its_own_redis_database() -> None:
    assert redis_url_for_worker("redis://127.0.0.1:6379/1", 0) == "redis://127.0.0.1:6379/1"
    assert redis_url_for_worker("redis://127.0.0.1:6379/1", 1) == "redis://127.0.0.1:6379/2"
    assert redis_url_for_worker("redis://:secret@cache.internal:6380", 2) == "redis://:secret@cache.internal:6380/2"


def _run_production(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    dropped = {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update({"DEBUG": "0", "DJANGO_SETTINGS_MODULE": "pop_site.settings", **extra_env})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_it_refuses_to_start_in_production_without_a_secret_key() -> None:
    result = _run_production({"ALLOWED_HOSTS": "havruta.example"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_it_refuses_to_start_in_production_without_allowed_hosts() -> None:
    result = _run_production({"SECRET_KEY": "x" * 60}, "check")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS is not set" in result.stderr


def test_it_passes_the_deployment_checklist_in_production() -> None:
    result = _run_production(
        {"SECRET_KEY": "k3y-" + "abcdefghij" * 6, "ALLOWED_HOSTS": "havruta.example"},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout
