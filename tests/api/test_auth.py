"""Auth: JWT tokens (obtain, refresh), bearer auth on the API, and session browsing."""

from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from datasources.models import DataSource
from organizations.models import Role
from tests.conftest import DATA_SOURCES_URL, assert_error, assert_success
from tests.factories import TEST_PASSWORD, DataSourceFactory, MembershipFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.owasp("API2")]

TOKEN_URL = "/api/v1/auth/token"
REFRESH_URL = "/api/v1/auth/token/refresh"
ACCESS_LIFETIME_SECONDS = int(settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds())


def obtain(client: APIClient, url: str = TOKEN_URL, **body: Any) -> Any:
    return client.post(url, body, format="json")


def assert_unauthorized(response: Any) -> Any:
    """401 UNAUTHORIZED in the envelope, with the Bearer challenge."""
    details = assert_error(response, 401, "UNAUTHORIZED")
    assert response["WWW-Authenticate"].startswith("Bearer")
    return details


def with_authorization(value: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=value)
    return client


# --- POST /api/v1/auth/token -------------------------------------------------------------


@pytest.mark.parametrize("url", [TOKEN_URL, f"{TOKEN_URL}/"])
def test_token_obtain_returns_access_and_refresh(url):
    user = UserFactory.create()

    data = assert_success(
        obtain(APIClient(), url, username=user.username, password=TEST_PASSWORD), 200, "Token issued successfully"
    )

    assert set(data) == {"access", "refresh", "token_type", "expires_in"}
    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == ACCESS_LIFETIME_SECONDS
    access = AccessToken(data["access"])
    assert access["user_id"] == str(user.pk)
    assert RefreshToken(data["refresh"])["user_id"] == str(user.pk)


def test_issued_access_token_authenticates_the_api(organization, workspace):
    user = MembershipFactory.create(organization=organization, role=Role.VIEWER).user
    DataSourceFactory.create(workspace=workspace)
    access = obtain(APIClient(), username=user.username, password=TEST_PASSWORD).json()["data"]["access"]

    data = assert_success(
        with_authorization(f"Bearer {access}").get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully"
    )
    assert data["pagination"]["total_items"] == 1


def test_token_obtain_with_wrong_password_is_unauthorized():
    user = UserFactory.create()

    details = assert_unauthorized(obtain(APIClient(), username=user.username, password="wrong-password"))

    assert details is None


def test_token_obtain_for_unknown_user_is_unauthorized_like_a_wrong_password():
    user = UserFactory.create()
    wrong_password = obtain(APIClient(), username=user.username, password="wrong-password")

    unknown_user = obtain(APIClient(), username="nobody-by-this-name", password=TEST_PASSWORD)

    assert_unauthorized(unknown_user)
    assert unknown_user.json() == wrong_password.json()


def test_token_obtain_for_inactive_user_is_unauthorized():
    user = UserFactory.create(is_active=False)

    assert_unauthorized(obtain(APIClient(), username=user.username, password=TEST_PASSWORD))


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, {"username", "password"}),
        ({"username": "someone"}, {"password"}),
        ({"password": TEST_PASSWORD}, {"username"}),
    ],
)
def test_token_obtain_with_missing_fields_is_a_validation_error(body, missing):
    details = assert_error(APIClient().post(TOKEN_URL, body, format="json"), 400, "VALIDATION_ERROR")

    assert set(details) == missing
    for field in missing:
        assert details[field] == ["This field is required."]


def test_token_obtain_with_blank_fields_is_a_validation_error():
    details = assert_error(obtain(APIClient(), username="", password=""), 400, "VALIDATION_ERROR")

    assert details == {"username": ["This field may not be blank."], "password": ["This field may not be blank."]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "nul\x00user", "password": TEST_PASSWORD}, "username"),
        ({"username": ["a", "list"], "password": TEST_PASSWORD}, "username"),
        ({"username": {"an": "object"}, "password": TEST_PASSWORD}, "username"),
        ({"username": "someone", "password": None}, "password"),
    ],
)
def test_token_obtain_with_malformed_fields_is_a_validation_error(body, field):
    details = assert_error(APIClient().post(TOKEN_URL, body, format="json"), 400, "VALIDATION_ERROR")

    assert list(details) == [field]


def test_token_obtain_never_echoes_the_password():
    user = UserFactory.create()
    secret = "my-very-secret-attempt"

    response = obtain(APIClient(), username=user.username, password=secret)

    assert_unauthorized(response)
    assert secret not in response.content.decode()


# --- POST /api/v1/auth/token/refresh -------------------------------------------------------


