from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from datasources.fields import EncryptedTextField, TagListField
from organizations.models import Organization, Workspace

MAX_TAGS = 20
MAX_TAG_LENGTH = 50


class DataSourceType(models.TextChoices):
    POSTGRESQL = "postgresql", "PostgreSQL"
    MYSQL = "mysql", "MySQL"
    MARIADB = "mariadb", "MariaDB"
    SQLSERVER = "sqlserver", "SQL Server"
    ORACLE = "oracle", "Oracle"
    REDSHIFT = "redshift", "Amazon Redshift"
    SNOWFLAKE = "snowflake", "Snowflake"
    BIGQUERY = "bigquery", "BigQuery"
    MONGODB = "mongodb", "MongoDB"
    SQLITE = "sqlite", "SQLite"
    CSV = "csv", "CSV file"
    EXCEL = "excel", "Excel file"
    JSON = "json", "JSON file"
    PARQUET = "parquet", "Parquet file"


class DataSourceStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    TESTING = "testing", "Testing"
    FAILED = "failed", "Failed"
    MAINTENANCE = "maintenance", "Maintenance"


FILE_TYPES = frozenset({DataSourceType.CSV, DataSourceType.EXCEL, DataSourceType.JSON, DataSourceType.PARQUET})
# Every database type but sqlite (a file) and bigquery (a project id) is reached over the network.
NETWORK_TYPES = frozenset(DataSourceType) - FILE_TYPES - {DataSourceType.SQLITE, DataSourceType.BIGQUERY}
FILE_PATH_TYPES = FILE_TYPES | {DataSourceType.SQLITE}
DEFAULT_PORTS = {
    DataSourceType.POSTGRESQL: 5432,
    DataSourceType.MYSQL: 3306,
    DataSourceType.MARIADB: 3306,
    DataSourceType.SQLSERVER: 1433,
    DataSourceType.ORACLE: 1521,
    DataSourceType.REDSHIFT: 5439,
    DataSourceType.MONGODB: 27017,
}
DEFAULT_SSH_PORT = 22
NAME_UNIQUE_CONSTRAINT = "datasource_name_unique_per_organization_ci"


def normalize_tags(tags: Any) -> list[str]:
    """Trimmed, lower-cased, de-duplicated tags in their first-seen order."""
    if not isinstance(tags, list | tuple):
        raise ValidationError("Expected a list of strings.")
    if len(tags) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags are allowed.")
    normalized: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise ValidationError("Each tag must be a string.")
        tag = tag.strip().lower()
        if not 1 <= len(tag) <= MAX_TAG_LENGTH:
            raise ValidationError(f"Each tag must be 1 to {MAX_TAG_LENGTH} characters long.")
        if "\x00" in tag:
            raise ValidationError("Tags cannot contain null characters.")
        if not tag.isprintable():  # also refuses lone surrogates, which no database stores
            raise ValidationError("Tags must be printable text (no control characters).")
        if tag not in normalized:
            normalized.append(tag)
    return normalized


def _port_in_range(field: str) -> models.Q:
    return models.Q(**{f"{field}__isnull": True}) | models.Q(**{f"{field}__gte": 1, f"{field}__lte": 65535})


