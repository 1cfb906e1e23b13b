#!/usr/bin/env bash
# Direct uploads end to end with the mediastore tool on Ceph RGW + Redis: the
# web side (`mediastore upload --direct`, which plans, PUTs the bytes itself
# and completes) and a separate `mediastore worker` process, each with its
# own state folder. Each good upload ends completed with its original and
# three thumbnails in the bucket, a hostile one failed, an upload over
# MAX_UPLOAD_SIZE gets no plan at all, and nothing is left under the staging
# prefix. One small photo goes up as a single PUT, a 6.9 MiB PNG as a
# multipart plan of 5 MiB parts (MEDIA_S3_MULTIPART_THRESHOLD).
# Usage: cli_direct_test.sh MEDIASTORE_BINARY DATA_DIR PYTHON
# Environment: the RGW variables (MINIO_*), MS_REDIS_URL.
set -euo pipefail
ms=$1
data=$2
python=$3
# $work, $worker_pid, cleanup at exit, fail MESSAGE
. "$(dirname "$0")/../support/cli_test_lib.sh"

run_id=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')
export MINIO_BUCKET_NAME=ms-direct-cli MEDIA_QUEUE_BACKEND=redis MEDIA_QUEUE_URL=${MS_REDIS_URL%/*}/5
export MEDIA_STAGING_PREFIX=staging-$run_id/ MEDIA_S3_MULTIPART_THRESHOLD=5242880 MEDIA_S3_PART_SIZE=5242880
export MEDIA_ROOT=$work/unused-media

# A 1600x1500 PNG of noise (6.9 MiB, stored uncompressed): valid, large
# enough for two 5 MiB parts.
"$python" - "$work/big.png" <<'PY'
import random, struct, sys, zlib
w, h = 1600, 1500
rnd = random.Random(7)
raw = b"".join(b"\0" + rnd.randbytes(w * 3) for _ in range(h))
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
printf '<html><script>alert(1)</script></html>\n' >"$work/evil.jpg"

# The worker: its own process and folder.
MEDIA_STATE_DIR=$work/worker-state "$ms" worker --threads 2 2>"$work/worker.log" &
worker_pid=$!

web() { MEDIA_STATE_DIR=$work/web-state "$ms" "$@"; }

# Over MAX_UPLOAD_SIZE: too_large (exit 16) before any plan or record.
set +e
MAX_UPLOAD_SIZE=1000 web upload --direct "$data/photo.jpg" >"$work/big.out" 2>&1
rc=$?
set -e
[ $rc -eq 16 ] || fail "over-size direct upload exit status $rc, expected 16: $(cat "$work/big.out")"
grep -q 'MAX_UPLOAD_SIZE' "$work/big.out" || fail "over-size refusal does not name MAX_UPLOAD_SIZE: $(cat "$work/big.out")"
grep -q 'http' "$work/big.out" && fail "an over-size direct upload printed a URL: $(cat "$work/big.out")"

ids=()
for f in "$data/photo.jpg" "$work/big.png" "$work/evil.jpg"; do
  out=$(web -v upload --direct "$f" --context keep_id=7 --json 2>"$work/upload.log") ||
    fail "upload --direct $f failed: $(cat "$work/upload.log")"
  # The PNG is planned as two parts, the others as one PUT.
  if [ "$f" = "$work/big.png" ]; then want='2 parts'; else want='one PUT'; fi
  grep -q "awaiting_upload" "$work/upload.log" && grep -q "$want" "$work/upload.log" ||
    fail "$f: not planned as $want: $(cat "$work/upload.log")"
  id=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$out")
  [[ $id =~ ^[0-9a-f-]{36}$ ]] || fail "upload --direct printed '$out'"
  ids+=("$id")
done

status_of() { web status "$1" --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
for id in "${ids[@]}"; do
  for _ in $(seq 1 600); do
    st=$(status_of "$id")
    [ "$st" = completed ] || [ "$st" = failed ] && break
    sleep 0.2
  done
done

for i in 0 1; do
  id=${ids[$i]}
  [ "$(status_of "$id")" = completed ] || fail "direct upload $id: $(web status "$id")"
  listing=$(web ls -r "uploads/$id/")
  for name in original thumb_small thumb_medium thumb_large; do
    grep -q "uploads/$id/$name\." <<<"$listing" || fail "no $name for $id in: $listing"
  done
  web status "$id" --json | grep -q '"keep_id": "7"' || fail "context of $id lost"
done
[ "$(status_of "${ids[2]}")" = failed ] || fail "the hostile direct upload did not fail"
web status "${ids[2]}" --json | grep -q '"code": "unsupported_media"' ||
  fail "hostile upload: $(web status "${ids[2]}" --json)"

# Nothing left under the staging prefix (the failed upload's bytes go with
# its leftovers at once).
left=$(web ls -r "$MEDIA_STAGING_PREFIX")
[ -z "$left" ] || fail "left under $MEDIA_STAGING_PREFIX: $left"

kill -TERM "$worker_pid"
wait "$worker_pid" || fail "worker exit status $? after SIGTERM"
worker_pid=""
echo "direct uploads through the CLI: ${#ids[@]} uploads, over-size refused, staging prefix empty"
