#!/usr/bin/env bash
# Starts a throwaway PostgreSQL for the registry's tests on 127.0.0.1:55432 and prints its
# JDBC URL. Idempotent: installs Debian's postgresql only if missing, reuses a running cluster.
# Env: MAAS_PG_DIR (cluster dir, default $TMPDIR/maas-pg-<port>, outside the Maven tree so
# `mvn clean` cannot delete a running cluster), MAAS_PG_PORT (55432).
set -euo pipefail

PG_PORT="${MAAS_PG_PORT:-55432}"
PG_DIR="${MAAS_PG_DIR:-${TMPDIR:-/tmp}/maas-pg-$PG_PORT}"
PG_OS_USER="${MAAS_PG_OS_USER:-postgres}"   # PostgreSQL refuses to run as root
log() { echo "[postgres.sh] $*" >&2; }

pg_bin_dir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  [[ -n "$d" && -x "$d/initdb" ]] && echo "$d"
}

if ! BIN=$(pg_bin_dir); then
  log "installing Debian's postgresql"
  if [[ $(id -u) -ne 0 ]]; then log "not root: cannot apt-get install postgresql"; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(pg_bin_dir)
fi

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then
    id "$PG_OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_OS_USER"
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

mkdir -p "$PG_DIR"
[[ $(id -u) -eq 0 ]] && { id "$PG_OS_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$PG_OS_USER"; chown -R "$PG_OS_USER" "$PG_DIR"; }

if [[ ! -f "$PG_DIR/data/PG_VERSION" ]]; then
  log "initialising cluster in $PG_DIR/data"
  as_pg "$BIN/initdb" -D "$PG_DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --no-sync >&2
fi

if ! as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
  log "starting on 127.0.0.1:$PG_PORT"
  as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR" >&2
fi

psql_pg() { as_pg "$BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [[ -z "$(psql_pg -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname='maas'")" ]]; then
  psql_pg -d postgres -c "CREATE ROLE maas LOGIN PASSWORD 'maas'" >&2
fi
if [[ -z "$(psql_pg -d postgres -c "SELECT 1 FROM pg_database WHERE datname='maas'")" ]]; then
  psql_pg -d postgres -c "CREATE DATABASE maas OWNER maas" >&2
fi

echo "jdbc:postgresql://127.0.0.1:$PG_PORT/maas"
