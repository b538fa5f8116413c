"""Credentials at rest: several keys, and `manage.py rotate_credentials_key` (issue 5 §3).

Every test reads the stored columns themselves (bypassing the model field) to prove the
database holds Fernet tokens and never a clear-text credential.
"""

import base64
import threading
import time
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from datasources.models import DataSource
from organizations.models import Organization, Role, Workspace
from rivergen import crypto
from tests.conftest import MemberClientFactory, assert_success, detail_url
from tests.factories import DataSourceFactory, WorkspaceFactory

pytestmark = pytest.mark.django_db

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
UNKNOWN_KEY = Fernet.generate_key().decode()
UPDATED = "Data source updated successfully"
CREATED = "Data source created successfully"
TABLE = DataSource._meta.db_table
CREDENTIAL_COLUMNS = ("password", "ssh_private_key")


def password_of(n: int) -> str:
    return f"pw-{n}-Zq8#never-in-clear"


def private_key_of(n: int) -> str:
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1ub-{n}\n-----END OPENSSH PRIVATE KEY-----"


def use_keys(settings: Any, *keys: str) -> None:
    settings.CREDENTIALS_ENCRYPTION_KEYS = list(keys)


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("rotate_credentials_key", *args, stdout=out)
    return out.getvalue()


def stored(pk: int) -> tuple[Any, ...]:
    """The credential columns as stored, bypassing the model field (and its decryption)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        columns = ", ".join(quote(column) for column in CREDENTIAL_COLUMNS)
        cursor.execute(f"SELECT {columns} FROM {quote(TABLE)} WHERE {quote('id')} = %s", [pk])
        return tuple(cursor.fetchone())


def stored_row(pk: int) -> list[Any]:
    """Every column of the row as stored."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quote(TABLE)} WHERE {quote('id')} = %s", [pk])
        return list(cursor.fetchone())


def snapshot() -> dict[int, tuple[Any, ...]]:
    return {pk: stored(pk) for pk in DataSource.objects.order_by("pk").values_list("pk", flat=True)}


def opens_with(token: str, key: str) -> bool:
    try:
        Fernet(key).decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def assert_fernet_token(value: Any, secret: str) -> None:
    """`value` is a Fernet token (version 0x80, IV, ciphertext, HMAC) and holds no part of `secret`."""
    assert isinstance(value, str)
    raw = base64.urlsafe_b64decode(value)
    assert raw[0] == 0x80
    assert len(raw) >= 1 + 8 + 16 + 16 + 32
    assert secret not in value
    assert secret[:8] not in value


def assert_row_holds_no_clear_text(pk: int, *secrets: str) -> None:
    for value in stored_row(pk):
        for secret in secrets:
            assert secret not in str(value)


@pytest.fixture
def sources(settings: Any, organization: Organization, other_organization: Organization) -> list[DataSource]:
    """Seven data sources in two organizations, encrypted under OLD_KEY.

    Six passwords (source 3 has none) and four private keys (even sources): 10 credentials.
    """
    use_keys(settings, OLD_KEY)
    workspaces = [
        WorkspaceFactory.create(organization=organization),
        WorkspaceFactory.create(organization=other_organization),
    ]
    return [
        DataSourceFactory.create(
            workspace=workspaces[n % 2],
            password=None if n == 3 else password_of(n),
            ssh_private_key=private_key_of(n) if n % 2 == 0 else None,
        )
        for n in range(7)
    ]


def expected_secrets(n: int) -> tuple[str | None, str | None]:
    return (None if n == 3 else password_of(n), private_key_of(n) if n % 2 == 0 else None)


def assert_sources_read_back(sources: list[DataSource]) -> None:
    for n, source in enumerate(sources):
        fresh = DataSource.objects.get(pk=source.pk)
        assert (fresh.password, fresh.ssh_private_key) == expected_secrets(n)


def assert_stored_under(sources: list[DataSource], key: str, not_under: str) -> None:
    for n, source in enumerate(sources):
        for token, secret in zip(stored(source.pk), expected_secrets(n), strict=True):
            if secret is None:
                assert token is None
                continue
            assert_fernet_token(token, secret)
            assert opens_with(token, key)
            assert not opens_with(token, not_under)


