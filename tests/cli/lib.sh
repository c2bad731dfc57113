# Shared helpers for the black-box CLI tests. Sourced by tests/cli/test_*.sh, which CTest runs as
#   bash tests/cli/test_X.sh /path/to/poolrun
# Gives: $P (the poolrun binary, absolute), $T (a private temp dir, removed at exit), check
# functions that count passes and failures, process helpers keyed on unique sleep markers, and
# `finish`, which prints a summary and exits non-zero when any check failed.
# Each check prints "ok NAME" or a FAIL block with the expected and the actual value.

set -u
shopt -s lastpipe  # `printf ... | run ...` sets OUT, ERR and RC in this shell
if locale -a 2>/dev/null | grep -qix 'c.utf-\?8'; then export LC_ALL=C.UTF-8; else export LC_ALL=C; fi
export POOLRUN_SHELL=/bin/sh
# CTest runs the launcher-related scripts once per start method (tests/CMakeLists.txt).
if [ -n "${POOLRUN_TEST_START_METHOD:-}" ]; then
  export POOLRUN_START_METHOD=$POOLRUN_TEST_START_METHOD
else
  unset POOLRUN_START_METHOD
fi

TEST_NAME=$(basename "$0" .sh)
if [ $# -lt 1 ] || [ ! -x "$1" ]; then
  echo "FAIL $TEST_NAME: usage: bash $0 /path/to/poolrun (got '${1:-}', not an executable)" >&2
  exit 1
fi
P=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
TEST_DIR=$(cd "$(dirname "$0")" && pwd)      # tests/cli
SRC_DIR=$(cd "$TEST_DIR/../.." && pwd)       # the source tree
T=$(mktemp -d "${TMPDIR:-/tmp}/poolrun-cli.$TEST_NAME.XXXXXX")
cd "$T" || exit 1
exec </dev/null  # nothing in a test reads the terminal by accident; pipes still override

PASSED=0
FAILED=0
FAILED_NAMES=()
# A marker suffix unique to this test process: sleep $(marker 8391) -> "sleep 8391.0012345".
# Fixed width, so one marker is never a prefix of another.
MARK_SUFFIX=$(printf '%07d' $$)
marker() { printf '%s.%s' "$1" "$MARK_SUFFIX"; }

_cleanup() {
  local pid
  # Processes still carrying one of this test's markers were started by this test: end them.
  for pid in $(pgrep -f "[0-9]{4}\\.$MARK_SUFFIX" 2>/dev/null); do
    [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
  done
  cd / && rm -rf "$T"
}
trap _cleanup EXIT
trap 'echo "FAIL $TEST_NAME: interrupted"; exit 1' INT TERM

# Shows a value so that invisible bytes are visible: each line prefixed, $ at its end, \t \r and
# other control bytes escaped; long values are cut.
_show() {
  local v=$1
  [ -z "$v" ] && { printf '      | (empty)\n'; return 0; }
  printf '%s\n' "${v:0:1500}" | LC_ALL=C sed 's/\\/\\\\/g; s/\t/\\t/g; s/\r/\\r/g; s/[\x01-\x08\x0b-\x1f\x7f]/?/g; s/$/$/; s/^/      | /'
  [ ${#v} -gt 1500 ] && printf '      | ... (%d characters in all)\n' "${#v}"
  return 0
}

ok() { PASSED=$((PASSED + 1)); echo "ok $1"; }

# fail NAME MESSAGE...: records a failure with a free-form explanation.
fail() {
  local name=$1; shift
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$name")
  echo "FAIL $name: $*"
}

# check NAME EXPECTED ACTUAL: string equality.
check() {
  if [ "$2" = "$3" ]; then ok "$1"; return 0; fi
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
  echo "FAIL $1"
  if [ "$(printf '%s\n' "$2" | wc -l)" -gt 6 ] && [ "$(printf '%s\n' "$3" | wc -l)" -gt 6 ]; then
    echo "    difference (- expected, + got):"
    diff -u <(printf '%s\n' "$2") <(printf '%s\n' "$3") | tail -n +3 | grep -v '^ ' | head -40 |
      LC_ALL=C sed 's/\t/\\t/g; s/\r/\\r/g; s/$/$/; s/^/      /'
  else
    echo "    expected:"; _show "$2"
    echo "    got:"; _show "$3"
  fi
  return 1
}

# check_rc NAME EXPECTED_STATUS ACTUAL_STATUS [CONTEXT]: exit status equality.
check_rc() {
  if [ "$2" = "$3" ]; then ok "$1"; return 0; fi
  fail "$1" "exit status: expected $2, got $3${4:+ ($4)}"
  return 1
}

# check_match NAME ERE ACTUAL: the actual value matches the extended regex (grep -E, whole value).
check_match() {
  if printf '%s' "$3" | grep -qE -- "$2"; then ok "$1"; return 0; fi
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
  echo "FAIL $1"
  echo "    expected a match for: $2"
  echo "    got:"; _show "$3"
  return 1
}

# check_nomatch NAME ERE ACTUAL: the actual value has no line matching the regex.
check_nomatch() {
  if ! printf '%s' "$3" | grep -qE -- "$2"; then ok "$1"; return 0; fi
  FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1")
  echo "FAIL $1"
  echo "    expected no match for: $2"
  echo "    got:"; _show "$3"
  return 1
}

# check_file NAME EXPECTED_FILE ACTUAL_FILE: byte-exact file equality.
check_file() {
  if cmp -s "$2" "$3"; then ok "$1"; return 0; fi
  local es as
  es=$(wc -c <"$2" 2>/dev/null || echo missing); as=$(wc -c <"$3" 2>/dev/null || echo missing)
  fail "$1" "files differ: expected $es bytes, got $as bytes; $(cmp "$2" "$3" 2>&1 | head -1)"
  if [ "$es" != missing ] && [ "$as" != missing ] && [ "$es" -lt 4000 ] && [ "$as" -lt 4000 ]; then
    echo "    expected:"; _show "$(cat "$2"; echo .)"
    echo "    got:"; _show "$(cat "$3"; echo .)"
  fi
  return 1
}

# check_cmd NAME WHAT CMD...: passes when CMD succeeds; WHAT says what was expected.
check_cmd() {
  local name=$1 what=$2; shift 2
  if "$@"; then ok "$name"; return 0; fi
  fail "$name" "$what"
  return 1
}

# check_le NAME LIMIT VALUE [UNIT]: numeric VALUE <= LIMIT (for durations and counts).
check_le() {
  if awk -v v="$3" -v l="$2" 'BEGIN{exit !(v+0 <= l+0)}'; then ok "$1"; return 0; fi
  fail "$1" "expected at most $2${4:-}, got $3${4:-}"
  return 1
}

# check_ge NAME LIMIT VALUE [UNIT]: numeric VALUE >= LIMIT.
check_ge() {
  if awk -v v="$3" -v l="$2" 'BEGIN{exit !(v+0 >= l+0)}'; then ok "$1"; return 0; fi
  fail "$1" "expected at least $2${4:-}, got $3${4:-}"
  return 1
}

# skip NAME WHY: a check that cannot run here (not counted as passed or failed).
skip() { echo "skip $1: $2"; }

# run ARGS...: runs poolrun with ARGS under a timeout (RUN_TIMEOUT, default 30 s); stdin is the
# caller's. Sets OUT and ERR (trailing newlines stripped, as $(...)), RC, and leaves the exact
# bytes in $T/out and $T/err.
run() {
  timeout -k 5 "${RUN_TIMEOUT:-30}" "$P" "$@" >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
  if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
    echo "note: poolrun $* ran into the test's ${RUN_TIMEOUT:-30}s timeout (status $RC)"
  fi
}

# Time in seconds (fractions) and the seconds elapsed since a value of `now`.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }

_re() { printf '%s' "$1" | sed 's/[.[\*^$()+?{|]/\\&/g'; }
# alive TEXT: some process's command line contains TEXT (a marker). Never matches poolrun's own
# argv once poolrun has exited.
alive() { pgrep -f "$(_re "$1")" >/dev/null 2>&1; }
# running CMDLINE: some process's whole command line is exactly CMDLINE (e.g. "sleep $m"), which
# tells the job's own process apart from poolrun and the shells whose argv merely contain it.
running() { pgrep -fx "$(_re "$1")" >/dev/null 2>&1; }
# pids_of TEXT: pids whose command line contains TEXT.
pids_of() { pgrep -f "$(_re "$1")" 2>/dev/null; }
# wait_gone SECONDS TEXT...: waits until no process carries any TEXT; fails after SECONDS.
wait_gone() {
  local limit=$1 start m any; shift; start=$(now)
  while :; do
    any=0
    for m in "$@"; do alive "$m" && any=1; done
    [ $any = 0 ] && return 0
    awk -v e="$(elapsed "$start")" -v l="$limit" 'BEGIN{exit !(e >= l)}' && return 1
    sleep 0.05
  done
}
# wait_for SECONDS CMD...: polls until CMD succeeds; fails after SECONDS.
wait_for() {
  local limit=$1 start; shift; start=$(now)
  until "$@"; do
    awk -v e="$(elapsed "$start")" -v l="$limit" 'BEGIN{exit !(e >= l)}' && return 1
    sleep 0.05
  done
}
# reap TEXT...: kills (by pid) the processes that carry one of this test's markers.
reap() {
  local m pid
  for m in "$@"; do for pid in $(pids_of "$m"); do kill -9 "$pid" 2>/dev/null; done; done
  return 0
}
# wait_exit SECONDS PID: waits for a child of this shell to exit; sets WRC to its status, or
# returns 1 (WRC=timeout) when it is still running after SECONDS.
wait_exit() {
  local limit=$1 pid=$2 start; start=$(now)
  while kill -0 "$pid" 2>/dev/null; do
    if awk -v e="$(elapsed "$start")" -v l="$limit" 'BEGIN{exit !(e >= l)}'; then WRC=timeout; return 1; fi
    sleep 0.05
  done
  wait "$pid"; WRC=$?
  return 0
}
# zombies_of PID: the children of PID that are zombies (pid and state), if any.
zombies_of() { ps -o pid=,stat=,args= --ppid "$1" 2>/dev/null | awk '$2 ~ /^Z/'; }

# finish: prints the summary and exits 0 only when nothing failed.
finish() {
  echo "== $TEST_NAME: $PASSED passed, $FAILED failed"
  if [ "$FAILED" -gt 0 ]; then
    printf '   failed: %s\n' "${FAILED_NAMES[@]}"
    exit 1
  fi
  exit 0
}
