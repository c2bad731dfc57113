# --results, --resume, --resume-failed and --retry-failed (GNU parallel's meaning).
source "$(dirname "$0")/lib.sh"

# --results: DIR/1/<value>/2/<value>/{stdout,stderr,seq}, "/" in a value written as "\_".
"$P" --results res -k 'echo out {1}{2}; echo err >&2' ::: a 'b/c' ::: 1 > /dev/null 2>&1
check results.stdout "out a1" "$(cat res/1/a/2/1/stdout 2>&1)"
check results.stderr "err" "$(cat res/1/a/2/1/stderr 2>&1)"
check results.seq "2" "$(cat 'res/1/b\_c/2/1/seq' 2>&1)"
check results.slash "out b/c1" "$(cat 'res/1/b\_c/2/1/stdout' 2>&1)"
# A value longer than a file name may be: nested directories of 255 bytes at most, nothing lost.
long=$(printf 'v%.0s' $(seq 600))
"$P" --results longres echo {} ::: "$long" > /dev/null 2>&1
check results.long.status 0 "$?"
check results.long.stdout "$long" "$(cat "longres/1/${long:0:255}/${long:255:255}/${long:510}/stdout" 2>&1)"

# A run killed with SIGKILL mid-way, then --resume: every job runs once in all, none is logged twice.
seq 12 > items
( "$P" -j2 --joblog jl 'sleep 0.3; echo {} >> ran' :::: items > /dev/null 2>&1 & echo $! > pid; wait ) &
sleep 1.1
kill -9 "$(cat pid)" 2>/dev/null
sleep 1  # the guardian ends the killed run's jobs
before=$(tail -n +2 jl | wc -l)
check_ge resume.some_done 1 "$before"
check_le resume.not_all_done 11 "$before"
"$P" -j2 --joblog jl --resume 'sleep 0.3; echo {} >> ran' :::: items > /dev/null 2>&1
check_rc resume.status 0 $?
check resume.logged_once "12 0" "$(tail -n +2 jl | wc -l) $(tail -n +2 jl | cut -f1 | sort -n | uniq -d | wc -l)"
check resume.all_seqs "$(seq 12 | tr '\n' ' ')" "$(tail -n +2 jl | cut -f1 | sort -n | tr '\n' ' ')"
# A job killed together with poolrun may have written before it died; every item ran at least once.
check resume.every_item "$(seq 12 | tr '\n' ' ')" "$(sort -n ran | uniq | tr '\n' ' ')"

# --resume-failed reruns only the failed ones; --retry-failed reruns the joblog's failed commands.
rm -f jl2 log
"$P" -j1 --joblog jl2 'echo {} >> log; exit {}' ::: 0 1 0 2 > /dev/null 2>&1
check_rc resume_failed.first 2 $?
"$P" -j1 --joblog jl2 --resume-failed 'echo {} >> log; exit 0' ::: 0 1 0 2 > /dev/null 2>&1
check_rc resume_failed.second 0 $?
check resume_failed.reran "0 1 0 2 1 2" "$(tr '\n' ' ' < log | sed 's/ $//')"
rm -f jl3 log
"$P" -j1 --joblog jl3 'echo {} >> log; exit {}' ::: 0 3 > /dev/null 2>&1
"$P" -j1 --joblog jl3 --retry-failed > /dev/null 2>&1
check_rc retry_failed.status 1 $?
check retry_failed.reran "0 3 3" "$(tr '\n' ' ' < log | sed 's/ $//')"
check retry_failed.logged "1 2 2" "$(tail -n +2 jl3 | cut -f1 | tr '\n' ' ' | sed 's/ $//')"

# --retry-failed reruns exactly the command that ran, tabs and newlines in its values included:
# the joblog writes a newline as NUL (as GNU parallel's print_joblog) and a tab as it is.
tab=$(printf 'a\tb'); nl=$(printf 'c\nd')
rm -f jl5
run -j1 --joblog jl5 'printf "%s|" {} >>ran5; exit 1' ::: "$tab" "$nl" 'e  f'
check_rc retry_exact.first 3 "$RC"
check retry_exact.joblog_newline_as_nul "printf \"%s|\" 'c"$'\x01'"d' >>ran5; exit 1" \
  "$(sed -n 3p jl5 | cut -f9- | tr '\0' '\001')"
check retry_exact.joblog_tab_kept "printf \"%s|\" 'a"$'\t'"b' >>ran5; exit 1" "$(sed -n 2p jl5 | cut -f9-)"
: >ran5
run -j1 --joblog jl5 --retry-failed
check_rc retry_exact.rerun 3 "$RC"
check retry_exact.same_values "${tab}|${nl}|e  f|" "$(cat ran5)"
# GNU parallel reads poolrun's joblog the same way: the rerun it makes is the same.
if command -v parallel >/dev/null; then
  head -4 jl5 >jl5g
  : >ran5
  parallel -j1 --joblog jl5g --retry-failed >/dev/null 2>&1
  check retry_exact.gnu_reads_it "${tab}|${nl}|e  f|" "$(cat ran5)"
fi

# A joblog whose last row was cut short (a full disk, a kill): the row's job counts as not run,
# the partial line is dropped with a warning before anything is appended, and nothing runs twice.
printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n1\t:\t1700000000.000\t    0.001\t0\t2\t0\t0\techo 1 >>ran6\n2\t:\t17000' >jl6
: >ran6
run -j1 --resume --joblog jl6 'echo {} >>ran6' ::: 1 2 3
check_rc partial_line.resume 0 "$RC"
check partial_line.reruns_cut_job "$(printf '2\n3')" "$(cat ran6)"
check_match partial_line.warns "^poolrun: warning: jl6: dropped a partial last line \(9 bytes" "$ERR"
check partial_line.whole_rows "1 2 3" "$(tail -n +2 jl6 | cut -f1 | tr '\n' ' ' | sed 's/ $//')"
run -j1 --resume --joblog jl6 'echo {} >>ran6' ::: 1 2 3 4
check partial_line.second_resume_runs_only_new "$(printf '2\n3\n4')" "$(cat ran6)"
check partial_line.second_resume_quiet "" "$ERR"

# Without --joblog these options are a usage error.
run --resume echo ::: a
check_rc resume.needs_joblog 255 "$RC"
finish
