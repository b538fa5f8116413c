"""Authentication under attack: forged, tampered, stale and replayed tokens all answer 401.

tests/api/test_auth.py covers the token endpoints and the common bad bearer values (none,
garbage, another key's signature, `alg: none`, expired, a refresh token as access, a
deactivated or deleted user). This module covers the rest: non-ASCII values, a changed
signature or payload, algorithm confusion, the leeway, a password change since the token
was issued, refresh token rotation and reuse, and the signing key's own setting.
"""

import base64
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt import tokens as simplejwt_tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from organizations.models import Organization, Role, Workspace
from rivergen.api import authentication
from rivergen.api.authentication import PASSWORD_CHANGED_MESSAGE
from tests.conftest import DATA_SOURCES_URL, WORKSPACES_URL, assert_error, assert_success, bearer_token, detail_url
from tests.factories import TEST_PASSWORD, DataSourceFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API2")]

BASE_DIR = Path(__file__).resolve().parents[2]
TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
NEW_PASSWORD = "a-brand-new-passphrase-2026"


def assert_unauthorized(response: Any) -> str:
    """401 UNAUTHORIZED in the envelope, with the Bearer challenge; returns the message."""
    assert assert_error(response, 401, "UNAUTHORIZED") is None
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    message: str = response.json()["message"]
    return message


def client_with(authorization: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def refresh_with(refresh: str) -> Any:
    return APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json")


def change_password(user: User) -> None:
    user.set_password(NEW_PASSWORD)
    user.save()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def with_segment(token: str, index: int, value: str) -> str:
    segments = token.split(".")
    segments[index] = value
    return ".".join(segments)


def with_claims(token: str, **claims: Any) -> str:
    """The token with its payload changed and its signature kept."""
    payload = json.loads(unb64(token.split(".")[1]))
    payload.update(claims)
    return with_segment(token, 1, b64(json.dumps(payload).encode()))


def with_header(token: str, **header: Any) -> str:
    original = json.loads(unb64(token.split(".")[0]))
    return with_segment(token, 0, b64(json.dumps({**original, **header}).encode()))


@pytest.fixture
def member(organization: Organization, workspace: Workspace) -> User:
    DataSourceFactory.create(workspace=workspace)
    return MembershipFactory.create(organization=organization, role=Role.ADMIN).user


# --- tampered and forged access tokens -------------------------------------------------------------


def _flipped_signature(user: User) -> str:
    token = str(AccessToken.for_user(user))
    signature = unb64(token.split(".")[2])
    return with_segment(token, 2, b64(bytes([signature[0] ^ 1]) + signature[1:]))


def _other_users_id(user: User) -> str:
    other = MembershipFactory.create(role=Role.ADMIN).user
    return with_claims(str(AccessToken.for_user(user)), user_id=str(other.pk))


def _extended_expiry(user: User) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=1))
    return with_claims(str(token), exp=int((timezone.now() + timedelta(days=365)).timestamp()))


def _refresh_type_claim(user: User) -> str:
    # A refresh token's payload relabelled as an access token, its signature kept.
    return with_claims(str(RefreshToken.for_user(user)), token_type="access")


def _signed_with_secret_key(user: User) -> str:
    # The key simplejwt would use by default: not this service's signing key.
    return jwt.encode(AccessToken.for_user(user).payload, settings.SECRET_KEY, algorithm="HS256")


