#!/usr/bin/env bash
# The lifecycle commands of the mediastore tool against a sqlite queue:
# worker --on-complete CMD (the status JSON on CMD's stdin, once per upload
# end; a failing CMD changes nothing else) and reconcile --since (runs CMD for
# every upload that ended since, catching what a failed hook missed).
# Usage: cli_lifecycle_test.sh MEDIASTORE_BINARY DATA_DIR
set -euo pipefail
ms=$1
data=$2
# $work, $worker_pid, cleanup at exit, fail MESSAGE
. "$(dirname "$0")/../support/cli_test_lib.sh"

export MEDIA_STORAGE_BACKEND=local MEDIA_ROOT=$work/media MEDIA_QUEUE_BACKEND=sqlite MEDIA_QUEUE_URL=$work/queue.db
mkdir -p "$MEDIA_ROOT"
printf '<html><script>alert(1)</script></html>\n' >"$work/evil.jpg"

stop_worker() {
  kill -TERM "$worker_pid"
  wait "$worker_pid" || fail "worker exit status $? after SIGTERM"
  worker_pid=""
}

# One thread, so the hook's appends never interleave.
"$ms" worker --threads 1 --on-complete "cat >>'$work/hook.jsonl'" 2>"$work/worker.log" &
worker_pid=$!
good=$("$ms" upload "$data/photo.jpg" --context keep_id=42 --wait 2>/dev/null | sed -n 's/^id: *//p')
set +e
bad=$("$ms" upload "$work/evil.jpg" --wait 2>/dev/null | sed -n 's/^id: *//p')
set -e
[[ $good =~ ^[0-9a-f-]{36}$ && $bad =~ ^[0-9a-f-]{36}$ ]] || fail "ids '$good' '$bad'"
stop_worker
[ "$(wc -l <"$work/hook.jsonl")" -eq 2 ] || fail "hook ran $(wc -l <"$work/hook.jsonl") times, expected 2"
line_of() { grep "\"id\": *\"$1\"" "$work/hook.jsonl" || true; }
grep -q '"status": *"completed"' <<<"$(line_of "$good")" || fail "no completed hook line for $good"
grep -q '"keep_id": *"42"' <<<"$(line_of "$good")" || fail "hook JSON lacks the context"
grep -q '"status": *"failed"' <<<"$(line_of "$bad")" || fail "no failed hook line for $bad"
grep -q '"unsupported_media"' <<<"$(line_of "$bad")" || fail "hook JSON lacks the error"
# The same document `status --json` prints.
/usr/bin/python3 - "$work/hook.jsonl" "$good" "$("$ms" status "$good" --json)" <<'PY' || fail "hook JSON differs from status --json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
hook = next(l for l in lines if l["id"] == sys.argv[2])
assert hook == json.loads(sys.argv[3]), (hook, sys.argv[3])
PY

# A failing hook is logged; the upload still completes and the worker goes on.
"$ms" worker --threads 1 --on-complete "exit 3" -v 2>"$work/worker2.log" &
worker_pid=$!
third=$("$ms" upload "$data/photo.jpg" --wait 2>/dev/null | sed -n 's/^id: *//p')
"$ms" status "$third" --json | grep -q '"status": "completed"' || fail "upload with a failing hook not completed"
stop_worker
grep -q 'end hook failed' "$work/worker2.log" || fail "the failing hook was not logged"

# reconcile runs the command for every upload that ended since the time.
"$ms" reconcile --since 1h --on-complete "cat >>'$work/reconcile.jsonl'" 2>"$work/reconcile.log" ||
  fail "reconcile failed: $(cat "$work/reconcile.log")"
[ "$(wc -l <"$work/reconcile.jsonl")" -eq 3 ] || fail "reconcile ran the command $(wc -l <"$work/reconcile.jsonl") times"
grep -q "\"id\": *\"$third\"" "$work/reconcile.jsonl" || fail "reconcile missed the upload whose hook failed"
"$ms" reconcile --since 1h --json | grep -q '"uploads": 3' || fail "reconcile --json does not count 3"
"$ms" reconcile --since 2099-01-01T00:00:00Z --json | grep -q '"uploads": 0' || fail "a future --since lists uploads"
# A failing command: exit status 10 + internal (16).
set +e
"$ms" reconcile --since 1h --on-complete "exit 1" 2>/dev/null
rc=$?
"$ms" reconcile --since yesterday 2>"$work/bad-since.log"
rc2=$?
set -e
[ $rc -eq 26 ] || fail "reconcile with a failing command: exit status $rc, expected 26"
[ $rc2 -eq 11 ] || fail "reconcile --since yesterday: exit status $rc2, expected 11"
grep -q "duration ago" "$work/bad-since.log" || fail "bad --since not explained"
echo "ok"
