#!/usr/bin/env bash
# Exit status as GNU parallel: 0, the number of failed jobs, 101 past 100, 255 for poolrun's own
# errors; signals, missing commands, --retries and --halt. Sleep markers 8421-8429.
. "$(dirname "$0")/lib.sh"

run -k echo ::: a b c
check_rc all_ok 0 "$RC"

run 'exit {}' ::: 0 1 0 2 0 5
check_rc three_failed 3 "$RC"

run 'exit {}' ::: 0
check_rc exit0 0 "$RC"

run -j4 'exit {}' ::: 255 1 0
check_rc big_exit_code_counts_once 2 "$RC"

seq 100 | RUN_TIMEOUT=60 run -j8 false
check_rc hundred_failed 100 "$RC"

seq 150 | RUN_TIMEOUT=60 run -j8 false
check_rc over_hundred_failed 101 "$RC"

run 'kill -9 $$; : {}' ::: a
check_rc killed_by_signal 1 "$RC"

run 'kill -TERM $$; : {}' ::: a b
check_rc killed_by_term 2 "$RC"

run -k 'echo {}; kill -9 $$' ::: a
check killed_output_kept "a" "$OUT"

# --- poolrun's own errors: 255, one line on stderr, nothing on stdout, no job
for bad in '--bogus-option' '-j abc' '--halt sometimes' '--timeout xyz' '--termseq FOO,10' \
  '--max-args nope' '--group --line-buffer' '--header x'; do
  # shellcheck disable=SC2086
  run $bad touch ran ::: a
  check_rc "usage_error[$bad].status" 255 "$RC"
  check "usage_error[$bad].one_line" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
  check "usage_error[$bad].no_stdout" "" "$OUT"
  check_cmd "usage_error[$bad].no_job" "a job ran despite a usage error" test ! -e ran
  rm -f ran
done
run --bogus-option echo ::: a
check_match usage_error.names_option 'bogus-option' "$ERR"
run -j abc echo ::: a
check_match usage_error.names_value 'abc' "$ERR"

# --- a missing command: that job exits 127 and counts as failed
nocmd=no_such_command_$$
run --joblog jl "$nocmd" ::: a
check_rc missing_command.status 1 "$RC"
check missing_command.exitval 127 "$(awk -F'\t' 'NR==2{print $7}' jl)"
check_match missing_command.message "$nocmd" "$ERR"

run -k --joblog jl2 "$nocmd {}; echo after \$?" ::: a
check missing_command.through_shell "after 127" "$OUT"
check_rc missing_command.through_shell_status 0 "$RC"

run -k "$nocmd" ::: a b c
check_rc missing_command.three 3 "$RC"

printf 'x\n' >notexec
chmod -x notexec
run --joblog jl3 ./notexec ::: a
check_rc not_executable.status 1 "$RC"
check not_executable.exitval 126 "$(awk -F'\t' 'NR==2{print $7}' jl3)"

# --- --retries N: N attempts in all; only the last attempt's output is printed
attempt='n=$(cat cnt.{} 2>/dev/null || echo 0); n=$((n+1)); echo $n >cnt.{}; echo attempt $n {}; echo err $n >&2; [ $n -ge 3 ]'
rm -f cnt.*
run --retries 3 "$attempt" ::: a
check_rc retries3.status 0 "$RC"
check retries3.last_output_only "attempt 3 a" "$OUT"
check retries3.last_stderr_only "err 3" "$ERR"
check retries3.attempts 3 "$(cat cnt.a)"

rm -f cnt.*
run --retries 2 "$attempt" ::: a
check_rc retries2.status 1 "$RC"
check retries2.last_output_only "attempt 2 a" "$OUT"
check retries2.attempts 2 "$(cat cnt.a)"

rm -f cnt.*
run -k -j2 --retries 5 "$attempt" ::: a b c
check_rc retries5.status 0 "$RC"
check retries5.outputs "attempt 3 a
attempt 3 b
attempt 3 c" "$OUT"
check retries5.stops_on_success "3 3 3" "$(cat cnt.a cnt.b cnt.c | tr '\n' ' ' | sed 's/ $//')"

rm -f cnt.*
run --retries 1 "$attempt" ::: a
check_rc retries1.status 1 "$RC"
check retries1.attempts 1 "$(cat cnt.a)"

