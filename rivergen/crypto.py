"""Credentials at rest: Fernet with a list of keys (encrypt with the first, decrypt with any).

CREDENTIALS_ENCRYPTION_KEYS lists Fernet keys newest first. Rotating means putting a
new key in front, then `manage.py rotate_credentials_key` to re-encrypt every stored
credential under it; once that reports nothing left to re-encrypt, the old keys can go.
"""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class UndecryptableCredential(ImproperlyConfigured):
    """A stored credential none of CREDENTIALS_ENCRYPTION_KEYS can open."""


_UNDECRYPTABLE = "A stored credential cannot be decrypted with CREDENTIALS_ENCRYPTION_KEYS."


def encrypt(plaintext: str) -> str:
    return _fernet(*configured_keys()).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet(*configured_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        # Never include the token or any key in the message.
        raise UndecryptableCredential(_UNDECRYPTABLE) from None


def rotate(token: str) -> str | None:
    """`token` re-encrypted under the newest key, or None when it already is under it.

    A Fernet token names no key: it is "under the newest key" when that key alone
    authenticates it (its HMAC, keyed by the key's signing half, verifies; a wrong key
    passes with probability 2**-256). Otherwise MultiFernet.rotate() opens it with any
    key and encrypts it again with the newest, keeping its original timestamp.
    """
    keys = configured_keys()
    try:
        _fernet(keys[0]).decrypt(token.encode())
        return None
    except InvalidToken:
        pass
    try:
        return _fernet(*keys).rotate(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableCredential(_UNDECRYPTABLE) from None


def configured_keys() -> tuple[str, ...]:
    """CREDENTIALS_ENCRYPTION_KEYS, newest first; under DEBUG, a key derived from SECRET_KEY."""
    keys = tuple(settings.CREDENTIALS_ENCRYPTION_KEYS)
    if keys:
        return keys
    if not settings.DEBUG:
        # settings.py already refuses to load like this; this guards overridden settings.
        raise ImproperlyConfigured("CREDENTIALS_ENCRYPTION_KEYS must be set when DEBUG is off.")
    # Development only: a key derived from SECRET_KEY, so a fresh clone just works.
    digest = hashlib.sha256(b"rivergen-credentials:" + settings.SECRET_KEY.encode()).digest()
    return (base64.urlsafe_b64encode(digest).decode(),)


def is_valid_key(key: str) -> bool:
    """Whether `key` is a Fernet key: 32 url-safe base64-encoded bytes."""
    try:
        Fernet(key)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=8)
def _fernet(*keys: str) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "CREDENTIALS_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from None
