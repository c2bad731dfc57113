#!/usr/bin/env bash
# --pipe, --pipepart and --round-robin: records are never split, none is lost or duplicated, the
# chunks respect --block, -N, -L, --recend, --recstart, -0 and --header; jobs that stop reading
# early are not errors; -k reassembles the input byte for byte.
. "$(dirname "$0")/lib.sh"

# Lines of varied lengths (1 to ~300 bytes), each one unique.
awk 'BEGIN{for(i=1;i<=20000;i++){s=i":"; for(k=0;k<(i*7919)%300;k++) s=s "x"; print s}}' >lines
printf 'id\tvalue\n' >hdr

# Byte-exact reassembly, from a pipe and from a regular file on stdin.
cat lines | run --pipe --block 10k -j3 -k cat
check_file pipe_k_cat_exact lines out
run --pipe --block 10k -j3 -k cat <lines
check_file pipe_k_cat_exact_from_file lines out
run --pipepart -a lines --block 10k -j3 -k cat
check_file pipepart_k_cat_exact lines out

# Each chunk: whole records, within the block unless one record is longer.
mkdir c1
cat lines | run --pipe --block 30k -j2 'cat >c1/{#}.chunk'
check_rc pipe_chunks_rc 0 "$RC"
n=$(ls c1 | wc -l)
check_cmd pipe_chunks_many "more than 50 chunks of 30k" test "$n" -gt 50
bad=0; big=0
for i in $(seq 1 "$n"); do
  f=c1/$i.chunk
  [ "$(tail -c1 "$f" | od -An -c | tr -d ' ')" = '\n' ] || bad=$((bad + 1))
  s=$(wc -c <"$f"); l=$(wc -l <"$f")
  if [ "$s" -gt 30720 ] && [ "$l" -ne 1 ]; then big=$((big + 1)); fi
done
check pipe_chunks_end_at_record_end 0 "$bad"
check pipe_chunks_within_block 0 "$big"
for i in $(seq 1 "$n"); do cat "c1/$i.chunk"; done >joined
check_file pipe_chunks_in_order_reassemble lines joined

# -N: exactly N records per chunk (the last may have fewer); the last record without its newline
# is passed as it is.
printf '1\n2\n3\n4\n5\n6\n7' | run --pipe -N3 -k 'echo "<$(cat | tr "\n" ,)>"'
check pipe_N3 "$(printf '<1,2,3,>\n<4,5,6,>\n<7>')" "$OUT"
printf 'a\nb' | run --pipe -N1 -k cat
check_file pipe_last_record_unterminated <(printf 'a\nb') out

# -L 2: a record is two lines.
seq 7 | run --pipe -L2 -N2 -k 'echo "<$(cat | tr "\n" ,)>"'
check pipe_L2_N2 "$(printf '<1,2,3,4,>\n<5,6,7,>')" "$OUT"

# --recend / --recstart / -0.
printf '>a\nAC\n>b\nGT\nT\n>c\n' | run --pipe --recstart '>' -N1 -k 'echo "[$(cat | tr "\n" ,)]"'
check pipe_recstart "$(printf '[>a,AC,]\n[>b,GT,T,]\n[>c,]')" "$OUT"
printf 'a;b;c;' | run --pipe --recend ';' -N2 -k 'cat; echo'
check pipe_recend "$(printf 'a;b;\nc;')" "$OUT"
printf '{x}\n{y\n}\n{z}\n' | run --pipe --recend '}\n' --recstart '{' -N1 -k 'echo "[$(cat | tr "\n" ,)]"'
check pipe_recend_recstart "$(printf '[{x},]\n[{y,},]\n[{z},]')" "$OUT"
printf 'a\nb\0c\0d' | run --pipe -0 -N1 -k 'od -An -c | tr -s " " | tr -d "\n"; echo'
check pipe_null "$(printf ' a \\n b \\0\n c \\0\n d')" "$OUT"

