#!/bin/sh
# One-shot, run by the `temporal-schema` service (temporalio/admin-tools) before
# the Temporal server starts: create Temporal's two databases on `temporal-db`
# and bring their schemas up to the version this admin-tools image ships, which
# is the version the pinned server expects. Idempotent: `create` fails harmlessly
# on an existing database, `setup-schema -v 0.0` leaves a versioned schema alone
# and `update-schema` applies only what is missing; so it is also the upgrade
# step when the server and admin-tools images move to a new version together.
# The password reaches temporal-sql-tool through SQL_PASSWORD, not argv.
set -eu

: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
HOST="${TEMPORAL_DB_HOST:-temporal-db}"
PORT="${TEMPORAL_DB_PORT:-5432}"
DB_USER="${TEMPORAL_DB_USER:-temporal}"
SCHEMA=/etc/temporal/schema/postgresql/v12

sql() { # sql DATABASE ARGS...
    db=$1
    shift
    temporal-sql-tool --plugin postgres12 --ep "$HOST" -p "$PORT" -u "$DB_USER" --db "$db" "$@"
}

for pair in temporal=temporal temporal_visibility=visibility; do
    db=${pair%%=*}
    dir=$SCHEMA/${pair##*=}/versioned
    echo "== $db"
    sql "$db" create >/dev/null 2>&1 || echo "database $db exists"
    sql "$db" setup-schema -v 0.0
    sql "$db" update-schema -d "$dir"
done
echo "Temporal schema is up to date"
