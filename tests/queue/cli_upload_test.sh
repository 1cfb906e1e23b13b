#!/usr/bin/env bash
# The upload commands of the mediastore tool against a sqlite queue:
# worker (SIGTERM -> exit 0), upload (--wait, --json, exit status of a
# failure), status (--json, unknown id), stats (--json, --prometheus); a
# worker on the memory queue is refused; maintenance removes an orphan staged
# object.
# Usage: cli_upload_test.sh MEDIASTORE_BINARY DATA_DIR
set -euo pipefail
ms=$1
data=$2
# $work, $worker_pid, cleanup at exit, fail MESSAGE
. "$(dirname "$0")/../support/cli_test_lib.sh"

export MEDIA_STORAGE_BACKEND=local MEDIA_ROOT=$work/media MEDIA_QUEUE_BACKEND=sqlite MEDIA_QUEUE_URL=$work/queue.db
mkdir -p "$MEDIA_ROOT"
# The spool is in the default state folder, a sibling of MEDIA_ROOT.
spool=$work/media.state/spool
printf '<html><script>alert(1)</script></html>\n' >"$work/evil.jpg"

# Submitted without a worker: pending.
id=$("$ms" upload "$data/photo.jpg" --context keep_id=42)
[[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "upload printed '$id', not an id"
pending=$("$ms" status "$id" --json)
grep -q '"status": "pending"' <<<"$pending" || fail "new upload not pending: $pending"
# "state" is the deprecated name of "status", still printed with the same value.
grep -q '"state": "pending"' <<<"$pending" || fail "deprecated \"state\" missing: $pending"
"$ms" stats --json | grep -q '"ready": 1' || fail "stats does not show 1 ready job"

# A worker on the in-process memory queue would never see an upload: refused.
if refused=$(MEDIA_QUEUE_BACKEND=memory timeout 20 "$ms" worker 2>&1); then
  fail "worker started on the memory queue"
fi
grep -q 'MEDIA_QUEUE_BACKEND is memory' <<<"$refused" || fail "memory-queue refusal does not say why: $refused"
grep -q 'sqlite' <<<"$refused" || fail "memory-queue refusal names no way out: $refused"

# A staged object no upload owns (a web process died before its record):
# maintenance removes it with --staging-orphan-age 0.
mkdir -p "$MEDIA_ROOT/staging"
echo orphan >"$MEDIA_ROOT/staging/0badc0de-0000-4000-8000-000000000000"
"$ms" worker --threads 2 --maintenance-interval 1 --staging-orphan-age 0 2>"$work/worker.log" &
worker_pid=$!

# --wait: progress on stderr, result on stdout, exit 0.
out=$("$ms" upload "$data/photo.jpg" --wait --json 2>"$work/progress.log") || fail "good upload --wait failed"
grep -q '"status": "completed"' <<<"$out" || fail "good upload not completed: $out"
grep -q 'thumb_large.jpg' <<<"$out" || fail "no large thumbnail in: $out"
grep -q 'completed done 100%' "$work/progress.log" || fail "no final progress line"

# A hostile file: failed, exit status 10 + unsupported_media (7).
set +e
"$ms" upload "$work/evil.jpg" --wait >"$work/evil.out" 2>&1
rc=$?
set -e
[ $rc -eq 17 ] || fail "hostile upload exit status $rc, expected 17"
grep -q 'status:    failed' "$work/evil.out" || fail "hostile upload not failed"
set +e
evil=$("$ms" upload "$work/evil.jpg" --wait --json 2>/dev/null)
set -e
grep -q '"refusal_reason": "dangerous_content"' <<<"$evil" || fail "no refusal reason in: $evil"

# The same photo twice in one circle (MEDIA_DEDUP_SCOPE_KEY defaults to circle_id):
# the second names the first and stores nothing.
first=$("$ms" upload "$data/photo.jpg" --context circle_id=9 --wait --json 2>/dev/null)
first_id=$(sed -n 's/^ *"id": "\([0-9a-f-]*\)".*/\1/p' <<<"$first" | head -1)
[[ $first_id =~ ^[0-9a-f-]{36}$ ]] || fail "no id in: $first"
! grep -q '"duplicate_of"' <<<"$first" || fail "the first copy is a duplicate: $first"
second=$("$ms" upload "$data/photo.jpg" --context circle_id=9 --wait --json 2>/dev/null)
grep -q "\"duplicate_of\": \"$first_id\"" <<<"$second" || fail "second copy not a duplicate of $first_id: $second"

for _ in $(seq 1 100); do
  [ -e "$MEDIA_ROOT/staging/0badc0de-0000-4000-8000-000000000000" ] || break
  sleep 0.2
done
[ ! -e "$MEDIA_ROOT/staging/0badc0de-0000-4000-8000-000000000000" ] || fail "orphan staged object not removed"

# The first upload was processed by the worker too.
for _ in $(seq 1 100); do
  "$ms" status "$id" --json | grep -q '"status": "completed"' && break
  sleep 0.1
done
"$ms" status "$id" --json | grep -q '"keep_id": "42"' || fail "context lost"
"$ms" status "$id" | grep -q 'status:    completed' || fail "first upload not completed"

# Unknown id: not_found (exit 12).
set +e
"$ms" status 00000000-0000-4000-8000-000000000000 2>/dev/null
rc=$?
set -e
[ $rc -eq 12 ] || fail "unknown id exit status $rc, expected 12"

"$ms" stats --prometheus | grep -q '^mediastore_uploads{state="completed"} 4$' || fail "prometheus: completed != 4"
"$ms" stats --prometheus | grep -q '^mediastore_queue_depth 0$' || fail "prometheus: queue depth != 0"
"$ms" stats | grep -q 'failed=2' || fail "stats: failed != 2"

# SIGTERM: the worker finishes and exits 0.
kill -TERM "$worker_pid"
set +e
wait "$worker_pid"
rc=$?
set -e
worker_pid=""
[ $rc -eq 0 ] || fail "worker exit status $rc after SIGTERM"
grep -q 'worker: stopped' "$work/worker.log" || fail "worker did not report stopping"
[ -d "$spool" ] || fail "no spool folder at $spool"
[ -z "$(ls -A "$spool")" ] || fail "spool not empty: $(ls -A "$spool")"
[ ! -e "$MEDIA_ROOT/.spool" ] || fail "a spool folder inside MEDIA_ROOT"

# upload --json without --wait (no worker now): the id, pending.
out=$("$ms" upload "$data/photo.jpg" --json)
grep -q '"status": "pending"' <<<"$out" || fail "upload --json: $out"
grep -q '"state": "pending"' <<<"$out" || fail "upload --json without the deprecated \"state\": $out"
echo "cli upload commands: ok"
