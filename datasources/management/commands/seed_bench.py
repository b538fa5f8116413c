"""Benchmark data for `make bench`: N data sources in 200 organizations, fast and repeatable.

    python manage.py seed_bench --rows 1000000 [--seed 20260101]

The shape (bench/run.py and its query mix rely on it):

- 200 organizations, slugs `bench-org-001` .. `bench-org-200`. The first holds half of
  all rows; the second holds min(2,500, rows / 4) (the "small organization"); the other
  198 share the rest on a Zipf curve (a few big ones, a long tail of tiny ones).
- 20 workspaces per organization, filled unevenly (Zipf again).
- Every type and status in every organization that has at least 14 rows; tags 0-8 per
  row (about 3 on average) from a vocabulary of 40; `last_tested_at` null for about a
  tenth. Names and descriptions are made of real English words drawn on a Zipf curve
  (plus a few hundred rare words), so a search for a common word matches many rows and
  a search for a rare one very few. Names stay unique per organization, case-insensitively.
- `created_at` grows with the id over three years before 2026-01-01, like real inserts.
- Credentials stay null.
- One user, `bench` (password `rivergen-bench`): admin of the largest organization
  (its earliest membership, so its default one) and of the small one.

Same seed, same data: on PostgreSQL the tables are truncated with RESTART IDENTITY
when they hold nothing but bench data, so even the ids repeat.

The services are bypassed for speed: rows are written with COPY on PostgreSQL (the
data-source indexes and foreign keys are dropped first and rebuilt after, inside the
same transaction, so they are checked once and a failure leaves the old state; triggers
stay, so whatever they maintain stays exact), then VACUUM ANALYZE. Other databases get
batched INSERTs and are refused above 20,000 rows. Any previous bench data is removed
first, so running it again is safe.
"""

import bisect
import json
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from datasources.models import (
    DEFAULT_PORTS,
    FILE_PATH_TYPES,
    NETWORK_TYPES,
    DataSource,
    DataSourceStatus,
    DataSourceType,
)
from organizations.models import Membership, Organization, Role, Workspace

ORGANIZATIONS = 200
WORKSPACES_PER_ORGANIZATION = 20
SMALL_ORGANIZATION_ROWS = 2_500
SLUG_PREFIX = "bench-org-"
BENCH_USERNAME = "bench"
BENCH_PASSWORD = "rivergen-bench"
DEFAULT_SEED = 20260101
MAX_ROWS_WITHOUT_POSTGRESQL = 20_000
# The bench's "now": every timestamp is before it, so the data does not depend on the clock.
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HISTORY = timedelta(days=3 * 365)


def _word_list(text: str) -> list[str]:
    return list(dict.fromkeys(text.split()))


# Frequent words first: word k is drawn with weight 1/(k + 8) (a flattened Zipf curve).
# Domain words and plain English.
COMMON_WORDS = _word_list("""
data sales customer orders events analytics production report daily warehouse finance
marketing user account product service billing payment inventory revenue store backup
replica primary internal external system platform team region global api web mobile app
log metrics monitoring audit history archive legacy new old main core shared central
raw clean staging stage test development dev prod live real time stream batch job
pipeline export import sync feed source target table view schema model cache queue
support ticket contact lead campaign email message notification session click page
traffic search query index record entry transaction ledger invoice order line item
price cost budget forecast plan target goal quarter month week year hourly weekly
monthly annual summary detail total count score rank rating review feedback survey
response request result status state change update version release build deploy
config setting option feature flag experiment trial cohort segment group member
employee staff payroll benefit vendor supplier partner client contract agreement
policy claim risk fraud compliance security access identity profile address location
country city store branch office site warehouse shipment delivery route fleet vehicle
driver trip booking reservation ticket flight hotel room guest visit patient doctor
clinic lab result sample study research student course class grade school library
book article content media video image asset file document folder project task issue
bug incident alert error warning event trace span metric dashboard chart graph model
training prediction score feature label dataset corpus text language translation
north south east west europe asia america africa pacific atlantic cloud cluster node
server host network storage disk memory compute instance container image registry
north central green blue red black white gold silver bronze copper iron steel
fast slow quick large small big little high low deep wide open close public private
first second third last next previous current future past early late new fresh
customer household family person people company business enterprise market channel
retail wholesale online offline digital print radio television social partner affiliate
""")

