#!/bin/sh
# Run once by the temporal-admin-tools service before the Temporal server starts: creates the
# server's two PostgreSQL databases (persistence and visibility) and brings their schemas to the
# versions shipped in this admin-tools image. Idempotent: on a second `up` the databases exist
# and update-schema has nothing to do.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the database host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
port="${DB_PORT:-5432}"
schema_dir=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) versions="$schema_dir/temporal/versioned" ;;
    *) versions="$schema_dir/visibility/versioned" ;;
  esac
  echo "database $db: create (if missing), base schema, then versioned updates"
  sql --db "$db" create || echo "database $db already exists"
  # setup-schema -v 0.0 creates the schema_version bookkeeping on a new database and is a
  # no-op on one that has it; update-schema then applies what is missing.
  sql --db "$db" setup-schema -v 0.0 || echo "database $db already has a schema"
  sql --db "$db" update-schema -d "$versions"
done
echo "Temporal schemas are up to date"
