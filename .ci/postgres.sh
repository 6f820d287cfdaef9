#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the issuer store tests
# and prints, on stdout, the one line that points the tests at it:
#
#   eval "$(bash .ci/postgres.sh)"    # sets HEALTHCARDS_TEST_POSTGRES_DSN
#
# Installs PostgreSQL from the Debian archive when no server binaries are
# found (needs root and the Debian mirror, nothing else). Idempotent: a
# second run reuses the cluster, starts it if it stopped, and prints the same
# line. Progress goes to stderr.
#
# Settings (environment):
#   HEALTHCARDS_PG_DIR   cluster directory   (default /var/tmp/healthcards-pg)
#   HEALTHCARDS_PG_PORT  TCP port on 127.0.0.1 (default 55432)
# The cluster listens on loopback only; the role's password is random,
# generated once and kept in $HEALTHCARDS_PG_DIR/password (0600).
set -euo pipefail

base=${HEALTHCARDS_PG_DIR:-/var/tmp/healthcards-pg}
port=${HEALTHCARDS_PG_PORT:-55432}
db=healthcards_test
role=healthcards

log() { echo "postgres.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

case $port in '' | *[!0-9]*) die "HEALTHCARDS_PG_PORT must be a number, got '$port'" ;; esac

find_bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
		echo "$d"
	fi
}

bindir=$(find_bindir)
if [ -z "$bindir" ]; then
	[ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed; run as root to install it with apt-get"
	log "installing PostgreSQL from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update >&2
	apt-get install -y --no-install-recommends postgresql >&2
	bindir=$(find_bindir)
	[ -n "$bindir" ] || die "apt-get installed postgresql but no server binaries are under /usr/lib/postgresql"
fi
log "using $bindir"

# Run the server as the postgres user when we are root (postgres refuses to
# run as root), as ourselves otherwise.
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || die "user 'postgres' is missing (the Debian package creates it)"
	owner=postgres
	as_owner() { runuser -u postgres -- "$@"; }
else
	owner=$(id -un)
	as_owner() { "$@"; }
fi

data=$base/data
sock=$base/sock
mkdir -p "$base"
chmod 0700 "$base"
if [ "$(id -u)" -eq 0 ]; then
	chown "$owner": "$base"
fi

if [ ! -s "$base/password" ]; then
	umask 077
	head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$base/password.tmp"
	mv "$base/password.tmp" "$base/password"
fi
chmod 0600 "$base/password"
password=$(cat "$base/password")

if [ ! -s "$data/PG_VERSION" ]; then
	log "creating cluster in $data"
	rm -rf "$data"
	as_owner mkdir -p "$data" "$sock"
	as_owner "$bindir/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth-local=peer --auth-host=scram-sha-256 >&2
	as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF
# healthcards test cluster (.ci/postgres.sh)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 300
CONF
fi
as_owner mkdir -p "$sock"

if as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
	log "cluster already running"
else
	log "starting cluster on 127.0.0.1:$port"
	as_owner "$bindir/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 start >&2 ||
		die "server did not start; see $base/server.log"
fi

ready=
for _ in $(seq 1 60); do
	if as_owner "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d postgres; then
		ready=1
		break
	fi
	sleep 1
done
[ -n "$ready" ] || die "server is not accepting connections on 127.0.0.1:$port"

# Role and database, created once; the password follows the password file.
as_owner "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$sock" -p "$port" -U postgres -d postgres \
	-v role="$role" -v db="$db" -v pw="$password" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
	WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
	WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SQL

log "ready"
echo "export HEALTHCARDS_TEST_POSTGRES_DSN='postgres://$role:$password@127.0.0.1:$port/$db?sslmode=disable'"
