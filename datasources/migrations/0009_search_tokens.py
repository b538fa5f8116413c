"""PostgreSQL: an exact token index, so a search's `total_items` needs no substring scan.

Counting the rows whose name or description contains a common word or two characters
fetched and rechecked every candidate row (70,000-116,000 of a 500,000-row organization:
250-400 ms). For a term of ASCII letters only, or ASCII digits only, the same rows are
found exactly through their tokens (`datasources.selectors.datasource_search_count`):

- `search_tokens`: a generated column holding each row's tokens, the maximal runs of A-Z
  and of 0-9 in UPPER(name) and UPPER(COALESCE(description, '')), each prefixed with the
  organization id (`42:BILLING`), so one lookup in its GIN index finds only that
  organization's rows and a count needs no other condition. A run longer than 400
  characters (GIN keys are capped at ~2.7 kB) is stored as chunks of 400 starting every
  200 characters. Being generated, it is exact after every write: ORM, raw SQL, COPY.
  Not a model field: Django never reads nor writes it.
- `datasources_searchtoken`: every distinct token ever stored, without the prefix, with a
  trigram index, to turn a term into the tokens containing it. Kept by triggers in the
  same transaction as the write; never pruned (a token no row holds matches nothing).

Why the count is exact (term T, upper-cased, all in [A-Z], or all in [0-9]; |T| <= 200):
T is a substring of U = UPPER(name) or UPPER(description) iff T is a substring of one of
U's maximal runs of its class. If: a run is a substring of U. Only if: every character of
an occurrence of T is in the class, so the occurrence lies inside one maximal run. A run
R longer than 400 is stored as chunks R[p..p+399], p = 1, 201, ..., up to the last p
<= |R| - 200. An occurrence starting at i (ending at i + |T| - 1 <= i + 199) lies inside
the chunk at the largest p <= i: if that chunk is not the last, i < p + 200, so the
occurrence ends before p + 399; if it is the last, p > |R| - 400, so the chunk reaches the
end of R. A row of organization o is counted iff it stores some o:v with v a vocabulary
token containing T: o:v names one organization and one token (ids are digits, tokens hold
no ":"), and the vocabulary holds every stored token, so iff one of the row's own runs or
chunks contains T. T and U are upper-cased by the same UPPER, as the ORM's icontains does.

The count still reads the table page of each matching row (PostgreSQL 15.20's bitmap scans
read every page), so it costs about a page read per matching page, not a row recheck.
SQLite keeps counting rows.
"""

from django.db import migrations

TABLE = "datasources_datasource"
VOCABULARY = "datasources_searchtoken"

POSTGRESQL_FORWARD = f"""
-- Regular expressions cost about a microsecond per match; the separators are rewritten in
-- one pass, the letter/digit boundaries (rare) in two more.
CREATE FUNCTION datasource_search_tokens(organization_id bigint, name text, description text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    -- The maximal runs of A-Z and of 0-9, separated by single spaces.
    runs text := btrim(regexp_replace(regexp_replace(regexp_replace(
        upper(name) || ' ' || upper(COALESCE(description, '')),
        '[^A-Z0-9]+', ' ', 'g'), '([A-Z])([0-9])', '\\1 \\2', 'g'), '([0-9])([A-Z])', '\\1 \\2', 'g'));
    prefix text := organization_id || ':';
BEGIN
    IF runs = '' THEN
        RETURN '{{}}';
    END IF;
    -- (A regular expression repeats at most 255 times: 200 + 201 for "longer than 400".)
    IF length(runs) <= 400 OR runs !~ '[^ ]{{200}}[^ ]{{201}}' THEN
        RETURN string_to_array(prefix || replace(runs, ' ', ' ' || prefix), ' ');
    END IF;
    RETURN ARRAY(
        SELECT prefix || substr(run, start, 400)
          FROM unnest(string_to_array(runs, ' ')) AS run
               CROSS JOIN LATERAL generate_series(1, greatest(length(run) - 200, 1), 200) AS start
    );
END $$;

-- Tokens are compared for equality only: byte order ("C") builds the GIN index in two
-- thirds of the time the database's collation takes.
ALTER TABLE {TABLE} ADD COLUMN search_tokens text[] COLLATE "C"
    GENERATED ALWAYS AS (datasource_search_tokens(organization_id, name, description)) STORED;
CREATE INDEX datasource_search_tokens_gin ON {TABLE} USING gin (search_tokens);

CREATE TABLE {VOCABULARY} (token text COLLATE "C" PRIMARY KEY);

-- In token order, so concurrent writers adding the same new tokens wait rather than deadlock.
CREATE FUNCTION datasource_search_tokens_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {VOCABULARY} (token)
        SELECT DISTINCT substr(element, strpos(element, ':') + 1)
          FROM new_rows AS n CROSS JOIN LATERAL unnest(n.search_tokens) AS element
         ORDER BY 1
        ON CONFLICT (token) DO NOTHING;
    ELSE
        -- Only rows whose tokens changed; a row whose id changed (raw SQL) pairs with nothing.
        INSERT INTO {VOCABULARY} (token)
        SELECT DISTINCT substr(element, strpos(element, ':') + 1)
          FROM new_rows AS n LEFT JOIN old_rows AS o ON o.id = n.id
               CROSS JOIN LATERAL unnest(n.search_tokens) AS element
         WHERE o.search_tokens IS DISTINCT FROM n.search_tokens
         ORDER BY 1
        ON CONFLICT (token) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER datasource_search_tokens_insert AFTER INSERT ON {TABLE}
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_search_tokens_add();
CREATE TRIGGER datasource_search_tokens_update AFTER UPDATE ON {TABLE}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION datasource_search_tokens_add();
"""
POSTGRESQL_BACKFILL = f"""
INSERT INTO {VOCABULARY} (token)
SELECT DISTINCT substr(element, strpos(element, ':') + 1)
  FROM {TABLE} CROSS JOIN LATERAL unnest(search_tokens) AS element
ON CONFLICT (token) DO NOTHING
"""
# For terms of 3 characters or more; shorter ones read the whole (small) vocabulary.
POSTGRESQL_TRIGRAM_INDEX = f"CREATE INDEX datasource_searchtoken_trgm ON {VOCABULARY} USING gin (token gin_trgm_ops)"
POSTGRESQL_BACKWARD = f"""
DROP TRIGGER datasource_search_tokens_update ON {TABLE};
DROP TRIGGER datasource_search_tokens_insert ON {TABLE};
DROP FUNCTION datasource_search_tokens_add();
DROP TABLE {VOCABULARY};
ALTER TABLE {TABLE} DROP COLUMN search_tokens;
DROP FUNCTION datasource_search_tokens(bigint, text, text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(POSTGRESQL_FORWARD)
    schema_editor.execute(POSTGRESQL_BACKFILL)
    with schema_editor.connection.cursor() as cursor:
        # Migration 0003 skips pg_trgm where it cannot be installed; so does this index.
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')")
        has_trigrams = cursor.fetchone()[0]
    if has_trigrams:
        schema_editor.execute(POSTGRESQL_TRIGRAM_INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("datasources", "0008_counters_follow_id_changes")]

    operations = [migrations.RunPython(forward, backward)]
