#!/usr/bin/env bash
# A throwaway single-node Ceph cluster (one mon, one OSD, radosgw) that serves
# S3 on 127.0.0.1, entirely inside one folder. For tests and benchmarks only:
# no authentication inside the cluster, one replica, data lost on stop.
#
#   scripts/rgw.sh start DIR PORT ACCESS_KEY SECRET_KEY
#       Starts the daemons as background processes (PIDs in DIR/pids/), waits
#       until a SigV4-signed S3 request with the given keys succeeds. If a
#       cluster from DIR already answers on PORT with those keys, reuses it.
#   scripts/rgw.sh stop DIR
#       TERM (then KILL after ~15 s) the recorded daemons that still run
#       DIR's ceph.conf, then removes DIR.
#
# Gateway outages (the objects live in the OSD, so they survive these):
#   scripts/rgw.sh stop-gateway DIR [TERM|KILL]
#       Sends TERM (default; KILL after ~10 s if it still runs) or KILL to
#       DIR's radosgw only and waits until it is gone; mon and OSD keep running.
#       After a KILL, metadata writes such as CreateBucket on the restarted
#       gateway were seen to stall for up to ~25 s (object writes into
#       existing buckets did not).
#   scripts/rgw.sh start-gateway DIR ACCESS_KEY SECRET_KEY
#       Starts DIR's radosgw again (same config, same port) and waits until a
#       signed S3 request with the given keys succeeds.
#   scripts/rgw.sh freeze-gateway DIR / thaw-gateway DIR
#       SIGSTOP / SIGCONT DIR's radosgw: it keeps its port (connections are
#       accepted by the kernel) but answers nothing while frozen.
#
# Environment:
#   RGW_OBJECTSTORE  memstore | bluestore   Default: memstore (faster start;
#                    objects live in OSD memory until garbage collection)
#   RGW_START_TIMEOUT  seconds to wait for the S3 endpoint   Default: 120
#
# Prints one line on success; on failure, one line plus the tail of the logs
# to stderr.
set -euo pipefail

die() {
  echo "rgw.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: rgw.sh start DIR PORT ACCESS_KEY SECRET_KEY | stop DIR | stop-gateway DIR [TERM|KILL] |" \
    "start-gateway DIR ACCESS_KEY SECRET_KEY | freeze-gateway DIR | thaw-gateway DIR"
}

# PID $1 runs a ceph daemon of config $2 (its command line names the file).
pid_owned() {
  local pid=$1 conf=$2
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$conf"
}

