#!/usr/bin/env bash
# Reports: --json (fields, types, values, schema), --jsonl (a line per job as it ends, then a
# summary), --joblog (GNU parallel's TSV, +FILE appends), timed-out and signalled jobs, and report
# files that cannot be written. Sleep markers 8431-8439.
. "$(dirname "$0")/lib.sh"

DOCS=$SRC_DIR/docs
command -v jq >/dev/null || { fail jq "jq is not installed (a test dependency)"; finish; }

# jqv NAME FILE FILTER EXPECTED: the compact jq result equals EXPECTED.
jqv() { check "$1" "$4" "$(jq -c "$3" "$2" 2>&1)"; }
# jqt NAME FILE FILTER: the filter yields true.
jqt() {
  local got; got=$(jq -c "$3" "$2" 2>&1)
  [ "$got" = true ] && { ok "$1"; return; }
  fail "$1" "jq '$3' on $(basename "$2") gave: $got"
}

# --- --json
t0=$(date +%s.%N)
run --json r.json -k -j2 'echo {}; exit {}' ::: 0 1 0 2
t1=$(date +%s.%N)
check_rc json.run_status 2 "$RC"
check_cmd json.written "--json file missing or empty" test -s r.json
jqt json.valid r.json 'type == "object"'
jqv json.tool r.json .tool '"poolrun"'
jqt json.version r.json '.version | type == "string" and test("^[0-9]+\\.[0-9]+\\.[0-9]+")'
jqt json.argv r.json '(.argv | type == "array") and (.argv | all(type == "string")) and (.argv | index("--json") != null) and (.argv[-1] == "2")'
jqt json.config r.json '.config | type == "object" and .jobs == 2 and .keep_order == true and (.command | type == "array")'
jqv json.summary.counts r.json '.summary | [.jobs, .succeeded, .failed]' '[4,2,2]'
jqt json.summary.types r.json '.summary | (.wall_s|type) == "number" and (.user_s|type) == "number" and (.sys_s|type) == "number" and (.jobs_per_s|type) == "number" and .wall_s >= 0 and .user_s >= 0 and .sys_s >= 0 and .jobs_per_s > 0'
jqv json.summary.exit_status r.json '.summary.exit_status' 2
jqt json.summary.rate r.json '.summary | (.jobs_per_s - .jobs / .wall_s | fabs) < 0.01 * .jobs_per_s + 0.001'
jqv json.jobs.count r.json '.jobs | length' 4
jqv json.jobs.seqs r.json '[.jobs[].seq] | sort' '[1,2,3,4]'
jqv json.jobs.exit_codes r.json '.jobs | sort_by(.seq) | map(.exit_code)' '[0,1,0,2]'
jqv json.jobs.items r.json '.jobs | sort_by(.seq) | map(.items)' '[["0"],["1"],["0"],["2"]]'
jqv json.jobs.signal r.json '[.jobs[].signal] | unique' '[0]'
jqv json.jobs.status r.json '.jobs | sort_by(.seq) | map(.status)' '["succeeded","failed","succeeded","failed"]'
jqv json.jobs.command r.json '.jobs | sort_by(.seq) | map(.command)' '["echo 0; exit 0","echo 1; exit 1","echo 0; exit 0","echo 2; exit 2"]'
jqt json.jobs.field_types r.json '.jobs | all(
  (.seq|type) == "number" and (.slot|type) == "number" and (.items|type) == "array" and
  (.command|type) == "string" and (.pid|type) == "number" and (.start|type) == "number" and
  (.end|type) == "number" and (.duration_s|type) == "number" and (.exit_code|type) == "number" and
  (.signal|type) == "number" and (.user_s|type) == "number" and (.sys_s|type) == "number" and
  (.max_rss_kib|type) == "number" and (.stdout_bytes|type) == "number" and (.stderr_bytes|type) == "number" and
  (.timed_out|type) == "boolean")'
