#!/usr/bin/env bash
# Starts or stops a private redis-server for the tests (Debian's redis-server).
#   scripts/redis.sh start DIR PORT   daemon on 127.0.0.1:PORT, data + pidfile in DIR,
#                                     appendonly yes (a restart loses nothing)
#   scripts/redis.sh stop DIR         SHUTDOWN (flushes the append-only file), then waits
set -euo pipefail
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 1; }
server=$(command -v redis-server || echo /usr/bin/redis-server)
cli=$(command -v redis-cli || echo /usr/bin/redis-cli)

running() { [ -f "$dir/redis.pid" ] && kill -0 "$(cat "$dir/redis.pid")" 2>/dev/null; }

case "$cmd" in
  start)
    port=${3:?port required}
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if running; then
      "$0" stop "$dir"
    fi
    echo "$port" >"$dir/port"
    cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
appendonly yes
appendfsync everysec
save ""
CONF
    "$server" "$dir/redis.conf"
    for _ in $(seq 1 100); do
      if [ "$("$cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
        echo "redis-server on 127.0.0.1:$port (data in $dir)"
        exit 0
      fi
      sleep 0.1
    done
    echo "redis-server did not answer on port $port; see $dir/redis.log" >&2
    tail -n 20 "$dir/redis.log" >&2 || true
    exit 1
    ;;
  stop)
    if ! running; then
      echo "redis-server in $dir not running"
      exit 0
    fi
    pid=$(cat "$dir/redis.pid")
    port=$(cat "$dir/port" 2>/dev/null || echo "")
    if [ -n "$port" ]; then
      "$cli" -h 127.0.0.1 -p "$port" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    else
      kill "$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || { rm -f "$dir/redis.pid"; echo "redis-server stopped"; exit 0; }
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/redis.pid"
    echo "redis-server killed"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 1
    ;;
esac
