#!/usr/bin/env bash
# Never hang, never leave a process behind: --timeout on whole process trees and --termseq,
# SIGINT/SIGTERM/SIGHUP/SIGKILL to poolrun, EPIPE on its stdout, no zombies while running and no
# orphans afterwards, --termseq against the whole group. Sleep markers 8398-8427 (with this
# process's id).
. "$(dirname "$0")/lib.sh"

# --- --timeout ends the whole tree: background children, nested shells, orphans
m1=$(marker 8411); m2=$(marker 8412); m3=$(marker 8413)
t=$(now)
run --timeout 0.5 "sleep $m1 & sh -c 'sleep $m2 & wait' & (sleep $m3 &); wait; : {}" ::: a
d=$(elapsed "$t")
check_rc timeout.tree.status 1 "$RC"
check_le timeout.tree.prompt 2.5 "$d" s
check_cmd timeout.tree.killed "descendants of a timed-out job survived" wait_gone 0.5 "$m1" "$m2" "$m3"
reap "$m1" "$m2" "$m3"

# a job that ignores SIGTERM is killed by the last step of the default termseq (KILL)
m4=$(marker 8414)
t=$(now)
run --timeout 0.5 "trap '' TERM; sleep $m4; : {}" ::: a
d=$(elapsed "$t")
check_rc timeout.ignores_term.status 1 "$RC"
check_le timeout.ignores_term.prompt 2.5 "$d" s
check_cmd timeout.ignores_term.killed "a job ignoring SIGTERM survived its timeout" wait_gone 0.5 "$m4"
reap "$m4"

# --termseq: the first signal is the one given; the job sees it
run --timeout 0.5 --termseq INT,1000,KILL,25 'trap "echo got-int {}; exit 3" INT; while :; do sleep 0.05; done' ::: a
check timeout.termseq.first_signal "got-int a" "$OUT"
check_rc timeout.termseq.status 1 "$RC"

# timeouts per job: only the slow job is ended, the others finish
run -k -j3 --timeout 1 'sleep {}; echo done {}' ::: 0.1 5 0.3
check timeout.only_slow_job "done 0.1
done 0.3" "$OUT"
check_rc timeout.only_slow_job_status 1 "$RC"

# duration forms
t=$(now); run --timeout 300ms 'sleep {}' ::: 5; d=$(elapsed "$t")
check_rc timeout.ms.status 1 "$RC"
check_le timeout.ms.prompt 1.5 "$d" s

# --timeout N%: N% of the median runtime of the jobs that succeeded, applied to jobs already
# running once the median is known (GNU parallel: the 3 s job is ended at about 0.3 s)
t=$(now)
run -k -j4 --timeout 200% 'sleep {}; echo {}' ::: 0.1 0.1 0.1 3
d=$(elapsed "$t")
check timeout.percent.output "0.1
0.1
0.1" "$OUT"
check_rc timeout.percent.status 1 "$RC"
check_le timeout.percent.prompt 2.5 "$d" s

# --- a job's own process exits but a background child keeps stdout open: no stall, and the
# leftover is ended with its process group (poolrun's rule: nothing outlives the run)
m5=$(marker 8415)
t=$(now)
run -k "sleep $m5 & echo started {}" ::: a
d=$(elapsed "$t")
check leftover.output "started a" "$OUT"
check_rc leftover.status 0 "$RC"
check_le leftover.prompt 3 "$d" s
check_cmd leftover.ended "a background child outlived poolrun" wait_gone 0.5 "$m5"
reap "$m5"