def summary(
    rotated: int, current: int, rows: int = 7, batches: int = 1, undecryptable: int = 0, dry: bool = False
) -> str:
    verb = "to re-encrypt" if dry else "re-encrypted"
    return (
        f"datasources.DataSource (password, ssh_private_key): {rows} row{'s' * (rows != 1)} "
        f"in {batches} batch{'es' * (batches != 1)}; "
        f"credentials {verb}: {rotated}, already under the newest key: {current}, "
        f"rows with an undecryptable credential: {undecryptable}.\n"
    )


# --- several keys -------------------------------------------------------------------------------


def test_encrypt_uses_the_first_key_and_decrypt_accepts_any(settings: Any) -> None:
    use_keys(settings, OLD_KEY)
    old_token = crypto.encrypt("hunter2")
    use_keys(settings, NEW_KEY, OLD_KEY)
    new_token = crypto.encrypt("hunter2")

    assert opens_with(new_token, NEW_KEY) and not opens_with(new_token, OLD_KEY)
    assert crypto.decrypt(old_token) == crypto.decrypt(new_token) == "hunter2"
    assert crypto.rotate(new_token) is None
    rotated = crypto.rotate(old_token)
    assert rotated is not None and opens_with(rotated, NEW_KEY) and not opens_with(rotated, OLD_KEY)


def test_a_token_no_key_opens_is_refused_without_revealing_it(settings: Any) -> None:
    use_keys(settings, UNKNOWN_KEY)
    token = crypto.encrypt("hunter2")
    use_keys(settings, NEW_KEY, OLD_KEY)

    for operation in (crypto.decrypt, crypto.rotate):
        with pytest.raises(crypto.UndecryptableCredential) as caught:
            operation(token)
        assert str(caught.value) == "A stored credential cannot be decrypted with CREDENTIALS_ENCRYPTION_KEYS."


def test_without_keys_only_debug_derives_one(settings: Any) -> None:
    use_keys(settings)
    settings.DEBUG = False
    with pytest.raises(ImproperlyConfigured, match="CREDENTIALS_ENCRYPTION_KEYS must be set when DEBUG is off"):
        crypto.encrypt("hunter2")

    settings.DEBUG = True
    [derived] = crypto.configured_keys()
    assert derived != settings.SECRET_KEY
    assert crypto.decrypt(crypto.encrypt("hunter2")) == "hunter2"


# --- rotate_credentials_key ---------------------------------------------------------------------


def test_rotation_re_encrypts_every_credential_under_the_newest_key(settings: Any, sources: list[DataSource]) -> None:
    assert_stored_under(sources, OLD_KEY, not_under=NEW_KEY)
    updated_at = dict(DataSource.objects.values_list("pk", "updated_at"))
    use_keys(settings, NEW_KEY, OLD_KEY)

    output = rotate("--batch-size", "3", "--verbosity", "2")

    assert output == (
        "Re-encrypting credentials under the newest of 2 keys, in batches of 3.\n"
        "  datasources.DataSource: batch 1, 3 rows read\n"
        "  datasources.DataSource: batch 2, 6 rows read\n"
        "  datasources.DataSource: batch 3, 7 rows read\n"
        + summary(rotated=10, current=0, batches=3)
        + "Done: 10 credentials re-encrypted.\n"
    )
    assert_stored_under(sources, NEW_KEY, not_under=OLD_KEY)
    assert_sources_read_back(sources)
    for n, source in enumerate(sources):
        assert_row_holds_no_clear_text(source.pk, *filter(None, expected_secrets(n)))
    # Not a change anyone made: updated_at keeps its value.
    assert dict(DataSource.objects.values_list("pk", "updated_at")) == updated_at


