#!/usr/bin/env bash
# Failures of poolrun's own after jobs have started (a spill file that cannot be written, report
# files on a full or read-only disk, a full stdout): each stops the run, ends every job with the
# termseq, writes what was collected, says one line naming the path and exits 255. Run under
# every start method.
source "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { fail jq "jq is not installed (a test dependency)"; finish; }

# A 64 KiB tmpfs for "disk full" (root may mount; elsewhere the checks say skip).
MOUNTS=()
_umount_all() {
  local d
  for d in "${MOUNTS[@]}"; do umount "$d" 2>/dev/null; done
}
trap '_umount_all; _cleanup' EXIT
small_fs() {  # small_fs DIR [SIZE]: mounts a tmpfs of SIZE (64k) on DIR; false when not permitted
  mkdir -p "$1"
  mount -t tmpfs -o "size=${2:-64k}" tmpfs "$1" 2>/dev/null || return 1
  MOUNTS+=("$1")
}

# no_survivor NAME MARKER: no process carrying MARKER is left (a job left running would be).
no_survivor() {
  if wait_gone 3 "$1"; then ok "$2"; else fail "$2" "still running: $(pgrep -af "$(_re "$1")")"; reap "$1"; fi
}

# The sum of the jobs' stdout_bytes in a --jsonl report.
jsonl_stdout_bytes() { jq -s '[.[] | select(.seq) | .stdout_bytes] | add // 0' "$1"; }

# --- held output that cannot be spilled --------------------------------------------------------
spill_case() {  # spill_case LABEL TMPDIR-VALUE CAUSE-REGEX
  local label=$1 tmp=$2 cause=$3 m t0 el
  m=$(marker 4101)
  t0=$(now)
  TMPDIR=$tmp run -k -j4 --jsonl "$T/$label.jsonl" \
    "if [ {} = 1 ]; then sleep $m; fi; head -c 30000000 /dev/zero" ::: 1 2 3 4
  el=$(elapsed "$t0")
  check_rc "$label: exit 255" 255 "$RC"
  check_le "$label: stops within seconds, not after the slow job" 60 "$el" s
  no_survivor "$m" "$label: no job left running"
  check_match "$label: one line naming the temp dir and the cause" \
    "^poolrun: error: held output: cannot write it to a temporary file in $tmp.*: $cause" "$ERR"
  check "$label: said once" 1 "$(grep -c 'held output' "$T/err")"
  # What was collected is written: every byte the jobs' reports count is on stdout.
  check "$label: collected output written" "$(jsonl_stdout_bytes "$T/$label.jsonl")" "$(wc -c <"$T/out")"
  check_ge "$label: the finished jobs' output is there" 30000000 "$(wc -c <"$T/out")"
  check "$label: the report's stop_reason" '"spill error" 255' \
    "$(jq -r 'select(.summary) | "\"\(.summary.stop_reason)\" \(.summary.exit_status)"' "$T/$label.jsonl")"
}
spill_case nodir /nonexistent 'No such file or directory'
if small_fs "$T/fullspill"; then
  spill_case fullspill "$T/fullspill" 'No space left on device'
else
  skip fullspill "cannot mount a tmpfs here"
fi

# --- standard output on a full disk ------------------------------------------------------------
m=$(marker 4102)
t0=$(now)
timeout -k 5 30 "$P" -j3 --jsonl "$T/full.jsonl" "echo {}; if [ {} = 1 ]; then sleep $m; fi" ::: 1 2 3 \
  >/dev/full 2>"$T/err"
RC=$?; ERR=$(cat "$T/err")
check_rc "stdout /dev/full: exit 255" 255 "$RC"
check_le "stdout /dev/full: stops within seconds" 20 "$(elapsed "$t0")" s
no_survivor "$m" "stdout /dev/full: no job left running"
check "stdout /dev/full: one line" "poolrun: error: standard output: No space left on device" "$ERR"
check "stdout /dev/full: stop_reason" '"output error"' "$(jq -c 'select(.summary) | .summary.stop_reason' "$T/full.jsonl")"