jqt json.jobs.integers r.json '.jobs | all((.seq, .slot, .pid, .exit_code, .signal, .max_rss_kib, .stdout_bytes, .stderr_bytes) | . == floor)'
jqt json.jobs.slots r.json '.jobs | all(.slot >= 1 and .slot <= 2)'
jqt json.jobs.pids r.json '(.jobs | all(.pid > 1)) and ([.jobs[].pid] | unique | length) == 4'
jqt json.jobs.times_ordered r.json '.jobs | all(.start <= .end and .duration_s >= 0)'
jqt json.jobs.times_in_run r.json ".jobs | all(.start >= $t0 - 1 and .end <= $t1 + 1)"
jqt json.jobs.duration_matches r.json '.jobs | all((.end - .start - .duration_s | fabs) < 0.05)'
jqt json.jobs.microseconds r.json '[.jobs[] | .start, .end] | any(. != floor)'
jqt json.jobs.rss r.json '.jobs | all(.max_rss_kib > 0)'
jqv json.jobs.stdout_bytes r.json '.jobs | sort_by(.seq) | map(.stdout_bytes)' '[2,2,2,2]'
jqv json.jobs.timed_out r.json '[.jobs[].timed_out] | unique' '[false]'
jqv json.summary.not_interrupted r.json .summary.interrupted false

# byte counts, CPU time and run time are the job's own
run --json b.json -k 'head -c {} /dev/zero | tr "\\0" z; head -c $(({} * 2)) /dev/zero | tr "\\0" z >&2' ::: 0 10 100000
jqv json.bytes.stdout b.json '.jobs | sort_by(.seq) | map(.stdout_bytes)' '[0,10,100000]'
jqv json.bytes.stderr b.json '.jobs | sort_by(.seq) | map(.stderr_bytes)' '[0,20,200000]'

run --json c.json -k 'i=0; while [ $i -lt {} ]; do i=$((i+1)); done' ::: 300000 1
jqt json.cpu.busy_job c.json '(.jobs[] | select(.items == ["300000"]) | .user_s + .sys_s) > 0.05'
jqt json.cpu.idle_job c.json '(.jobs[] | select(.items == ["1"]) | .user_s + .sys_s) < 0.05'
jqt json.cpu.summary_sums c.json '(.summary.user_s - ([.jobs[].user_s] | add) | fabs) < 0.01 and (.summary.sys_s - ([.jobs[].sys_s] | add) | fabs) < 0.01'

run --json d.json -j2 'sleep {}' ::: 0.6 0.1
jqt json.duration.sleep d.json '(.jobs[] | select(.items == ["0.6"]) | .duration_s) | . >= 0.55 and . < 2'
jqt json.duration.short d.json '(.jobs[] | select(.items == ["0.1"]) | .duration_s) | . >= 0.05 and . < 0.6'
jqt json.wall d.json '.summary.wall_s >= 0.55 and .summary.wall_s < 3'

# a job killed by a signal
run --json s.json --joblog s.tsv 'kill -9 $$; : {}' ::: a
check_rc signal.status 1 "$RC"
jqv signal.json s.json '.jobs[0] | [.signal, .exit_code, .status]' '[9,-1,"failed"]'
jqv signal.summary s.json '.summary | [.jobs, .failed]' '[1,1]'
check signal.joblog "0 9" "$(awk -F'\t' 'NR==2{print $7, $8}' s.tsv)"

# several items per job (-N2), and positional sources
run --json n.json -k -N2 echo ::: a b c
jqv json.items.N2 n.json '.jobs | sort_by(.seq) | map(.items)' '[["a","b"],["c"]]'
run --json m.json -k echo ::: a b ::: 1
jqv json.items.sources m.json '.jobs | sort_by(.seq) | map(.items)' '[["a","1"],["b","1"]]'

