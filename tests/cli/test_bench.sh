#!/usr/bin/env bash
# poolrun bench: real worker processes and threads, timed with generous bounds (the machine has 2
# CPUs; CTest runs this script alone, RUN_SERIAL, because it measures scaling).
#   bash tests/cli/test_bench.sh /path/to/poolrun
# Checks: CPU tasks scale on processes and are called CPU-bound; sleeping tasks scale far past the
# CPUs on threads and are called I/O-bound; --gil keeps threads at one CPU's speed; every start
# method runs the process pool with results equal to serial execution; a worker killed mid-task
# costs a retry, not the sweep; no worker is left a zombie; the JSON report has every run; one
# SIGINT/SIGTERM ends the whole sweep with nothing left running and no result, and a SIGKILL of
# poolrun leaves no worker behind (the guardian); failed tasks get no verdict and no -j.
. "$(dirname "$0")/lib.sh"

jq_ok() { command -v jq >/dev/null; }
if ! jq_ok; then skip bench "jq is not installed"; finish; fi
cpus=$(nproc)

# The size of cpu:N that takes ~40 ms per task here (the sanitizer build is slower per iteration
# in no way that matters: the loop is plain arithmetic).
n=20000000
run bench "cpu:$n" --tasks 1 -e serial -r 1 --json "$T/cal.json"
check_rc calibrate.rc 0 "$RC" "$ERR"
t=$(jq '.configs[0].wall_s.mean' "$T/cal.json")
n=$(awk -v t="$t" -v n="$n" 'BEGIN{m = int(n * 0.04 / (t > 0 ? t : 1)); print (m < 100000 ? 100000 : m)}')

# --- CPU-bound on processes: S(2) >= 1.6 on 2 CPUs
if [ "$cpus" -ge 2 ]; then
  run bench "cpu:$n" --tasks 8 -e process -w 1,2 -r 3 --json "$T/cpu.json"
  check_rc cpu.rc 0 "$RC" "$ERR"
  s2=$(jq '.configs[] | select(.workers == 2) | .speedup' "$T/cpu.json")
  # Two CPUs are needed for S(2): when other processes held them (the workers waited on the run
  # queue for over 15% of their time, from schedstat), the figure says nothing about poolrun.
  busy=$(jq '.configs[] | select(.workers == 2) | [.runs[] | (.runqueue_s // 0) / (.wall_s * 2)] | max' "$T/cpu.json")
  if [ "${POOLRUN_TEST_SANITIZED:-0}" = 1 ]; then
    skip cpu.process.speedup2 "sanitizer build: instrumented workers skew the timing (S(2) = $s2); the normal build checks the bound"
  elif awk -v b="$busy" 'BEGIN{exit !(b > 0.15)}'; then
    skip cpu.process.speedup2 "the CPUs were busy with other work (run-queue wait $busy of the time); S(2) = $s2"
  else
    check_ge cpu.process.speedup2 1.6 "$s2"
  fi
  check cpu.verdict cpu-bound "$(jq -r .verdict.kind "$T/cpu.json")"
  check_match cpu.table "process +2 .*verdict: cpu-bound" "$(tr '\n' ' ' <<<"$OUT")"
  check cpu.runs "3 3" "$(jq -r '[.configs[].runs | length] | map(tostring) | join(" ")' "$T/cpu.json")"
  # Net of run-queue waits: a busy machine does not make the loop look like waiting.
  u=$(jq '.configs[] | select(.workers == 1) | (.cpu_utilisation_net // .cpu_utilisation)' "$T/cpu.json")
  check_ge cpu.utilisation 0.7 "$u"
else
  skip cpu.speedup "needs 2 CPUs, have $cpus"
fi

# --- I/O-bound on threads: S(16) >= 8
run bench io:20ms --tasks 64 -e thread -w 1,16 -r 1 --json "$T/io.json"
check_rc io.rc 0 "$RC" "$ERR"
check_ge io.thread.speedup16 8 "$(jq '.configs[] | select(.workers == 16) | .speedup' "$T/io.json")"
check io.verdict io-bound "$(jq -r .verdict.kind "$T/io.json")"
check io.recommended 16 "$(jq -r .recommendation.workers "$T/io.json")"

