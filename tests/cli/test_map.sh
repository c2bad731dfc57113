#!/usr/bin/env bash
# --map: a persistent worker pool streaming records through -j workers in chunks (Python's
# Pool.imap for programs). Order across chunks and workers, --unordered, chunksizes, workers that
# buffer their output, workers that die (retries, failed ranges, exit status), --max-tasks-per-
# worker, --init, reports, signals, no zombies or orphans. Runs once per start method.
# Sleep markers 8501-8509 (with this process's id).
. "$(dirname "$0")/lib.sh"

DOUBLE='awk "{print \$1*2}"'
seq 1 5000 >in.txt
awk '{print $1*2}' in.txt >want.txt

# --- order is preserved across chunks and workers, whatever the chunksize
for cs in 1 7 1000 100000; do
  run --map -j3 --chunksize $cs -a in.txt "$DOUBLE"
  check_file "order.chunksize$cs" want.txt "$T/out"
  check_rc "order.chunksize$cs.status" 0 "$RC"
done
# the default chunksize (a regular file: records/(4*workers)) and a stream (adaptive), via stdin
run --map -j4 --jsonl d.jsonl -a in.txt "$DOUBLE"
check_file order.default_file want.txt "$T/out"
check order.default_file.chunksize 313 "$(jq -r 'select(.summary).summary.chunksize' d.jsonl)"
cat in.txt | run --map -j2 "$DOUBLE"
check_file order.stream want.txt "$T/out"
# workers that take different times per record still give input order
seq 1 40 | run --map -j4 --chunksize 3 'while read x; do [ $((x % 7)) = 0 ] && sleep 0.05; echo $x; done'
check order.uneven "$(seq 1 40)" "$OUT"
# a command of several words is run directly (no shell)
seq 1 5 | run --map -j2 --chunksize 2 sed -e 's/^/r/'
check order.direct_exec "r1 r2 r3 r4 r5" "$(echo $OUT)"

# --- --unordered: the same multiset of results, in completion order
seq 1 300 | run --map -j3 --chunksize 4 --unordered 'while read x; do [ $((x % 11)) = 0 ] && sleep 0.02; echo $((x*2)); done'
check unordered.multiset "$(seq 1 300 | awk '{print $1*2}' | sort -n)" "$(sort -n "$T/out")"
check_rc unordered.status 0 "$RC"

# --- record delimiters: -0 and -d; the last record without its delimiter still counts
printf 'a b\0c\0d' | run --map -j2 --chunksize 1 -0 'tr a-z A-Z'
check delim.null "$(printf 'A B\0C\0D\0' | od -c)" "$(od -c <"$T/out")"
printf 'x;y;z' | run --map -j2 --chunksize 2 -d ';' 'tr a-z A-Z'
check delim.custom "X;Y;Z;" "$OUT"

# --- workers that buffer their output until their buffer fills or their input ends
# (awk and sed block-buffer into a pipe): chunksize 1 still completes, in order, promptly
t=$(now)
seq 1 3000 | run --map -j2 --chunksize 1 'awk "{print \$1*2}"'
check buffering.awk "$(seq 1 3000 | awk '{print $1*2}')" "$OUT"
check_le buffering.awk.prompt 10 "$(elapsed "$t")" s
# a worker that prints nothing until EOF (sort-like; outside the contract's spirit, but it must not
# hang): its stdin is closed at the end of input and it answers then
seq 1 50 | run --map -j2 --chunksize 5 'sed -n "H;\${x;s/^\n//;p;}"'
check buffering.until_eof "$(seq 1 50)" "$OUT"
# a slow stream (records arrive one by one) with a buffering worker still gives every result
(for i in 1 2 3 4 5; do echo $i; sleep 0.05; done) | run --map -j2 "sed s/^/s/"
check buffering.slow_stream "s1 s2 s3 s4 s5" "$(echo $OUT)"