# bytes that are not UTF-8: U+FFFD in the JSON reports (still valid JSON), as they are in the joblog
printf 'x\377y\n' | run --json u.json --jsonl u.jsonl --joblog u.tsv "printf %s"
jqv json.invalid_utf8 u.json '.jobs[0].items[0] | explode' '[120,65533,121]'
check jsonl.invalid_utf8 '[120,65533,121]' "$(head -1 u.jsonl | jq -c '.items[0] | explode' 2>&1)"
check joblog.invalid_utf8_raw 1 "$(awk -F'\t' 'NR==2{print $9}' u.tsv | LC_ALL=C grep -c "x$(printf '\377')y")"

# --retries: one record, attempts counted
rm -f cnt
run --json rt.json --retries 3 'n=$(cat cnt 2>/dev/null || echo 0); n=$((n+1)); echo $n >cnt; : {}; [ $n -ge 2 ]' ::: a
jqv json.retries rt.json '[(.jobs | length), .jobs[0].attempts, .jobs[0].status]' '[1,2,"succeeded"]'

# empty input: a valid report with no jobs
printf '' | run --json e.json echo
check_rc json.empty.status 0 "$RC"
jqv json.empty e.json '[.summary.jobs, (.jobs | length)]' '[0,0]'

# runs that stop early (docs/reports.md): --halt, a closed stdout, SIGHUP
run --halt now,fail=1 -j1 --json h.json 'exit {}' ::: 0 3 0
jqv summary.halt h.json '.summary | [.jobs, .failed, .interrupted, .stop_reason, .exit_status]' '[2,1,true,"halt",3]'
seq 100000 | timeout 30 "$P" -j2 --json p.json echo 2>/dev/null | head -1 >/dev/null
jqv summary.stdout_closed p.json '.summary | [.interrupted, .stop_reason]' '[true,"stdout closed"]'
rm -f go started
"$P" -j1 --json hup.json ::: 'touch started; for i in $(seq 200); do [ -e go ] && break; sleep 0.05; done' 'echo x' \
  >/dev/null 2>&1 &
pid=$!
wait_for 5 test -e started
kill -HUP $pid; sleep 0.3; touch go
wait_exit 15 $pid || kill -9 $pid
jqv summary.sighup hup.json '.summary | [.jobs, .interrupted, .stop_reason]' '[1,false,"SIGHUP"]'

# --- schema validation
if [ ! -f "$DOCS/poolrun-report.schema.json" ]; then
  skip schema "docs/poolrun-report.schema.json not found"
elif ! python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null; then
  skip schema "python3 module jsonschema (draft 2020-12) not importable"
