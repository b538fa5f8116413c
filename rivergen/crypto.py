"""Credentials at rest: Fernet with a list of keys (encrypt with the first, decrypt with any)."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UndecryptableCredential(ImproperlyConfigured):
    """A stored credential none of CREDENTIALS_ENCRYPTION_KEYS can open."""


def encrypt(plaintext: str) -> str:
    return _fernet(*_configured_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(*_configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        # Never include the token or any key in the message.
        raise UndecryptableCredential(
            "A stored credential cannot be decrypted with CREDENTIALS_ENCRYPTION_KEYS."
        ) from None


def _configured_keys() -> tuple[str, ...]:
    keys = tuple(settings.CREDENTIALS_ENCRYPTION_KEYS)
    if keys:
        return keys
    # Development default: a key derived from SECRET_KEY, so a fresh clone just works.
    digest = hashlib.sha256(b"rivergen-credentials:" + settings.SECRET_KEY.encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


@lru_cache(maxsize=8)
def _fernet(*keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "CREDENTIALS_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from None
