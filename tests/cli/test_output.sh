#!/usr/bin/env bash
# Output: grouping, -k, --line-buffer, -u, --tag, --tagstring, stdout before stderr, large and
# binary output byte-exact in every mode, held-back output spilling to private temp files, and
# --dry-run printing commands a shell can run.
. "$(dirname "$0")/lib.sh"

MODES=(group -k --line-buffer -u)
mode_args() { [ "$1" = group ] && return; printf '%s\n' "$1"; }

# --- grouped output never mixes: four jobs print 300 lines each, slowly, at the same time
job='for i in $(seq 300); do echo "job{} out $i"; echo "job{} err $i" >&2; case $i in *0) sleep 0.01;; esac; done'
RUN_TIMEOUT=60 run -j4 "$job" ::: 1 2 3 4
check_rc group.status 0 "$RC"
check group.stdout_blocks 4 "$(awk '{print $1}' "$T/out" | uniq | wc -l)"
check group.stderr_blocks 4 "$(awk '{print $1}' "$T/err" | uniq | wc -l)"
check group.stdout_lines 1200 "$(grep -cE '^job[1-4] out [0-9]+$' "$T/out")"
check group.stderr_lines 1200 "$(grep -cE '^job[1-4] err [0-9]+$' "$T/err")"
bad=0
for j in 1 2 3 4; do
  [ "$(grep "^job$j " "$T/out" | awk '{print $3}' | md5sum)" = "$(seq 300 | md5sum)" ] || bad=$((bad + 1))
done
check group.each_job_in_order 0 "$bad"

# A job that prints "early", then waits (at most 10 s) for the file `go` that the test creates
# once it has looked at the output, then prints "late". No timing guesses.
STEPJOB='echo early; for i in $(seq 200); do [ -e go ] && break; sleep 0.05; done; echo late; : {}'

# grouped: nothing of a job appears before it ends
rm -f go
"$P" "$STEPJOB" ::: x >gl 2>/dev/null &
pid=$!
sleep 1
check group.held_until_end "" "$(cat gl)"
touch go
wait_exit 15 $pid
check group.whole_at_end "early
late" "$(cat gl)"

# --- -k: input order, jobs still run in parallel
t=$(now)
run -k -j4 'sleep {}; echo {}; echo e{} >&2' ::: 1.6 1.2 0.8 0.4
d=$(elapsed "$t")
check keep_order.stdout "1.6
1.2
0.8
0.4" "$OUT"
check keep_order.stderr "e1.6
e1.2
e0.8
e0.4" "$ERR"
check_le keep_order.parallel 3 "$d" s

run -j4 'sleep {}; echo {}' ::: 1.6 1.2 0.8 0.4
check no_keep_order.completion_order "0.4
0.8
1.2
1.6" "$OUT"

seq 300 | RUN_TIMEOUT=60 run -k -j8 'echo {}; sleep 0.0{}'
check keep_order.many "$(seq 300)" "$OUT"

# few file descriptors (ulimit -n 30) and -j100: fewer jobs at once, one warning, all in order
(ulimit -n 30 && seq 200 | timeout 60 "$P" -k -j100 echo >fd.out 2>fd.err)
check fd_limit.all_in_order "$(seq 200)" "$(cat fd.out)"
check_le fd_limit.at_most_one_warning 1 "$(grep -c . fd.err)" " lines"

# --- --line-buffer: whole lines, interleaved between jobs
job='for i in $(seq 40); do printf "job{} "; sleep 0.01; printf "line "; printf "%s\n" $i; done'
RUN_TIMEOUT=60 run -j4 --line-buffer "$job" ::: 1 2 3 4
check linebuffer.lines_whole 0 "$(grep -cvE '^job[1-4] line [0-9]+$' "$T/out")"
check linebuffer.count 160 "$(wc -l <"$T/out")"
check_ge linebuffer.interleaved 5 "$(awk '{print $1}' "$T/out" | uniq | wc -l)" " runs of lines"
bad=0
for j in 1 2 3 4; do
  [ "$(grep "^job$j " "$T/out" | awk '{print $3}' | md5sum)" = "$(seq 40 | md5sum)" ] || bad=$((bad + 1))
