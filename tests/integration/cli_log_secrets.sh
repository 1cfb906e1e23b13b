#!/usr/bin/env bash
# Issue 8: the mediastore CLI at trace level (-vvv) against RGW logs every S3
# request to stderr; no line may hold the secret key, the whole access key, a
# session token or a signature. Usage: cli_log_secrets.sh MEDIASTORE_BINARY
# (MINIO_* variables select RGW).
set -u
cli=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export MINIO_BUCKET_NAME=ms-cli-log-secrets
log="$work/stderr.log"
head -c 300000 /dev/urandom >"$work/in.bin"
key="secrets/$(date +%s%N).bin"
fail=0
run() {  # run CMD...: append stderr to the log; the command must succeed
  if ! "$cli" -vvv "$@" >>"$work/stdout" 2>>"$log"; then echo "FAIL: mediastore $*"; fail=1; fi
}
run put "$key" "$work/in.bin" --content-type application/octet-stream --meta owner=test
run stat "$key"
run get "$key" "$work/out.bin"
run ls secrets/
run url "$key" --expires 60
run doctor
run rm "$key"
cmp -s "$work/in.bin" "$work/out.bin" || { echo "FAIL: round trip differs"; fail=1; }
# A wrong secret and a session token must not leak either.
MINIO_SECRET_KEY=wrongSecretKeyForTheLogTest0123456789 AWS_SESSION_TOKEN=FakeSessionTokenForTheLogTest \
  "$cli" -vvv stat "$key" >/dev/null 2>>"$log" && { echo "FAIL: wrong secret accepted"; fail=1; }
lines=$(wc -l <"$log")
[ "$lines" -ge 7 ] || { echo "FAIL: only $lines log lines captured (is -vvv logging?)"; fail=1; }
grep -q "PUT" "$log" || { echo "FAIL: no S3 request was logged"; fail=1; }
for secret in "$MINIO_SECRET_KEY" "$MINIO_ACCESS_KEY" wrongSecretKeyForTheLogTest0123456789 FakeSessionTokenForTheLogTest; do
  if grep -qF -- "$secret" "$log"; then echo "FAIL: a secret appears in the log"; grep -nF -- "$secret" "$log" | head -3; fail=1; fi
done
if grep -qiE "signature=[0-9a-f]{16}|x-amz-signature=[0-9a-f]{16}" "$log"; then
  echo "FAIL: a signature appears in the log"; fail=1
fi
[ $fail -eq 0 ] && echo "cli log secrets: $lines log lines at trace level, no secret, token or signature"
exit $fail