else
  # one more document and stream with every kind of job: timed out, signalled, missing command
  run --json all.json --jsonl all.jsonl --timeout 1 -j3 ::: 'sleep 5' 'kill -9 $$' "no_such_cmd_$$" 'exit 3' 'echo ok'
  for doc in r.json b.json c.json d.json s.json n.json u.json rt.json e.json h.json p.json hup.json all.json; do
    res=$(python3 - "$DOCS/poolrun-report.schema.json" "$doc" <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
errs = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(json.load(open(sys.argv[2])))]
print("\n".join(errs[:5]) or "valid")
EOF
)
    check "schema.json[$doc]" valid "$res"
  done
  if [ -f "$DOCS/poolrun-jsonl.schema.json" ]; then
    res=$(python3 - "$DOCS/poolrun-jsonl.schema.json" all.jsonl <<'EOF'
import json, sys
from jsonschema import Draft202012Validator
v = Draft202012Validator(json.load(open(sys.argv[1])))
errs = []
for n, line in enumerate(open(sys.argv[2]), 1):
    errs += [f"line {n}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v.iter_errors(json.loads(line))]
print("\n".join(errs[:5]) or "valid")
EOF
)
    check schema.jsonl valid "$res"
  else
    skip schema.jsonl "docs/poolrun-jsonl.schema.json not found"
  fi
fi

# --- --jsonl
run --jsonl r.jsonl -k -j2 'exit {}' ::: 0 3 0
check_rc jsonl.status 1 "$RC"
check jsonl.lines 4 "$(wc -l <r.jsonl)"
bad=0
while IFS= read -r line; do printf '%s' "$line" | jq -e 'type == "object"' >/dev/null 2>&1 || bad=$((bad + 1)); done <r.jsonl
check jsonl.each_line_valid 0 "$bad"
check jsonl.one_object_per_line 4 "$(jq -c . r.jsonl | wc -l)"
check jsonl.jobs_first "[1,2,3]" "$(head -3 r.jsonl | jq -s -c 'map(.seq) | sort')"
check jsonl.exit_codes "[0,3,0]" "$(head -3 r.jsonl | jq -s -c 'sort_by(.seq) | map(.exit_code)')"
check jsonl.summary_last '[3,2,1]' "$(tail -1 r.jsonl | jq -c '.summary | [.jobs, .succeeded, .failed]')"
check jsonl.same_fields_as_json "$(jq -c '.jobs[0] | keys' r.json)" "$(head -1 r.jsonl | jq -c keys)"

# written as each job ends: the first job's line is there while the second still runs
m1=$(marker 8431)
"$P" -j2 --jsonl live.jsonl --joblog live.tsv 'sleep {}' ::: 0.1 "$m1" >/dev/null 2>&1 &
pid=$!
if wait_for 5 grep -qs '"0.1"' live.jsonl; then
  check_cmd jsonl.live.poolrun_running "poolrun was no longer running" kill -0 $pid
  check jsonl.live.one_line 1 "$(wc -l <live.jsonl)"
  check jsonl.live.complete_line '["0.1"]' "$(head -1 live.jsonl | jq -c .items 2>&1)"
  check joblog.live.row "1 0.1" "$(awk -F'\t' 'NR==2{sub(/^sleep /, "", $9); print $1, $9}' live.tsv)"
else
  fail jsonl.live "no --jsonl line for the finished job within 5 s while another job still ran"
fi
kill -TERM $pid 2>/dev/null; wait_exit 10 $pid || kill -9 $pid
reap "$m1"

# --- --joblog
run --joblog j.tsv -k -j2 'exit {}' ::: 0 1 0 4
check joblog.header "$(printf 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand')" "$(head -1 j.tsv)"
check joblog.rows 5 "$(wc -l <j.tsv)"
check joblog.nine_columns "" "$(awk -F'\t' 'NF != 9 {print NR": "NF}' j.tsv)"
check joblog.exitvals "1 0
2 1
3 0
4 4" "$(awk -F'\t' 'NR>1{print $1, $7}' j.tsv | sort -n)"
check joblog.signals "0" "$(awk -F'\t' 'NR>1{print $8}' j.tsv | sort -u)"
check joblog.host ":" "$(awk -F'\t' 'NR>1{print $2}' j.tsv | sort -u)"
check joblog.commands "exit 0
exit 1
exit 0
exit 4" "$(awk -F'\t' 'NR>1{print $1"\t"$9}' j.tsv | sort -n | cut -f2)"
check joblog.number_columns "" "$(awk -F'\t' 'NR>1 && !($3 ~ /^[0-9]+\.[0-9]+$/ && $4 ~ /^ *[0-9]+\.[0-9]+$/ && $5 ~ /^[0-9]+$/ && $6 ~ /^[0-9]+$/) {print}' j.tsv)"
now_s=$(date +%s)
check joblog.starttime_now "" "$(awk -F'\t' -v n="$now_s" 'NR>1 && ($3 < n - 60 || $3 > n + 1) {print $3}' j.tsv)"

# a new run without + replaces the file; +FILE appends rows without a second header
run --joblog j.tsv 'exit {}' ::: 5
check joblog.truncates "2" "$(wc -l <j.tsv)"
check joblog.truncates_exitval "5" "$(awk -F'\t' 'NR==2{print $7}' j.tsv)"
run --joblog +j.tsv -k 'exit {}' ::: 6 7
check joblog.append.rows 4 "$(wc -l <j.tsv)"
check joblog.append.one_header 1 "$(grep -c '^Seq' j.tsv)"
check joblog.append.exitvals "5 6 7" "$(awk -F'\t' 'NR>1{print $7}' j.tsv | sort | tr '\n' ' ' | sed 's/ $//')"

# --- timed-out job: JSON timed_out true; joblog Exitval -1, Signal 15 (as GNU parallel)
t=$(now)
run --timeout 1 --json to.json --jsonl to.jsonl --joblog to.tsv -j2 'sleep {}' ::: 30 0.1
d=$(elapsed "$t")
check_rc timeout.status 1 "$RC"
check_le timeout.prompt 4 "$d" s
jqv timeout.json.flag to.json '[.jobs[] | {i: .items[0], t: .timed_out}] | sort_by(.i)' '[{"i":"0.1","t":false},{"i":"30","t":true}]'
jqv timeout.json.status to.json '.jobs[] | select(.items == ["30"]) | .status' '"failed"'
jqv timeout.json.signal to.json '.jobs[] | select(.items == ["30"]) | [.signal, .exit_code]' '[15,-1]'
jqt timeout.json.duration to.json '.jobs[] | select(.items == ["30"]) | .duration_s >= 0.9 and .duration_s < 3'
jqv timeout.json.summary to.json '.summary | [.succeeded, .failed]' '[1,1]'
check timeout.jsonl.flag "true" "$(jq -c 'select(.items == ["30"]) | .timed_out' to.jsonl)"
check timeout.joblog "-1 15 sleep 30" "$(awk -F'\t' 'NR>1 && $9 == "sleep 30" {print $7, $8, $9}' to.tsv)"
check timeout.joblog.other "0 0 sleep 0.1" "$(awk -F'\t' 'NR>1 && $9 == "sleep 0.1" {print $7, $8, $9}' to.tsv)"

# --- a report file that cannot be written: 255, one line naming the file
for opt in --joblog --jsonl --json; do
  run $opt "$T/nodir/report" touch ran ::: a
  check_rc "unwritable[$opt].status" 255 "$RC"
  check "unwritable[$opt].one_line" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
  check_match "unwritable[$opt].names_file" 'nodir/report' "$ERR"
  check_cmd "unwritable[$opt].no_job" "a job ran although $opt could not be opened" test ! -e ran
  rm -f ran
done
run --json "$T/nodir/report.json" echo ::: a
check_rc unwritable[--json].status 255 "$RC"
check_match unwritable[--json].names_file 'nodir/report.json' "$ERR"

# "-" is stdout (as GNU parallel's --joblog -): the header, then a row per job, beside the output.
run --joblog - -j1 echo ::: a b
check_rc joblog_stdout.status 0 "$RC"
check joblog_stdout.header "Seq	Host	Starttime	JobRuntime	Send	Receive	Exitval	Signal	Command" "$(head -n 1 "$T/out")"
check joblog_stdout.rows "echo a
echo b" "$(awk -F'\t' 'NF == 9 && NR > 1 {print $9}' "$T/out")"
check joblog_stdout.output "a
b" "$(awk -F'\t' 'NF == 1' "$T/out")"
check_cmd joblog_stdout.no_file "a file named - was written" test ! -e -
run --jsonl - echo ::: a
check jsonl_stdout.lines 3 "$(wc -l <"$T/out")"
check jsonl_stdout.summary true "$(tail -n 1 "$T/out" | jq -c '.summary.jobs == 1')"
# Two reports naming one file would overwrite each other: refused before any job runs.
run --json same.out --jsonl same.out echo ::: a
check_rc same_file.status 255 "$RC"
check_match same_file.message "--json and --jsonl name the same file 'same.out'" "$ERR"
check_cmd same_file.nothing_ran "a job ran" test -z "$OUT"
run --resume --joblog - echo ::: a
check_rc resume_stdout.status 255 "$RC"
check_match resume_stdout.message "must be a file, not '-'" "$ERR"

finish