# --- --halt now,fail=1: running jobs are ended; status is the failing job's
m1=$(marker 8421); m2=$(marker 8422)
t=$(now)
run -j3 --halt now,fail=1 ::: 'sleep 0.3; exit 7' "sleep $m1" "sleep $m2"
d=$(elapsed "$t")
check_rc halt_now.status 7 "$RC"
check_le halt_now.prompt 5 "$d" s
check_cmd halt_now.jobs_ended "running jobs survived --halt now" wait_gone 1 "$m1" "$m2"
reap "$m1" "$m2"

run -j1 --halt now,fail=1 'echo {}; exit {}' ::: 0 0 4 0 0
check_rc halt_now.sequential_status 4 "$RC"
check halt_now.no_new_jobs "0
0
4" "$OUT"

run -j1 --halt now,fail=1 'kill -USR1 $$; : {}' ::: a
check_rc halt_now.signal_status $((128 + 10)) "$RC"

run -j1 --halt 2 'exit {}' ::: 0 6 0
check_rc halt_legacy_2 6 "$RC"

# --- --halt soon,fail=1: running jobs finish, no new job starts
run -j2 -k --halt soon,fail=1 ::: 'sleep 0.2; exit 5' 'sleep 1.5; echo finished' 'echo never' 'echo never2'
check_rc halt_soon.status 5 "$RC"
check halt_soon.running_finished "finished" "$OUT"

run -j1 --halt soon,fail=1 'echo {}; exit {}' ::: 0 3 0
check_rc halt_soon.sequential_status 3 "$RC"
check halt_soon.sequential_output "0
3" "$OUT"

# --- --halt now,success=1 and done
run -j1 --halt now,success=1 'echo {}; exit {}' ::: 1 0 2
check_rc halt_success.status 0 "$RC"
check halt_success.output "1
0" "$OUT"

run -j1 --halt soon,done=2 'echo {}; exit {}' ::: 0 0 0 0
check halt_done.output "0
0" "$OUT"

# Option words. main() builds no option parser for `poolrun cmd ...` and declares only the options
# the command line names otherwise: the forms below must parse as with every option declared.
run -kj2 echo ::: b a
check options.cluster_with_value "$(printf 'b\na')" "$OUT"
run -k -j 2 -- echo ::: x
check options.separate_value_and_dashes "x" "$OUT"
OUT=$(printf 'a,b' | "$P" -k -d , echo)
check options.delimiter_value "$(printf 'a\nb')" "$OUT"
run -N 1 --max-args 2 -k echo ::: a b c
check options.alias_last_wins "$(printf 'a b\nc')" "$OUT"
run echo -j --help ::: a
check options.command_words_are_not_options "-j --help a" "$OUT"
run -k --nope echo ::: a
check_rc options.unknown_long.rc 255 "$RC"
check options.unknown_long "poolrun: error: unknown option '--nope' (see poolrun --help)" "$ERR"
run -kz echo ::: a
check options.unknown_in_cluster "poolrun: error: unknown option '-z' (see poolrun --help)" "$ERR"
run -N -1 echo ::: a
check_rc options.range.rc 255 "$RC"
check options.range "poolrun: error: --max-args: value -1 not in range 0 to 1000000000" "$ERR"
# A failed write to stdout other than EPIPE (a full disk) is an error: one line, exit 255
"$P" -k echo ::: a b >/dev/full 2>"$T/full.err"
check_rc stdout_full.rc 255 "$?"
check stdout_full.message "poolrun: error: standard output: No space left on device" "$(cat "$T/full.err")"
seq 3 | "$P" --map -j1 cat >/dev/full 2>"$T/full.err"
check_rc stdout_full.map.rc 255 "$?"
check stdout_full.map.message "poolrun: error: standard output: No space left on device" "$(cat "$T/full.err")"

