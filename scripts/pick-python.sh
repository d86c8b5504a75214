#!/bin/sh
# Print a Python (>= 3.11) that can create a venv and load SQLite extensions (SpatiaLite).
# pyenv and macOS builds often lack sqlite3.Connection.enable_load_extension; Debian's /usr/bin/python3 has it.
# When none can, print the first usable Python and "pysqlite3" on a second line: the set-up then builds
# pysqlite3 from source against the system SQLite.
for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3 /usr/bin/python3; do
  [ -n "$candidate" ] || continue
  command -v "$candidate" >/dev/null 2>&1 || continue
  if "$candidate" -c 'import sys, sqlite3, venv, ensurepip; assert sys.version_info >= (3, 11); sqlite3.connect(":memory:").enable_load_extension' 2>/dev/null; then
    command -v "$candidate"
    exit 0
  fi
done
for candidate in python3.13 python3.12 python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, venv; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    command -v "$candidate"
    echo pysqlite3
    exit 0
  fi
done
echo "Aucun Python >= 3.11 avec venv : installez python3 et python3-venv (apt-get install python3-venv)." >&2
exit 1
