#!/usr/bin/env bash
# `poolrun report timeline RUN.json --svg FILE`: a real run's --json report becomes a well-formed SVG
# Gantt chart with one lane per job slot and one bar per job; bad inputs give one line and status 255.
#   bash tests/cli/test_timeline.sh /path/to/poolrun
# Needs xmllint (libxml2-utils) and jq, which scripts/setup installs.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

xp() { xmllint --xpath "$1" "$2" 2>/dev/null; }

# --- a real run: 9 jobs on 3 slots, one exits 3, one is killed by SIGKILL
run -j 3 --json run.json --jsonl run.jsonl 'sleep 0.05; case {} in 5) exit 3;; 7) kill -9 $$;; esac' ::: 1 2 3 4 5 6 7 8 9
check_rc "the run reports 2 failed jobs" 2 "$RC"
jobs=$(jq '.jobs | length' run.json)
slots=$(jq '[.jobs[].slot] | max' run.json)
check "the report has 9 jobs" 9 "$jobs"

run report timeline run.json --svg t.svg
check_rc "report timeline exits 0" 0 "$RC"
check "nothing on stderr" "" "$ERR"
check_match "stdout: the file and the summary line" \
  '^t\.svg: 9 jobs \(2 failed\) on 3 job slots, [0-9.]+ s wall, utilisation [0-9.]+ %' "$OUT"
check "xmllint: well-formed" "" "$(xmllint --noout t.svg 2>&1)"
check "the root is an SVG element" "http://www.w3.org/2000/svg" "$(xp 'namespace-uri(/*)' t.svg)"
check "one bar per job" "$jobs" "$(xp 'count(//*[starts-with(@class,"bar ")])' t.svg)"
check "one lane per job slot" "$slots" "$(xp 'count(//*[@class="lanes"]/*)' t.svg)"
check "lane labels" "slot 1 slot 2 slot 3" "$(xp '//*[@class="rows"]/*/text()' t.svg | tr '\n' ' ' | sed 's/ $//')"
check "the failed job's bar" 1 "$(xp 'count(//*[@class="bar failed"])' t.svg)"
check "the killed job's bar" 1 "$(xp 'count(//*[@class="bar killed"])' t.svg)"
check_match "the failed bar's tooltip: seq, slot, command, exit" \
  '^#5 on slot [123]: .*exit 3' "$(xp 'string(//*[@class="bar failed"]/*)' t.svg)"
check_match "the killed bar's tooltip names the signal" 'killed by signal 9' \
  "$(xp 'string(//*[@class="bar killed"]/*)' t.svg)"
check "every seq has a bar" "1 2 3 4 5 6 7 8 9" \
  "$(xp '//*[starts-with(@class,"bar ")]/*/text()' t.svg | grep -oE '^#[0-9]+' | tr -d '#' | sort -n | tr '\n' ' ' | sed 's/ $//')"
# Bars of the same lane do not overlap: a slot runs one job at a time.
overlaps=$(xp '//*[starts-with(@class,"bar ")]' t.svg | grep -oE 'x="[0-9.]+" y="[0-9.]+" width="[0-9.]+"' |
           tr -d '"' | sed 's/[a-z]*=//g' | sort -k2,2n -k1,1n |
           awk '$2 == y && $1 < end - 0.6 {n++} {y = $2; end = $1 + $3} END {print n + 0}')
check "no two bars of a lane overlap" 0 "$overlaps"

run report timeline run.json --svg -
check_rc "--svg - exits 0" 0 "$RC"
check "--svg - writes the same SVG to stdout" "$(cat t.svg)" "$OUT"
check "--svg - prints no summary" "" "$ERR"

# stdin as the report
"$P" report timeline - --svg t2.svg <run.json >/dev/null 2>&1
check_rc "the report from stdin" 0 "$?"
check "same chart from stdin (but for the title)" "$(grep -vc 'timeline' t.svg)" "$(grep -vc 'timeline' t2.svg)"

