"""Bearer tokens: how they are read, what revokes them, and how a refresh rotates them.

Access tokens are verified without reading the user (no query): the tenancy's membership
query, which every API route makes, also checks that the user is still active and that
the token was issued under their current password (`check_password_claim`).

Refresh tokens rotate: each refresh blacklists the refresh token it was given and returns
a new one, so a stolen refresh token works once at most, and a reused one answers 401.
"""

import hmac
import threading
from collections import OrderedDict
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework_simplejwt import serializers as jwt_serializers
from rest_framework_simplejwt.authentication import JWTStatelessUserAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token
from rest_framework_simplejwt.utils import aware_utcnow, datetime_from_epoch, get_md5_hash_password

from rivergen.ids import parse_bigint_id

PASSWORD_CHANGED_MESSAGE = "The token was issued before the user's password was last changed."


#: A signed token's `exp` that no datetime holds (past year 9999): simplejwt converts the
#: claim with datetime.fromtimestamp, which raises these instead of a TokenError.
OUT_OF_RANGE_EXPIRY = (OverflowError, ValueError, OSError)
EXPIRY_OUT_OF_RANGE_MESSAGE = "Token has an out-of-range 'exp' claim."


class BearerTokenAuthentication(JWTStatelessUserAuthentication):
    """`Authorization: Bearer <access token>`, the scheme name in any case (RFC 9110).

    The token is verified without reading the user; the tenancy's membership query,
    which every API route makes, requires the user to still exist and be active, and
    the token to be newer than the user's password.
    """

    def get_header(self, request: Request) -> bytes:
        try:
            return super().get_header(request)
        except UnicodeEncodeError:
            # Only a test client can send this (a WSGI server decodes headers as latin-1).
            raise AuthenticationFailed(
                "Authorization header must contain only ASCII characters.", code="bad_authorization_header"
            ) from None

    def get_raw_token(self, header: bytes) -> bytes | None:
        scheme, _, rest = header.strip().partition(b" ")
        if scheme.lower() != b"bearer":
            return None  # some other scheme: not ours to judge
        return super().get_raw_token(b"Bearer " + rest.strip())

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _VERIFIED_TOKENS.get(raw_token)
        if token is None:
            try:
                token = super().get_validated_token(raw_token)
            except OUT_OF_RANGE_EXPIRY as error:
                raise InvalidToken(EXPIRY_OUT_OF_RANGE_MESSAGE) from error
            _VERIFIED_TOKENS.add(raw_token, token)
        return token


class StaffSessionAuthentication(SessionAuthentication):
    """A login session, from staff only: staff browse the API in a browser (contract §1).

    Anyone else's session is no credential here (401, as with none): API clients use
    Bearer tokens. The session's user must be active, and writes need the CSRF token.
    """

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        user = getattr(request._request, "user", None)
        if user is None or not user.is_staff:
            return None
        return super().authenticate(request)


class _VerifiedTokens:
    """Access tokens this process has verified, by their exact text, most recent last.

    A client sends the same access token with every request for its lifetime; decoding
    and verifying it (base64, JSON, HMAC, claims) cost ~0.2 ms of each request's CPU. The
    same text verifies the same way under the same key, so only the expiry, which moves
    with the clock, is checked again; an expired token goes back through simplejwt for
    its usual 401. Revocation does not live here: the membership query checks the user
    and the password claim on every request. The signing key is read once per process,
    here as in simplejwt (`rest_framework_simplejwt.state`): a new key means a restart,
    which starts this empty.
    """

    size = 1024

    def __init__(self) -> None:
        self._tokens: OrderedDict[bytes, Token] = OrderedDict()
        # Threaded servers (runserver, gthread) share it: one request's eviction must not
        # pull a token from under another's move_to_end.
        self._lock = threading.Lock()

    def get(self, raw_token: bytes) -> Token | None:
        with self._lock:
            token = self._tokens.get(raw_token)
            if token is None:
                return None
            try:
                token.check_exp(current_time=aware_utcnow())
            except TokenError:
                del self._tokens[raw_token]
                return None
            self._tokens.move_to_end(raw_token)
            return token

    def add(self, raw_token: bytes, token: Token) -> None:
        with self._lock:
            self._tokens[raw_token] = token
            if len(self._tokens) > self.size:
                self._tokens.popitem(last=False)