# --header: repeated at the top of every chunk (a number of lines, ':' or a regex).
{ cat hdr; seq 5; } | run --pipe --header 1 -N2 -k cat
check pipe_header_lines "$(printf 'id\tvalue\n1\n2\nid\tvalue\n3\n4\nid\tvalue\n5')" "$OUT"
{ printf '#a\n#b\n'; seq 3; } | run --pipe --header '(#[^\n]*\n)*' -N2 -k 'tr "\n" " "; echo'
check pipe_header_regex "$(printf '#a #b 1 2 \n#a #b 3 ')" "$OUT"
{ cat hdr; cat lines; } >withhdr
run --pipepart -a withhdr --header : --block 50k -k 'tail -n +2'
check_file pipepart_header_exact lines out
run --pipepart -a withhdr --header : --block 50k -k 'head -1'
check pipepart_header_each_chunk "id	value" "$(sort -u out)"

# A tiny input starts only as many jobs as there are chunks.
seq 3 | run --pipe -N1 -j8 --jsonl r.jsonl 'cat >/dev/null'
check pipe_tiny_three_jobs 3 "$(grep -c '"seq"' r.jsonl)"
: | run --pipe -j4 --jsonl r.jsonl cat
check pipe_empty_no_job 0 "$(grep -c '"seq"' r.jsonl)"

# Jobs that stop reading early: not an error of poolrun, other jobs unaffected.
seq 300000 | run --pipe --block 20k -j3 -k head -1
check_rc pipe_head_rc 0 "$RC"
check pipe_head_no_error "" "$ERR"
n=$(printf '%s\n' "$OUT" | wc -l)
check_cmd pipe_head_one_line_per_chunk "one line per chunk (got $n)" test "$n" -gt 50
check pipe_head_first_is_1 1 "$(printf '%s\n' "$OUT" | head -1)"
seq 3000 | run --pipe -N100 -j3 -k 'head -1; exit 3'
check_rc pipe_head_exit_status_reported 30 "$RC"
check pipe_head_N100 "$(seq 1 100 3000)" "$OUT"

# --json per chunk: stdin bytes and records add up to the input.
cat lines | run --pipe --block 10k -j2 --json r.json wc -l
check pipe_json_bytes "$(wc -c <lines)" "$(jq '[.jobs[].stdin_bytes] | add' r.json)"
check pipe_json_records 20000 "$(jq '[.jobs[].stdin_records] | add' r.json)"
check pipe_json_records_match_output "$(jq '[.jobs[].stdin_records] | add' r.json)" "$(printf '%s\n' "$OUT" | awk '{s+=$1} END{print s}')"
run --pipepart -a lines --block 10k -j2 --jsonl r.jsonl 'cat >/dev/null'
check pipepart_jsonl_bytes "$(wc -c <lines)" "$(jq -s '[.[] | select(.seq) | .stdin_bytes] | add' r.jsonl)"

# The reports with the new fields still follow the published schemas.
if python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null; then
  cat lines | "$P" --pipe --block 100k -j2 --json r.json --jsonl r.jsonl wc -l >/dev/null
  res=$(python3 - "$SRC_DIR/docs/poolrun-report.schema.json" r.json "$SRC_DIR/docs/poolrun-jsonl.schema.json" r.jsonl <<'PY'
import json, sys
from jsonschema import Draft202012Validator
errs = []
v = Draft202012Validator(json.load(open(sys.argv[1])))
errs += [e.message for e in v.iter_errors(json.load(open(sys.argv[2])))]
v = Draft202012Validator(json.load(open(sys.argv[3])))
for line in open(sys.argv[4]):
    errs += [e.message for e in v.iter_errors(json.loads(line))]
print("\n".join(errs[:5]) or "valid")
PY
)
  check pipe_reports_schema valid "$res"
  check pipe_joblog_send "$(wc -c <lines)" "$(cat lines | "$P" --pipe --block 100k -j2 --joblog jl wc -l >/dev/null; awk -F'\t' 'NR > 1 {s += $5} END {print s}' jl)"
else
  skip pipe_reports_schema "python3 module jsonschema not importable"
fi