# --- --gil: CPU work on threads does not scale
if [ "$cpus" -ge 2 ]; then
  run bench "cpu:$n" --tasks 6 -e thread --gil -w 1,2 -r 2 --json "$T/gil.json"
  check_rc gil.rc 0 "$RC" "$ERR"
  gbusy=$(jq '[.configs[] | .workers as $w | .runs[] | (.runqueue_s // 0) / (.wall_s * $w)] | max' "$T/gil.json")
  if [ "${POOLRUN_TEST_SANITIZED:-0}" = 1 ]; then
    skip gil.thread.speedup2 "sanitizer build: the normal build checks the bound"
  elif awk -v b="$gbusy" 'BEGIN{exit !(b > 0.15)}'; then
    # Other work slowing one configuration more than the other moves the ratio either way.
    skip gil.thread.speedup2 "the CPUs were busy with other work (run-queue wait $gbusy of the time)"
  else
    # ~1.0 expected; without the GIL two threads reach ~1.8-2.0 here (processes must reach 1.6).
    # 1.4 separates the two while leaving room for this VM's drift between the w=1 and w=2 runs
    # (1.21 has been seen with the GIL working).
    check_le gil.thread.speedup2 1.4 "$(jq '.configs[] | select(.workers == 2) | .speedup' "$T/gil.json")"
  fi
fi

# --- every start method: the process pool computes what serial execution computes
run bench cpu:1000 --tasks 300 -e serial -r 1 --json "$T/serial.json"
want=$(jq '.configs[0].runs[0].checksum' "$T/serial.json")
for m in spawn fork forkserver; do
  run bench cpu:1000 --tasks 300 -e process,thread -w 1,3 --chunksize 7 -r 1 --start-method "$m" --json "$T/$m.json"
  check_rc "method.$m.rc" 0 "$RC" "$ERR"
  check "method.$m.checksums" "$want $want $want $want" \
    "$(jq -r '[.configs[].runs[].checksum] | map(tostring) | join(" ")' "$T/$m.json")"
done
run bench square:1ms --tasks 10 -e process -w 4 --chunksize 2 --submit sync -r 1 --json "$T/sq.json"
check_rc square.rc 0 "$RC" "$ERR"
check square.checksum 285 "$(jq '.configs[0].runs[0].checksum' "$T/sq.json")"

# --- a worker killed mid-task: its task runs again, the sweep completes, nothing is left behind.
# descendants PID: every process below PID (workers, the guardian, the fork server, jobs), from
# one ps (a loaded machine makes a pgrep per process slow enough to miss a short run).
descendants() {
  ps -e -o pid=,ppid= | awk -v p="$1" '{ up[$1] = $2 }
    END { for (c in up) { x = c; while ((x in up) && x != p && x > 1) x = up[x]; if (x == p && c != p) print c } }'
}
# The workers are poolrun's descendants whose stdin is a pipe (their task pipe; the guardian's and
# the fork server's stdin is /dev/null): [[ -p ]] follows /proc's link to the pipe itself.
leaves() {
  local c
  for c in $(descendants "$1"); do [[ -p /proc/$c/fd/0 ]] && echo "$c"; done
  return 0
}
no_zombies() { [ -z "$(zombies_of "$1"; for c in $(pgrep -P "$1"); do zombies_of "$c"; done)" ]; }
two_leaves() { [ "$(leaves "$1" | wc -l)" -ge 2 ]; }
for m in spawn fork forkserver; do
  "$P" bench io:300ms --tasks 20 -e process -w 2 -r 1 --start-method "$m" --json "$T/kill.json" >"$T/kout" 2>"$T/kerr" &
  bp=$!
  wait_for 10 two_leaves $bp || true
  sleep 0.1  # a task in flight on each worker
  victim=$(leaves $bp | head -1)
  if [ -n "$victim" ]; then kill -9 "$victim" || echo "note: $victim was gone; the workers now: $(leaves $bp)"; fi
  # The killed worker is reaped while the sweep runs (a zombie for a moment at most).
  wait_for 3 no_zombies $bp || true
  check "kill.$m.no_zombie_while_running" "" "$(zombies_of $bp; for c in $(pgrep -P $bp); do zombies_of $c; done)"
  wait_exit 20 $bp
  check_rc "kill.$m.rc" 0 "$WRC" "$(cat "$T/kerr")"
  check "kill.$m.lost" 1 "$(jq '.configs[0].runs[0].workers_lost' "$T/kill.json")"
  check "kill.$m.failed" 0 "$(jq '.configs[0].runs[0].tasks_failed' "$T/kill.json")"
  check_ge "kill.$m.retried" 1 "$(jq '.configs[0].runs[0].tasks_retried' "$T/kill.json")"
  check "kill.$m.checksum" 190 "$(jq '.configs[0].runs[0].checksum' "$T/kill.json")"
  check "kill.$m.victim_gone" "" "$(ps -o pid= -p "$victim" 2>/dev/null)"
