#!/usr/bin/env bash
# Makes `docker compose` available for test/compose.test.ts (which validates docker-compose.yml with
# `docker compose config`). Machines here have the docker client but no compose plugin and no
# engine; the plugin is a Go module, so it is built from the Go module proxy into
# ~/.docker/cli-plugins. Does nothing when `docker compose` already works or docker is absent.
set -euo pipefail
COMPOSE_VERSION=v2.40.3
command -v docker >/dev/null 2>&1 || { echo "no docker client: the compose test will skip"; exit 0; }
if docker compose version >/dev/null 2>&1; then docker compose version; exit 0; fi
command -v go >/dev/null 2>&1 || { echo "no go toolchain: the compose test will skip"; exit 0; }
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugins"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "building docker compose $COMPOSE_VERSION from the Go module proxy (a few minutes)…"
(
  cd "$work"
  go mod init compose-build >/dev/null 2>&1
  go get "github.com/docker/compose/v2@$COMPOSE_VERSION" >/dev/null 2>&1
  GOFLAGS=-mod=mod go build -trimpath -o "$plugins/docker-compose" github.com/docker/compose/v2/cmd
)
docker compose version