# --- report files that cannot be written -------------------------------------------------------
# report_case LABEL PATH-IN-ERROR OPTIONS...: a slow job and many quick ones; the report fails.
report_case() {
  local label=$1 path=$2 m t0; shift 2
  m=$(marker 4103)
  t0=$(now)
  run -j3 "$@" "if [ {} = 0 ]; then sleep $m; fi; head -c 3000 /dev/zero; echo {}" ::: 0 $(seq 1 60)
  check_rc "$label: exit 255" 255 "$RC"
  check_le "$label: stops within seconds" 20 "$(elapsed "$t0")" s
  no_survivor "$m" "$label: no job left running"
  check_match "$label: one line naming the file" "^poolrun: error: .*$path.*(No space left on device|Read-only file system)\$" "$ERR"
  check "$label: one error line" 1 "$(grep -c '^poolrun: error' "$T/err")"
}
report_case "jsonl /dev/full" /dev/full --jsonl /dev/full
# The joblog's header is written before the first job: nothing runs.
run --joblog /dev/full "echo {} >>$T/jl-ran" ::: 1 2
check_rc "joblog /dev/full: exit 255" 255 "$RC"
check "joblog /dev/full: one line naming the file" "poolrun: error: /dev/full: cannot write report: No space left on device" "$ERR"
check_cmd "joblog /dev/full: no job ran" "a job ran" test ! -e "$T/jl-ran"
# --json is written at the end: the jobs have all run (in order: -k), but the report is lost: exit 255.
run -k --json /dev/full echo ::: 1 2
check_rc "json /dev/full: exit 255" 255 "$RC"
check "json /dev/full: the output is there" "$(printf '1\n2')" "$OUT"
check "json /dev/full: one line naming the file" "poolrun: error: /dev/full: cannot write report: No space left on device" "$ERR"

if small_fs "$T/fullres"; then
  report_case "results on a full disk" "$T/fullres/r" --results "$T/fullres/r" --jsonl "$T/res.jsonl"
  # A file of a job that ran to its end is whole, or named on stderr: never silently cut.
  bad=0
  for v in $(jq -r 'select(.seq and .signal == 0) | .items[0]' "$T/res.jsonl"); do
    f=$T/fullres/r/1/$v/stdout
    [ "$(wc -c <"$f")" = $((3000 + ${#v} + 1)) ] || grep -qF "$f:" "$T/err" || bad=$((bad + 1))
  done
  check "results on a full disk: no file cut short but the one named" 0 "$bad"

  # A read-only --results directory: no job runs (its output could not be kept), exit 255.
  mkdir -p "$T/fullres/ro" && mount -o remount,ro "$T/fullres" 2>/dev/null
  run -j2 --results "$T/fullres/ro" echo ::: a b
  check_rc "results read-only: exit 255" 255 "$RC"
  check "results read-only: one line naming the directory" \
    "poolrun: error: --results: cannot create $T/fullres/ro/1/a: Read-only file system" "$ERR"
  check "results read-only: no job ran" "" "$OUT"
else
  skip "results on a full disk" "cannot mount a tmpfs here"
fi

# --- a joblog on a full disk, then --resume ----------------------------------------------------
if small_fs "$T/fulljl" 8k; then
  pad=$(printf '%0600d' 0)
  run -j2 --joblog "$T/fulljl/jl" "echo {} >>$T/ran # $pad" ::: $(seq 1 40)
  check_rc "joblog full: exit 255" 255 "$RC"
  check_match "joblog full: one line naming the joblog" "^poolrun: error: $T/fulljl/jl: cannot write report: No space left on device\$" "$ERR"
  check "joblog full: only whole lines" "" "$(tail -c 1 "$T/fulljl/jl" | tr -d '\n')"
  mount -o remount,size=1m "$T/fulljl"
  run -j2 --resume --joblog "$T/fulljl/jl" "echo {} >>$T/ran # $pad" ::: $(seq 1 40)
  check_rc "joblog full, then --resume: exit 0" 0 "$RC"
  check "joblog full, then --resume: every job logged once" "$(seq 1 40)" "$(tail -n +2 "$T/fulljl/jl" | cut -f1 | sort -n)"
  check "joblog full, then --resume: every job done" "$(seq 1 40)" "$(sort -nu "$T/ran")"
else
  skip "joblog full" "cannot mount a tmpfs here"
fi

# --- --map: a report that fails ends the workers -----------------------------------------------
m=$(marker 4104)
t0=$(now)
seq 1 20000 | run --map -j2 --jsonl /dev/full sh -c "cat; sleep $m"
check_rc "map jsonl /dev/full: exit 255" 255 "$RC"
check_le "map jsonl /dev/full: stops within seconds" 20 "$(elapsed "$t0")" s
no_survivor "$m" "map jsonl /dev/full: no worker left running"
check "map jsonl /dev/full: one line naming the file" "poolrun: error: /dev/full: cannot write report: No space left on device" "$ERR"

# --map: held output that cannot be spilled (chunk 1's worker is slow, the others' output waits).
m=$(marker 4105)
big=$(head -c 2000000 /dev/zero | tr '\0' x)
{ echo slow; for i in $(seq 1 40); do echo "$big"; done; } >"$T/map.in"
t0=$(now)
TMPDIR=/nonexistent run --map -j2 --chunksize 1 -a "$T/map.in" \
  awk "{ if (\$0 == \"slow\") system(\"sleep $m\"); print; fflush() }"
check_rc "map spill: exit 255" 255 "$RC"
check_le "map spill: stops within seconds" 60 "$(elapsed "$t0")" s
no_survivor "$m" "map spill: no worker left running"
check_match "map spill: one line naming the temp dir" "^poolrun: error: held output: cannot write it to a temporary file in /nonexistent: No such file or directory" "$ERR"

finish
