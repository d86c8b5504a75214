#!/usr/bin/env bash
# A streaming standby of the local PostgreSQL 15 cluster on another port (default 5433), made with
# pg_basebackup -R: the read-replica tests point REGISTRY_READ_DATABASE_URL at it. Run as root (CI, a test machine).
set -euo pipefail
port="${1:-5433}"
directory="/var/lib/postgresql/15/registry-standby-$port"
slot="registry_standby_$port"  # one standby per port: several can run side by side
bin="/usr/lib/postgresql/15/bin"
hba="/etc/postgresql/15/main/pg_hba.conf"

if ! grep -Eq "^host[[:space:]]+replication" "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" >> "$hba"
  pg_ctlcluster --skip-systemctl-redirect 15 main reload
  sleep 1
fi
if pg_isready -q -h 127.0.0.1 -p "$port"; then
  echo "Réplique déjà en service sur le port $port."
  exit 0
fi
if [ -f "$directory/postmaster.pid" ]; then
  runuser -u postgres -- "$bin/pg_ctl" -D "$directory" -m immediate stop || true
fi
rm -rf "$directory"
mkdir -p "$directory" && chown postgres:postgres "$directory" && chmod 700 "$directory"
# A replication slot keeps on the primary the WAL the standby has not received yet (the test suite creates and
# drops a database per test: without it, the primary recycles WAL the standby still needs).
psql -h 127.0.0.1 -p 5432 -U postgres -Atqc "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null
runuser -u postgres -- "$bin/pg_basebackup" -h 127.0.0.1 -p 5432 -U postgres -D "$directory" -R -X stream -c fast \
  -C -S "$slot"
cat > "$directory/postgresql.conf" <<CONF
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 5s
hba_file = '$directory/pg_hba.conf'
CONF
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' > "$directory/pg_hba.conf"
chown postgres:postgres "$directory/postgresql.conf" "$directory/pg_hba.conf"
runuser -u postgres -- "$bin/pg_ctl" -D "$directory" -l "$directory/standby.log" -w start
pg_isready -h 127.0.0.1 -p "$port"
psql -h 127.0.0.1 -p "$port" -U postgres -Atc "SELECT 'Réplique en lecture seule : ' || pg_is_in_recovery()"
