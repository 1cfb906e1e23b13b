#!/usr/bin/env bash
# Starts or stops a private clamd for the tests (Debian's clamav-daemon) with
# a signature database of its own (the official ones need the internet).
#   scripts/clamd.sh start DIR PORT   clamd on 127.0.0.1:PORT and the Unix socket DIR/clamd.sock
#   scripts/clamd.sh start DIR unix   the Unix socket only
#   scripts/clamd.sh stop DIR         SIGTERM, then waits
# The database (DIR/db) holds two signatures:
#   MsTest.EICAR     (.ndb) the EICAR test string anywhere in a file
#   MsTest.ClamExe   (.hdb) the SHA-256 of clamav-testfiles' clam.exe
# clamd reports them with ".UNOFFICIAL" appended (unsigned local databases).
# Limits, small for the limit tests: StreamMaxLength 4 MiB, MaxFileSize and
# MaxScanSize 3 MiB, AlertExceedsMax yes (a file cut at a limit is reported as
# Heuristics.Limits.Exceeded.*, not OK). ScanImageFuzzyHash no: it decodes
# every image (10x the scan time of a photo) and has no signatures here.
# clamd runs as the calling user (root included: no User line).
set -euo pipefail
cmd=${1:-}
dir=${2:-}
usage() { echo "usage: $0 start DIR (PORT|unix) | stop DIR" >&2; exit 1; }
[ -n "$cmd" ] && [ -n "$dir" ] || usage
clamd=$(command -v clamd || echo /usr/sbin/clamd)
testfiles=/usr/share/clamav-testfiles

running() { [ -f "$dir/clamd.pid" ] && kill -0 "$(cat "$dir/clamd.pid")" 2>/dev/null; }

# PING over the Unix socket (bash cannot open one) or TCP; prints the answer.
ping_clamd() {
  if [ "$1" = unix ]; then
    /usr/bin/python3 - "$dir/clamd.sock" <<'PY' 2>/dev/null || true
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
s.connect(sys.argv[1])
s.sendall(b"zPING\0")
print(s.recv(64).rstrip(b"\0").decode())
PY
  else
    timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$1"'; printf "zPING\0" >&3; IFS= read -r -d "" r <&3; echo "$r"' \
      2>/dev/null || true
  fi
}

case "$cmd" in
  start)
    port=${3:?PORT or unix required}
    [ "$port" = unix ] || [[ "$port" =~ ^[0-9]+$ ]] || usage
    mkdir -p "$dir/db"
    dir=$(cd "$dir" && pwd)
    if running; then
      "$0" stop "$dir"
    fi
    [ -f "$testfiles/clam.exe" ] || { echo "$testfiles/clam.exe missing: install clamav-testfiles" >&2; exit 1; }
    sock="$dir/clamd.sock"
    [ ${#sock} -lt 108 ] || { echo "socket path $sock is too long for a Unix socket" >&2; exit 1; }
    eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
    rm -f "$dir"/db/*
    echo "MsTest.EICAR:0:*:$(printf '%s' "$eicar" | od -An -v -tx1 | tr -d ' \n')" >"$dir/db/mediastore-test.ndb"
    echo "$(sha256sum "$testfiles/clam.exe" | cut -d' ' -f1):$(stat -c%s "$testfiles/clam.exe"):MsTest.ClamExe" \
      >"$dir/db/mediastore-test.hdb"
    {
      echo "Foreground no"
      echo "PidFile $dir/clamd.pid"
      echo "LogFile $dir/clamd.log"
      echo "LogTime yes"
      echo "DatabaseDirectory $dir/db"
      echo "LocalSocket $sock"
      if [ "$port" != unix ]; then
        echo "TCPSocket $port"
        echo "TCPAddr 127.0.0.1"
      fi
      echo "StreamMaxLength 4M"
      echo "MaxFileSize 3M"
      echo "MaxScanSize 3M"
      echo "AlertExceedsMax yes"
      echo "SelfCheck 0"
      echo "ScanImageFuzzyHash no"
    } >"$dir/clamd.conf"
    echo "$port" >"$dir/port"
    rm -f "$dir/clamd.log" "$sock"
    "$clamd" -c "$dir/clamd.conf"
    for _ in $(seq 1 150); do
      if [ "$(ping_clamd "$port")" = PONG ]; then
        echo "clamd on ${port/#unix/no TCP port} and $sock (database in $dir/db)"
        exit 0
      fi
      sleep 0.1
    done
    echo "clamd did not answer PING; see $dir/clamd.log" >&2
    tail -n 20 "$dir/clamd.log" >&2 || true
    exit 1
    ;;
  stop)
    if ! running; then
      echo "clamd in $dir not running"
      exit 0
    fi
    pid=$(cat "$dir/clamd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || { rm -f "$dir/clamd.pid"; echo "clamd stopped"; exit 0; }
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$dir/clamd.pid"
    echo "clamd killed"
    ;;
  *) usage ;;
esac
