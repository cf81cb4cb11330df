#!/usr/bin/env bash
# Make sure every image docker-compose.yml and deploy/Dockerfile name from a registry is here.
#
# For each official image: if the official one is already on this engine nothing happens;
# otherwise it is pulled, and only when no registry answers (asked once per run) is a stand-in
# built from deploy/standins/<name>/ (or kept, if one from the same inputs is here) and tagged
# with the official name, so the compose file stays exactly what users run. Stand-ins start from a Debian bookworm root filesystem made
# here with debootstrap and `docker import`ed, then Debian's own packages; each carries the label
# org.django-at-scale.standin=<hash of its inputs>, and a changed input builds it again.
#
# Usage: deploy/standins/build.sh [IMAGE ...]   (default: every image below)
#        deploy/standins/build.sh --rootfs      only the root filesystem; prints its tag
#   DEBIAN_MIRROR   where debootstrap and apt fetch from, default http://deb.debian.org/debian
#   (certificate authorities in /usr/local/share/ca-certificates/ go into the python stand-in)
#   STANDIN_PULL    0: do not try the registry first (it is tried once per run by default)
set -euo pipefail
cd "$(dirname "$0")"
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
LABEL=org.django-at-scale.standin
ROOTFS_REPO=django-at-scale-standin/bookworm

# official name -> stand-in folder (build order: python before flower, which starts from it)
IMAGES=(
  "python:3.11-slim-bookworm=python"
  "postgres:15-bookworm=postgres"
  "redis:7.4-bookworm=redis"
  "nginx:1.28-bookworm=nginx"
  "axllent/mailpit:v1.27.0=mailpit"
  "mher/flower:2.0.1=flower"
)

log() { printf 'standins: %s\n' "$*" >&2; }
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo

inputs_hash() { # the hash of a folder's files (names and contents) and any extra strings
  local folder=$1
  shift
  { (cd "$folder" && find . -type f -print0 | sort -z | xargs -0 sha256sum); printf '%s\n' "$@"; } |
    sha256sum | cut -c1-16
}

shopt -s nullglob
LOCAL_CA_FILES=(/usr/local/share/ca-certificates/*.crt)
LOCAL_CA_HASH=$(cat /dev/null "${LOCAL_CA_FILES[@]}" | sha256sum | cut -c1-16)

label_of() { docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }

# The root filesystem's tag names the hash of its inputs.
ROOTFS="$ROOTFS_REPO:$(inputs_hash rootfs "$DEBIAN_MIRROR")"
rootfs() { # the imported bookworm root filesystem, made once per set of inputs
  docker image inspect "$ROOTFS" >/dev/null 2>&1 && return
  local dir
  dir=$(mktemp -d /var/tmp/django-at-scale-rootfs.XXXXXX)
  log "debootstrap bookworm into $dir (mirror $DEBIAN_MIRROR)"
  $sudo debootstrap --variant=minbase bookworm "$dir" "$DEBIAN_MIRROR" >"$dir.log" 2>&1 ||
    { tail -20 "$dir.log" >&2; $sudo rm -rf "$dir"; exit 1; }
  $sudo sh rootfs/trim.sh "$dir" "$DEBIAN_MIRROR"
  log "docker import $ROOTFS"
  $sudo tar --numeric-owner -C "$dir" -c . |
    docker import --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' - "$ROOTFS" >/dev/null
  $sudo rm -rf "$dir" "$dir.log"
}

registry_answers=""
try_pull() { # one failed pull means no registry: the rest of the run does not ask again
  [ "${STANDIN_PULL:-1}" = 0 ] && return 1
  [ "$registry_answers" = no ] && return 1
  if timeout 30 docker pull --quiet "$1" >/dev/null 2>&1; then
    registry_answers=yes
    return 0
  fi
  registry_answers=no
  log "no registry answers for $1: using stand-ins"
  return 1
}

build_one() {
  local image=$1 folder=$2 hash current extra=""
  current=$(label_of "$image")
  if docker image inspect "$image" >/dev/null 2>&1 && [ -z "$current" ]; then
    return # the official image (pulled earlier): always preferred
  fi
  # flower starts from the python stand-in, so its hash follows that image's inputs too.
  case "$folder" in
    python) extra=$LOCAL_CA_HASH ;;
    flower) extra="$(inputs_hash python) $LOCAL_CA_HASH" ;;
  esac
  hash=$(inputs_hash "$folder" "$ROOTFS" "$extra")
  # A stand-in is never used where a registry answers: the registry is asked once per run even
  # when an up-to-date stand-in is here, and a pulled image replaces it under the same name.
  try_pull "$image" && return
  [ "$current" = "$hash" ] && return
  rootfs
  log "building $image from deploy/standins/$folder"
  local started=$SECONDS
  # The context: the folder, plus the certificate authorities this machine adds to Debian's
  # (a TLS-inspecting proxy's), which the python stand-in trusts so pip reaches PyPI through it.
  local context
  context=$(mktemp -d /var/tmp/django-at-scale-standin.XXXXXX)
  cp -R "$folder/." "$context/"
  mkdir "$context/local-ca-certificates"
  cp "${LOCAL_CA_FILES[@]}" "$context/local-ca-certificates/" 2>/dev/null || true
  DOCKER_BUILDKIT=0 docker build --quiet --network host --build-arg "BASE=$ROOTFS" \
    --label "$LABEL=$hash" --tag "$image" "$context" >"$context.log" 2>&1 ||
    { tail -30 "$context.log" >&2; rm -rf "$context" "$context.log"; log "building $image failed"; exit 1; }
  rm -rf "$context" "$context.log"
  log "built $image in $((SECONDS - started))s"
}

if [ "${1:-}" = --rootfs ]; then rootfs; echo "$ROOTFS"; exit; fi
wanted=("$@")
for entry in "${IMAGES[@]}"; do
  image=${entry%%=*}
  if [ ${#wanted[@]} -gt 0 ] && [[ " ${wanted[*]} " != *" $image "* ]]; then continue; fi
  build_one "$image" "${entry#*=}"
done