done
check linebuffer.each_job_in_order 0 "$bad"

# --line-buffer and -u pass lines on while the job is still running
for mode in --line-buffer -u; do
  rm -f go
  "$P" $mode "$STEPJOB" ::: x >lb 2>/dev/null &
  pid=$!
  wait_for 5 grep -qs early lb
  check "streams[$mode].early_line_now" "early" "$(cat lb)"
  touch go
  wait_exit 15 $pid
  check "streams[$mode].all_at_end" "early
late" "$(cat lb)"
done

# a partial line is printed when its job ends, even without a newline (--line-buffer)
run --line-buffer -k 'printf "a{}"; sleep 0.2; printf "b{}"' ::: 1
check linebuffer.partial_line_at_end "a1b1" "$OUT"

# -u: the job's bytes, unchanged
run -u -j1 -k 'echo u{}; echo v{} >&2' ::: 1 2
check ungroup.stdout "u1
u2" "$OUT"
check ungroup.stderr "v1
v2" "$ERR"

# --- --tag and --tagstring
run -k --tag 'echo x; echo y; : {}' ::: a b
check tag.lines "a	x
a	y
b	x
b	y" "$OUT"

# several values: poolrun separates them with tabs (docs/gnu-parallel.md; GNU parallel: spaces)
run -k --tag echo ::: a b ::: 1
check tag.two_sources "a	1	a 1
b	1	b 1" "$OUT"

run -k --tag 'echo e >&2; : {}' ::: a
check tag.stderr "a	e" "$ERR"

run -k --tagstring '<{}>' echo x ::: a b
check tagstring.item "<a>	x a
<b>	x b" "$OUT"

run -k --tagstring '{#}:{2}' echo ::: a b ::: 1
check tagstring.seq_positional "1:1	a 1
2:1	b 1" "$OUT"

run -k --line-buffer --tag 'echo p; echo q; : {}' ::: z
check tag.line_buffer "z	p
z	q" "$OUT"

# --- each job: its stdout, then its stderr
run -j1 -k 'echo out1 {}; echo err1 {} >&2; echo out2 {}' ::: a b
check stdout_stderr.split_stdout "out1 a
out2 a
out1 b
out2 b" "$OUT"
check stdout_stderr.split_stderr "err1 a
err1 b" "$ERR"
timeout 30 "$P" -j2 -k 'echo out1 {}; echo err1 {} >&2; sleep 0.1; echo out2 {}; echo err2 {} >&2' ::: a b >both 2>&1
check stdout_stderr.same_file "out1 a
out2 a
err1 a
err2 a
out1 b
out2 b
err1 b
err2 b" "$(cat both)"

# --- large output (50 MB from one job), byte-exact in every mode
head -c 50000000 /dev/urandom >big
for mode in "${MODES[@]}"; do
  timeout 60 "$P" $(mode_args $mode) cat {} ::: big >got 2>/dev/null
  check_file "large[$mode]" big got
done
# and through the stdin source and a pipe
echo big | timeout 60 "$P" -k cat | md5sum >sum.got
check large.to_pipe "$(md5sum <big)" "$(cat sum.got)"

# --- short jobs that fill their pipes before poolrun reads them: each of 40 jobs writes 200 KiB to
# stdout and 70 KiB to stderr at once (more than a pipe holds), then exits. Nothing lost or mixed.
quick='yes {} | head -c 204800; yes {} | head -c 71680 >&2'
for mode in group -k; do
  timeout 60 "$P" $(mode_args $mode) -j4 "$quick" ::: $(seq 100 139) >got 2>got.err
  check "quick_full_pipes.stdout_bytes[$mode]" $((40 * 204800)) "$(wc -c <got)"
  check "quick_full_pipes.stderr_bytes[$mode]" $((40 * 71680)) "$(wc -c <got.err)"
  # each job's lines ("NNN", 4 bytes each) in one block
  check "quick_full_pipes.blocks[$mode]" "40 40" "$(uniq got | wc -l) $(uniq got.err | wc -l)"