# --- SIGINT / SIGTERM to poolrun: every job tree ends within seconds, output already collected is
# printed, the reports are written, exit non-zero
for sig in INT TERM; do
  m6=$(marker 8416); m7=$(marker 8417)
  "$P" -j3 --json "sig$sig.json" ::: 'echo quick' "sh -c 'sleep $m6 & sleep $m6 & wait'" "sleep $m7" \
    >"sig$sig.out" 2>"sig$sig.err" &
  pid=$!
  wait_for 5 running "sleep $m7"
  wait_for 5 running "sleep $m6"
  sleep 0.3
  t=$(now); kill -$sig $pid
  if wait_exit 10 $pid; then
    d=$(elapsed "$t")
    check_cmd "sig$sig.nonzero" "exit status 0 after SIG$sig" test "$WRC" != 0
    check_le "sig$sig.prompt" 3 "$d" s
  else
    fail "sig$sig.stops" "poolrun still running 10 s after SIG$sig"; kill -9 $pid; wait $pid
  fi
  check_cmd "sig$sig.trees_killed" "job processes survived SIG$sig" wait_gone 0.5 "$m6" "$m7"
  check "sig$sig.collected_output_flushed" "quick" "$(cat "sig$sig.out")"
  check "sig$sig.json_written" "true signal" "$(jq -r '"\(.summary.interrupted) \(.summary.stop_reason)"' "sig$sig.json" 2>&1)"
  reap "$m6" "$m7"
done

# temp files of held-back output (-k behind a slow job, past the memory budget) are removed
# after SIGTERM too
m14=$(marker 8404)
mkdir -p tmp2
TMPDIR=$T/tmp2 "$P" -k -j2 ::: "sleep $m14" 'head -c 100000000 /dev/zero; echo done' >/dev/null 2>&1 &
pid=$!
wait_for 5 running "sleep $m14"
nonempty() { [ -n "$(ls -A "$1" 2>/dev/null)" ]; }
if wait_for 10 nonempty tmp2; then
  sleep 1
  kill -TERM $pid
  wait_exit 10 $pid || { kill -9 $pid; wait $pid; }
  check tempfiles.removed_after_sigterm "" "$(ls -A tmp2)"
else
  skip tempfiles.removed_after_sigterm "no temp file appeared under \$TMPDIR"
  kill -TERM $pid; wait_exit 10 $pid || { kill -9 $pid; wait $pid; }
fi
reap "$m14"

# Ctrl-C as a terminal sends it: SIGINT to poolrun's whole process group (own group via set -m)
m8=$(marker 8418)
set -m
"$P" -j2 "sleep $m8 & sleep $m8; : {}" ::: a b >/dev/null 2>&1 &
pid=$!
set +m
wait_for 5 running "sleep $m8"
sleep 0.3
t=$(now); kill -INT -- -$pid
if wait_exit 10 $pid; then
  check_cmd ctrl_c.nonzero "exit status 0 after Ctrl-C" test "$WRC" != 0
  check_le ctrl_c.prompt 3 "$(elapsed "$t")" s
else
  fail ctrl_c.stops "poolrun still running 10 s after Ctrl-C"; kill -9 $pid; wait $pid
fi
check_cmd ctrl_c.trees_killed "jobs survived Ctrl-C" wait_gone 0.5 "$m8"
reap "$m8"

# a second SIGINT ends at once, even while the termseq would still wait (jobs ignore TERM)
m9=$(marker 8419)
"$P" -j2 --termseq TERM,20000,KILL,25 "trap '' TERM; sleep $m9; : {}" ::: a b >/dev/null 2>&1 &
pid=$!
wait_for 5 running "sleep $m9"
sleep 0.3
kill -INT $pid
sleep 0.5
check_cmd second_int.first_waits "poolrun ended at once on the first SIGINT although its jobs ignore TERM and --termseq waits 20 s" kill -0 $pid
t=$(now); kill -INT $pid
if wait_exit 5 $pid; then
  check_le second_int.prompt 2 "$(elapsed "$t")" s
  check_cmd second_int.nonzero "exit status 0" test "$WRC" != 0
else
  fail second_int.stops "poolrun still running 5 s after the second SIGINT"; kill -9 $pid; wait $pid
fi
check_cmd second_int.jobs_killed "jobs survived the second SIGINT" wait_gone 1 "$m9"
reap "$m9"

