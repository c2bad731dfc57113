#!/usr/bin/env bash
# The bug cases of ../shared/cases (C01-C13), restated as our own tests. Each case is a failure users
# reported against another parallel runner; GNU parallel passes them all. Sleep markers 8391-8399
# (with this process's id) keep these processes apart from check.sh's and from other tests'.
. "$(dirname "$0")/lib.sh"

# C01: --timeout ends the job's whole process tree, background children included; each timed-out
# job has failed (exit 2 for two).
m1=$(marker 8391); m2=$(marker 8392)
t=$(now)
run --timeout 1 "sh -c \"sleep $m1 & sleep $m2 & wait\"" ::: a b
d=$(elapsed "$t")
check_rc C01.status 2 "$RC" "two jobs timed out"
check_cmd C01.tree_killed "background children of timed-out jobs still run after poolrun exited" wait_gone 0.5 "$m1" "$m2"
check_le C01.prompt 4 "$d" s
reap "$m1" "$m2"

# C02: the timeout also ends a grandchild whose parent has already exited (same process group).
m3=$(marker 8393); m4=$(marker 8394)
run --timeout 1 "sh -c \"(sleep $m3 &); sleep $m4\"" ::: a
check_rc C02.status 1 "$RC"
check_cmd C02.orphan_killed "the orphaned grandchild survived the timeout" wait_gone 0.5 "$m3" "$m4"
reap "$m3" "$m4"

# C03: a background grandchild holding stdout open does not stall the run once the job's own
# process has exited.
m5=$(marker 8395)
t=$(now)
RUN_TIMEOUT=20 run "sleep $m5 & echo started" ::: a
d=$(elapsed "$t")
check C03.output "started a" "$OUT"
check_rc C03.status 0 "$RC"
check_le C03.prompt 3 "$d" s
reap "$m5"

# C04/C05: SIGINT or SIGTERM to poolrun ends every running job tree within seconds; exit non-zero.
# (Sent to poolrun alone, started in the background of this non-interactive shell.)
for sig in INT TERM; do
  name=C04; [ $sig = TERM ] && name=C05
  m6=$(marker 8396); m7=$(marker 8397)
  "$P" -j2 "sh -c \"sleep $m6 & sleep $m7 & wait\"" ::: a b >/dev/null 2>"$T/err.$sig" &
  pid=$!
  wait_for 5 running "sleep $m7"   # the jobs are running
  sleep 0.3
  t=$(now); kill -$sig $pid
  wait_exit 10 $pid; d=$(elapsed "$t")
  if [ "$WRC" = timeout ]; then
    fail $name.stops "poolrun still running 10s after SIG$sig"; kill -9 $pid; wait $pid
  else
    check_cmd $name.nonzero "exit status 0 after SIG$sig" test "$WRC" != 0
    check_le $name.prompt 3 "$d" s
  fi
  check_cmd $name.trees_killed "job processes survived SIG$sig to poolrun" wait_gone 0.5 "$m6" "$m7"
  reap "$m6" "$m7"
done

# C06: output with no newline at all passes byte-exact in grouped, -k, --line-buffer and -u modes.
head -c 1000000 /dev/urandom | tr -d '\n' >bin
for mode in group -k --line-buffer -u; do
  args=(); [ $mode != group ] && args=($mode)
  echo bin | timeout 30 "$P" "${args[@]}" cat {} >got 2>/dev/null
  check_file "C06.bytes[$mode]" bin got
done

# C07: grouped output keeps each job's lines together; --line-buffer keeps every line whole;
# nothing is lost.
job='z=$(printf %0100d 0); for i in $(seq 2000); do echo "job{} line $i $z"; done'
seq 8 | timeout 60 "$P" -j8 "$job" >g 2>/dev/null
seq 8 | timeout 60 "$P" -j8 --line-buffer "$job" >l 2>/dev/null
check C07.grouped_lines_whole 0 "$(grep -cvE '^job[1-8] line [0-9]+ 0{100}$' g)"
check C07.linebuffer_lines_whole 0 "$(grep -cvE '^job[1-8] line [0-9]+ 0{100}$' l)"
check C07.grouped_not_interleaved 8 "$(awk '{print $1}' g | uniq | wc -l)"
check C07.grouped_count 16000 "$(wc -l <g)"
check C07.linebuffer_count 16000 "$(wc -l <l)"
# every job's lines, in each mode, arrive exactly once and in the job's own order
for f in g l; do
  bad=0
  for j in 1 2 3 4 5 6 7 8; do
    [ "$(grep "^job$j " $f | awk '{print $3}' | tr '\n' ' ')" = "$(seq 2000 | tr '\n' ' ')" ] || bad=$((bad + 1))
  done
  check "C07.per_job_complete[$f]" 0 "$bad"
done

# C08: the last item without a trailing newline is kept, even when it is "0".
a=$(printf 0 | timeout 30 "$P" echo 2>/dev/null)
b=$(printf 'first\nsecond' | timeout 30 "$P" -k echo 2>/dev/null)
check C08.zero 0 "$a"
check C08.two "first
second" "$b"

# C09: a placeholder inside the data is never expanded again.
out=$(printf 'a{},b{{}},c{d}' | timeout 30 "$P" -d , -k echo {} 2>/dev/null)
check C09 "a{}
b{{}}
c{d}" "$out"

# C10: quotes, spaces, $(...), backticks, ;, tabs, a leading - in items: one literal argument each;
# nothing from the data runs.
mkdir c10 && cd c10
out=$(printf '"\0it'"'"'s\0a  b\0-n\0$(touch PWNED)\0`touch PWNED2`\0;touch PWNED3\0t\tab\0' |
  timeout 30 "$P" -0 -k printf '[%s]\\n' {} 2>/dev/null)
check C10.args '["]
[it'"'"'s]
[a  b]
[-n]
[$(touch PWNED)]
[`touch PWNED2`]
[;touch PWNED3]
[t	ab]' "$out"
check C10.nothing_ran "" "$(ls)"
cd "$T"

# C11: jobs never read poolrun's input: their stdin is /dev/null when the items come from stdin.
out=$(printf 'a\nb\nc\n' | timeout 30 "$P" -k 'cat; echo {}' 2>/dev/null)
check C11 "a
b
c" "$out"

# C12: the reader goes away (head -1): poolrun stops promptly instead of running every job.
t=$(now)
out=$(seq 100000 | timeout 60 "$P" -k -j2 echo 2>/dev/null | head -1)
d=$(elapsed "$t")
check C12.first_line 1 "$out"
check_le C12.prompt 5 "$d" s

# C13: replacement strings work on multi-byte UTF-8 names.
out=$(timeout 30 "$P" -k echo {.} {/} ::: '中国.(中国)' 'dir/файл.txt' 2>/dev/null)
check C13 "中国 中国.(中国)
dir/файл файл.txt" "$out"

finish