# --- a worker that dies mid-run: its unfinished chunks fail with their record range (no retry by
# default), the others go on, the exit status counts the failed chunks
cat >die5.sh <<'EOF'
#!/bin/sh
# Doubles records; exits (status 3) after its 5th record.
n=0
while read x; do echo $((x*2)); n=$((n+1)); if [ $n -ge 5 ]; then exit 3; fi; done
exit 0
EOF
chmod +x die5.sh
seq 1 6 | run --map -j1 --chunksize 3 ./die5.sh
check die.output_of_complete_chunks "2 4 6" "$(echo $OUT)"
check_match die.range_reported 'chunk 2 \(records 4-6\) failed: worker 1 \(pid [0-9]+\) exited with status 3 after 2 of its 3 record' "$ERR"
check_rc die.status 1 "$RC"
# with --retries the chunks go to fresh workers and everything completes
seq 1 40 | run --map -j2 --chunksize 3 --retries 4 ./die5.sh
check die.retried "$(seq 1 40 | awk '{print $1*2}')" "$OUT"
check_rc die.retried.status 0 "$RC"
check_match die.retry_warned 'retrying on a fresh worker' "$ERR"
# a worker that kills itself (SIGKILL) after one record of each chunk: every chunk fails after
# its attempts, with its range; the pool never hangs (Python's Pool does here)
seq 1 6 | run --map -j2 --chunksize 2 --retries 2 --jsonl die.jsonl 'read x; echo $((x*2)); kill -9 $$'
check_rc die.killed.status 3 "$RC"
check die.killed.no_output "" "$OUT"
check die.killed.jsonl_ranges "1-2:failed:2 3-4:failed:2 5-6:failed:2" \
  "$(jq -r 'select(.seq) | "\(.first)-\(.last):\(.status):\(.attempts)"' die.jsonl | sort | tr '\n' ' ' | sed 's/ $//')"
check_match die.killed.signal_named 'killed by signal 9 after 1 of its 2 record' "$ERR"
# a worker that returns too few records and exits 0 (drops every other record): output is
# attributed by counting, so the shortfall shows at the worker's end, on its last chunks
# (chunk 1 came back as "1 3": counted whole, but shifted: not printed either, as the worker
# ended short by choice, exit 0)
seq 1 6 | run --map -j1 --chunksize 2 'awk "NR % 2"'
check_rc die.too_few.status 3 "$RC"
check die.too_few.nothing_misattributed "" "$OUT"
check_match die.too_few.reported 'records 3-4\) failed: .*exited with status 0 after 1 of its 2 record' "$ERR"
check_match die.too_few.shifted_chunk_failed 'chunk 1 \(records 1-2\) failed: .*fewer output records than it was sent' "$ERR"
# a worker that writes more records than it was sent breaks the contract: reported, non-zero
seq 1 4 | run --map -j1 --chunksize 4 'cat; echo extra'
check_cmd die.surplus.status "exit status 0 for a worker writing extra records" test "$RC" != 0
check_match die.surplus.reported 'wrote [0-9]+ byte\(s\) after the output of all its records|more output records' "$ERR"

