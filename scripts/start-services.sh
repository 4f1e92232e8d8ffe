#!/usr/bin/env bash
# Starts the database servers the manager's tests use when they are not answering: PostgreSQL on
# 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306, from the Debian packages this machine has.
# Idempotent and quiet when both answer. Tests make their own databases on them and drop them.
set -euo pipefail
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_for() {
  for _ in $(seq 1 60); do answers "$1" && return 0; sleep 0.5; done
  echo "start-services: nothing answers on 127.0.0.1:$1 after 30 s ($2)" >&2
  return 1
}
if ! answers 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  wait_for 5432 PostgreSQL
fi
if ! answers 3306; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for 3306 MariaDB
fi
