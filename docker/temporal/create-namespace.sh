#!/bin/sh
# Run once by the temporal-namespace service after the server is healthy: the plain
# temporalio/server image (unlike the old auto-setup one) creates no namespace by itself.
set -eu
ns="${DEFAULT_NAMESPACE:-default}"
addr="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required}"
tries=0
until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal at $addr is not healthy after $tries tries" >&2; exit 1; }
  sleep 2
done
if temporal operator namespace describe --address "$addr" -n "$ns" >/dev/null 2>&1; then
  echo "namespace $ns exists"
else
  temporal operator namespace create --address "$addr" -n "$ns" --retention "${NAMESPACE_RETENTION:-720h}"
  echo "namespace $ns created"
fi