def test_after_rotation_the_old_key_can_be_removed(
    settings: Any, sources: list[DataSource], organization: Organization, member_client: MemberClientFactory
) -> None:
    use_keys(settings, NEW_KEY, OLD_KEY)
    rotate()
    use_keys(settings, NEW_KEY)

    assert_sources_read_back(sources)

    # Through the API: a PATCH without credentials keeps them, as stored.
    admin = member_client(Role.ADMIN, organization)
    source = sources[0]
    before = stored(source.pk)
    response = admin.patch(detail_url(source.pk), {"description": "after rotation"}, format="json")
    assert assert_success(response, 200, UPDATED)["description"] == "after rotation"
    assert password_of(0) not in response.content.decode()
    assert stored(source.pk) == before
    assert_sources_read_back(sources)

    # A new password is encrypted under the newest key too.
    response = admin.patch(detail_url(source.pk), {"password": "brand-new-Secret"}, format="json")
    assert_success(response, 200, UPDATED)
    token = stored(source.pk)[0]
    assert_fernet_token(token, "brand-new-Secret")
    assert opens_with(token, NEW_KEY)
    assert DataSource.objects.get(pk=source.pk).password == "brand-new-Secret"


def test_a_second_run_re_encrypts_nothing(settings: Any, sources: list[DataSource]) -> None:
    use_keys(settings, NEW_KEY, OLD_KEY)
    rotate("--batch-size", "4")
    after_first = snapshot()

    output = rotate("--batch-size", "4")

    assert output == (
        "Re-encrypting credentials under the newest of 2 keys, in batches of 4.\n"
        + summary(rotated=0, current=10, batches=2)
        + "Done: 0 credentials re-encrypted.\n"
    )
    assert snapshot() == after_first
    assert_sources_read_back(sources)


def test_credentials_already_under_the_newest_key_are_left_as_they_are(
    settings: Any, sources: list[DataSource], workspace: Workspace
) -> None:
    use_keys(settings, NEW_KEY, OLD_KEY)
    # Written after the new key went first: already under it.
    newer = [DataSourceFactory.create(workspace=workspace, password=f"newer-{n}-Secret") for n in range(2)]
    newer_tokens = {source.pk: stored(source.pk) for source in newer}

    output = rotate()

    assert summary(rotated=10, current=2, rows=9) in output
    assert {source.pk: stored(source.pk) for source in newer} == newer_tokens
    assert_stored_under(sources, NEW_KEY, not_under=OLD_KEY)


def test_a_dry_run_counts_and_writes_nothing(settings: Any, sources: list[DataSource]) -> None:
    use_keys(settings, NEW_KEY, OLD_KEY)
    before = snapshot()

    with CaptureQueriesContext(connection) as queries:
        output = rotate("--dry-run", "--batch-size", "5")

    assert output == (
        "Dry run: counting credentials under the newest of 2 keys, in batches of 5.\n"
        + summary(rotated=10, current=0, batches=2, dry=True)
        + "Dry run: 10 credentials to re-encrypt; nothing written.\n"
    )
    assert snapshot() == before
    assert not [query["sql"] for query in queries if not query["sql"].startswith(("SELECT", "SAVEPOINT", "RELEASE"))]


def test_batches_walk_the_ids_and_lock_their_rows(settings: Any, sources: list[DataSource]) -> None:
    use_keys(settings, NEW_KEY, OLD_KEY)

    with CaptureQueriesContext(connection) as queries:
        rotate("--batch-size", "3")

    statements = [query["sql"] for query in queries if TABLE in query["sql"]]
    selects = [sql for sql in statements if sql.startswith("SELECT")]
    updates = [sql for sql in statements if sql.startswith("UPDATE")]
    # Three batches of at most 3 rows, then an empty one; every batch after the first
    # starts after the last id it saw (keyset pagination), never with an OFFSET.
    assert len(selects) == 4
    assert all("LIMIT 3" in sql and "OFFSET" not in sql and "ORDER BY" in sql for sql in selects)
    assert all('"id" >' in sql for sql in selects[1:])
    # The rows are locked while they are rewritten where the database can (PostgreSQL).
    assert all(("FOR UPDATE" in sql) == connection.features.has_select_for_update for sql in selects)
    # One UPDATE per row with a credential to re-encrypt (source 3 has none).
    assert len(updates) == 6