@pytest.mark.parametrize("url", [REFRESH_URL, f"{REFRESH_URL}/"])
def test_refresh_returns_a_new_access_token(url):
    user = UserFactory.create()
    refresh = RefreshToken.for_user(user)

    data = assert_success(
        APIClient().post(url, {"refresh": str(refresh)}, format="json"), 200, "Token refreshed successfully"
    )

    assert data["token_type"] == "Bearer"
    assert data["expires_in"] == ACCESS_LIFETIME_SECONDS
    assert AccessToken(data["access"])["user_id"] == str(user.pk)


def test_refreshed_access_token_authenticates_the_api(organization):
    user = MembershipFactory.create(organization=organization).user
    refresh = str(RefreshToken.for_user(user))
    access = APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json").json()["data"]["access"]

    assert_success(
        with_authorization(f"Bearer {access}").get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully"
    )


@pytest.mark.parametrize("refresh", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl"])
def test_refresh_with_an_invalid_token_is_unauthorized(refresh):
    assert_unauthorized(APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json"))


def test_refresh_with_an_access_token_is_unauthorized():
    access = str(RefreshToken.for_user(UserFactory.create()).access_token)

    assert_unauthorized(APIClient().post(REFRESH_URL, {"refresh": access}, format="json"))


def test_refresh_with_an_expired_token_is_unauthorized():
    refresh = RefreshToken.for_user(UserFactory.create())
    refresh.set_exp(from_time=timezone.now() - timedelta(days=3), lifetime=timedelta(days=1))

    assert_unauthorized(APIClient().post(REFRESH_URL, {"refresh": str(refresh)}, format="json"))


def test_refresh_with_a_wrong_signature_is_unauthorized():
    payload = RefreshToken.for_user(UserFactory.create()).payload
    forged = jwt.encode(payload, "not-the-signing-key-" * 3, algorithm="HS256")

    assert_unauthorized(APIClient().post(REFRESH_URL, {"refresh": forged}, format="json"))


def test_refresh_for_an_inactive_user_is_unauthorized():
    user = UserFactory.create()
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save()

    assert_unauthorized(APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json"))


def test_refresh_for_a_deleted_user_is_unauthorized():
    user = UserFactory.create()
    refresh = str(RefreshToken.for_user(user))
    user.delete()

    assert_unauthorized(APIClient().post(REFRESH_URL, {"refresh": refresh}, format="json"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "This field is required."),
        ({"refresh": ""}, "This field may not be blank."),
        ({"refresh": " "}, "This field may not be blank."),
    ],
)
def test_refresh_without_a_refresh_token_is_a_validation_error(body, message):
    details = assert_error(APIClient().post(REFRESH_URL, body, format="json"), 400, "VALIDATION_ERROR")

    assert details == {"refresh": [message]}


# --- Bearer authentication on /api/v1/data-sources ----------------------------------------


def _expired_access_token(user: Any) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2), lifetime=timedelta(minutes=15))
    return str(token)


def _wrong_signature_token(user: Any) -> str:
    return jwt.encode(AccessToken.for_user(user).payload, "some-other-signing-key-" * 2, algorithm="HS256")


def _unsigned_token(user: Any) -> str:
    # PyJWT reads "" as "no key" for alg=none; its type hints do not admit None.
    return jwt.encode(AccessToken.for_user(user).payload, "", algorithm="none")


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(lambda user: "Bearer", id="bearer-without-value"),
        pytest.param(lambda user: "Bearer ", id="bearer-with-empty-value"),
        pytest.param(lambda user: "Bearer garbage", id="garbage"),
        pytest.param(lambda user: "Bearer a.b.c", id="three-garbage-segments"),
        pytest.param(lambda user: "Bearer one two", id="too-many-values"),
        pytest.param(lambda user: f"Bearer {_wrong_signature_token(user)}", id="wrong-signature"),
        pytest.param(lambda user: f"Bearer {_unsigned_token(user)}", id="alg-none"),
        pytest.param(lambda user: f"Bearer {_expired_access_token(user)}", id="expired"),
        pytest.param(lambda user: f"Bearer {RefreshToken.for_user(user)}", id="refresh-as-access"),
        pytest.param(lambda user: f"Basic {user.username}:{TEST_PASSWORD}", id="other-scheme"),
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_bad_credentials_on_the_api_are_unauthorized(organization, authorization, method):
    user = MembershipFactory.create(organization=organization, role=Role.ADMIN).user
    client = with_authorization(authorization(user))

    response = getattr(client, method)(DATA_SOURCES_URL, {}, format="json")

    assert_unauthorized(response)


@pytest.mark.parametrize(
    "url", [DATA_SOURCES_URL, f"{DATA_SOURCES_URL}/", f"{DATA_SOURCES_URL}/1", "/api/v1/workspaces"]
)
def test_no_token_is_unauthorized(url):
    assert_unauthorized(APIClient().get(url))


