# Sourced by the shell tests of the mediastore tool: a scratch folder $work
# (removed at exit), the background worker $worker_pid (SIGKILLed at exit if
# still running), and fail MESSAGE (prints it and the tail of
# $work/worker.log, if there is one, then exits 1).
work=$(mktemp -d)
worker_pid=""
cleanup() {
  [ -n "$worker_pid" ] && kill -KILL "$worker_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  [ -f "$work/worker.log" ] && tail -20 "$work/worker.log" >&2
  exit 1
}
