#!/bin/sh
# Finish a debootstrap'ed bookworm tree before `docker import`: the apt sources, no services
# started by package scripts, no manuals or caches. Usage: trim.sh ROOTFS_DIR DEBIAN_MIRROR
set -eu
root=$1
mirror=$2
security=$(printf '%s' "$mirror" | sed 's#/debian/*$#/debian-security#')
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
# A container has no init: package scripts must not try to start the daemons they install.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# Keep manuals and translations out of every later apt-get install, as Debian's own images do.
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-standin" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90docker-standin"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
  "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log