def _hs384_with_the_signing_key(user: User) -> str:
    # The right key under another algorithm: only HS256 is accepted.
    return jwt.encode(AccessToken.for_user(user).payload, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS384")


def _alg_none_keeping_the_signature(user: User) -> str:
    return with_header(str(AccessToken.for_user(user)), alg="none")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_unsigned_tokens_in_any_spelling_of_none_are_unauthorized(member: User, alg: str) -> None:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = b64(json.dumps(AccessToken.for_user(member).payload).encode())

    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        assert_unauthorized(client_with(f"Bearer {token}").get(DATA_SOURCES_URL))


# (A negative one is simply expired: PyJWT refuses it before simplejwt reads it.)
@pytest.mark.parametrize("exp", [10**30, 1e308, 253402300800], ids=["1e30", "1e308", "year-10000"])
def test_signed_tokens_with_an_expiry_no_date_holds_are_unauthorized(member: User, exp: float) -> None:
    # Signed with the real key: only someone holding it could make these, but no 500 either way.
    access = AccessToken.for_user(member)
    access["exp"] = exp
    refresh = RefreshToken.for_user(member)
    refresh["exp"] = exp

    assert_unauthorized(client_with(f"Bearer {access}").get(DATA_SOURCES_URL))
    assert_unauthorized(refresh_with(str(refresh)))


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(_flipped_signature, id="changed-signature"),
        pytest.param(lambda user: with_segment(str(AccessToken.for_user(user)), 2, ""), id="signature-removed"),
        pytest.param(_other_users_id, id="changed-payload-user-id"),
        pytest.param(_extended_expiry, id="changed-payload-expiry"),
        pytest.param(_refresh_type_claim, id="changed-payload-token-type"),
        pytest.param(_alg_none_keeping_the_signature, id="alg-none-keeping-the-signature"),
        pytest.param(_signed_with_secret_key, id="signed-with-secret-key"),
        pytest.param(_hs384_with_the_signing_key, id="hs384-with-the-right-key"),
    ],
)
@pytest.mark.parametrize("url", [DATA_SOURCES_URL, WORKSPACES_URL])
def test_tampered_access_tokens_are_unauthorized(member: User, forge: Callable[[User], str], url: str) -> None:
    assert_unauthorized(client_with(f"Bearer {forge(member)}").get(url))


def test_a_tampered_token_for_another_users_data_shows_nothing(member: User) -> None:
    forged = _other_users_id(member)

    response = client_with(f"Bearer {forged}").get(detail_url(DataSourceFactory.create().pk))

    assert_unauthorized(response)


# --- non-ASCII and odd bearer values ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("Bearer é", id="latin-1"),
        pytest.param("Bearer €uro", id="beyond-latin-1"),
        pytest.param("Bearer 令牌", id="cjk"),
        pytest.param("Bearer â\x82¬", id="utf-8-read-as-latin-1"),
        pytest.param("bEaReR \u00a0", id="non-breaking-space"),
        pytest.param("Bearer \t", id="tab"),
        pytest.param("Bearer a\x00b", id="nul"),
        pytest.param("Bearer " + "A" * 10_000, id="oversized"),
    ],
)
def test_odd_bearer_values_are_unauthorized(member: User, value: str) -> None:
    assert_unauthorized(client_with(value).get(DATA_SOURCES_URL))


def test_a_valid_token_with_a_non_ascii_suffix_is_unauthorized(member: User) -> None:
    token = str(AccessToken.for_user(member))

    for suffix in ("é", "€", "令"):
        assert_unauthorized(client_with(f"Bearer {token}{suffix}").get(DATA_SOURCES_URL))


@pytest.mark.parametrize("refresh", ["é", "€" * 3, "a.b.c€", "令牌"])
def test_non_ascii_refresh_tokens_are_unauthorized(refresh: str) -> None:
    assert_unauthorized(refresh_with(refresh))


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda user: with_claims(str(RefreshToken.for_user(user)), user_id="999999999"), id="payload"),
        pytest.param(lambda user: with_header(str(RefreshToken.for_user(user)), alg="none"), id="alg-none"),
        pytest.param(
            lambda user: jwt.encode(RefreshToken.for_user(user).payload, settings.SECRET_KEY, algorithm="HS256"),
            id="signed-with-secret-key",
        ),
    ],
)
def test_tampered_refresh_tokens_are_unauthorized(member: User, forge: Callable[[User], str]) -> None:
    assert_unauthorized(refresh_with(forge(member)))


# --- expiry and leeway -----------------------------------------------------------------------------


def test_access_tokens_are_short_lived_and_the_leeway_is_at_most_five_seconds() -> None:
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"] <= timedelta(minutes=15)
    assert 0 <= settings.SIMPLE_JWT["LEEWAY"] <= 5


def _expired_ago(user: User, seconds: int) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(seconds=seconds), lifetime=timedelta(0))
    return str(token)


def test_a_token_expired_just_past_the_leeway_is_unauthorized(member: User) -> None:
    assert_unauthorized(client_with(f"Bearer {_expired_ago(member, 8)}").get(DATA_SOURCES_URL))


def test_a_token_expired_within_the_leeway_still_works(member: User) -> None:
    # Clocks differ by a little; the leeway covers only that.
    response = client_with(f"Bearer {_expired_ago(member, 1)}").get(DATA_SOURCES_URL)

    assert_success(response, 200, "Data sources retrieved successfully")