# --- SIGHUP: running jobs finish, no new job starts. The first job says it has started, then
# waits (at most 10 s) for the file `go`, created after the SIGHUP.
rm -f go started
"$P" -j1 -k ::: 'touch started; for i in $(seq 200); do [ -e go ] && break; sleep 0.05; done; echo first' \
  'echo second' 'echo third' >hup.out 2>hup.err &
pid=$!
wait_for 5 test -e started
kill -HUP $pid
sleep 0.3
touch go
if wait_exit 15 $pid; then
  check hup.running_finished_no_new "first" "$(cat hup.out)"
else
  fail hup.stops "poolrun still running 15 s after SIGHUP"; kill -9 $pid; wait $pid
fi

# --- SIGKILL to poolrun: its jobs end within a second or so
m10=$(marker 8410)
"$P" -j2 "sleep $m10; : {}" ::: a b >/dev/null 2>&1 &
pid=$!
wait_for 5 running "sleep $m10"
sleep 0.3
kill -9 $pid; wait $pid 2>/dev/null
check_cmd sigkill.jobs_end "jobs outlived a SIGKILLed poolrun by more than 2 s" wait_gone 2 "$m10"
reap "$m10"
# ... also when it is killed the moment its first job exists (the guardian must be there before
# any job starts).
m15=$(marker 8420)
for round in 1 2 3; do
  "$P" -j1 "sleep $m15; : {}" ::: a >/dev/null 2>&1 &
  pid=$!
  wait_for 5 running "sleep $m15"
  kill -9 $pid; wait $pid 2>/dev/null
  check_cmd "sigkill_early[$round].jobs_end" "the job outlived poolrun SIGKILLed as it started" wait_gone 2 "$m15"
  reap "$m15"
done

# ... and when it is killed while it starts jobs: the job whose launch had not returned yet (its pid
# unknown to poolrun; spawn waits for the exec) is found by the guardian too.
m16=$(marker 8421)
for d in 0.005 0.01 0.02 0.04; do
  "$P" -j30 "sleep $m16; : {}" ::: $(seq 30) >/dev/null 2>&1 &
  pid=$!
  sleep $d
  kill -9 $pid; wait $pid 2>/dev/null
  check_cmd "sigkill_launching[$d].jobs_end" "a job outlived poolrun SIGKILLed while it started jobs" wait_gone 2 "$m16"
  reap "$m16"
done

# --- EPIPE: the reader goes away; poolrun stops promptly and quietly, in every mode where poolrun
# itself writes the output (with -u the jobs write straight to the pipe and poolrun never sees
# EPIPE; GNU parallel -u then runs every job too)
for mode in -k group --line-buffer; do
  args=(); [ $mode != group ] && args=($mode)
  t=$(now)
  out=$(seq 100000 | timeout 60 "$P" "${args[@]}" -j2 echo 2>"epipe.err" | head -1)
  d=$(elapsed "$t")
  check_match "epipe[$mode].first_line" '^[0-9]+$' "$out"
  check_le "epipe[$mode].prompt" 5 "$d" s
  check "epipe[$mode].quiet" "" "$(cat epipe.err)"
done

# endless input, closed output: poolrun stops reading and ends
t=$(now)
out=$(yes x | timeout 30 "$P" -j2 echo 2>/dev/null | head -3)
check epipe.endless_input.lines "x
x
x" "$out"
check_le epipe.endless_input.prompt 5 "$(elapsed "$t")" s

# endless output into a closed pipe (--line-buffer passes it on as it comes): the running jobs are
# ended, nothing is left behind
m11=$(marker 8401)
t=$(now)
timeout 30 "$P" --line-buffer -j2 "yes {}; sleep $m11" ::: a b c d 2>/dev/null | head -c 10 >/dev/null
d=$(elapsed "$t")
check_le epipe.endless_output.prompt 5 "$d" s
check_cmd epipe.endless_output.nothing_left "job processes survived poolrun's EPIPE exit" wait_gone 1 "$m11"
reap "$m11"

