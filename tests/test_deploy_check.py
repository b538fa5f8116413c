"""Production configuration: `check --deploy` is clean, gunicorn's config loads and reads the env."""

import gc
import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from gunicorn.workers.sync import SyncWorker

from rivergen.serving import DrainingSyncWorker

BASE_DIR = Path(__file__).resolve().parent.parent
GUNICORN_CONF = BASE_DIR / "gunicorn.conf.py"

# Variables that would let the developer's shell soften production's defaults.
_OVERRIDES = ("DEBUG", "LOG_FORMAT", "DJANGO_SETTINGS_MODULE", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")


def production_env(**extra: str) -> dict[str, str]:
    """Only what an operator must set: DEBUG off, a long random SECRET_KEY, ALLOWED_HOSTS."""
    env = {key: value for key, value in os.environ.items() if key not in _OVERRIDES and not key.startswith("SECURE_")}
    env.update(
        DJANGO_SETTINGS_MODULE="rivergen.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        CREDENTIALS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="api.example.com",
        **extra,
    )
    return env


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.owasp("API8")
def test_check_deploy_reports_nothing_with_production_settings():
    result = run(sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stderr
    # security.W021 (HSTS preload) is silenced on purpose: preloading is opt-in (settings.py).
    assert result.stdout.strip() == "System check identified no issues (1 silenced)."
    assert result.stderr == ""


@pytest.mark.owasp("API8")
def test_check_deploy_still_catches_plain_http():
    # The check is live: turning a production default off is reported and fails the run.
    env = production_env(SECURE_SSL_REDIRECT="false")
    result = run(sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 1
    assert "(security.W008)" in result.stderr


def test_gunicorn_accepts_the_config_and_loads_the_application():
    gunicorn = Path(sys.executable).with_name("gunicorn")
    result = run(str(gunicorn), "--check-config", "-c", str(GUNICORN_CONF), "rivergen.wsgi", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr


def load_gunicorn_conf(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict:
    for name in (
        "PORT",
        "WEB_CONCURRENCY",
        "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT",
        "GUNICORN_PRELOAD",
        "LOG_FORMAT",
        "DEBUG",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(GUNICORN_CONF))


def test_gunicorn_defaults(monkeypatch):
    conf = load_gunicorn_conf(monkeypatch)
    assert conf["bind"] == "0.0.0.0:8000"
    assert conf["workers"] == 2 * len(os.sched_getaffinity(0)) + 1
    # gunicorn's sync worker, draining its queued connections on SIGTERM (`make drill` step 5).
    assert conf["worker_class"] == "rivergen.serving.DrainingSyncWorker"
    assert issubclass(DrainingSyncWorker, SyncWorker)
    assert (conf["timeout"], conf["graceful_timeout"]) == (30, 25)
    # Our request log replaces gunicorn's access log (which would print query strings).
    assert conf["accesslog"] is None
    # Workers fork from a master that has imported Django: a recycled worker serves at once.
    assert conf["preload_app"] is True


def test_gunicorn_freezes_what_the_master_loaded_before_each_fork(monkeypatch):
    """Workers' garbage collections never walk the preloaded application (gunicorn's pre_fork hook)."""
    conf = load_gunicorn_conf(monkeypatch)
    loaded_before_the_fork = [object() for _ in range(10)]
    gc.unfreeze()
    try:
        conf["pre_fork"](server=None, worker=None)
        assert gc.get_freeze_count() >= len(loaded_before_the_fork)
    finally:
        gc.unfreeze()  # the rest of the test run collects as usual


@pytest.mark.parametrize(("value", "expected"), [("false", False), ("0", False), ("true", True), ("", True)])
def test_gunicorn_preload_can_be_turned_off(monkeypatch, value, expected):
    assert load_gunicorn_conf(monkeypatch, GUNICORN_PRELOAD=value)["preload_app"] is expected


def test_gunicorn_reads_the_environment(monkeypatch):
    conf = load_gunicorn_conf(
        monkeypatch, PORT="9123", WEB_CONCURRENCY="3", GUNICORN_TIMEOUT="60", GUNICORN_GRACEFUL_TIMEOUT="20"
    )
    assert (conf["bind"], conf["workers"], conf["timeout"], conf["graceful_timeout"]) == ("0.0.0.0:9123", 3, 60, 20)


def test_gunicorn_refuses_an_unknown_log_format(monkeypatch):
    with pytest.raises(RuntimeError, match="LOG_FORMAT must be json or plain"):
        load_gunicorn_conf(monkeypatch, LOG_FORMAT="xml")