done
# --- a job whose background child writes after the job exited (within the 1 s grace): both
# lines belong to the job, in order
run 'sh -c "(sleep 0.3; echo late {}) & echo early {}"' ::: x
check late_writer.status 0 "$RC"
check late_writer.output "early x
late x" "$OUT"

# --- binary output (NULs, no final newline), byte-exact in every mode
head -c 2000000 /dev/urandom >bin
printf 'no newline at all' >tail.bin
for mode in "${MODES[@]}"; do
  timeout 30 "$P" $(mode_args $mode) -j2 cat {} ::: bin >got 2>/dev/null
  check_file "binary[$mode]" bin got
  timeout 30 "$P" $(mode_args $mode) -j1 cat {} ::: tail.bin tail.bin >got 2>/dev/null
  cat tail.bin tail.bin >want
  check_file "binary_no_newline_two_jobs[$mode]" want got
done

# --- held-back output beyond the memory budget: -k holds three 50 MB outputs behind a slow
# first job; everything arrives in order, temp files are private and removed afterwards.
mkdir -p tmp
TMPDIR=$T/tmp /usr/bin/time -f %M -o rss timeout 60 "$P" -k -j4 ::: 'sleep 1.5; echo first' 'cat big' 'cat big' 'cat big' >held 2>held.err &
pid=$!
sleep 1
perm=$(find "$T/tmp" -mindepth 1 -type d -printf '%m\n' 2>/dev/null | sort -u | tr '\n' ' ')
fperm=$(find "$T/tmp" -type f -printf '%m\n' 2>/dev/null | sort -u | tr '\n' ' ')
wait $pid
{ echo first; cat big big big; } | md5sum >want.sum
check held.bytes "$(cat want.sum)" "$(md5sum <held)"
if [ -n "$perm" ]; then
  check held.tempdir_private "700 " "$perm"
  [ -n "$fperm" ] && check held.tempfiles_private "600 " "$fperm"
else
  skip held.tempdir_private "no temp directory seen under \$TMPDIR while output was held"
fi
check held.tempdir_removed "" "$(ls -A "$T/tmp")"
if grep -q __asan_init "$P" 2>/dev/null; then
  skip held.memory_bounded "sanitizer build: RSS includes the sanitizer's own memory"
elif [ -s rss ]; then
  check_le held.memory_bounded 130000 "$(tail -1 rss)" " KiB max RSS while holding 150 MB"
fi

# --- --dry-run prints commands a shell runs to the same effect, and runs nothing
mkdir dry && cd dry
items=('a b' "it's" '$(touch PWNED)' '`touch PWNED2`' '*' '~' 'x;y' 'tab	in' '"q"' '\' '')
timeout 30 "$P" --dry-run -k "printf '[%s]\\n'" {} ::: "${items[@]}" >../dry.cmds 2>/dev/null
check dry_run.one_line_per_job "${#items[@]}" "$(wc -l <../dry.cmds)"
sh ../dry.cmds >../dry.viash 2>&1
timeout 30 "$P" -k "printf '[%s]\\n'" {} ::: "${items[@]}" >../dry.real 2>&1
check_file dry_run.same_effect ../dry.real ../dry.viash
check dry_run.expected_output "$(for i in "${items[@]}"; do printf '[%s]\n' "$i"; done)" "$(cat ../dry.viash)"
check dry_run.nothing_ran "" "$(ls -A)"
timeout 30 "$P" --dry-run touch ran ::: a >../dry.touch 2>/dev/null
check_cmd dry_run.did_not_run "--dry-run ran the command" test ! -e ran
check_match dry_run.prints_command '^touch ran a$' "$(cat ../dry.touch)"
timeout 30 "$P" --dry-run -k "echo {} | tr a-z A-Z" ::: 'x y' >../dry.pipe 2>/dev/null
check dry_run.shell_syntax "X Y" "$(sh ../dry.pipe)"
timeout 30 "$P" --dry-run ::: 'echo a && echo b' >../dry.nocmd 2>/dev/null
check dry_run.no_command "a
b" "$(sh ../dry.nocmd)"
cd "$T"

finish
