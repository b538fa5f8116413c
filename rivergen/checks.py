"""System checks for production configuration (`manage.py check --deploy`).

Registered from DatasourcesConfig.ready(). Messages name settings, never their values.

- rivergen.E001  DEBUG is on.
- rivergen.E002  ALLOWED_HOSTS accepts any host ('*').
- rivergen.E003  CREDENTIALS_ENCRYPTION_KEYS is empty (the key is derived from SECRET_KEY).
- rivergen.E004  a CREDENTIALS_ENCRYPTION_KEYS entry is not a Fernet key (every check, not only --deploy).
- rivergen.E005  SECRET_KEY, JWT_SIGNING_KEY and the encryption keys are not all distinct.
"""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from rivergen import crypto


@register(Tags.security, deploy=True)
def check_debug_is_off(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if not settings.DEBUG:
        return []
    return [
        Error(
            "DEBUG is on: error pages show settings, SQL and tracebacks to anyone.",
            hint="Unset DEBUG (or set DEBUG=false) in production.",
            id="rivergen.E001",
        )
    ]


@register(Tags.security, deploy=True)
def check_allowed_hosts_has_no_wildcard(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if "*" not in settings.ALLOWED_HOSTS:
        return []
    return [
        Error(
            "ALLOWED_HOSTS contains '*': any Host header is accepted (host header poisoning).",
            hint="List the service's host names in ALLOWED_HOSTS ('.example.com' matches subdomains).",
            id="rivergen.E002",
        )
    ]


@register(Tags.security, deploy=True)
def check_credentials_keys_are_set(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.CREDENTIALS_ENCRYPTION_KEYS:
        return []
    return [
        Error(
            "CREDENTIALS_ENCRYPTION_KEYS is empty: stored credentials are encrypted with a key "
            "derived from SECRET_KEY.",
            hint="Set CREDENTIALS_ENCRYPTION_KEYS to a Fernet key of its own (see the README).",
            id="rivergen.E003",
        )
    ]


@register(Tags.security)
def check_credentials_keys_are_fernet_keys(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    keys = settings.CREDENTIALS_ENCRYPTION_KEYS
    return [
        Error(
            f"CREDENTIALS_ENCRYPTION_KEYS entry {position} of {len(keys)} is not a Fernet key.",
            hint="A Fernet key is 32 random bytes, url-safe base64-encoded (44 characters; see the README).",
            id="rivergen.E004",
        )
        for position, key in enumerate(keys, start=1)
        if not crypto.is_valid_key(key)
    ]


@register(Tags.security, deploy=True)
def check_secrets_are_distinct(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    # One leaked secret must not open the others: sessions and password resets
    # (SECRET_KEY), API tokens (the JWT signing key) and stored credentials.
    named = [("SECRET_KEY", settings.SECRET_KEY), ("JWT_SIGNING_KEY", jwt_signing_key())]
    keys = settings.CREDENTIALS_ENCRYPTION_KEYS
    named += [(f"CREDENTIALS_ENCRYPTION_KEYS entry {n} of {len(keys)}", key) for n, key in enumerate(keys, start=1)]
    return [
        Error(
            f"{first_name} and {second_name} are the same secret.",
            hint="Give SECRET_KEY, JWT_SIGNING_KEY and each CREDENTIALS_ENCRYPTION_KEYS entry a value of its own.",
            id="rivergen.E005",
        )
        for index, (first_name, first) in enumerate(named)
        for second_name, second in named[index + 1 :]
        if first == second
    ]


def jwt_signing_key() -> str:
    """The key tokens are signed with: SIMPLE_JWT["SIGNING_KEY"] (from JWT_SIGNING_KEY), else SECRET_KEY."""
    return getattr(settings, "SIMPLE_JWT", {}).get("SIGNING_KEY", settings.SECRET_KEY)
