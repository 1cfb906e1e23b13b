#!/usr/bin/env bash
# The mediastore tool's storage commands on the local backend: bad keys fail
# with invalid_argument's exit status and a message naming the key; a
# put/get/stat/ls/url/rm round trip with --json output parsed by Python.
# Usage: storage_cli_test.sh <mediastore binary> <scratch folder>
set -uo pipefail
MS=$1
WORK=$2
PY=/usr/bin/python3
rm -rf "$WORK"
mkdir -p "$WORK"
export MEDIA_STORAGE_BACKEND=local MEDIA_ROOT="$WORK/root" MEDIA_URL=/media/
unset MEDIA_URL_SIGNING_KEY
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

EXIT_INVALID=11
EXIT_NOT_FOUND=12

printf 'hello mediastore\n' > "$WORK/in.txt"

# expect_invalid <shown-in-message> <args...>
expect_invalid() {
  local shown=$1
  shift
  "$MS" "$@" >"$WORK/out" 2>"$WORK/err"
  local rc=$?
  [ "$rc" -eq "$EXIT_INVALID" ] || fail "mediastore $* exited $rc, want $EXIT_INVALID"
  grep -qF -- "$shown" "$WORK/err" || fail "mediastore $*: stderr does not name the key ($shown): $(cat "$WORK/err")"
  grep -qF "invalid_argument" "$WORK/err" || fail "mediastore $*: stderr lacks the error code: $(cat "$WORK/err")"
  [ ! -s "$WORK/out" ] || fail "mediastore $*: printed on stdout"
}

# The check from the issue, with a file that does not even exist.
expect_invalid "'../../etc/passwd'" put ../../etc/passwd f
expect_invalid "'../../etc/passwd'" put ../../etc/passwd "$WORK/in.txt"
expect_invalid "'/etc/passwd'" put /etc/passwd "$WORK/in.txt"
expect_invalid "'a/./b'" put a/./b "$WORK/in.txt"
expect_invalid "'a//b'" put a//b "$WORK/in.txt"
expect_invalid "'a/'" put a/ "$WORK/in.txt"
expect_invalid "'a\\\\b'" put 'a\b' "$WORK/in.txt"
expect_invalid "'a\\x0ab'" put $'a\nb' "$WORK/in.txt"
expect_invalid "'a\\x1bb'" put $'a\eb' "$WORK/in.txt"
expect_invalid "'bad\\xff'" put $'bad\xff' "$WORK/in.txt"
expect_invalid "''" put '' "$WORK/in.txt"
expect_invalid "xxxxxxxxxx" put "$(head -c 1100 /dev/zero | tr '\0' x)" "$WORK/in.txt"
expect_invalid "'../x'" get ../x "$WORK/out.txt"
expect_invalid "'../x'" stat ../x
expect_invalid "'../x'" rm ../x
expect_invalid "'../x'" url ../x
expect_invalid "'.mediastore/meta/x'" put .mediastore/meta/x "$WORK/in.txt"
# JSON errors go to stderr too.
"$MS" --json put ../../etc/passwd f >"$WORK/out" 2>"$WORK/err"
[ $? -eq $EXIT_INVALID ] || fail "--json bad key exit status"
$PY -c 'import json,sys; e=json.load(open(sys.argv[1]))["error"]; assert e["code"]=="invalid_argument" and "../../etc/passwd" in e["message"] and e["exit_status"]==11, e' "$WORK/err" ||
  fail "--json error object: $(cat "$WORK/err")"
# Nothing was written anywhere.
[ -z "$(find "$WORK/root" -type f 2>/dev/null)" ] || fail "bad keys left files: $(find "$WORK/root" -type f)"
[ ! -e "$WORK/root/../../etc/passwd" ] || fail "a file appeared outside MEDIA_ROOT"

# Round trip.
"$MS" put --json "docs/hello world.txt" "$WORK/in.txt" --content-type text/plain --meta Owner=alice --meta n=1 \
  >"$WORK/put.json" || fail "put exited $?"
$PY - "$WORK/put.json" <<'PYEOF' || fail "put --json: $(cat "$WORK/put.json")"
import json, sys, hashlib
d = json.load(open(sys.argv[1]))
assert d["key"] == "docs/hello world.txt", d
assert d["size"] == 17, d
assert d["content_type"] == "text/plain", d
assert d["metadata"] == {"owner": "alice", "n": "1"}, d
assert d["etag"] == hashlib.md5(b"hello mediastore\n").hexdigest(), d
PYEOF

"$MS" stat "docs/hello world.txt" --json >"$WORK/stat.json" || fail "stat exited $?"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["size"]==17 and d["metadata"]["owner"]=="alice" and d["last_modified"].endswith("Z"), d' \
  "$WORK/stat.json" || fail "stat --json: $(cat "$WORK/stat.json")"
"$MS" stat "docs/hello world.txt" | grep -q "content_type:  text/plain" || fail "stat text output"

"$MS" get "docs/hello world.txt" "$WORK/out.txt" --json >"$WORK/get.json" || fail "get exited $?"
cmp -s "$WORK/in.txt" "$WORK/out.txt" || fail "get: content differs"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["size"]==17 and d["key"]=="docs/hello world.txt", d' \
  "$WORK/get.json" || fail "get --json: $(cat "$WORK/get.json")"
[ "$("$MS" get "docs/hello world.txt" -)" = "hello mediastore" ] || fail "get to stdout"

