"""Production mode (issue 5 §5): `check --deploy --fail-level WARNING` passes on a proper
configuration and fails, with the right check id, on each violation; without
CREDENTIALS_ENCRYPTION_KEYS the service refuses to start. Secrets never reach the output.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent.parent
CHECK = (sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
CHECK_ID = re.compile(r"\(([a-z_]+\.[CEW]\d{3})\)")
NO_KEYS = "django.core.exceptions.ImproperlyConfigured: CREDENTIALS_ENCRYPTION_KEYS must be set when DEBUG is off."

# Set by the tests' own settings or the developer's shell: production_env() decides them.
_DROPPED = (
    "DEBUG",
    "DJANGO_SETTINGS_MODULE",
    "SECRET_KEY",
    "JWT_SIGNING_KEY",
    "CREDENTIALS_ENCRYPTION_KEYS",
    "ALLOWED_HOSTS",
    "LOG_FORMAT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)

SECRET_KEY = secrets.token_urlsafe(64)
JWT_SIGNING_KEY = secrets.token_urlsafe(48)
NEW_KEY = Fernet.generate_key().decode()
OLD_KEY = Fernet.generate_key().decode()


def production_env(**changes: str | None) -> dict[str, str]:
    """What an operator sets, nothing more (DEBUG stays unset: off by default); None unsets."""
    env = {key: value for key, value in os.environ.items() if key not in _DROPPED and not key.startswith("SECURE_")}
    env.update(
        DJANGO_SETTINGS_MODULE="rivergen.settings",
        SECRET_KEY=SECRET_KEY,
        JWT_SIGNING_KEY=JWT_SIGNING_KEY,
        CREDENTIALS_ENCRYPTION_KEYS=NEW_KEY,
        ALLOWED_HOSTS="api.example.com",
    )
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    for name in ("SECRET_KEY", "JWT_SIGNING_KEY"):
        assert name not in env or env[name] not in output
    for key in env.get("CREDENTIALS_ENCRYPTION_KEYS", "").split(","):
        assert not key.strip() or key.strip() not in output
    return result


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("keys", [NEW_KEY, f"{NEW_KEY},{OLD_KEY}", f" {NEW_KEY} , {OLD_KEY} ,"])
def test_a_proper_production_configuration_passes_with_no_warning(keys: str) -> None:
    # One key, or a new key in front of the old one while rotating (spaces are trimmed).
    result = run(*CHECK, env=production_env(CREDENTIALS_ENCRYPTION_KEYS=keys))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("System check identified no issues")
    assert result.stderr == ""


@pytest.mark.owasp("API8")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"DEBUG": "true"},
            # Django's own deploy checks follow DEBUG's defaults: DEBUG (W018) and the
            # HTTPS settings it turns off (HSTS W004, redirect W008, cookies W012, W016).
            {"rivergen.E001", "security.W004", "security.W008", "security.W012", "security.W016", "security.W018"},
            id="debug-on",
        ),
        pytest.param({"ALLOWED_HOSTS": "*"}, {"rivergen.E002"}, id="any-host"),
        pytest.param({"ALLOWED_HOSTS": "api.example.com,*"}, {"rivergen.E002"}, id="any-host-among-others"),
        pytest.param(
            # Under DEBUG only (without it the settings refuse to load, below).
            {"DEBUG": "true", "SECURE_SSL_REDIRECT": "true", "CREDENTIALS_ENCRYPTION_KEYS": None},
            {"rivergen.E001", "rivergen.E003", "security.W004", "security.W012", "security.W016", "security.W018"},
            id="no-encryption-key-under-debug",
        ),
        pytest.param({"CREDENTIALS_ENCRYPTION_KEYS": "not-a-fernet-key"}, {"rivergen.E004"}, id="not-a-key"),
        pytest.param(
            {"CREDENTIALS_ENCRYPTION_KEYS": f"{NEW_KEY},{OLD_KEY[:-2]}"}, {"rivergen.E004"}, id="truncated-old-key"
        ),
        pytest.param({"JWT_SIGNING_KEY": SECRET_KEY}, {"rivergen.E005"}, id="jwt-key-is-secret-key"),
        pytest.param({"JWT_SIGNING_KEY": NEW_KEY}, {"rivergen.E005"}, id="jwt-key-is-encryption-key"),
        pytest.param(
            {"JWT_SIGNING_KEY": OLD_KEY, "CREDENTIALS_ENCRYPTION_KEYS": f"{NEW_KEY},{OLD_KEY}"},
            {"rivergen.E005"},
            id="jwt-key-is-old-encryption-key",
        ),
        pytest.param(
            # A Fernet key is 44 characters: shorter than Django wants SECRET_KEY (W009).
            {"SECRET_KEY": NEW_KEY},
            {"rivergen.E005", "security.W009"},
            id="encryption-key-is-secret-key",
        ),
        pytest.param({"CREDENTIALS_ENCRYPTION_KEYS": f"{NEW_KEY},{NEW_KEY}"}, {"rivergen.E005"}, id="same-key-twice"),
    ],
)
def test_each_violation_fails_the_deploy_check_with_its_id(changes: dict[str, str | None], expected: set[str]) -> None:
    result = run(*CHECK, env=production_env(**changes))
    assert result.returncode == 1
    assert set(CHECK_ID.findall(result.stderr)) == expected, result.stderr


@pytest.mark.owasp("API8")
def test_messages_say_which_secrets_collide_without_showing_them() -> None:
    env = production_env(JWT_SIGNING_KEY=OLD_KEY, CREDENTIALS_ENCRYPTION_KEYS=f"{NEW_KEY},{OLD_KEY},not-a-fernet-key")
    result = run(*CHECK, env=env)
    assert result.returncode == 1
    assert (
        "?: (rivergen.E004) CREDENTIALS_ENCRYPTION_KEYS entry 3 of 3 is not a Fernet key.\n"
        "\tHINT: A Fernet key is 32 random bytes, url-safe base64-encoded (44 characters; see the README)."
    ) in result.stderr
    assert (
        "?: (rivergen.E005) JWT_SIGNING_KEY and CREDENTIALS_ENCRYPTION_KEYS entry 2 of 3 are the same secret."
    ) in result.stderr
    assert "not-a-fernet-key" not in result.stderr


def test_an_invalid_key_is_reported_by_every_check_not_only_deploy() -> None:
    # `migrate` and `runserver` run the checks too: a bad key stops them before any request.
    result = run(sys.executable, "manage.py", "check", env=production_env(CREDENTIALS_ENCRYPTION_KEYS="not-a-key"))
    assert result.returncode == 1
    assert set(CHECK_ID.findall(result.stderr)) == {"rivergen.E004"}


@pytest.mark.owasp("API8")
@pytest.mark.parametrize("keys", [None, "", " , "], ids=["unset", "empty", "only-separators"])
def test_without_encryption_keys_production_refuses_to_start(keys: str | None) -> None:
    env = production_env(CREDENTIALS_ENCRYPTION_KEYS=keys)

    check = run(*CHECK, env=env)
    assert check.returncode == 1
    assert check.stderr.rstrip().endswith(NO_KEYS)

    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = run(str(gunicorn), "--check-config", "-c", "gunicorn.conf.py", "rivergen.wsgi", env=env)
    assert server.returncode != 0
    assert "CREDENTIALS_ENCRYPTION_KEYS must be set when DEBUG is off." in server.stdout + server.stderr


def test_development_needs_no_secret() -> None:
    # `make run`: DEBUG on and nothing else; the encryption key is derived from SECRET_KEY.
    env = production_env(DEBUG="true", SECRET_KEY=None, JWT_SIGNING_KEY=None, CREDENTIALS_ENCRYPTION_KEYS=None)
    result = run(sys.executable, "manage.py", "check", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("System check identified no issues")