class DataSource(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="data_sources")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="data_sources")
    name = models.CharField(max_length=255)
    type = models.CharField(max_length=32, choices=DataSourceType.choices)
    description = models.TextField(null=True, blank=True)
    host = models.CharField(max_length=255, null=True, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    database_name = models.CharField(max_length=255, null=True, blank=True)
    schema_name = models.CharField(max_length=255, null=True, blank=True)
    file_path = models.CharField(max_length=1024, null=True, blank=True)
    use_ssh_tunnel = models.BooleanField(default=False)
    ssh_host = models.CharField(max_length=255, null=True, blank=True)
    ssh_port = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=DataSourceStatus.choices, default=DataSourceStatus.INACTIVE)
    last_tested_at = models.DateTimeField(null=True, blank=True)
    last_successful_connection_at = models.DateTimeField(null=True, blank=True)
    schema_discovered_at = models.DateTimeField(null=True, blank=True)
    schema_auto_refresh = models.BooleanField(default=True)
    tags = TagListField(default=list, blank=True)
    # Credentials: write-only in the API, never displayed in the admin.
    username = models.CharField(max_length=255, null=True, blank=True)
    password = EncryptedTextField(null=True, blank=True)
    ssh_username = models.CharField(max_length=255, null=True, blank=True)
    ssh_private_key = EncryptedTextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    CREDENTIAL_FIELDS = ("username", "password", "ssh_username", "ssh_private_key")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "organization",
                name=NAME_UNIQUE_CONSTRAINT,
                violation_error_message="A data source with this name already exists in this organization.",
            ),
            models.CheckConstraint(condition=models.Q(type__in=DataSourceType.values), name="datasource_type_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=DataSourceStatus.values), name="datasource_status_valid"
            ),
            models.CheckConstraint(condition=~models.Q(name=""), name="datasource_name_not_empty"),
            models.CheckConstraint(condition=_port_in_range("port"), name="datasource_port_range"),
            models.CheckConstraint(condition=_port_in_range("ssh_port"), name="datasource_ssh_port_range"),
        ]
        indexes = [
            models.Index(fields=["organization", "created_at", "id"], name="datasource_org_created"),
            # The admin lists every organization's data sources (bench/admin_changelist.py):
            # newest first and its date hierarchy, the organization/type/status filters,
            # and "last tested" (filter and sort). Migration 0003 adds trigram indexes for
            # its search on PostgreSQL.
            models.Index(fields=["created_at", "id"], name="datasource_created"),
            models.Index(fields=["organization", "status"], name="datasource_org_status"),
            models.Index(fields=["organization", "type"], name="datasource_org_type"),
            models.Index(fields=["type", "status"], name="datasource_type_status"),
            models.Index(fields=["last_tested_at", "id"], name="datasource_last_tested"),
            # The API's sorts, within one organization, tie-broken by id in the same
            # direction. Migration 0005 adds, on PostgreSQL, the tags GIN index and one
            # index per direction for last_tested_at (NULLS LAST both ways, which SQLite
            # cannot declare in an index).
            models.Index(fields=["organization", "name", "id"], name="datasource_org_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Normalize, apply per-type defaults, and check the rules across fields.

        Runs for the API (through the services) and the admin (through the form),
        on the whole resulting object, so a partial update cannot leave it invalid.
        """
        errors: dict[str, list[str]] = {}

        def require(field: str, why: str) -> None:
            if getattr(self, field) in (None, ""):
                errors.setdefault(field, []).append(f"This field is required {why}.")

        self.name = (self.name or "").strip()
        if not self.name:
            errors["name"] = ["This field may not be blank."]
        try:
            self.tags = normalize_tags(self.tags if self.tags is not None else [])
        except ValidationError as error:
            errors["tags"] = error.messages

        # The database enforces this too (see migration 0002); checked here for a clear message.
        if (
            self.workspace_id is not None
            and self.organization_id is not None
            and self.workspace.organization_id != self.organization_id
        ):
            errors["workspace"] = ["The workspace must belong to the data source's organization."]

        if self.port is None and self.type in DEFAULT_PORTS:
            self.port = DEFAULT_PORTS[DataSourceType(self.type)]
        if self.type in NETWORK_TYPES:
            require("host", f"for type {self.type}")
            require("database_name", f"for type {self.type}")
        elif self.type == DataSourceType.BIGQUERY:
            require("database_name", "for type bigquery (the project id)")
        elif self.type in FILE_PATH_TYPES:
            require("file_path", f"for type {self.type}")

        if self.use_ssh_tunnel:
            require("ssh_host", "when use_ssh_tunnel is true")
            if self.ssh_port is None:
                self.ssh_port = DEFAULT_SSH_PORT

        # The check constraints refuse these too; checked here so direct service calls get a
        # ValidationError on the field rather than an IntegrityError.
        for field in ("port", "ssh_port"):
            value = getattr(self, field)
            if isinstance(value, int) and not 1 <= value <= 65535:
                errors.setdefault(field, []).append("Ensure this value is between 1 and 65535.")

        if errors:
            raise ValidationError(errors)


class DataSourceCount(models.Model):
    """How many data sources each (organization, workspace, type, status) holds.

    Kept exact by database triggers on the data source table (migration 0004), in the
    same transaction as every insert, update and delete, whatever writes them: the
    API, the admin, bulk updates, raw SQL or COPY. The list endpoint sums these rows
    instead of counting an organization's data sources one by one
    (`datasources.selectors.datasource_count`).
    """

    organization_id = models.BigIntegerField()
    workspace_id = models.BigIntegerField()
    type = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization_id", "workspace_id", "type", "status"], name="datasource_count_bucket_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.workspace_id}/{self.type}/{self.status}: {self.count}"


class DataSourceTagCount(models.Model):
    """How many data sources of each organization carry each tag.

    Kept exact by database triggers (migration 0007), like `DataSourceCount`: a list
    filtered by one tag alone sums one row instead of counting every matching data source
    (`datasources.selectors.datasource_tag_count`). Only string elements count, each once
    per row, exactly the rows the `contains_all` lookup matches for that tag.
    """

    organization_id = models.BigIntegerField()
    tag = models.TextField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization_id", "tag"], name="datasource_tag_count_unique")]

    def __str__(self) -> str:
        return f"{self.organization_id}/{self.tag}: {self.count}"


class DataSourceVersion(models.Model):
    """Which state of an organization's data sources is current: a random id, new with every write.

    Renewed by database triggers (migration 0009) in the same transaction as every
    insert, update and delete of the organization's data sources, whatever makes it.
    Writers of one organization take this row's lock in turn, so one version names one
    committed state: a count made under a version stays exact while the version is
    current (`datasources.selectors.remembered_count`). Random rather than a sequence,
    so that a rolled-back write's version, or one from a database since recreated, is
    never current again. No row (none written since the migration, or a TRUNCATE): no
    version, nothing is remembered.

    The cost: a write holds its organization's version row until it commits, so writers
    of one organization take turns. A transaction that writes in several statements holds
    it from its first write on: it must lock every row it will write first, in id order
    (`select_for_update`, as the admin's bulk delete and the key rotation do), or a
    concurrent write that holds one of those rows while waiting for the version would
    deadlock with it. Writes that skip triggers (`session_replication_role = replica`,
    `pg_restore --disable-triggers`) must be followed by a write that renews the versions,
    as they must for the counters.
    """

    organization_id = models.BigIntegerField(primary_key=True)
    version = models.UUIDField()

    def __str__(self) -> str:
        return f"{self.organization_id}: {self.version}"