# A closed stdout (`poolrun ... >&-`) is an error before anything runs: one line, exit 255 (GNU
# parallel exits 0 with the output gone). Checked before poolrun opens any fd, so its own first
# pipe or file is not taken for stdout. Likewise for --map, batch and the other subcommands, and
# still 255 with stderr closed as well. A closed stdin or stderr alone is no error.
closed_msg="poolrun: error: standard output is closed: the output would be lost (redirect it to /dev/null to discard it)"
rm -f ran
"$P" touch ran ::: a >&- 2>"$T/closed.err"
check_rc stdout_closed.rc 255 "$?"
check stdout_closed.message "$closed_msg" "$(cat "$T/closed.err")"
check_cmd stdout_closed.no_job "a job ran with stdout closed" test ! -e ran
"$P" -k --json closed.json echo ::: a >&- 2>"$T/closed.err"
check_rc stdout_closed.with_report.rc 255 "$?"
check_cmd stdout_closed.with_report.no_report "the report was written with stdout closed" test ! -e closed.json
seq 3 | "$P" --map -j1 cat >&- 2>"$T/closed.err"
check_rc stdout_closed.map.rc 255 "$?"
check stdout_closed.map.message "$closed_msg" "$(cat "$T/closed.err")"
printf '{"jobs": [{"name": "a", "cmd": "touch ran"}]}' >closed-spec.json
"$P" batch closed-spec.json >&- 2>"$T/closed.err"
check_rc stdout_closed.batch.rc 255 "$?"
check stdout_closed.batch.message "$closed_msg" "$(cat "$T/closed.err")"
check_cmd stdout_closed.batch.no_job "a batch job ran with stdout closed" test ! -e ran
for sub in "bench -n 2 -w 1 -r 1 -e serial cpu:10" "--help" "--version" "--completion bash"; do
  # shellcheck disable=SC2086
  "$P" $sub >&- 2>"$T/closed.err"
  check_rc "stdout_closed[$sub].rc" 255 "$?"
  check "stdout_closed[$sub].message" "$closed_msg" "$(cat "$T/closed.err")"
done
{ "$P" touch ran ::: a >&- 2>&-; echo $? >"$T/closed.rc"; }
check stdout_and_stderr_closed.rc 255 "$(cat "$T/closed.rc")"
check_cmd stdout_and_stderr_closed.no_job "a job ran with stdout and stderr closed" test ! -e ran
OUT=$("$P" -k echo ::: a b 2>&-); rc=$?
check_rc stderr_closed.rc 0 "$rc"
check stderr_closed.output "$(printf 'a\nb')" "$OUT"
OUT=$("$P" -k echo ::: a b <&-); rc=$?
check_rc stdin_closed.rc 0 "$rc"
check stdin_closed.output "$(printf 'a\nb')" "$OUT"

# A bad start method names where it came from
OUT=$(POOLRUN_START_METHOD=bogus "$P" echo ::: a 2>&1); rc=$?
check_rc start_method_env.rc 255 "$rc"
check start_method_env.message "poolrun: error: POOLRUN_START_METHOD: expected spawn, fork or forkserver, got 'bogus'" "$OUT"

# --- every message poolrun prints on stderr has one form: "poolrun: error: ..." or
# "poolrun: warning: ..." (-v adds "poolrun: info: ..."), whichever part of poolrun prints it:
# its own option parser, CLI11's, core's log, the batch, bench, report and --completion commands.
printf '{"jobs": [{"name": "a", "cmd": "true", "need": []}]}' >badkey.json
printf 'not json' >notjson.json
printf 'a\0b\n' >nul.txt
msg_cases=(
  "-j abc echo ::: a" "--nope echo ::: a" "-N -1 echo ::: a" "--max-args nope echo ::: a" "--tagstring= echo ::: a"
  "-a /nonexistent/x echo" "--halt now,fail=1 false ::: 1" "-a nul.txt echo" "--results /dev/null/x echo ::: a"
  "--json /nonexistent/r.json echo ::: a" "-v --timeout 0.1 sleep ::: 5"
  "--map --chunksize 1 -j1 false" "--chunksize 2 echo ::: a"
  "batch" "batch --nope x.json" "batch a.json b.json" "batch --jobs abc badkey.json" "batch badkey.json"
  "batch notjson.json" "batch /nonexistent/x.json"
  "bench" "bench --nope cpu:1" "bench -n x cpu:1" "bench cpu:x" "bench --runs 0 cpu:1"
  "report" "report gantt" "report timeline" "report timeline x.json" "report timeline notjson.json --svg o.svg"
  "report timeline x.json --svg o.svg --nope" "report chart notjson.json --svg o.svg"
  "--completion" "--completion fish" "--completion bash extra")