_VERIFIED_TOKENS = _VerifiedTokens()


def user_id_from_claim(value: Any) -> int:
    """The user id a token names, checked to be one (tokens carry it as a string)."""
    user_id = parse_bigint_id(value)
    if user_id is not None:
        return user_id
    raise AuthenticationFailed("Token contained no recognizable user identification.", code="token_not_valid")


def check_password_claim(token: Token, password_hash: str) -> None:
    """401 unless `token` was issued under the user's current password hash.

    simplejwt puts the claim in every token it makes for a user (`CHECK_REVOKE_TOKEN`):
    a digest of the password hash, so it changes with the password and reveals nothing.
    """
    claim = token.get(jwt_settings.REVOKE_TOKEN_CLAIM)
    expected = get_md5_hash_password(password_hash)
    if not isinstance(claim, str) or not hmac.compare_digest(claim.encode(errors="replace"), expected.encode()):
        raise AuthenticationFailed(PASSWORD_CHANGED_MESSAGE, code="password_changed")


@receiver(pre_save, sender=OutstandingToken, dispatch_uid="rivergen-forget-refresh-token-text")
def forget_refresh_token_text(sender: type[OutstandingToken], instance: OutstandingToken, **kwargs: Any) -> None:
    """Record a refresh token by its id (jti) only, never its text.

    simplejwt stores the whole token in the outstanding list, which nothing reads back (the
    blacklist goes by jti) but the admin shows: a database dump or a staff member would
    otherwise hold every user's working refresh tokens.
    """
    instance.token = ""


class RotatingTokenRefreshSerializer(jwt_serializers.TokenRefreshSerializer):
    """POST {"refresh"} -> a new access token and a new refresh token; the old one is spent.

    The refresh token must be signed, unexpired, not blacklisted, of a user still active,
    and newer than their password. Spending it and issuing the next one is one transaction,
    and of two refreshes racing with the same token only one succeeds.
    """

    token_class = RefreshToken

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        try:
            refresh = self.token_class(attrs["refresh"])  # signature, expiry, type, blacklist
        except OUT_OF_RANGE_EXPIRY as error:
            raise TokenError(EXPIRY_OUT_OF_RANGE_MESSAGE) from error
        user_id = user_id_from_claim(refresh.get(jwt_settings.USER_ID_CLAIM))
        password_hash = (
            get_user_model().objects.filter(pk=user_id, is_active=True).values_list("password", flat=True).first()
        )
        if password_hash is None:
            raise AuthenticationFailed(self.error_messages["no_active_account"], "no_active_account")
        check_password_claim(refresh, password_hash)

        with transaction.atomic():
            _spend(refresh, user_id)
            refresh.set_jti()
            refresh.set_exp()
            refresh.set_iat()
            encoded = str(refresh)
            OutstandingToken._default_manager.create(
                user_id=user_id,
                jti=refresh[jwt_settings.JTI_CLAIM],
                created_at=refresh.current_time,
                expires_at=datetime_from_epoch(refresh["exp"]),
            )
        return {"access": str(refresh.access_token), "refresh": encoded}


def _spend(refresh: RefreshToken, user_id: int) -> None:
    """Blacklist `refresh`; TokenError if another request already did (a reuse, or a race)."""
    outstanding, _ = OutstandingToken._default_manager.get_or_create(
        jti=refresh[jwt_settings.JTI_CLAIM],
        defaults={
            "user_id": user_id,
            "created_at": datetime_from_epoch(refresh["iat"]) if "iat" in refresh else None,
            "expires_at": datetime_from_epoch(refresh["exp"]),
        },
    )
    _, created = BlacklistedToken._default_manager.get_or_create(token=outstanding)
    if not created:
        raise TokenError("Token is blacklisted")