# A worker that writes an extra line per record: its records shift into the wrong chunks. No byte
# of it is printed as a chunk's result: every chunk it handled fails with its range (or is
# retried on a fresh worker), in order and unordered, at any chunksize.
EXTRA='awk "{print; print \"x\"}"'
for args in "--chunksize 2" "--chunksize 1" "--chunksize 2 --unordered" "--chunksize 1 --unordered"; do
  seq 6 | run --map -j2 $args --jsonl extra.jsonl "$EXTRA"
  check "extra[$args].nothing_printed" "" "$OUT"
  check_cmd "extra[$args].status" "exit status $RC: expected the failed chunks to count" test "$RC" -ge 3 -a "$RC" -le 101
  cs=${args#--chunksize }; cs=${cs%% *}
  want=$(seq 1 "$cs" 6 | awk -v c="$cs" '{print $1 "-" $1+c-1 ":failed"}' | tr '\n' ' ' | sed 's/ $//')
  check "extra[$args].every_chunk_failed_with_its_range" "$want" \
    "$(jq -r 'select(.seq) | "\(.first)-\(.last):\(.status)"' extra.jsonl | sort -n | tr '\n' ' ' | sed 's/ $//')"
  check_match "extra[$args].range_reported" 'chunk [0-9]+ \(records [0-9]+-[0-9]+\) failed: worker [0-9]+ \(pid [0-9]+\) wrote more output records than it was sent' "$ERR"
done
# ... with --retries every chunk gets its attempts on fresh workers, then fails
seq 6 | run --map -j2 --chunksize 2 --retries 2 --jsonl extra.jsonl "$EXTRA"
check extra.retries.nothing_printed "" "$OUT"
check extra.retries.attempts "1-2:failed:2 3-4:failed:2 5-6:failed:2" \
  "$(jq -r 'select(.seq) | "\(.first)-\(.last):\(.status):\(.attempts)"' extra.jsonl | sort -n | tr '\n' ' ' | sed 's/ $//')"
check_match extra.retries.warned 'chunk 1 \(records 1-2\): worker .* retrying on a fresh worker' "$ERR"
# a worker that writes one extra line only after record 4: the records after it would shift into
# later chunks; none of them is printed
seq 8 | run --map -j1 --chunksize 2 'awk "{print} \$1 == 4 {print \"x\"}"'
check_nomatch extra.once.no_x '^x$' "$OUT"
check_nomatch extra.once.no_shift '^(5|6|7|8)$' "$OUT"
check_cmd extra.once.status "exit status 0 for a worker writing an extra record" test "$RC" != 0
# a worker that keeps the contract but lingers after its input ends (its results are taken as
# final after the grace time, not held until it exits)
seq 4 | run --map -j1 --chunksize 2 "cat; sleep 3"
check extra.lingering.output "$(seq 4)" "$OUT"
check_rc extra.lingering.status 0 "$RC"

# --- --max-tasks-per-worker: a fresh worker after N chunks (count the workers' pids)
# 12 chunks, at most 3 per worker: at least 4 workers, none with more than 15 records
seq 1 60 | run --map -j2 --chunksize 5 --max-tasks-per-worker 3 'while read x; do echo $$; done'
check_ge maxtasks.workers 4 "$(sort -u "$T/out" | wc -l | tr -d ' ')"
check_le maxtasks.per_worker 15 "$(sort "$T/out" | uniq -c | sort -n | tail -1 | awk '{print $1}')"
check maxtasks.records 60 "$(wc -l <"$T/out" | tr -d ' ')"
seq 1 60 | run --map -j2 --chunksize 5 'while read x; do echo $$; done'
check maxtasks.unlimited 2 "$(sort -u "$T/out" | wc -l | tr -d ' ')"

# --- --init: once per worker, in its slot, before its first chunk; its stdout goes to stderr
rm -f init.log
seq 1 60 | run --map -j2 --chunksize 5 --max-tasks-per-worker 4 --jsonl init.jsonl --init 'echo init >>init.log; echo init-says-hi' \
  'while read x; do test -s init.log && echo $$; done'
# (a worker started near the end of input may get no chunk: count the workers started)
workers=$(jq -r 'select(.summary).summary.workers' init.jsonl)
check_ge init.workers 3 "$workers"
check init.once_per_worker "$workers" "$(wc -l <init.log | tr -d ' ')"
check init.before_first_chunk 60 "$(wc -l <"$T/out" | tr -d ' ')"
check init.stdout_to_stderr "$workers" "$(grep -c init-says-hi "$T/err")"
check init.stdout_clean "" "$(grep init-says-hi "$T/out")"
seq 1 5 | run --map -j2 --init 'exit 4' cat
check_rc init.failure.status 255 "$RC"
check_match init.failure.reported "--init 'exit 4' failed in slot [12]: exit status 4" "$ERR"

# --- reports: one record per chunk, with range, worker, bytes and timings; a summary
seq 1 10 | run --map -j2 --chunksize 4 --json m.json --jsonl m.jsonl "$DOUBLE"
check report.json.ranges "1-4 5-8 9-10" "$(jq -r '.chunks | sort_by(.seq) | map("\(.first)-\(.last)") | join(" ")' m.json)"
check report.json.bytes "21 26" "$(jq -r '[(.chunks | map(.bytes_in) | add), (.chunks | map(.bytes_out) | add)] | join(" ")' m.json)"
check report.json.summary "3 3 0 10 0" "$(jq -r '.summary | "\(.chunks) \(.succeeded) \(.failed) \(.records) \(.exit_status)"' m.json)"
check report.json.timings true "$(jq -r '[.chunks[] | .end >= .start and .duration_s >= 0 and .pid > 0 and .slot >= 1] | all' m.json)"
check report.jsonl.lines 4 "$(wc -l <m.jsonl | tr -d ' ')"
if python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null; then
  res=$(python3 - "$SRC_DIR/docs/poolrun-map.schema.json" m.json m.jsonl die.jsonl <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
v = Draft202012Validator(schema)
docs = [json.load(open(sys.argv[2]))]
for path in sys.argv[3:]:
    docs += [json.loads(l) for l in open(path) if l.strip()]
errors = [e.message for d in docs for e in v.iter_errors(d)]
print("valid" if not errors else "; ".join(errors[:3]))
EOF
)
  check report.schema valid "$res"
else
  skip report.schema "python3 module jsonschema (draft 2020-12) not importable"
fi

# --- options --map does not take, and --map options without --map: one clear line, 255
run --map -N2 cat ::: a
check_rc usage.refused 255 "$RC"
check usage.refused.msg "poolrun: error: --map does not take -N" "$ERR"
run --chunksize 5 echo ::: a
check usage.needs_map "poolrun: error: --chunksize needs --map" "$ERR"
run --map cat ::: a b
check_match usage.lists 'reads records from stdin or -a FILE' "$ERR"
run --map -a no-such-file cat
check_rc usage.missing_file 255 "$RC"
check_match usage.missing_file.msg 'no-such-file' "$ERR"

# --- SIGINT/SIGTERM end every worker promptly; no orphans, no zombies
for sig in INT TERM; do
  m1=$(marker 8501)
  "$P" --map -j2 --chunksize 3 -a in.txt "while read x; do sleep $m1; echo \$x; done" >sig.out 2>sig.err &
  pid=$!
  wait_for 5 running "sleep $m1"
  check zombies.while_running "" "$(zombies_of "$pid")"
  t=$(now); kill -$sig "$pid"
  if wait_exit 10 $pid; then
    check_rc "signal.$sig.status" 255 "$WRC"
    check_le "signal.$sig.prompt" 3 "$(elapsed "$t")" s
  else
    fail "signal.$sig.exits" "poolrun --map still running 10 s after SIG$sig"
  fi
  check_cmd "signal.$sig.no_orphans" "workers outlived poolrun" wait_gone 2 "$m1"
  reap "$m1"
done

# --- a worker's background descendant that keeps its stdout open is ended after the worker exits
m3=$(marker 8503)
seq 1 4 | run --map -j1 "cat; sleep $m3 &"
check orphans.output "1 2 3 4" "$(echo $OUT)"
check_rc orphans.status 0 "$RC"
check_cmd orphans.descendant_ended "a worker's descendant outlived poolrun" wait_gone 2 "$m3"
reap "$m3"
# ordered output waits for a slow first chunk while the other worker runs far ahead
seq 1 20000 | run --map -j2 --chunksize 100 'read x; [ "$x" = 1 ] && sleep 0.5; echo $x; cat'
check_file order.slow_first_chunk <(seq 1 20000) "$T/out"

# --- stdout closed by its reader: poolrun stops quietly, workers end
m2=$(marker 8502)
seq 1 100000 | timeout 20 "$P" --map -j2 --chunksize 10 "while read x; do echo \$x; done; sleep $m2" 2>epipe.err | head -3 >head.out
check epipe.head "1 2 3" "$(echo $(cat head.out))"
check_cmd epipe.no_orphans "workers outlived poolrun after EPIPE" wait_gone 3 "$m2"
reap "$m2"

finish