# Rare words: each drawn with a tiny weight, so a search for one matches few rows.
RARE_WORDS = _word_list("""
abacus aberration abeyance abscissa acumen adamant adroit aegis alacrity albatross
alchemy alembic allegory altimeter amaranth ambergris anemone antimony apogee aquifer
arbiter archipelago armature astrolabe aurora avalanche azimuth bagatelle balustrade
barnacle basilisk bastion bellwether beryl bivouac blunderbuss bramble brigantine
bulwark cadence caldera calligraphy candelabra capstan caravel carillon cartography
catamaran cenotaph chandelier chicanery chimera cinnabar citadel clarion cobalt
codex colophon compendium conch confluence coriander cormorant cornucopia crucible
cuneiform cynosure daguerreotype damask dirigible doldrums dulcimer ebullient effigy
eldritch emissary empyrean ephemera epiphany equinox escarpment esplanade estuary
fathom fennel filigree firmament fjord flotsam fresco fumarole gabardine galleon
gargoyle garnet gazebo geode gimbal glacier gossamer granary gryphon halcyon harbinger
harpsichord heliotrope hinterland hologram hydrangea iconoclast igneous incunabula
indigo isthmus jacquard juniper kaleidoscope kestrel kiln labyrinth lacquer lagoon
lanyard lapis lattice leviathan lichen lighthouse lodestar loom lyre maelstrom
magnolia malachite mandolin marzipan menagerie meridian mesa metronome midden minaret
monolith mosaic nautilus nebula nimbus obelisk obsidian ocelot odyssey onyx opal
orrery osprey palimpsest pangolin papyrus parapet pastiche pendulum peregrine
periscope phosphor pinnacle plinth porcelain portcullis prism quagmire quarry quartz
quasar quill quixotic rampart reliquary rhapsody rhubarb rosewood saffron salamander
sarcophagus savanna scimitar scriptorium semaphore sextant shibboleth solstice
spelunker sphinx stalactite starling sundial talisman tamarind tapestry tessellate
thistle threnody topaz tourmaline trebuchet trellis tundra turquoise umbra vellum
verdigris vermilion vestibule viaduct vortex wainscot whetstone wisteria xylophone
yarrow zealot zenith zephyr ziggurat zodiac
""")
RARE_WEIGHT = 0.0002  # per rare word, against 1/(k + 8) for the k-th common word

TAGS = _word_list("""
production staging development pii finance marketing sales analytics reporting daily
hourly archive gdpr hipaa sox critical legacy migrated eu us apac warehouse lake
streaming batch raw curated external internal partner deprecated sandbox etl cdc backup
replica primary readonly ml tier-1
""")
TAG_COUNT_WEIGHTS = [10, 13, 17, 18, 15, 11, 8, 5, 3]  # 0..8 tags, mean about 3.2

TYPE_WEIGHTS = {
    DataSourceType.POSTGRESQL: 22,
    DataSourceType.MYSQL: 12,
    DataSourceType.MARIADB: 4,
    DataSourceType.SQLSERVER: 8,
    DataSourceType.ORACLE: 4,
    DataSourceType.REDSHIFT: 5,
    DataSourceType.SNOWFLAKE: 8,
    DataSourceType.BIGQUERY: 6,
    DataSourceType.MONGODB: 6,
    DataSourceType.SQLITE: 3,
    DataSourceType.CSV: 9,
    DataSourceType.EXCEL: 5,
    DataSourceType.JSON: 4,
    DataSourceType.PARQUET: 4,
}
STATUS_WEIGHTS = {
    DataSourceStatus.ACTIVE: 60,
    DataSourceStatus.INACTIVE: 15,
    DataSourceStatus.TESTING: 5,
    DataSourceStatus.FAILED: 12,
    DataSourceStatus.MAINTENANCE: 8,
}
WORKSPACE_NAMES = [
    "Analytics",
    "Engineering",
    "Finance",
    "Marketing",
    "Sales",
    "Operations",
    "Product",
    "Data Platform",
    "Growth",
    "Support",
    "Security",
    "Research",
    "Logistics",
    "People",
    "Legal",
    "Procurement",
    "Partnerships",
    "Infrastructure",
    "Risk",
    "Sandbox",
]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1"]
FILE_EXTENSIONS = {
    DataSourceType.CSV: "csv",
    DataSourceType.EXCEL: "xlsx",
    DataSourceType.JSON: "json",
    DataSourceType.PARQUET: "parquet",
    DataSourceType.SQLITE: "db",
}