# --- a verified token is remembered by its text, its expiry checked on every use ---------------------


def test_a_token_is_verified_once_then_recognized(member: User, monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_with(bearer_token(member))
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    def no_second_decode(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the token was decoded again")

    monkeypatch.setattr(TokenBackend, "decode", no_second_decode)
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")


def test_a_remembered_token_is_refused_once_it_expires(member: User, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _expired_ago(member, -3)  # expires in 3 seconds
    client = client_with(f"Bearer {token}")
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    later = timezone.now() + timedelta(seconds=10)  # past the expiry and its leeway

    class Later(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> "Later":
            return cls.fromtimestamp(later.timestamp(), tz)

    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)  # PyJWT's clock

    assert_unauthorized(client.get(DATA_SOURCES_URL))


def test_remembered_tokens_are_bounded_and_the_least_recently_used_goes_first(member: User) -> None:
    remembered = authentication._VerifiedTokens()
    remembered.size = 2
    first, second, third = (AccessToken.for_user(member) for _ in range(3))
    remembered.add(b"first", first)
    remembered.add(b"second", second)
    assert remembered.get(b"first") is first  # used: now the most recent

    remembered.add(b"third", third)

    assert remembered.get(b"second") is None
    assert (remembered.get(b"first"), remembered.get(b"third")) == (first, third)


def test_threads_reading_one_expired_remembered_token_all_get_none(member: User) -> None:
    remembered = authentication._VerifiedTokens()
    token = AccessToken.for_user(member)
    token.set_exp(from_time=timezone.now() - timedelta(minutes=1), lifetime=timedelta(0))
    start = threading.Barrier(16)

    def read(_: int) -> object:
        start.wait()
        return remembered.get(b"expired")

    for _ in range(20):  # each round, 16 threads race to drop the same expired entry
        remembered.add(b"expired", token)
        with ThreadPoolExecutor(max_workers=16) as pool:
            assert list(pool.map(read, range(16))) == [None] * 16


def test_a_remembered_tokens_payload_under_another_signature_is_refused(member: User) -> None:
    token = str(AccessToken.for_user(member))
    assert_success(client_with(f"Bearer {token}").get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
    header, payload, _signature = token.split(".")
    forged = jwt.encode(jwt.decode(token, options={"verify_signature": False}), "another-key-entirely-0123456789abcdef")

    assert forged.split(".")[1] == payload
    assert_unauthorized(client_with(f"Bearer {header}.{payload}.{forged.split('.')[2]}").get(DATA_SOURCES_URL))


# --- a password change revokes every token issued before it ---------------------------------------


def test_an_access_token_issued_before_a_password_change_is_unauthorized(member: User) -> None:
    client = client_with(bearer_token(member))
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    change_password(member)

    assert assert_unauthorized(client.get(DATA_SOURCES_URL)) == PASSWORD_CHANGED_MESSAGE
    assert assert_unauthorized(client.get(WORKSPACES_URL)) == PASSWORD_CHANGED_MESSAGE


def test_the_password_check_costs_no_statement_of_its_own(member: User) -> None:
    client = client_with(bearer_token(member))
    change_password(member)

    with CaptureQueriesContext(connection) as queries:
        assert_unauthorized(client.get(DATA_SOURCES_URL))

    # Only the membership query: it brings the user's password hash along.
    [membership_query] = queries.captured_queries
    assert '"password"' in membership_query["sql"]


@pytest.mark.parametrize("header", ["1", "not-a-number", "99999999999999999999"])
def test_a_stale_token_is_unauthorized_whatever_organization_it_names(
    member: User, organization: Organization, header: str
) -> None:
    client = client_with(bearer_token(member))
    change_password(member)
    organization_id = str(organization.pk) if header == "1" else header

    response = client.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID=organization_id)

    assert assert_unauthorized(response) == PASSWORD_CHANGED_MESSAGE


def test_a_stale_token_of_a_user_without_an_organization_is_unauthorized_not_forbidden() -> None:
    user = UserFactory.create()
    client = client_with(bearer_token(user))
    assert_error(client.get(DATA_SOURCES_URL), 403, "FORBIDDEN")

    change_password(user)

    assert_unauthorized(client.get(DATA_SOURCES_URL))


def test_a_deactivated_user_naming_a_malformed_organization_is_unauthorized(member: User) -> None:
    client = client_with(bearer_token(member))
    member.is_active = False
    member.save()

    assert_unauthorized(client.get(DATA_SOURCES_URL, HTTP_X_ORGANIZATION_ID="abc"))


def test_a_token_without_the_password_claim_is_unauthorized(member: User) -> None:
    token = AccessToken.for_user(member)
    del token[jwt_settings.REVOKE_TOKEN_CLAIM]

    assert_unauthorized(client_with(f"Bearer {token}").get(DATA_SOURCES_URL))


def test_the_password_claim_reveals_nothing_of_the_password_hash(member: User) -> None:
    payload = AccessToken.for_user(member).payload

    assert member.password not in json.dumps(payload)
    assert member.password.split("$")[-1] not in json.dumps(payload)


def test_a_refresh_token_issued_before_a_password_change_is_unauthorized(member: User) -> None:
    refresh = str(RefreshToken.for_user(member))

    change_password(member)

    assert assert_unauthorized(refresh_with(refresh)) == PASSWORD_CHANGED_MESSAGE


def test_tokens_issued_after_the_password_change_work(member: User) -> None:
    change_password(member)

    tokens = assert_success(
        APIClient().post(TOKEN_URL, {"username": member.username, "password": NEW_PASSWORD}, format="json"),
        200,
        "Token issued successfully",
    )

    client = client_with(f"Bearer {tokens['access']}")
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")
    assert_success(refresh_with(tokens["refresh"]), 200, "Token refreshed successfully")


def test_the_old_password_no_longer_issues_tokens(member: User) -> None:
    change_password(member)

    response = APIClient().post(TOKEN_URL, {"username": member.username, "password": TEST_PASSWORD}, format="json")

    assert_unauthorized(response)


# --- refresh tokens rotate; a spent one answers 401 ------------------------------------------------


def obtain(user: User) -> dict[str, Any]:
    response = APIClient().post(TOKEN_URL, {"username": user.username, "password": TEST_PASSWORD}, format="json")
    data: dict[str, Any] = assert_success(response, 200, "Token issued successfully")
    return data


def test_a_refresh_returns_a_new_refresh_token_too(member: User) -> None:
    first = obtain(member)["refresh"]

    data = assert_success(refresh_with(first), 200, "Token refreshed successfully")

    assert set(data) == {"access", "refresh", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())
    old, new = RefreshToken(first, verify=False), RefreshToken(data["refresh"])
    assert new["jti"] != old["jti"]
    assert new["user_id"] == old["user_id"] == str(member.pk)
    assert new["exp"] >= old["exp"]
    assert AccessToken(data["access"])["user_id"] == str(member.pk)
    assert_success(
        client_with(f"Bearer {data['access']}").get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully"
    )


def test_a_rotated_refresh_token_cannot_be_used_again(member: User) -> None:
    first = obtain(member)["refresh"]
    second = assert_success(refresh_with(first), 200, "Token refreshed successfully")["refresh"]

    assert assert_unauthorized(refresh_with(first)) == "Token is blacklisted"

    # The reuse did not spend the legitimate successor.
    third = assert_success(refresh_with(second), 200, "Token refreshed successfully")["refresh"]
    assert_unauthorized(refresh_with(second))
    assert_success(refresh_with(third), 200, "Token refreshed successfully")


def test_rotation_blacklists_the_spent_token_and_records_the_new_one(member: User) -> None:
    first = RefreshToken.for_user(member)

    data = assert_success(refresh_with(str(first)), 200, "Token refreshed successfully")

    spent = OutstandingToken._default_manager.get(jti=first["jti"])
    assert BlacklistedToken._default_manager.filter(token=spent).exists()
    issued = OutstandingToken._default_manager.get(jti=RefreshToken(data["refresh"])["jti"])
    assert issued.user == member
    assert not BlacklistedToken._default_manager.filter(token=issued).exists()


def test_a_refresh_token_never_recorded_is_still_spent_once(member: User) -> None:
    # A token signed by this service but not in the outstanding list (e.g. issued before
    # the blacklist was installed) is recorded and blacklisted on its first use.
    token = RefreshToken.for_user(member)
    OutstandingToken._default_manager.filter(jti=token["jti"]).delete()

    assert_success(refresh_with(str(token)), 200, "Token refreshed successfully")

    assert_unauthorized(refresh_with(str(token)))


def test_of_two_refreshes_racing_with_one_token_only_one_succeeds(
    member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The second request passed the blacklist check before the first one blacklisted the token.
    token = str(RefreshToken.for_user(member))
    assert_success(refresh_with(token), 200, "Token refreshed successfully")
    monkeypatch.setattr(RefreshToken, "check_blacklist", lambda self: None)

    assert assert_unauthorized(refresh_with(token)) == "Token is blacklisted"
    assert OutstandingToken._default_manager.filter(user=member).count() == 2  # the first and one successor


def test_the_database_never_holds_a_refresh_token(member: User) -> None:
    issued = obtain(member)["refresh"]
    rotated = assert_success(refresh_with(issued), 200, "Token refreshed successfully")["refresh"]
    RefreshToken.for_user(member)  # simplejwt's own path records tokens too

    rows = OutstandingToken._default_manager.filter(user=member)
    assert rows.count() == 3
    assert set(rows.values_list("token", flat=True)) == {""}
    assert {RefreshToken(issued, verify=False)["jti"], RefreshToken(rotated)["jti"]} < set(
        rows.values_list("jti", flat=True)
    )


def test_the_admin_shows_no_refresh_token(member: User) -> None:
    issued = obtain(member)["refresh"]
    staff = APIClient()
    staff.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    row = OutstandingToken._default_manager.get(jti=RefreshToken(issued)["jti"])

    page = staff.get(f"/admin/token_blacklist/outstandingtoken/{row.pk}/change/")

    assert page.status_code == 200
    assert row.jti in page.content.decode()
    assert issued not in page.content.decode()
    assert issued.split(".")[2] not in page.content.decode()


def test_a_refresh_for_a_user_deactivated_after_rotation_is_unauthorized(member: User) -> None:
    second = assert_success(refresh_with(obtain(member)["refresh"]), 200, "Token refreshed successfully")["refresh"]
    member.is_active = False
    member.save()

    assert_unauthorized(refresh_with(second))


def test_a_failed_refresh_spends_nothing(member: User) -> None:
    refresh = str(RefreshToken.for_user(member))
    member.is_active = False
    member.save()
    assert_unauthorized(refresh_with(refresh))

    member.is_active = True
    member.save()

    assert_success(refresh_with(refresh), 200, "Token refreshed successfully")


# --- the signing key is a setting of its own --------------------------------------------------------


def test_tokens_are_signed_with_a_key_other_than_secret_key() -> None:
    assert settings.SIMPLE_JWT["SIGNING_KEY"] == settings.JWT_SIGNING_KEY
    assert settings.JWT_SIGNING_KEY != settings.SECRET_KEY
    assert len(settings.JWT_SIGNING_KEY.encode()) >= 32


def _load_settings(**environment: str) -> subprocess.CompletedProcess[str]:
    script = (
        "import django; django.setup(); from django.conf import settings; print(settings.SIMPLE_JWT['SIGNING_KEY'])"
    )
    env = {key: value for key, value in os.environ.items() if key not in {"DEBUG", "JWT_SIGNING_KEY"}}
    env.update(
        DJANGO_SETTINGS_MODULE="rivergen.settings",
        SECRET_KEY="subprocess-only-secret-key-for-the-signing-key-test-0123456789",
        **environment,
    )
    return subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_production_settings_refuse_to_load_without_a_signing_key() -> None:
    result = _load_settings(DEBUG="false")

    assert result.returncode != 0
    assert "ImproperlyConfigured: JWT_SIGNING_KEY must be set when DEBUG is off." in result.stderr


def test_production_settings_refuse_a_short_signing_key() -> None:
    result = _load_settings(DEBUG="false", JWT_SIGNING_KEY="too-short")

    assert result.returncode != 0
    assert "ImproperlyConfigured: JWT_SIGNING_KEY must be at least 32 bytes long." in result.stderr


def test_production_settings_use_the_signing_key_given() -> None:
    key = "a-production-signing-key-of-forty-two-bytes"

    result = _load_settings(DEBUG="false", JWT_SIGNING_KEY=key)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == key


def test_development_settings_derive_a_key_distinct_from_secret_key() -> None:
    result = _load_settings(DEBUG="true")

    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert key and key != "subprocess-only-secret-key-for-the-signing-key-test-0123456789"