printf 'from stdin' | "$MS" put docs/stdin.bin - >/dev/null || fail "put from stdin"
[ "$("$MS" get docs/stdin.bin -)" = "from stdin" ] || fail "stdin round trip"

"$MS" ls --json >"$WORK/ls.json" || fail "ls exited $?"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["common_prefixes"]==["docs/"] and d["objects"]==[], d' \
  "$WORK/ls.json" || fail "ls --json: $(cat "$WORK/ls.json")"
"$MS" ls docs/ --json >"$WORK/ls2.json" || fail "ls docs/ exited $?"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert [o["key"] for o in d["objects"]]==["docs/hello world.txt","docs/stdin.bin"], d' \
  "$WORK/ls2.json" || fail "ls docs/ --json: $(cat "$WORK/ls2.json")"
"$MS" ls -r | grep -q "docs/stdin.bin" || fail "ls -r text output"

"$MS" url "docs/hello world.txt" --json >"$WORK/url.json" || fail "url exited $?"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["url"]=="/media/docs/hello%20world.txt", d' \
  "$WORK/url.json" || fail "url --json: $(cat "$WORK/url.json")"
MEDIA_URL_SIGNING_KEY=topsecret-signing "$MS" url "docs/hello world.txt" --expires 60 >"$WORK/url.txt" || fail "signed url"
grep -Eq '^/media/docs/hello%20world.txt\?expires=[0-9]+&sig=[0-9a-f]{64}$' "$WORK/url.txt" || fail "signed url: $(cat "$WORK/url.txt")"
"$MS" url x --expires 0 2>/dev/null
[ $? -eq $EXIT_INVALID ] || fail "url --expires 0 should be invalid_argument"

MEDIA_URL_SIGNING_KEY=topsecret-signing "$MS" doctor --json >"$WORK/doctor.json" 2>&1 || fail "doctor exited $?"
grep -q topsecret "$WORK/doctor.json" && fail "doctor shows the signing key"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["backend"]["ok"] is True and d["config"]["MEDIA_STORAGE_BACKEND"]=="local", d' \
  "$WORK/doctor.json" || fail "doctor --json: $(cat "$WORK/doctor.json")"
MEDIA_ROOT=/proc/mediastore-cannot-be-here "$MS" doctor >"$WORK/doctor.txt" 2>&1
rc=$?
[ $rc -ne 0 ] || fail "doctor on an unusable root succeeded"
grep -q "FAILS" "$WORK/doctor.txt" || fail "doctor failure text: $(cat "$WORK/doctor.txt")"
# A configured clamd that is not there: doctor names it and fails (unavailable).
MEDIA_CLAMD_URL="unix:$WORK/no-clamd.sock" "$MS" doctor >"$WORK/doctor-clamd.txt" 2>&1
[ $? -eq 24 ] || fail "doctor with clamd down should exit 24 (unavailable): $(cat "$WORK/doctor-clamd.txt")"
grep -q "^scanner clamd at unix:$WORK/no-clamd.sock: FAILS: unavailable" "$WORK/doctor-clamd.txt" ||
  fail "doctor clamd text: $(cat "$WORK/doctor-clamd.txt")"
grep -q "^backend local: answers" "$WORK/doctor-clamd.txt" || fail "doctor backend text: $(cat "$WORK/doctor-clamd.txt")"
MEDIA_CLAMD_URL="clamd:3310" "$MS" doctor >/dev/null 2>"$WORK/err"
[ $? -eq $EXIT_INVALID ] || fail "bad MEDIA_CLAMD_URL exit status"
grep -q MEDIA_CLAMD_URL "$WORK/err" || fail "bad MEDIA_CLAMD_URL not named: $(cat "$WORK/err")"
MEDIA_STORAGE_BACKEND=nonsense "$MS" doctor >/dev/null 2>"$WORK/err"
[ $? -eq $EXIT_INVALID ] || fail "bad MEDIA_STORAGE_BACKEND exit status"
grep -q MEDIA_STORAGE_BACKEND "$WORK/err" || fail "bad variable not named: $(cat "$WORK/err")"

"$MS" rm "docs/hello world.txt" --json >"$WORK/rm.json" || fail "rm exited $?"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d=={"key":"docs/hello world.txt","removed":True}, d' \
  "$WORK/rm.json" || fail "rm --json: $(cat "$WORK/rm.json")"
"$MS" stat "docs/hello world.txt" 2>"$WORK/err"
[ $? -eq $EXIT_NOT_FOUND ] || fail "stat after rm should be not_found"
grep -q "not_found" "$WORK/err" || fail "not_found message: $(cat "$WORK/err")"
"$MS" rm "docs/hello world.txt" >/dev/null || fail "rm of a missing key should succeed"
"$MS" get missing "$WORK/missing.txt" 2>/dev/null
[ $? -eq $EXIT_NOT_FOUND ] || fail "get of a missing key should be not_found"
[ ! -e "$WORK/missing.txt" ] || fail "get of a missing key created the file"

# Usage errors and the basics.
"$MS" >/dev/null 2>&1
[ $? -eq 1 ] || fail "no command should be a usage error"
"$MS" put onlykey >/dev/null 2>&1
[ $? -eq 1 ] || fail "missing FILE should be a usage error"
"$MS" --version | grep -q "^mediastore [0-9]" || fail "--version"
"$MS" --help | grep -q "11  invalid_argument" || fail "--help lacks the exit statuses"

if [ $fails -ne 0 ]; then
  echo "$fails failure(s)"
  exit 1
fi
echo "cli storage: all checks passed"
