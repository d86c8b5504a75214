#!/bin/sh
# Install the system libraries the registry needs when they are missing (Debian/Ubuntu), or name them.
# Usage: ensure-system-deps.sh PACKAGE...   (e.g. libsqlite3-mod-spatialite)
missing=""
for package in "$@"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
[ -z "$missing" ] && exit 0
echo "==> Paquets système manquants :$missing"
if command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" != none ]; then
    echo "==> Installation :$missing"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing && exit 0
  fi
fi
echo "Installez-les puis relancez :  sudo apt-get install$missing" >&2
exit 1