def test_an_undecryptable_credential_is_reported_and_left_alone(
    settings: Any, sources: list[DataSource], workspace: Workspace
) -> None:
    use_keys(settings, UNKNOWN_KEY)
    lost = DataSourceFactory.create(workspace=workspace, password="lost-Secret")
    lost_token = stored(lost.pk)
    use_keys(settings, NEW_KEY, OLD_KEY)
    out = StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("rotate_credentials_key", stdout=out)

    assert str(caught.value) == (
        "Some credentials open with none of CREDENTIALS_ENCRYPTION_KEYS and were left as they are "
        f"(datasources.DataSource ids {lost.pk}). Add the key they were encrypted with and run again."
    )
    assert summary(rotated=10, current=0, rows=8, undecryptable=1) in out.getvalue()
    assert lost_token[0] not in out.getvalue()
    assert stored(lost.pk) == lost_token
    # Everything else was re-encrypted all the same.
    assert_stored_under(sources, NEW_KEY, not_under=OLD_KEY)


@pytest.mark.django_db(transaction=True)
def test_a_password_changed_during_rotation_is_not_overwritten(settings: Any) -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no row locks (one writer at a time); the race needs PostgreSQL.")
    use_keys(settings, OLD_KEY)
    source = DataSourceFactory.create(password="before-Secret")
    use_keys(settings, NEW_KEY, OLD_KEY)
    locked = threading.Event()

    def change_password() -> None:
        # An API process saving a new password (under the newest key) while rotation runs.
        try:
            with transaction.atomic():
                row = DataSource.objects.select_for_update().get(pk=source.pk)
                locked.set()
                time.sleep(0.5)  # rotation reaches the row now, and must wait for this commit
                row.password = "after-Secret"
                row.save(update_fields=["password"])
        finally:
            connections.close_all()

    thread = threading.Thread(target=change_password)
    thread.start()
    assert locked.wait(timeout=10)
    output = rotate()
    thread.join(timeout=30)

    # Rotation read the row after the change committed: the new password survives, and it
    # was already under the newest key (without the lock, the old one would be written back).
    assert summary(rotated=0, current=1, rows=1) in output
    assert DataSource.objects.get(pk=source.pk).password == "after-Secret"
    assert opens_with(stored(source.pk)[0], NEW_KEY)


@pytest.mark.parametrize("size", ["0", "-1", "many"])
def test_the_batch_size_must_be_a_positive_integer(size: str) -> None:
    with pytest.raises(CommandError, match="--batch-size: must be a positive integer"):
        call_command("rotate_credentials_key", "--batch-size", size)


# --- never clear text at rest -------------------------------------------------------------------


@pytest.mark.owasp("API3")
def test_the_database_never_holds_a_clear_text_credential(
    settings: Any, organization: Organization, workspace: Workspace, member_client: MemberClientFactory
) -> None:
    use_keys(settings, OLD_KEY)
    admin = member_client(Role.ADMIN, organization)
    body = {
        "workspace_id": workspace.pk,
        "name": "Warehouse",
        "type": "postgresql",
        "host": "db.example.com",
        "database_name": "analytics",
        "username": "reporting",
        "password": password_of(0),
        "use_ssh_tunnel": True,
        "ssh_host": "bastion.example.com",
        "ssh_username": "tunnel",
        "ssh_private_key": private_key_of(0),
    }
    pk = assert_success(admin.post("/api/v1/data-sources", body, format="json"), 201, CREATED)["id"]
    secrets = (password_of(0), private_key_of(0))

    def assert_at_rest(key: str) -> None:
        for token, secret in zip(stored(pk), secrets, strict=True):
            assert_fernet_token(token, secret)
            assert opens_with(token, key)
        assert_row_holds_no_clear_text(pk, *secrets, "new-Secret-after-patch")

    assert_at_rest(OLD_KEY)

    use_keys(settings, NEW_KEY, OLD_KEY)
    rotate()
    assert_at_rest(NEW_KEY)

    secrets = ("new-Secret-after-patch", private_key_of(0))
    assert_success(admin.patch(detail_url(pk), {"password": secrets[0]}, format="json"), 200, UPDATED)
    use_keys(settings, NEW_KEY)
    assert_at_rest(NEW_KEY)
    source = DataSource.objects.get(pk=pk)
    assert (source.password, source.ssh_private_key) == secrets