done

# --- a command, run by the engine at each -j
run bench -w 1,2 -r 1 --json "$T/cmd.json" -- sleep 0.1 ::: 1 2 3 4
check_rc cmd.rc 0 "$RC" "$ERR"
check cmd.executor command "$(jq -r '.configs[0].executor' "$T/cmd.json")"
check_ge cmd.speedup2 1.5 "$(jq '.configs[1].speedup' "$T/cmd.json")"
run bench -r 1 -- echo
check_rc cmd.stdin.rc 255 "$RC"
check_match cmd.stdin.message "items after :::" "$ERR"

# --- bad input: one clear line, status 255
run bench cpu:x
check_rc bad.task.rc 255 "$RC"
check_match bad.task.message "^poolrun: error: task 'cpu:x'" "$ERR"
run bench io:1ms --workers 0
check_rc bad.workers.rc 255 "$RC"

# --- failed tasks: no verdict, no recommendation, the first error named, a non-zero status
run bench read:/nonexistent/file --tasks 2 -e process,thread,serial -w 1 -r 1 --json "$T/fail.json"
check_rc failed.read.rc 1 "$RC"
check_match failed.read.table "2 tasks failed" "$OUT"
check_match failed.read.verdict "^verdict: none: the tasks failed: read:/nonexistent/file: No such file or directory$" "$OUT"
check_nomatch failed.read.no_recommendation "^recommended" "$OUT"
check_match failed.read.stderr "read:/nonexistent/file: No such file or directory" "$ERR"
check failed.read.json "failed|read:/nonexistent/file: No such file or directory|6|null" \
  "$(jq -r '"\(.verdict.kind)|\(.verdict.error)|\(.verdict.tasks_failed)|\(.recommendation)"' "$T/fail.json" 2>&1)"
check failed.read.json_runs "read:/nonexistent/file: No such file or directory" \
  "$(jq -r '[.configs[].runs[].error] | unique | join(",")' "$T/fail.json" 2>&1)"
nosuch=nosuchcmd_$MARK_SUFFIX
run bench -w 1 -r 1 --json "$T/failcmd.json" -- "$nosuch" ::: a
check_cmd failed.cmd.rc "a non-zero status for a command that is not found (got $RC)" test "$RC" != 0
check_match failed.cmd.verdict "^verdict: none: the command failed: $nosuch: command not found \(exit status 127\)$" "$OUT"
check_nomatch failed.cmd.no_recommendation "^recommended" "$OUT"
check failed.cmd.json "failed|$nosuch: command not found (exit status 127)|null|1" \
  "$(jq -r '"\(.verdict.kind)|\(.verdict.error)|\(.recommendation)|\(.configs[0].runs[0].exit_status)"' "$T/failcmd.json" 2>&1)"
# a failure in a warm-up run voids the verdict too
run bench -w 1 -r 1 --warmup 1 -- 'test -e once.{} || { touch once.{}; exit 3; }' ::: a
check_rc failed.warmup.rc 1 "$RC"
check_match failed.warmup.verdict "^verdict: none: the command failed: .*exit status 3" "$OUT"