# --round-robin: the -j jobs start once and share every chunk; nothing lost.
seq 500000 | run --pipe --block 8k -j3 --round-robin --jsonl r.jsonl wc -l
check pipe_rr_total 500000 "$(printf '%s\n' "$OUT" | awk '{s+=$1} END{print s}')"
check pipe_rr_three_jobs 3 "$(grep -c '"seq"' r.jsonl)"
seq 500000 | run --pipe --block 8k -j3 --round-robin cat
check pipe_rr_all_records "$(seq 500000 | sha256sum)" "$(sort -n out | sha256sum)"
seq 2 | run --pipe -N1 -j5 --round-robin --jsonl r.jsonl cat
check pipe_rr_tiny_jobs 2 "$(grep -c '"seq"' r.jsonl)"

# stdin a regular file or /dev/null (epoll cannot watch either): read without waiting, in every
# mode, with GNU parallel's chunks; the run never spins and stays responsive to signals.
seq 10 >ten.txt
for args in "-N4" "-N1" "-L2" "--block 5" "" "--round-robin -N3"; do
  t=$(now)
  run --pipe $args -j2 wc -l <ten.txt
  check_rc "pipe_regular_stdin[$args].rc" 0 "$RC"
  check "pipe_regular_stdin[$args].all_lines" 10 "$(printf '%s\n' "$OUT" | awk '{s+=$1} END{print s}')"
  check_le "pipe_regular_stdin[$args].prompt" 10 "$(elapsed "$t")" s
  run --pipe $args -j2 wc -l </dev/null
  check_rc "pipe_devnull_stdin[$args].rc" 0 "$RC"
done
run --pipe -N4 -k wc -l <ten.txt
check pipe_regular_stdin_N4_as_gnu "$(printf '4\n4\n2')" "$OUT"
run -k echo <ten.txt
check main_regular_stdin "$(seq 10)" "$OUT"
run --map -j2 'sed s/^/m/' <ten.txt
check map_regular_stdin "$(seq 10 | sed s/^/m/)" "$OUT"
# SIGINT and SIGTERM end such a run (all jobs slots busy, input left) within seconds.
for sig in INT TERM; do
  "$P" --pipe -N4 -j2 "sleep 30; cat >/dev/null" <ten.txt >/dev/null 2>&1 &
  pid=$!
  sleep 1
  t=$(now)
  kill -s $sig $pid
  wait_exit 10 $pid || kill -s KILL $pid
  check_cmd "pipe_regular_stdin_sig$sig.ends" "poolrun ends within seconds (status $WRC)" test "$WRC" != timeout
  check_le "pipe_regular_stdin_sig$sig.prompt" 10 "$(elapsed "$t")" s
done

# A block smaller than a record never cuts the record nor gives empty jobs (as GNU parallel).
printf '1\n2\n3\n' >f3
for m in "--pipepart -a f3" "--pipe"; do
  run $m --block 1 -k 'echo "[$(cat)]"' <f3
  check "block1[$m]" "[1] [2] [3]" "$(echo $OUT)"
  run $m --block 1 --recend 2 -k 'echo "[$(cat)]"' <f3
  check "block1_recend[$m]" "[1 2] [ 3]" "$(echo $OUT)"
  run $m --block 1 --recstart 2 -k 'echo "[$(cat)]"' <f3
  check "block1_recstart[$m]" "[1] [2 3]" "$(echo $OUT)"
done
cat f3 | run --pipe --block 1 -k 'echo "[$(cat)]"'
check block1_stream "[1] [2] [3]" "$(echo $OUT)"
run --pipepart -a f3 --block 2 -k 'echo "[$(cat)]"'
check pipepart_block2_as_gnu "[1 2] [3]" "$(echo $OUT)"
run --pipepart -a f3 --block 4 -k 'echo "[$(cat)]"'
check pipepart_block4_as_gnu "[1 2 3]" "$(echo $OUT)"
# Over many records: each --pipepart chunk ends at the first record end --block bytes past its
# start (GNU parallel's cuts, so the same outputs).
run --pipepart -a lines --block 10000 -k wc -c
check pipepart_cuts_as_gnu "$(awk -v b=10000 '{n+=length($0)+1; if(n>b){print n; n=0}} END{if(n)print n}' lines)" "$OUT"