# --- many jobs: 10 000 bars render quickly into a file of reasonable size
python3 - >big.json <<'PY'
import json
jobs = [{"seq": i + 1, "slot": i % 16 + 1, "command": f"work {i + 1}", "start": 1764500000 + (i // 16) * 0.01,
         "end": 1764500000 + (i // 16) * 0.01 + 0.008, "exit_code": 0 if i % 101 else 1, "signal": 0,
         "status": "succeeded" if i % 101 else "failed"} for i in range(10000)]
print(json.dumps({"tool": "poolrun", "config": {"jobs": 16}, "jobs": jobs}))
PY
start=$(now)
run report timeline big.json --svg big.svg
took=$(elapsed "$start")
check_rc "10 000 jobs: exits 0" 0 "$RC"
check_le "10 000 jobs: rendered in under 30 s (0.2 s in a release build; generous for sanitizer builds)" 30 "$took" " s"
check_le "10 000 jobs: file under 3 MB" 3000000 "$(wc -c <big.svg)" " bytes"
check "10 000 jobs: well-formed" "" "$(xmllint --noout --huge big.svg 2>&1)"
check "10 000 jobs: one bar each" 10000 "$(xmllint --huge --xpath 'count(//*[starts-with(@class,"bar ")])' big.svg 2>/dev/null)"

# --- bad inputs: one line, status 255, no SVG left behind
bad() {  # bad NAME ERE ARGS...
  local name=$1 re=$2; shift 2
  rm -f out.svg
  run report timeline "$@"
  check_rc "$name: status 255" 255 "$RC"
  check_match "$name: one clear line" "^poolrun: error: report.*$re" "$ERR"
  check "$name: one line only" 1 "$(printf '%s\n' "$ERR" | wc -l)"
  check "$name: no SVG written" no "$([ -e out.svg ] && echo yes || echo no)"
}
printf 'hello\n' >text.txt
printf '{"name": "x"}\n' >other.json
jq '.jobs[1].start = "soon"' run.json >badjob.json
bad "missing file" 'nope\.json: cannot open the report: No such file' nope.json --svg out.svg
bad "not JSON" 'text\.txt: not JSON: ' text.txt --svg out.svg
expects='report timeline draws the report of poolrun --json FILE or poolrun batch --json FILE$'
bad "other JSON" "other\\.json: a JSON object without \"tool\": \"poolrun\"; $expects" other.json --svg out.svg
bad "a --jsonl file" "run\\.jsonl: a --jsonl file; $expects" run.jsonl --svg out.svg
# Reports of another kind say what they are and what the timeline expects.
seq 6 | "$P" --map -j2 --json map.json cat >/dev/null
bad "a --map report" "map\\.json: a --map report \\(one record per chunk, \"mode\": \"map\"\\); $expects" map.json --svg out.svg
"$P" bench -n 2 -w 1 -r 1 -e serial cpu:1000 --json bench.json >/dev/null
bad "a bench report" "bench\\.json: a poolrun bench --json report; $expects" bench.json --svg out.svg
printf '{"title": "t", "series": []}' >chart-desc.json
bad "a chart description" "chart-desc\\.json: a chart description \\(for poolrun report chart\\); $expects" chart-desc.json --svg out.svg
printf '[1, 2]' >array.json
bad "a JSON array" "array\\.json: a JSON array; $expects" array.json --svg out.svg
bad "a bad job record" 'badjob\.json: jobs\[1\]: "start" is not a number' badjob.json --svg out.svg
bad "no --svg" 'timeline: --svg is required' run.json
bad "no report" 'report is required' --svg out.svg
run report timeline run.json --svg nodir/out.svg
check_rc "unwritable --svg: status 255" 255 "$RC"
check_match "unwritable --svg: names the file" '^poolrun: error: report timeline: nodir/out\.svg: cannot create the SVG file' "$ERR"
# --- report chart: a line chart of a JSON description
cat >chart.json <<'JSON'
{"title": "a <b> & c", "x_label": "slots", "y_label": "speed-up", "ideal_line": true,
 "series": [{"label": "one", "points": [[1, 1], [2, 1.9], [4, 3.5]]}, {"label": "two", "points": [[1, 1], [4, 2]]}]}
JSON
run report chart chart.json --svg chart.svg
check_rc "report chart exits 0" 0 "$RC"
check "report chart: well-formed" "" "$(xmllint --noout chart.svg 2>&1)"
check "report chart: one line per series" 2 "$(xp 'count(//*[local-name()="polyline"])' chart.svg)"
check "report chart: the title, escaped and read back" "a <b> & c" "$(xp 'string(//*[local-name()="title"][1])' chart.svg)"
run report chart chart.json --svg -
check "report chart --svg - writes the same SVG" "$(cat chart.svg)" "$OUT"
run report chart run.json --svg out.svg
check_rc "report chart of a run report: status 255" 255 "$RC"
check "report chart of a run report: one line" 'poolrun: error: report chart: run.json: unknown key "argv"' "$ERR"

run report
check_rc "report without a subcommand: status 255" 255 "$RC"
check_match "report without a subcommand: says which there are" '^poolrun: error: report: a subcommand is needed: timeline or chart' "$ERR"
run report gantt x.json
check_rc "report with an unknown subcommand: status 255" 255 "$RC"
check_match "report with an unknown subcommand: names it" "^poolrun: error: report gantt: no such subcommand" "$ERR"
run report timeline --help
check_rc "report timeline --help exits 0" 0 "$RC"
check_match "--help lists --svg" '--svg' "$OUT"

finish