# The columns written, in this order; the credentials are left null.
COLUMNS = (
    "organization_id",
    "workspace_id",
    "name",
    "type",
    "description",
    "host",
    "port",
    "database_name",
    "schema_name",
    "file_path",
    "use_ssh_tunnel",
    "ssh_host",
    "ssh_port",
    "status",
    "last_tested_at",
    "last_successful_connection_at",
    "schema_discovered_at",
    "schema_auto_refresh",
    "tags",
    "created_at",
    "updated_at",
)
_TABLE = DataSource._meta.db_table
_BENCH_TABLES = [
    _TABLE,
    Workspace._meta.db_table,
    Membership._meta.db_table,
    Organization._meta.db_table,
]


def cumulative(weights: Sequence[float]) -> list[float]:
    total, result = 0.0, []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split `total` in proportion to `weights`, exactly (largest remainder)."""
    scale = total / sum(weights)
    shares = [weight * scale for weight in weights]
    counts = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(shares)), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


def organization_sizes(rows: int) -> list[int]:
    """Rows per organization: [largest (half), small (~2,500), then a Zipf tail of 198]."""
    largest = (rows + 1) // 2
    small = min(SMALL_ORGANIZATION_ROWS, rows // 4)
    tail = apportion(rows - largest - small, [1 / k for k in range(1, ORGANIZATIONS - 1)])
    return [largest, small, *tail]


@dataclass
class _Organization:
    id: int
    workspace_ids: list[int]
    rows: int = 0
    names: set[str] = field(default_factory=set)


class RowGenerator:
    """Deterministic data-source rows (tuples in COLUMNS order) for the given organizations."""

    def __init__(self, seed: int, organizations: list[_Organization], sizes: list[int]):
        self.rng = random.Random(seed)
        self.organizations = organizations
        self.sizes = sizes
        self.words = COMMON_WORDS + RARE_WORDS
        self.word_weights = cumulative(
            [1 / (k + 8) for k in range(1, len(COMMON_WORDS) + 1)] + [RARE_WEIGHT] * len(RARE_WORDS)
        )
        self.tag_weights = cumulative([1 / k**0.7 for k in range(1, len(TAGS) + 1)])
        self.tag_count_weights = cumulative(TAG_COUNT_WEIGHTS)
        self.types = list(TYPE_WEIGHTS)
        self.type_weights = cumulative(list(TYPE_WEIGHTS.values()))
        self.statuses = list(STATUS_WEIGHTS)
        self.status_weights = cumulative(list(STATUS_WEIGHTS.values()))
        self.workspace_weights = cumulative([1 / k**0.8 for k in range(1, WORKSPACES_PER_ORGANIZATION + 1)])

    def rows(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        owners = [index for index, size in enumerate(self.sizes) for _ in range(size)]
        rng.shuffle(owners)
        total = len(owners)
        start = NOW - HISTORY
        step = HISTORY / max(total, 1)
        for position, owner in enumerate(owners):
            # Increasing with the id, a little jitter inside each step, never past NOW - 1 day.
            created_at = (
                start
                + step * position
                + timedelta(microseconds=rng.randrange(max(1, step // timedelta(microseconds=1))))
            )
            created_at = min(created_at, NOW - timedelta(days=1))
            yield self._row(self.organizations[owner], created_at)

    def _words(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.word_weights, k=count)

    def _between(self, earliest: datetime, latest: datetime) -> datetime:
        span = int((latest - earliest) / timedelta(microseconds=1))
        return earliest + timedelta(microseconds=self.rng.randrange(max(1, span)))

    def _row(self, organization: _Organization, created_at: datetime) -> tuple[Any, ...]:
        rng = self.rng
        index = organization.rows
        organization.rows += 1
        # Every type and status early in each organization, then by weight.
        if index < len(self.types):
            source_type = self.types[index]
        else:
            source_type = self.types[bisect.bisect(self.type_weights, rng.random() * self.type_weights[-1])]
        if index < len(self.statuses):
            status = self.statuses[index]
        else:
            status = self.statuses[bisect.bisect(self.status_weights, rng.random() * self.status_weights[-1])]
        workspace_id = organization.workspace_ids[
            bisect.bisect(self.workspace_weights, rng.random() * self.workspace_weights[-1])
        ]

        words = list(dict.fromkeys(self._words(rng.choice((2, 2, 3, 3, 4)))))
        name = " ".join(word.capitalize() for word in words)
        key, suffix = name.lower(), 1
        while key in organization.names:
            suffix += 1
            key = f"{name.lower()} {suffix}"
        organization.names.add(key)
        if suffix > 1:
            name = f"{name} {suffix}"
        if rng.random() < 0.05:
            description = None
        else:
            sentence = self._words(rng.randint(6, 18))
            description = " ".join(sentence).capitalize() + "."

        host = port = database_name = schema_name = file_path = ssh_host = ssh_port = None
        use_ssh_tunnel = False
        if source_type in NETWORK_TYPES:
            word = self._words(1)[0]
            host = f"{word}-{source_type.value}-{rng.randint(1, 99):02d}.{rng.choice(REGIONS)}.example.internal"
            port = DEFAULT_PORTS.get(source_type, 443) if rng.random() < 0.9 else rng.randint(1024, 65535)
            database_name = "_".join(self._words(rng.randint(1, 2)))
            if source_type in (DataSourceType.POSTGRESQL, DataSourceType.REDSHIFT, DataSourceType.SNOWFLAKE):
                schema_name = "public" if rng.random() < 0.6 else self._words(1)[0]
            if rng.random() < 0.15:
                use_ssh_tunnel = True
                ssh_host = f"bastion-{rng.randint(1, 20):02d}.{rng.choice(REGIONS)}.example.internal"
                ssh_port = 22 if rng.random() < 0.9 else 2222
        elif source_type == DataSourceType.BIGQUERY:
            database_name = f"{'-'.join(self._words(2))}-{rng.randint(100000, 999999)}"
        elif source_type in FILE_PATH_TYPES:
            folder, stem = self._words(2)
            file_path = f"/data/{folder}/{stem}_{rng.randint(1, 9999):04d}.{FILE_EXTENSIONS[source_type]}"

        updated_at = self._between(created_at, min(NOW, created_at + timedelta(days=90)))
        last_tested_at = last_successful = schema_discovered_at = None
        if rng.random() >= 0.1:
            last_tested_at = self._between(created_at, NOW)
            if status == DataSourceStatus.ACTIVE:
                last_successful = last_tested_at
            elif rng.random() < 0.5:
                last_successful = self._between(created_at, last_tested_at)
            if rng.random() < 0.7:
                schema_discovered_at = self._between(created_at, last_tested_at)
        schema_auto_refresh = rng.random() < 0.8

        tag_count = bisect.bisect(self.tag_count_weights, rng.random() * self.tag_count_weights[-1])
        tags: list[str] = []
        while len(tags) < tag_count:
            tag = TAGS[bisect.bisect(self.tag_weights, rng.random() * self.tag_weights[-1])]
            if tag not in tags:
                tags.append(tag)

        return (
            organization.id,
            workspace_id,
            name,
            source_type.value,
            description,
            host,
            port,
            database_name,
            schema_name,
            file_path,
            use_ssh_tunnel,
            ssh_host,
            ssh_port,
            status.value,
            last_tested_at,
            last_successful,
            schema_discovered_at,
            schema_auto_refresh,
            tags,
            created_at,
            updated_at,
        )


def _copy_field(value: Any) -> str:
    """One value in PostgreSQL's COPY text format (our values hold no tab, newline or backslash)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


