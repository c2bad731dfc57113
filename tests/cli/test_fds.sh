#!/usr/bin/env bash
# File descriptors over a whole run, in every mode (the main job, --pipe, --pipepart, --map,
# batch, bench, report): jobs receive exactly fds 0, 1 and 2 (also when poolrun itself inherited
# another fd), and every fd poolrun opened is closed again when it exits. The second is checked by
# poolrun itself under POOLRUN_DEBUG_FD_CHECK=1: at exit it names each fd open that was not open at
# start-up, on stderr ("fd check: ..."), and exits 255.
. "$(dirname "$0")/lib.sh"

export POOLRUN_DEBUG_FD_CHECK=1
# The job's shell lists its own fds on one line ("0, 1, 2"). "; true" keeps the shell from
# exec'ing ls in its place (ls would list the fd it opened to read the directory); no pipeline or
# $(...), whose pipe the shell would hold open while ls looks.
FDS='ls -m /proc/$$/fd; true'

# no_leak NAME: the last run exited as expected and poolrun named no fd left open.
no_leak() {
  check_nomatch "$1.no_fd_left_open" 'fd check' "$ERR"
}

# --- the main job, grouped and --line-buffer, with an fd poolrun inherited (fd 7 without
# close-on-exec: the launcher must not pass it on)
run -j3 "$FDS" ::: 1 2 3 7</dev/null
check_rc main.status 0 "$RC"
check main.jobs_get_0_1_2 "0, 1, 2|0, 1, 2|0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak main
run -j2 --line-buffer -k --tag "$FDS" ::: a b
check main_lb.jobs_get_0_1_2 "a	0, 1, 2|b	0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak main_lb
# failing jobs, --retries, --timeout and --results go through other paths
run -j2 --retries 2 --timeout 5 --results res "$FDS; exit 1" ::: x y
check_rc main_fail.status 2 "$RC"
check main_fail.jobs_get_0_1_2 "0, 1, 2|0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak main_fail
run --joblog log -j1 "$FDS" ::: one
run --resume --joblog log -j1 "$FDS" ::: one two
check resume.jobs_get_0_1_2 "0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak resume
# a job that cannot start
run -j2 ./no-such-program ::: 1
check_rc unstartable.status 1 "$RC"
no_leak unstartable
# items from stdin (jobs get /dev/null as stdin)
printf '1\n2\n' | run -j2 "$FDS"
check stdin_items.jobs_get_0_1_2 "0, 1, 2|0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak stdin_items

# --- --pipe, --round-robin and --pipepart
seq 4 | run --pipe -N2 -j2 "cat >/dev/null; $FDS"
check_rc pipe.status 0 "$RC"
check pipe.jobs_get_0_1_2 "0, 1, 2|0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak pipe
seq 1000 | run --pipe --round-robin --block 1k -j2 "cat >/dev/null; $FDS"
check pipe_rr.jobs_get_0_1_2 "0, 1, 2|0, 1, 2" "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak pipe_rr
# --pipe: the engine holds a read end of each job's stdin pipe while the job runs (to count the
# input it leaves unread) and lets it go when the job finishes. With -j1 each job counts poolrun's
# fds after all jobs before it finished: the same number for every job, not one more per job.
rm -f pid
seq 6 | "$P" --pipe -N1 -j1 'cat >/dev/null; while [ ! -s pid ]; do sleep 0.01; done; ls /proc/$(cat pid)/fd | wc -l' >counts 2>pipe_hold.err &
echo $! >pid.tmp && mv pid.tmp pid
wait $!
check_rc pipe_hold.status 0 "$?"
check pipe_hold.jobs 6 "$(wc -l <counts | tr -d ' ')"
check pipe_hold.same_fds_per_job 1 "$(sort -u counts | wc -l | tr -d ' ')"
check_nomatch pipe_hold.no_fd_left_open 'fd check' "$(cat pipe_hold.err)"
seq 1000 >nums
run --pipepart -a nums --block 2k -j2 -k "cat >/dev/null; $FDS"
check_rc pipepart.status 0 "$RC"
check_match pipepart.jobs_get_0_1_2 '^(0, 1, 2\|)*0, 1, 2$' "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak pipepart

# --- --map: the worker lists its fds on stderr, then echoes its records
seq 100 | run --map -j2 "( $FDS ) >&2; cat"
check_rc map.status 0 "$RC"
check map.records "$(seq 100)" "$OUT"
check_match map.workers_get_0_1_2 '^(0, 1, 2\|)*0, 1, 2\|?$' "$(printf '%s' "$ERR" | grep -v '^poolrun' | tr '\n' '|')"
no_leak map
seq 10 | run --map -j2 --init "( $FDS ) >&2" "cat"
check_match map_init.init_gets_0_1_2 '^(0, 1, 2\|)*0, 1, 2\|?$' "$(printf '%s' "$ERR" | grep -v '^poolrun' | tr '\n' '|')"
no_leak map_init

# --- batch, with a dependency, a failure and a skipped job
cat >spec.json <<EOF
{"jobs": [
  {"name": "a", "cmd": "$(printf '%s' "$FDS" | sed 's/"/\\"/g')"},
  {"name": "b", "cmd": "exit 3", "needs": ["a"]},
  {"name": "c", "cmd": "true", "needs": ["b"]}
]}
EOF
run batch spec.json --junit junit.xml --results bres
check_rc batch.status 1 "$RC"
check_match batch.job_gets_0_1_2 '(^|\|)0, 1, 2(\||$)' "$(printf '%s' "$OUT" | tr '\n' '|')"
no_leak batch

# --- bench, both executors, and report
run bench io:10ms --tasks 4 -e process,thread -w 1,2 -r 1 --json bench.json
check_rc bench.status 0 "$RC"
no_leak bench
run --json run.json -j2 true ::: 1 2 3
run report timeline run.json --svg t.svg
check_rc report.status 0 "$RC"
no_leak report

# --- stopped runs: --halt now, a usage error, an unreadable input file
run -j2 --halt now,fail=1 "exit 4" ::: 1 2 3
check_rc halt.status 4 "$RC"
no_leak halt
run -a no-such-file echo
check_rc missing_input.status 255 "$RC"
no_leak missing_input
run --no-such-option
check_rc usage.status 255 "$RC"
no_leak usage

finish