def test_user_deactivated_after_the_token_was_issued_is_unauthorized(organization):
    user = MembershipFactory.create(organization=organization).user
    client = with_authorization(f"Bearer {AccessToken.for_user(user)}")
    assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    user.is_active = False
    user.save()

    assert_unauthorized(client.get(DATA_SOURCES_URL))


def test_user_deleted_after_the_token_was_issued_is_unauthorized(organization):
    user = MembershipFactory.create(organization=organization).user
    client = with_authorization(f"Bearer {AccessToken.for_user(user)}")

    user.delete()

    assert_unauthorized(client.get(DATA_SOURCES_URL))


def test_unauthorized_answers_never_leak_the_token(organization):
    user = MembershipFactory.create(organization=organization).user
    token = _expired_access_token(user)

    response = with_authorization(f"Bearer {token}").get(DATA_SOURCES_URL)

    assert_unauthorized(response)
    assert token not in response.content.decode()


# --- Session login (staff browsing the API) ------------------------------------------------


def test_session_login_with_a_membership_can_list(organization, workspace):
    user = MembershipFactory.create(organization=organization, role=Role.VIEWER, user__is_staff=True).user
    source = DataSourceFactory.create(workspace=workspace)
    client = APIClient()
    client.force_login(user)

    data = assert_success(client.get(DATA_SOURCES_URL), 200, "Data sources retrieved successfully")

    assert [item["id"] for item in data["items"]] == [source.id]


def test_session_login_renders_the_browsable_api_for_html(organization, workspace):
    user = MembershipFactory.create(organization=organization, role=Role.ADMIN, user__is_staff=True).user
    source = DataSourceFactory.create(workspace=workspace, name="Browsable source")
    client = APIClient()
    client.force_login(user)

    response = client.get(DATA_SOURCES_URL, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "Browsable source" in html
    assert f"&quot;id&quot;: {source.id}," in html


def test_session_login_renders_a_detail_page(organization, workspace):
    user = MembershipFactory.create(organization=organization, role=Role.EDITOR, user__is_staff=True).user
    source = DataSourceFactory.create(workspace=workspace, name="Detail page source")
    client = APIClient()
    client.force_login(user)

    response = client.get(f"{DATA_SOURCES_URL}/{source.id}", HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "Detail page source" in response.content.decode()


def test_a_session_of_a_user_who_is_not_staff_is_no_credential(organization, workspace):
    user = MembershipFactory.create(organization=organization, role=Role.ADMIN).user
    DataSourceFactory.create(workspace=workspace)
    client = APIClient()
    client.force_login(user)

    assert_unauthorized(client.get(DATA_SOURCES_URL))
    response = client.post(
        DATA_SOURCES_URL, {"workspace_id": workspace.id, "name": "By session", "type": "csv", "file_path": "/x.csv"}
    )
    assert_unauthorized(response)
    assert not DataSource.objects.filter(name="By session").exists()


def test_the_browsable_apis_login_admits_staff_only():
    member = UserFactory.create()
    staff = UserFactory.create(is_staff=True)
    client = Client()

    refused = client.post("/api-auth/login/", {"username": member.username, "password": TEST_PASSWORD})
    assert refused.status_code == 200
    assert "staff account" in refused.content.decode()
    assert "_auth_user_id" not in client.session

    admitted = client.post("/api-auth/login/", {"username": staff.username, "password": TEST_PASSWORD})
    assert admitted.status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


@pytest.mark.parametrize(("accept", "query"), [("text/html", ""), ("*/*", "?format=api")])
def test_a_bearer_client_who_is_not_staff_gets_json_when_asking_for_html(member_client, workspace, accept, query):
    source = DataSourceFactory.create(workspace=workspace)

    response = member_client(Role.VIEWER, workspace.organization).get(DATA_SOURCES_URL + query, HTTP_ACCEPT=accept)

    data = assert_success(response, 200, "Data sources retrieved successfully")
    assert [item["id"] for item in data["items"]] == [source.id]


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_an_unauthenticated_browser_gets_the_401_envelope(authorization):
    client = APIClient() if authorization is None else with_authorization(authorization)

    response = client.get(DATA_SOURCES_URL, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")

    assert_unauthorized(response)


def test_session_writes_need_the_csrf_token(organization, workspace):
    user = MembershipFactory.create(organization=organization, role=Role.ADMIN, user__is_staff=True).user
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(
        DATA_SOURCES_URL,
        {"workspace_id": workspace.id, "name": "No CSRF", "type": "csv", "file_path": "/x.csv"},
        format="json",
    )

    assert_error(response, 403, "FORBIDDEN")


def test_session_login_without_a_session_is_unauthorized():
    response = APIClient().get(DATA_SOURCES_URL, HTTP_ACCEPT="application/json")

    assert_unauthorized(response)


def test_login_page_for_the_browsable_api_renders():
    response = APIClient().get("/api-auth/login/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