# --- no zombie while running, no orphan afterwards
m12=$(marker 8402)
"$P" -j4 ::: true true 'sleep 0.1' "sleep $m12" >/dev/null 2>&1 &
pid=$!
wait_for 5 running "sleep $m12"
sleep 1
check zombies.none_while_running "" "$(zombies_of $pid)"
kill -TERM $pid
wait_exit 10 $pid || { kill -9 $pid; wait $pid; }
check_cmd orphans.none_after_run "processes outlived poolrun" wait_gone 1 "$m12"
reap "$m12"

# many short jobs: every one reaped (no zombies pile up), all outputs present
m13=$(marker 8403)
seq 500 | "$P" -j4 "true {}" >/dev/null 2>&1
"$P" -j8 ::: $(for i in $(seq 40); do echo true; done) "sleep $m13" >/dev/null 2>&1 &
pid=$!
wait_for 5 running "sleep $m13"
sleep 0.5
check zombies.none_after_many "" "$(zombies_of $pid)"
kill -TERM $pid
wait_exit 10 $pid || { kill -9 $pid; wait $pid; }
reap "$m13"

# A reader that never reads: poolrun blocked on its stdout still hears signals; the second
# SIGTERM ends it (the output it could not deliver is dropped).
mkfifo stuck
sleep "$(marker 8399)" < stuck &
holder=$!
"$P" -j2 "head -c 1000000 /dev/zero; sleep $(marker 8398)" ::: 1 2 > stuck 2>/dev/null &
pr=$!
sleep 1.5
kill -TERM "$pr"; sleep 0.5; kill -TERM "$pr"
t=$(now)
wait_exit 5 "$pr" >/dev/null 2>&1
gone=$(kill -0 "$pr" 2>/dev/null && echo alive || echo gone)
check blocked_stdout.second_term_ends "gone" "$gone"
kill -9 "$pr" "$holder" 2>/dev/null
wait 2>/dev/null
check blocked_stdout.jobs_gone "" "$(pids_of "$(marker 8398)")"
# The forkserver's server dies (forkserver only): one line saying so, the jobs ended, exit 255.
if [ "${POOLRUN_START_METHOD:-}" = forkserver ]; then
  m17=$(marker 8422)
  "$P" -j2 sleep ::: "$m17" "$m17" "$m17" "$m17" >"$T/fsrv.out" 2>"$T/fsrv.err" &
  pr=$!
  wait_for 5 running "sleep $m17"
  srv=$(pgrep -x -P "$pr" poolrun-fsrv)
  check_match fsrv_dies.server_found "^[0-9]+$" "$srv"
  kill -9 $srv
  wait_exit 10 "$pr"
  check_rc fsrv_dies.rc 255 "$WRC"
  check fsrv_dies.one_error_line 1 "$(grep -c 'error' "$T/fsrv.err" | tr -d ' ')"
  check_match fsrv_dies.names_it "forkserver" "$(grep error "$T/fsrv.err")"
  check fsrv_dies.jobs_gone "" "$(wait_gone 5 "sleep $m17"; pids_of "sleep $m17")"
  reap "$m17"