# --- signals. One SIGINT or SIGTERM (Ctrl-C: to poolrun's process group) ends the whole sweep:
# every worker process is ended and reaped, no table, verdict or -j is printed, the --json file
# stays empty, status 255 (as the main job). A SIGKILL of poolrun: the guardian ends the workers.
# live PIDS...: those still running (a zombie waiting for its new parent to reap it is not).
live() { local p s; for p in "$@"; do s=$(ps -o stat= -p "$p" 2>/dev/null) && [ "${s:0:1}" != Z ] && echo "$p"; done; }
none_live() { [ -z "$(live "$@")" ]; }
# stop_sweep NAME SIG: sends SIG to the background poolrun $bp (INT as Ctrl-C does), then checks
# that it ends within seconds and that none of the processes in $tree outlives it.
stop_sweep() {
  local name=$1 sig=$2 t
  t=$(now)
  if [ "$sig" = INT ]; then kill -INT -- -"$bp"; else kill -"$sig" "$bp"; fi
  if wait_exit 10 "$bp"; then
    check_le "$name.prompt" 5 "$(elapsed "$t")" s
    if [ "$sig" = KILL ]; then check_rc "$name.rc" 137 "$WRC"; else check_rc "$name.rc" 255 "$WRC" "$(cat "$T/serr")"; fi
  else
    fail "$name.stops" "poolrun still running 10 s after SIG$sig"; kill -9 "$bp"; wait "$bp"
  fi
  wait_for 5 none_live $tree || true
  check "$name.nothing_left" "" "$(for p in $(live $tree); do ps -o pid=,stat=,args= -p "$p"; done)"
  for p in $(live $tree); do kill -9 "$p"; done
  if [ "$sig" != KILL ]; then
    check_match "$name.said" "interrupted by SIG$sig" "$(cat "$T/serr")"
    check "$name.no_result" "" "$(grep -E 'verdict|recommended' "$T/sout")"
    check "$name.json_empty" 0 "$(wc -c <"$T/sig.json")"
  fi
}
for m in spawn fork forkserver; do
  for sig in INT TERM KILL; do
    set -m
    "$P" bench cpu:50000000000 --tasks 4 -e process -w 2 -r 3 --start-method "$m" --json "$T/sig.json" \
      >"$T/sout" 2>"$T/serr" &
    bp=$!
    set +m
    # the two workers have started (then so have the guardian and the fork server)
    wait_for 10 two_leaves "$bp" || true
    tree=$(descendants "$bp" | tr '\n' ' ')
    stop_sweep "signal.process.$m.$sig" "$sig"
  done
done
for e in thread serial; do
  for sig in INT TERM; do
    set -m
    "$P" bench cpu:50000000000 --tasks 4 -e "$e" -w 2 -r 3 --json "$T/sig.json" >"$T/sout" 2>"$T/serr" &
    bp=$!
    set +m
    sleep 0.3
    tree=$(descendants "$bp" | tr '\n' ' ')
    stop_sweep "signal.$e.$sig" "$sig"
  done
done
# A command through the main job's engine: the first signal ends the sweep, not one run of it.
for m in spawn fork forkserver; do
  sigs=INT
  [ "$m" = spawn ] && sigs="INT TERM KILL"
  for sig in $sigs; do
    m1=$(marker 8611)
    set -m
    "$P" bench -w 1,2 -r 3 --start-method "$m" --json "$T/sig.json" -- sleep ::: "$m1" "$m1" >"$T/sout" 2>"$T/serr" &
    bp=$!
    set +m
    wait_for 10 running "sleep $m1" || true
    tree=$(descendants "$bp" | tr '\n' ' ')
    stop_sweep "signal.command.$m.$sig" "$sig"
    check_cmd "signal.command.$m.$sig.jobs_gone" "a job outlived the sweep" wait_gone 1 "$m1"
    reap "$m1"
  done
done

# --- the hidden worker word is not an option anyone sees
check_nomatch help.hidden "builtin-worker" "$("$P" bench --help; "$P" --help)"

# --- --svg: a well-formed document with a line per executor and the ideal line
run bench io:5ms --tasks 8 -e process,thread -w 1,2 -r 1 --svg "$T/s.svg"
check_rc svg.rc 0 "$RC" "$ERR"
if command -v xmllint >/dev/null; then
  check_cmd svg.wellformed "xmllint accepts the SVG" xmllint --noout "$T/s.svg"
fi
check_match svg.series "process.*thread|thread.*process" "$(tr '\n' ' ' <"$T/s.svg")"
check_match svg.ideal "ideal" "$(cat "$T/s.svg")"

finish