# Stops the daemons recorded in $1/pids: radosgw, then osd, then mon.
stop_daemons() {
  local dir=$1 conf=$1/ceph.conf pids=() name pid
  for name in rgw osd mon; do
    [ -f "$dir/pids/$name.pid" ] || continue
    pid=$(cat "$dir/pids/$name.pid")
    if [[ $pid =~ ^[0-9]+$ ]] && pid_owned "$pid" "$conf"; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  local deadline=$((SECONDS + 15)) alive
  while :; do
    alive=()
    for pid in "${pids[@]}"; do
      if pid_owned "$pid" "$conf"; then alive+=("$pid"); fi
    done
    [ ${#alive[@]} -eq 0 ] && return 0
    if [ $SECONDS -ge $deadline ]; then
      for pid in "${alive[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
      sleep 0.2
      return 0
    fi
    sleep 0.1
  done
}

# A signed S3 ListBuckets request; succeeds on HTTP 200.
s3_ok() {
  local port=$1 ak=$2 sk=$3 code
  # RGW requires the payload hash header (here: of the empty body).
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --aws-sigv4 "aws:amz:us-east-1:s3" \
    -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
    --user "$ak:$sk" "http://127.0.0.1:$port/" 2>/dev/null) || return 1
  [ "$code" = 200 ]
}

# Is something listening on 127.0.0.1:$1?
port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fail_with_logs() {
  local dir=$1
  shift
  echo "rgw.sh: $*" >&2
  for f in "$dir"/log/*.log "$dir"/log/*.out; do
    [ -f "$f" ] || continue
    echo "---- $f (tail)" >&2
    tail -n 15 "$f" >&2
  done
  stop_daemons "$dir" || true
  exit 1
}

# Runs the ceph CLI against DIR's cluster.
cephc() { ceph -c "$conf" --connect-timeout 20 "$@"; }

start() {
  [ $# -eq 4 ] || usage
  local dir=$1 port=$2 ak=$3 sk=$4
  [[ $port =~ ^[0-9]+$ ]] || die "PORT '$port' is not a number"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  conf=$dir/ceph.conf
  local t0=$SECONDS t0ns
  t0ns=$(date +%s%N)

  # Reuse a running cluster from this folder.
  if [ -f "$dir/pids/rgw.pid" ] && pid_owned "$(cat "$dir/pids/rgw.pid")" "$conf" && s3_ok "$port" "$ak" "$sk"; then
    echo "rgw: reusing the running gateway at http://127.0.0.1:$port (data in $dir)"
    return 0
  fi
  # Leftovers of a dead or half-started cluster: clean up first.
  if [ -d "$dir/pids" ]; then stop_daemons "$dir" || true; fi
  if port_busy "$port"; then die "port $port on 127.0.0.1 is already used by another program"; fi
  if [ -n "$(ls -A "$dir")" ] && [ ! -f "$conf" ] && [ ! -d "$dir/pids" ]; then
    die "$dir is not empty and does not look like an rgw.sh folder; not clearing it"
  fi
  find "$dir" -mindepth 1 -delete
  mkdir -p "$dir"/{mon,osd,run,log,crash,rgw,pids,tmp}

  # A free port for the monitor (msgr2 only), near 10000 + PORT.
  local mon_port=$((port + 10000))
  while port_busy "$mon_port"; do mon_port=$((mon_port + 1)); done

  local store=${RGW_OBJECTSTORE:-memstore}
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
mon initial members = a
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
ms bind ipv6 = false
ms mon client mode = crc secure
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
keyring = /dev/null
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
crash dir = $dir/crash
exec dir = $dir/tmp
log to stderr = false
err to stderr = false
log to syslog = false
debug ms = 0
mon data = $dir/mon/\$name
# Commit map changes at once rather than batching them for a second: each of
# the pool commands below is one map change.
paxos propose interval = 0.01
paxos min wait = 0.01
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 1
mon data avail crit = 0
mon osd down out interval = 0
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mgr initial modules =

[osd]
osd data = $dir/osd/\$name
osd objectstore = $store
osd journal size = 0
memstore device bytes = 17179869184
bluestore block path = $dir/osd/\$name.block
bluestore block create = true
bluestore block size = 21474836480
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
osd memory target = 1073741824
osd op num shards = 2
osd op num threads per shard = 1

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
# Virtual-hosted addressing for http://localhost:PORT (curl resolves
# BUCKET.localhost to loopback); path style keeps working on 127.0.0.1.
rgw dns name = localhost
rgw gc obj min wait = 30
rgw gc processor period = 30
rgw gc processor max time = 30
rgw enable usage log = false
rgw enable ops log = false
rgw thread pool size = 64
EOF

  # Monitor.
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$mon_port]" "$dir/tmp/monmap" >/dev/null 2>&1 ||
    fail_with_logs "$dir" "monmaptool failed"
  ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/tmp/monmap" >"$dir/log/mkfs-mon.out" 2>&1 ||
    fail_with_logs "$dir" "ceph-mon --mkfs failed"
  ceph-mon -c "$conf" -i a -f >"$dir/log/mon.out" 2>&1 &
  echo $! >"$dir/pids/mon.pid"

  # OSD 0.
  local osd_uuid
  osd_uuid=$(cat /proc/sys/kernel/random/uuid)
  local id
  id=$(cephc osd new "$osd_uuid" 2>"$dir/log/osd-new.out") || fail_with_logs "$dir" "ceph osd new failed"
  [ "$id" = 0 ] || fail_with_logs "$dir" "ceph osd new gave id '$id', expected 0"
  mkdir -p "$dir/osd/osd.0"
  ceph-osd -c "$conf" -i 0 --mkfs --osd-uuid "$osd_uuid" >"$dir/log/mkfs-osd.out" 2>&1 ||
    fail_with_logs "$dir" "ceph-osd --mkfs failed"
  ceph-osd -c "$conf" -i 0 -f >"$dir/log/osd.out" 2>&1 &
  echo $! >"$dir/pids/osd.pid"

  # The gateway's pools, created up front while the OSD boots (avoids a
  # stall on the first CreateBucket and the first multipart upload). One
  # ceph CLI process reads all commands from stdin.
  local pool cmds=""
  for pool in .rgw.root default.rgw.control default.rgw.meta default.rgw.log default.rgw.buckets.index \
    default.rgw.buckets.data default.rgw.buckets.non-ec; do
    cmds+="osd pool create $pool 8 8"$'\n'"osd pool application enable $pool rgw"$'\n'
  done
  printf '%s' "$cmds" | cephc >"$dir/log/pools.out" 2>&1 || fail_with_logs "$dir" "creating the rgw pools failed"

  local deadline=$((SECONDS + ${RGW_START_TIMEOUT:-120}))
  until cephc osd dump 2>/dev/null | grep -q '^osd\.0 up'; do
    [ $SECONDS -lt $deadline ] || fail_with_logs "$dir" "osd.0 did not come up"
    pid_owned "$(cat "$dir/pids/osd.pid")" "$conf" || fail_with_logs "$dir" "ceph-osd exited"
    sleep 0.2
  done

  # Gateway.
  radosgw -c "$conf" -n client.rgw.a -f >"$dir/log/rgw.out" 2>&1 &
  echo $! >"$dir/pids/rgw.pid"

  radosgw-admin -c "$conf" user create --uid=test --display-name=test --access-key="$ak" --secret-key="$sk" \
    >"$dir/log/user.out" 2>&1 || fail_with_logs "$dir" "radosgw-admin user create failed"

  until s3_ok "$port" "$ak" "$sk"; do
    [ $SECONDS -lt $deadline ] || fail_with_logs "$dir" "no signed S3 answer on port $port"
    pid_owned "$(cat "$dir/pids/rgw.pid")" "$conf" || fail_with_logs "$dir" "radosgw exited"
    sleep 0.2
  done
  local ms=$((($(date +%s%N) - t0ns) / 1000000))
  echo "rgw: S3 at http://127.0.0.1:$port ready in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s ($store, data in $dir)"
}

stop() {
  [ $# -eq 1 ] || usage
  local dir=$1
  [ -d "$dir" ] || {
    echo "rgw: nothing to stop in $dir"
    return 0
  }
  dir=$(cd "$dir" && pwd)
  [ -f "$dir/ceph.conf" ] || [ -d "$dir/pids" ] || die "$dir does not look like an rgw.sh folder; not removing it"
  stop_daemons "$dir"
  rm -rf "$dir"
  echo "rgw: stopped, $dir removed"
}

# ---- gateway outages ----

# The absolute folder of an rgw.sh cluster.
cluster_dir() {
  local dir=$1
  [ -d "$dir" ] && [ -f "$dir/ceph.conf" ] || die "$dir is not an rgw.sh folder (no ceph.conf)"
  (cd "$dir" && pwd)
}

# The gateway's port, from DIR's ceph.conf.
gateway_port() {
  sed -n 's/^rgw frontends = beast endpoint=127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1/ceph.conf"
}

# The running radosgw's PID, or nothing.
gateway_pid() {
  local dir=$1 pid
  [ -f "$dir/pids/rgw.pid" ] || return 0
  pid=$(cat "$dir/pids/rgw.pid")
  if [[ $pid =~ ^[0-9]+$ ]] && pid_owned "$pid" "$dir/ceph.conf"; then echo "$pid"; fi
}

stop_gateway() {
  [ $# -ge 1 ] && [ $# -le 2 ] || usage
  local dir sig=${2:-TERM} pid
  [[ $sig == TERM || $sig == KILL ]] || die "signal '$sig' is neither TERM nor KILL"
  dir=$(cluster_dir "$1")
  pid=$(gateway_pid "$dir")
  if [ -z "$pid" ]; then
    echo "rgw: no gateway running in $dir"
    return 0
  fi
  local t0ns
  t0ns=$(date +%s%N)
  kill -CONT "$pid" 2>/dev/null || true # a frozen gateway cannot act on TERM
  kill -"$sig" "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while pid_owned "$pid" "$dir/ceph.conf"; do
    if [ $SECONDS -ge $deadline ]; then
      kill -KILL "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 5))
      sig=KILL
    fi
    sleep 0.05
  done
  local ms=$((($(date +%s%N) - t0ns) / 1000000))
  echo "rgw: gateway (pid $pid) stopped with $sig in ${ms} ms; mon and osd still run in $dir"
}

start_gateway() {
  [ $# -eq 3 ] || usage
  local dir ak=$2 sk=$3 port
  dir=$(cluster_dir "$1")
  conf=$dir/ceph.conf
  port=$(gateway_port "$dir")
  [ -n "$port" ] || die "no gateway port in $dir/ceph.conf"
  if [ -n "$(gateway_pid "$dir")" ]; then
    s3_ok "$port" "$ak" "$sk" || die "a gateway already runs in $dir but gives no signed S3 answer on port $port"
    echo "rgw: the gateway already runs at http://127.0.0.1:$port"
    return 0
  fi
  local mon_pid osd_pid
  mon_pid=$(cat "$dir/pids/mon.pid" 2>/dev/null || true)
  osd_pid=$(cat "$dir/pids/osd.pid" 2>/dev/null || true)
  pid_owned "$mon_pid" "$conf" && pid_owned "$osd_pid" "$conf" || die "the mon or osd of $dir is not running"
  local t0ns deadline
  t0ns=$(date +%s%N)
  # The port may linger briefly after the old gateway's death.
  deadline=$((SECONDS + 10))
  while port_busy "$port"; do
    [ $SECONDS -lt $deadline ] || die "port $port on 127.0.0.1 is still in use"
    sleep 0.05
  done
  radosgw -c "$conf" -n client.rgw.a -f >>"$dir/log/rgw.out" 2>&1 &
  echo $! >"$dir/pids/rgw.pid"
  deadline=$((SECONDS + ${RGW_START_TIMEOUT:-120}))
  until s3_ok "$port" "$ak" "$sk"; do
    if [ $SECONDS -ge $deadline ]; then
      echo "rgw.sh: no signed S3 answer on port $port after restarting the gateway" >&2
      tail -n 15 "$dir/log/rgw.out" "$dir/log/client.rgw.a.log" >&2 2>/dev/null || true
      exit 1
    fi
    if [ -z "$(gateway_pid "$dir")" ]; then
      echo "rgw.sh: the restarted radosgw exited" >&2
      tail -n 15 "$dir/log/rgw.out" "$dir/log/client.rgw.a.log" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
  local ms=$((($(date +%s%N) - t0ns) / 1000000))
  echo "rgw: gateway restarted at http://127.0.0.1:$port in ${ms} ms"
}

signal_gateway() {
  [ $# -eq 2 ] || usage
  local dir pid
  dir=$(cluster_dir "$2")
  pid=$(gateway_pid "$dir")
  [ -n "$pid" ] || die "no gateway running in $dir"
  kill -"$1" "$pid"
  echo "rgw: gateway (pid $pid) got SIG$1"
}

cmd=${1:-}
shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  stop-gateway) stop_gateway "$@" ;;
  start-gateway) start_gateway "$@" ;;
  freeze-gateway) signal_gateway STOP "$@" ;;
  thaw-gateway) signal_gateway CONT "$@" ;;
  *) usage ;;
esac
