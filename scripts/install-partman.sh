#!/usr/bin/env bash
# Installs Debian's PostgreSQL 15 with pg_partman and starts a throwaway cluster for the
# benchmark's B2b entry (our heap → partitioned copy vs pg_partman's partition_data_proc).
#
#   sudo scripts/install-partman.sh          # install + create/start the cluster
#   sudo scripts/install-partman.sh --stop   # stop and drop the cluster
#
# The cluster is "lichen_bench" (PostgreSQL 15), on a free loopback port, fsync off: a
# benchmark scratch server, never a place for data. Its connection URL (with a generated
# password) is written, mode 0600, to $LICHEN_PARTMAN_URL_FILE (default
# ~/.local/state/lichen-cutover/partman.url); `npm run bench` reads it from there, or from
# PARTMAN_DATABASE_URL.
set -euo pipefail

VERSION=15
CLUSTER=lichen_bench
URL_FILE="${LICHEN_PARTMAN_URL_FILE:-${HOME}/.local/state/lichen-cutover/partman.url}"

if [[ $(id -u) -ne 0 ]]; then
  echo "install-partman: run as root (apt-get and pg_createcluster need it)" >&2
  exit 1
fi

if [[ "${1:-}" == "--stop" ]]; then
  pg_dropcluster --stop "$VERSION" "$CLUSTER" 2>/dev/null || true
  rm -f "$URL_FILE"
  echo "install-partman: cluster $VERSION/$CLUSTER dropped"
  exit 0
fi

# Only where Debian ships it: refuse clearly rather than half-install.
candidate=$(apt-cache policy "postgresql-${VERSION}-partman" 2>/dev/null | awk '/Candidate:/ {print $2}')
if [[ -z "$candidate" || "$candidate" == "(none)" ]]; then
  echo "install-partman: postgresql-${VERSION}-partman is not installable from the configured apt sources (apt-cache policy shows no candidate); B2b will be skipped" >&2
  exit 2
fi

# Another apt run may hold the dpkg lock: wait for it instead of failing.
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
  "postgresql-${VERSION}" "postgresql-${VERSION}-partman" >/dev/null
echo "install-partman: postgresql-${VERSION} and postgresql-${VERSION}-partman ${candidate} installed"

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$VERSION $CLUSTER"; then
  port=$(free_port)
  pg_createcluster "$VERSION" "$CLUSTER" --port "$port" -- --auth-local=peer --auth-host=scram-sha-256 >/dev/null
  conf="/etc/postgresql/$VERSION/$CLUSTER/conf.d/bench.conf"
  cat >"$conf" <<CONF
# Throwaway benchmark cluster (scripts/install-partman.sh): speed over durability, like the
# embedded server the benchmark compares against.
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
shared_buffers = 256MB
CONF
fi
port=$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1==v && $2==c {print $3}')
pg_ctlcluster "$VERSION" "$CLUSTER" start 2>/dev/null || true
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p "$port" && break
  sleep 0.2
done
pg_isready -q -h 127.0.0.1 -p "$port" || { echo "install-partman: cluster did not start on port $port" >&2; exit 1; }

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD '$password'\""
mkdir -p "$(dirname "$URL_FILE")"
( umask 077; echo "postgres://postgres:${password}@127.0.0.1:${port}/postgres" >"$URL_FILE" )
echo "install-partman: cluster $VERSION/$CLUSTER running on 127.0.0.1:$port; URL written to $URL_FILE"
