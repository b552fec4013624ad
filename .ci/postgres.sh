#!/usr/bin/env bash
# Starts a local PostgreSQL server for the tests and prints how to reach it.
#
# Why: the Postgres store tests need a real server. Each test creates its own
# database, so the role needs CREATEDB. CI machines start clean, so this
# script installs PostgreSQL if needed, creates a throwaway cluster
# (/tmp/ackbot-pg-<uid>) that listens on 127.0.0.1 only, and creates the
# ackbot role and database. Running it again reuses the cluster and starts it
# if it is stopped. Logs go to stderr. The last line on stdout is
# ACKBOT_TEST_DATABASE_URL=postgres://ackbot:ackbot@127.0.0.1:PORT/ackbot_test
#
# Usage, from the repository root:
#   eval "$(bash .ci/postgres.sh | tail -n1 | sed 's/^/export /')"
# or: source .ci/postgres.sh   (the setup runs in a child bash, so your shell
#                               options are left alone; the URL is exported)
#
# As root, the server runs as the `postgres` OS user, because PostgreSQL will
# not run as root. As any other user it runs as that user, so no sudo is
# needed unless PostgreSQL still has to be installed.
# To change the defaults: ACKBOT_PG_DIR (data directory) and ACKBOT_PG_PORT
# (the first port to try, default 5432; only used when the cluster is created).

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then # sourced
  _ackbot_pg=$(bash "${BASH_SOURCE[0]}") && export ACKBOT_TEST_DATABASE_URL="${_ackbot_pg#*=}" && echo "$_ackbot_pg"
  return
fi
set -euo pipefail

# Prints the directory that holds initdb, pg_ctl and psql: the newest
# Debian/Ubuntu install first, then whatever initdb is on PATH.
pg_bindir() {
  local d c
  c=$(command -v initdb || true)
  for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV) ${c:+"${c%/*}"}; do
    if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/psql ]]; then echo "$d" && return; fi
  done
  return 1
}

# Runs as the user who owns the cluster. Creates the cluster if needed, starts
# it, sets up the role and database, then prints the port.
serve() {
  set -euo pipefail
  local bin=$1 data=$2 port=$3 taken
  cd / # the caller's directory may not be readable by this user
  if [[ ! -s $data/PG_VERSION ]]; then
    # Skip ports that are in use, and ports that Debian clusters are
    # configured for, even if those clusters are stopped.
    taken=" $(pg_lsclusters -h 2>/dev/null | awk '{printf "%s ", $3}')"
    while [[ $taken == *" $port "* ]] || (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
      port=$((port + 1))
    done
    echo "postgres.sh: creating a cluster in $data (port $port)" >&2
    "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >&2
    # Only this user can use the socket: it is in the 0700 data directory.
    cat >>"$data/postgresql.conf" <<EOF
# Added by .ci/postgres.sh (test-only cluster)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 500
EOF
  fi
  port=$(sed -n 's/^port = \([0-9]\+\).*/\1/p' "$data/postgresql.conf" | tail -n1)
  [[ -n $port ]] || { echo "postgres.sh: no 'port = N' line in $data/postgresql.conf" >&2; return 1; }
  if "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "postgres.sh: reusing the running server in $data" >&2
  else
    "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >&2 ||
      { tail -n 20 "$data/server.log" >&2; return 1; }
  fi
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$port" -U postgres -d postgres >&2 <<'SQL'
SELECT 'CREATE ROLE ackbot' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ackbot')\gexec
ALTER ROLE ackbot LOGIN CREATEDB PASSWORD 'ackbot';
SELECT 'CREATE DATABASE ackbot_test OWNER ackbot'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ackbot_test')\gexec
SQL
  echo "$port"
}

if ! bin=$(pg_bindir); then
  sudo=
  if [[ $(id -u) != 0 ]]; then
    sudo=$(command -v sudo) || { echo "postgres.sh: PostgreSQL is not installed and sudo is not available" >&2; exit 1; }
    sudo="$sudo -n"
  fi
  echo "postgres.sh: installing PostgreSQL with apt-get" >&2
  $sudo apt-get update -q >&2
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
  bin=$(pg_bindir)
fi

if [[ $(id -u) == 0 ]]; then
  uid=$(id -u postgres) || { echo "postgres.sh: running as root, but there is no 'postgres' OS user to run the server" >&2; exit 1; }
  data=${ACKBOT_PG_DIR:-/tmp/ackbot-pg-$uid}
  port=$(runuser -u postgres -- bash -c "$(declare -f serve)"'; serve "$@"' serve "$bin" "$data" "${ACKBOT_PG_PORT:-5432}")
else
  data=${ACKBOT_PG_DIR:-/tmp/ackbot-pg-$(id -u)}
  port=$(serve "$bin" "$data" "${ACKBOT_PG_PORT:-5432}")
fi
echo "ACKBOT_TEST_DATABASE_URL=postgres://ackbot:ackbot@127.0.0.1:$port/ackbot_test"