fi
# --- a --termseq sequence runs against the job's process group until the group is empty, not
# until the job's own process dies. The job's shell dies at the first TERM, the program it runs
# catches TERM and lives on in the group: GNU parallel sends it TERM three times with
# TERM,200,TERM,100,TERM,50,KILL,25, and so must poolrun, in every way a job is ended. The run
# waits for the sequence (0.35 s before the KILL), and no longer than it says. Except in the -u
# repro, the catcher writes to a file of its own, so the job (or worker) is done with its output
# when its shell dies: only the group is left.
TS=TERM,200,TERM,100,TERM,50,KILL,25
cat >catcher.pl <<'PERL'
$SIG{TERM} = sub { print STDERR "got TERM\n" }; sleep 1 while 1;
PERL
# termseq_checks NAME ERRFILE SECONDS MIN_SECONDS MARKER
# Three TERMs reach the catcher; two may merge into one when it is not scheduled between them
# (a loaded machine): then the count says nothing either way. Without the sequence it sees one.
termseq_checks() {
  local n; n=$(grep -c 'got TERM' "$2")
  if [ "$n" = 2 ]; then skip "termseq.group.$1.terms" "two TERMs merged (the catcher was not scheduled in between)"
  else check "termseq.group.$1.terms" 3 "$n"; fi
  check_ge "termseq.group.$1.waits_for_the_sequence" "$4" "$3" s
  check_le "termseq.group.$1.prompt" "$(awk -v m="$4" 'BEGIN{print m + 3}')" "$3" s
  check_cmd "termseq.group.$1.killed" "the program that catches TERM outlived the run" wait_gone 0.5 "$5"
  reap "$5"
}
m=$(marker 8422)
t=$(now)
run --termseq $TS -u --timeout 1 "perl catcher.pl $m; echo after {}" ::: a
d=$(elapsed "$t")
check_rc termseq.group.timeout-u.status 1 "$RC"
check_nomatch termseq.group.timeout-u.shell_died '^after' "$OUT"
termseq_checks timeout-u "$T/err" "$d" 1.3 "$m"
t=$(now)
run --termseq $TS --timeout 1 "perl catcher.pl $m >/dev/null 2>caught.timeout; echo after {}" ::: a
d=$(elapsed "$t")
check_rc termseq.group.timeout.status 1 "$RC"
termseq_checks timeout caught.timeout "$d" 1.3 "$m"

m=$(marker 8423)
t=$(now)
run -j2 --halt now,fail=1 --termseq $TS ::: 'sleep 0.3; exit 1' "perl catcher.pl $m >/dev/null 2>caught.halt; echo after"
d=$(elapsed "$t")
check_rc termseq.group.halt_now.status 1 "$RC"
termseq_checks halt_now caught.halt "$d" 0.6 "$m"

m=$(marker 8424)
printf '{"jobs": [{"name": "c", "cmd": "perl catcher.pl %s >/dev/null 2>caught.batch; echo after", "timeout": "500ms"}]}\n' "$m" >catcher.json
t=$(now)
run batch --termseq $TS catcher.json
d=$(elapsed "$t")
check_rc termseq.group.batch.status 1 "$RC"
termseq_checks batch caught.batch "$d" 0.8 "$m"

# SIGTERM to poolrun: the main job, and --map (whose worker got a record and never answers)
m=$(marker 8425)
"$P" --termseq $TS -u "perl catcher.pl $m; echo after {}" ::: a >sigseq.out 2>sigseq.err &
pid=$!
# term_group NAME CAUGHT_FILE: once the catcher runs, SIGTERM to poolrun ($pid); it must exit 255
# within seconds after taking the catcher's group through the whole termseq.
term_group() {
  wait_for 5 running "perl catcher.pl $m"
  sleep 0.2
  t=$(now); kill -TERM $pid
  if wait_exit 10 $pid; then
    check_rc termseq.group.$1.status 255 "$WRC"
    termseq_checks "$1" "$2" "$(elapsed "$t")" 0.3 "$m"
  else
    fail termseq.group.$1.stops "poolrun still running 10 s after SIGTERM"; kill -9 $pid; wait $pid
  fi
}
term_group sigterm sigseq.err

m=$(marker 8426)
mkfifo mapseq.in
"$P" --map --termseq $TS "perl catcher.pl $m >/dev/null 2>caught.map; echo after" <mapseq.in >mapseq.out 2>mapseq.err &
pid=$!
exec 7>mapseq.in
echo 1 >&7
term_group map caught.map
exec 7>&-

# A group that empties at the first signal ends the wait at once, however long the sequence
# would wait (one process: no orphan whose reaping is up to init).
m=$(marker 8427)
t=$(now)
run --termseq TERM,5000,KILL,25 -u --timeout 0.3 "exec sleep $m; : {}" ::: a
d=$(elapsed "$t")
check_rc termseq.group.gone.status 1 "$RC"
check_le termseq.group.gone.prompt 3 "$d" s
reap "$m"

finish