for c in "${msg_cases[@]}"; do
  # shellcheck disable=SC2086
  printf 'x\n' | timeout -k 5 30 "$P" $c >/dev/null 2>"$T/msg.err"
  check_cmd "messages[$c]: printed one" "nothing on stderr" test -s "$T/msg.err"
  check "messages[$c]: every line starts 'poolrun: error|warning|info: '" "" \
    "$(grep -vE '^poolrun: (error|warning|info): [^ ]' "$T/msg.err")"
done
OUT=$(POOLRUN_START_METHOD=bogus "$P" echo ::: a 2>&1 >/dev/null)
check_match "messages[POOLRUN_START_METHOD=bogus]" '^poolrun: error: ' "$OUT"

# "--name=" with nothing after "=" is refused (as GNU parallel): the next word is not its value
run --tagstring= --tag echo ::: a
check_rc options.empty_value.rc 255 "$RC"
check options.empty_value "poolrun: error: option '--tagstring' needs a value" "$ERR"
run -k --help
check_rc options.help.rc 0 "$RC"
check options.help_lists_options_not_named "3" "$(printf '%s\n' "$OUT" | grep -cE -- '--(max-tasks-per-worker|recstart|round-robin)')"
# --- Out of processes or file descriptors (GNU parallel waits for a job to end and retries)
# A user of this test's own (root is exempt from RLIMIT_NPROC, and the limit counts every process
# of the user), limited so that only a few jobs fit beside poolrun, its guardian and forkserver:
# jobs wait for room instead of failing.
if [ -n "${POOLRUN_TEST_SANITIZED:-}" ]; then
  # The sanitizers' runtime needs processes and fds of its own for its checks.
  skip nproc "not under the sanitizers (their runtime needs processes and pipes of its own)"
elif [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  lim_uid=$((47200 + $$ % 500))
  as_limited() {  # as_limited NPROC CMD...: runs CMD as lim_uid under ulimit -u NPROC, from /
    (cd / && timeout -k 5 60 setpriv --reuid=$lim_uid --regid=$lim_uid --clear-groups \
      bash -c 'ulimit -u "$0" && exec "$@"' "$@")
  }
  as_limited 6 "$P" -j8 sleep ::: 0.3 0.3 0.3 0.3 0.3 0.3 0.3 0.3 0.3 0.3 >"$T/nproc.out" 2>"$T/nproc.err"
  check_rc nproc.all_succeed 0 "$?" "$(cat "$T/nproc.err")"
  check_nomatch nproc.no_job_fails "cannot run|error" "$(cat "$T/nproc.err")"
  # No job can ever start (the limit is poolrun itself): one clear line, exit 255, within bounds.
  t=$(now)
  as_limited 1 "$P" -j2 true ::: a b c >"$T/nproc0.out" 2>"$T/nproc0.err"
  check_rc nproc.none_fit.rc 255 "$?"
  check_le nproc.none_fit.bounded 20 "$(elapsed "$t")"
  check nproc.none_fit.one_line 1 "$(grep -c . "$T/nproc0.err" | tr -d ' ')"
  check_match nproc.none_fit.names_fork "(fork|cannot start the forkserver launcher): Resource temporarily unavailable" "$(cat "$T/nproc0.err")"
  check_nomatch nproc.none_fit.not_exec "exec:" "$(cat "$T/nproc0.err")"
else
  skip nproc "needs root and setpriv to run as a user of the test's own"
fi
# Too few fds for even one job's pipes: one clear line and 255, not every job failing.
if [ -n "${POOLRUN_TEST_SANITIZED:-}" ]; then
  skip nofile "not under the sanitizers (UBSan's vptr check needs a pipe of its own)"
else
  (ulimit -n 6; exec timeout -k 5 30 "$P" echo ::: a b c) >"$T/nofile.out" 2>"$T/nofile.err"
  check_rc nofile.rc 255 "$?"
  check nofile.one_line 1 "$(grep -vc 'warning:' "$T/nofile.err" | tr -d ' ')"
  check_match nofile.names_the_problem "Too many open files" "$(cat "$T/nofile.err")"
  check_nomatch nofile.no_job_lines "job [0-9]+: cannot run" "$(cat "$T/nofile.err")"
fi
check nofile.no_output "" "$(cat "$T/nofile.out")"
finish