# Jobs that leave input unread (more than their pipe holds): the bytes are lost, so each such
# job fails (exit status: their number, as GNU parallel), with stdin_unread in the reports and
# signal 13 in the joblog (as GNU parallel).
seq 1000000 | run --pipe --block 2M -j2 --jsonl u.jsonl --joblog u.log true
n13=$(awk -F'\t' 'NR > 1 && $8 == 13' u.log | wc -l)
check_cmd pipe_unread_fails "jobs that left input unread (got $n13)" test "$n13" -ge 1
check_rc pipe_unread_status_counts_them "$n13" "$RC"
check pipe_unread_reported "$n13" "$(jq -s '[.[] | select(.seq) | select(.stdin_unread > 0)] | length' u.jsonl)"
seq 1000000 | run --pipe --round-robin --block 2M -j2 true
check_cmd pipe_rr_unread_not_silent "a non-zero status (got $RC)" test "$RC" -ne 0
seq 1000000 | run --pipe --block 2M -j2 'cat >/dev/null'
check_rc pipe_all_read_ok 0 "$RC"
# A job that takes none of a chunk that fits in its pipe has lost it just the same: every such
# job fails, every time (GNU parallel counts them only when its write happens to meet SIGPIPE).
seq 100000 | run --pipe --block 10k -j2 --jsonl n.jsonl true
nchunks=$(jq -s '[.[] | select(.seq)] | length' n.jsonl)
check_cmd pipe_untaken_many_chunks "more than 50 chunks (got $nchunks)" test "$nchunks" -gt 50
check_rc pipe_untaken_each_fails "$nchunks" "$RC"
check pipe_untaken_bytes_reported "$(seq 100000 | wc -c)" "$(jq -s '[.[] | select(.seq) | .stdin_unread] | add' n.jsonl)"
check pipe_untaken_warning_names_job "poolrun: warning: job 1: ended without reading its input" \
  "$(printf '%s\n' "$ERR" | grep -o '^poolrun: warning: job 1: ended without reading its input' | head -1)"
# --round-robin: a job that exits at once fails with what it left; the other job keeps the rest.
seq 100000 | run --pipe --round-robin -j2 --block 10k --jsonl rr.jsonl 'if [ {#} = 1 ]; then exit 0; fi; wc -l'
lost=$(jq -s '[.[] | select(.seq == 1) | .stdin_unread] | add // 0' rr.jsonl)
check_rc pipe_rr_quitter_fails 1 "$RC"
total=$(seq 100000 | wc -c)
# Every byte either reached job 2 or is counted lost in job 1 (what reached its pipe, and its
# chunk in progress, which never did).
check pipe_rr_every_byte_once "$total" "$(( lost + $(jq -s '[.[] | select(.seq == 2) | .stdin_bytes] | add' rr.jsonl) ))"
took=$(jq -s '[.[] | select(.seq == 1) | .stdin_bytes] | add' rr.jsonl)
check_cmd pipe_rr_quitter_took_none "job 1's lost bytes ($lost) cover all its pipe took ($took)" test "$lost" -ge "$took"
check_cmd pipe_rr_quitter_lost_some "job 1 lost input (got $lost)" test "$lost" -gt 0

# Usage errors: one clear line, status 255.
run --round-robin echo ::: a
check_rc round_robin_needs_pipe 255 "$RC"
check pipe_round_robin_needs_pipe_msg "poolrun: error: --round-robin needs --pipe" "$ERR"
run --pipepart --block 1k cat
check_rc pipepart_needs_file 255 "$RC"
check_match pipepart_needs_file_msg 'pipepart needs exactly one file' "$ERR"
run --pipepart -a lines -N2 cat
check_rc pipepart_no_N 255 "$RC"
run --pipe --round-robin -k cat </dev/null
check_rc pipe_rr_no_k 255 "$RC"
run --pipe --block 0 cat </dev/null
check_rc pipe_block_zero 255 "$RC"
check_match pipe_block_zero_msg '^poolrun: error: .*--block' "$ERR"
run --block 1k echo ::: a
check_rc block_needs_pipe 255 "$RC"

finish