class Command(BaseCommand):
    help = "Load N benchmark data sources in 200 skewed organizations (replaces previous bench data)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rows", type=int, default=10_000, help="data sources to create (default 10,000)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed: same seed, same data")

    def handle(self, *args: Any, rows: int, seed: int, **options: Any) -> None:
        if rows < 1:
            raise CommandError("--rows must be at least 1.")
        postgresql = connection.vendor == "postgresql"
        if not postgresql and rows > MAX_ROWS_WITHOUT_POSTGRESQL:
            raise CommandError(
                f"{connection.vendor} would take far too long for {rows:,} rows: use PostgreSQL "
                f"(DATABASE_URL), or at most {MAX_ROWS_WITHOUT_POSTGRESQL:,} rows."
            )
        started = time.monotonic()
        with transaction.atomic():
            self._wipe(postgresql)
            organizations, sizes = self._organizations(rows)
            generator = RowGenerator(seed, organizations, sizes)
            if postgresql:
                self._copy(generator.rows())
            else:
                self._insert(generator.rows())
            self._user(organizations)
            if postgresql:
                # Run the deferred foreign-key checks now, not at an outer commit.
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        loaded = time.monotonic()
        self._analyze(postgresql)
        done = time.monotonic()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {rows:,} data sources in {ORGANIZATIONS} organizations "
                f"(largest {sizes[0]:,} rows, small {sizes[1]:,}) in {loaded - started:.1f} s, "
                f"then {'VACUUM ANALYZE' if postgresql and not connection.in_atomic_block else 'ANALYZE'} "
                f"in {done - loaded:.1f} s."
            )
        )
        self.stdout.write(
            f"  user '{BENCH_USERNAME}' (password '{BENCH_PASSWORD}'): admin of {SLUG_PREFIX}001 "
            f"(id {organizations[0].id}, default) and {SLUG_PREFIX}002 (id {organizations[1].id})"
        )

    def _wipe(self, postgresql: bool) -> None:
        get_user_model().objects.filter(username=BENCH_USERNAME).delete()
        only_bench = not Organization.objects.exclude(slug__startswith=SLUG_PREFIX).exists()
        with connection.cursor() as cursor:
            if postgresql and only_bench:
                # Nothing else in these tables: truncate, and restart the ids so they repeat too.
                cursor.execute(f"TRUNCATE {', '.join(_BENCH_TABLES)} RESTART IDENTITY CASCADE")
                return
            bench = f"SELECT id FROM {Organization._meta.db_table} WHERE slug LIKE %s"
            for table in _BENCH_TABLES[:-1]:
                cursor.execute(f"DELETE FROM {table} WHERE organization_id IN ({bench})", [f"{SLUG_PREFIX}%"])
            cursor.execute(f"DELETE FROM {_BENCH_TABLES[-1]} WHERE slug LIKE %s", [f"{SLUG_PREFIX}%"])

    def _organizations(self, rows: int) -> tuple[list[_Organization], list[int]]:
        created = NOW - HISTORY - timedelta(days=30)
        rng = random.Random(ORGANIZATIONS)
        names = rng.sample(COMMON_WORDS, ORGANIZATIONS // 2) + rng.sample(RARE_WORDS, ORGANIZATIONS // 2)
        Organization.objects.bulk_create(
            Organization(name=f"{name.capitalize()} Corp {n:03d}", slug=f"{SLUG_PREFIX}{n:03d}")
            for n, name in enumerate(names, start=1)
        )
        by_slug = dict(Organization.objects.filter(slug__startswith=SLUG_PREFIX).values_list("slug", "id"))
        organization_ids = [by_slug[f"{SLUG_PREFIX}{n:03d}"] for n in range(1, ORGANIZATIONS + 1)]
        Workspace.objects.bulk_create(
            Workspace(organization_id=organization_id, name=name)
            for organization_id in organization_ids
            for name in WORKSPACE_NAMES
        )
        workspaces: dict[int, list[int]] = {organization_id: [] for organization_id in organization_ids}
        for workspace_id, organization_id in (
            Workspace.objects.filter(organization_id__in=organization_ids)
            .order_by("organization_id", "id")
            .values_list("id", "organization_id")
        ):
            workspaces[organization_id].append(workspace_id)
        # auto_now(_add) stamped the clock; the bench data must not depend on it.
        Organization.objects.filter(id__in=organization_ids).update(created_at=created, updated_at=created)
        Workspace.objects.filter(organization_id__in=organization_ids).update(created_at=created, updated_at=created)
        organizations = [_Organization(id=i, workspace_ids=workspaces[i]) for i in organization_ids]
        return organizations, organization_sizes(rows)

    def _copy(self, rows: Iterator[tuple[Any, ...]]) -> None:
        with connection.cursor() as cursor:
            # The organizations' and workspaces' deferred checks first: ALTER TABLE refuses
            # to run on a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
            indexes, foreign_keys = self._drop_indexes_and_foreign_keys(cursor)
            sql = f"COPY {_TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                lines: list[str] = []
                for row in rows:
                    lines.append("\t".join(map(_copy_field, row)))
                    if len(lines) == 10_000:
                        copy.write("\n".join(lines) + "\n")
                        lines.clear()
                if lines:
                    copy.write("\n".join(lines) + "\n")
            for definition in indexes:
                cursor.execute(definition)
            for name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {_TABLE} ADD CONSTRAINT {name} {definition}")

    @staticmethod
    def _drop_indexes_and_foreign_keys(cursor: Any) -> tuple[list[str], list[tuple[str, str]]]:
        """Drop what slows COPY down row by row; returns how to recreate it afterwards.

        Indexes that back a constraint (the primary key, unique constraints on fields) stay.
        """
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = %s::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [_TABLE],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            """
            SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
            WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname
            """,
            [_TABLE],
        )
        foreign_keys = cursor.fetchall()
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {_TABLE} DROP CONSTRAINT {name}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
        return [definition for _, definition in indexes], foreign_keys

    def _insert(self, rows: Iterator[tuple[Any, ...]]) -> None:
        adapt = connection.ops.adapt_datetimefield_value
        placeholders = ", ".join(["%s"] * len(COLUMNS))
        sql = f"INSERT INTO {_TABLE} ({', '.join(COLUMNS)}) VALUES ({placeholders})"
        batch: list[list[Any]] = []
        with connection.cursor() as cursor:
            for row in rows:
                batch.append(
                    [
                        adapt(value)
                        if isinstance(value, datetime)
                        else json.dumps(value)
                        if isinstance(value, list)
                        else value
                        for value in row
                    ]
                )
                if len(batch) == 2_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)

    def _user(self, organizations: list[_Organization]) -> None:
        user = get_user_model().objects.create_user(username=BENCH_USERNAME, password=BENCH_PASSWORD)
        joined = NOW - HISTORY
        for offset, organization in enumerate(organizations[:2]):
            membership = Membership.objects.create(user=user, organization_id=organization.id, role=Role.ADMIN)
            # The largest organization's membership is the earliest: the user's default organization.
            Membership.objects.filter(pk=membership.pk).update(created_at=joined + timedelta(seconds=offset))

    def _analyze(self, postgresql: bool) -> None:
        # The whole database: tables kept by triggers on data sources (counters) changed too.
        with connection.cursor() as cursor:
            if postgresql and not connection.in_atomic_block:
                cursor.execute("VACUUM ANALYZE")
            else:
                cursor.execute("ANALYZE")  # VACUUM cannot run inside a transaction (tests)
