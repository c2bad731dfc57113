#!/usr/bin/env bash
# poolrun batch: job specs with dependencies. Order of needs (by timestamps), skipping after a
# failed need, allow_failure, per-job timeouts, env and cwd, JSON Lines on stdin, --results,
# --junit validated with xmllint against tests/data/junit.xsd, the spec's JSON Schema, and exit
# statuses 0 / N / 255 with one-line messages. Sleep markers 8441-8449.
. "$(dirname "$0")/lib.sh"

XSD=$SRC_DIR/tests/data/junit.xsd
SCHEMA=$SRC_DIR/docs/batch.schema.json
command -v jq >/dev/null || { fail jq "jq is not installed (a test dependency)"; finish; }

# jqv NAME FILE FILTER EXPECTED: the compact jq result equals EXPECTED.
jqv() { check "$1" "$4" "$(jq -c "$3" "$2" 2>&1)"; }
# ts FILE: the timestamp a job wrote into FILE.
ts() { cat "$1" 2>/dev/null || echo missing; }
# before NAME A B: timestamp A <= timestamp B (A happened first).
before() {
  if awk -v a="$2" -v b="$3" 'BEGIN{exit !(a != "missing" && b != "missing" && a+0 <= b+0)}'; then ok "$1"; return; fi
  fail "$1" "expected $2 <= $3"
}
STAMP='date +%s.%N'

# --- the CI pipeline: build, then unit and lint in parallel, then package
cat >ci.json <<EOF
{
  "parallel": 4,
  "jobs": [
    {"name": "package", "cmd": "$STAMP >package.start; echo packaged", "needs": ["unit", "lint"]},
    {"name": "build", "cmd": "$STAMP >build.start; sleep 0.3; echo built >artifact; $STAMP >build.end"},
    {"name": "unit", "cmd": "$STAMP >unit.start; cat artifact; sleep 0.5; $STAMP >unit.end", "needs": ["build"]},
    {"name": "lint", "cmd": ["sh", "-c", "$STAMP >lint.start; sleep 0.5; $STAMP >lint.end"], "needs": ["build"]}
  ]
}
EOF
run batch ci.json
check_rc pipeline.status 0 "$RC"
before pipeline.unit_after_build "$(ts build.end)" "$(ts unit.start)"
before pipeline.lint_after_build "$(ts build.end)" "$(ts lint.start)"
before pipeline.unit_and_lint_overlap "$(ts unit.start)" "$(ts lint.end)"
before pipeline.lint_and_unit_overlap "$(ts lint.start)" "$(ts unit.end)"
before pipeline.package_after_unit "$(ts unit.end)" "$(ts package.start)"
before pipeline.package_after_lint "$(ts lint.end)" "$(ts package.start)"
check_match pipeline.header.build '^=== build: succeeded in [0-9]+\.[0-9]{2}s ===$' "$(grep '^=== build' "$T/out")"
check pipeline.grouped_output "=== unit: succeeded" "$(grep -B1 '^built$' "$T/out" | head -1 | cut -c1-19)"
check pipeline.package_output "packaged" "$(grep -A1 '^=== package: succeeded' "$T/out" | tail -1)"
check pipeline.no_stderr "" "$ERR"

run batch --no-headers ci.json
check pipeline.no_headers "built
packaged" "$OUT"

# -k: output in the order the jobs started (build, then unit, lint, package)
run batch -k --no-headers -j4 ci.json
check pipeline.keep_order "built
packaged" "$OUT"

# -j from the command line wins over "parallel": with one slot unit and lint cannot overlap
run batch -j1 ci.json
check_rc pipeline.j1.status 0 "$RC"
if before pipeline.j1.serial_a "$(ts unit.end)" "$(ts lint.start)" >/dev/null 2>&1 ||
   before pipeline.j1.serial_b "$(ts lint.end)" "$(ts unit.start)" >/dev/null 2>&1; then
  ok pipeline.j1.serial
else
  fail pipeline.j1.serial "unit and lint overlapped with -j1"
fi

# --- a failed need skips its dependents (transitively); exit status counts failed jobs only
rm -f ran.*
cat >fail.json <<'EOF'
{"parallel": 2, "jobs": [
  {"name": "build", "cmd": "echo compiling; exit 2"},
  {"name": "test", "cmd": "touch ran.test", "needs": ["build"]},
  {"name": "deploy", "cmd": "touch ran.deploy", "needs": ["test"]},
  {"name": "docs", "cmd": "touch ran.docs"}
]}
EOF
run batch --json fail.json.report fail.json
check_rc skip.status 1 "$RC"
check_cmd skip.test_not_run "a job whose need failed ran" test ! -e ran.test
check_cmd skip.deploy_not_run "a job whose need was skipped ran" test ! -e ran.deploy
check_cmd skip.others_run "an independent job did not run" test -e ran.docs
check_match skip.header.build '^=== build: failed \(exit 2\) in [0-9.]+s ===$' "$(grep '^=== build' "$T/out")"
check skip.header.test "=== test: skipped (needs 'build', which failed) ===" "$(grep '^=== test' "$T/out")"
check skip.header.deploy "=== deploy: skipped (needs 'test', which was skipped) ===" "$(grep '^=== deploy' "$T/out")"
jqv skip.json.summary fail.json.report '.summary | [.jobs, .succeeded, .failed, .skipped, .exit_status]' '[4,1,1,2,1]'
jqv skip.json.statuses fail.json.report '[.jobs[] | "\(.name)=\(.status)"] | sort' \
  '["build=failed","deploy=skipped","docs=succeeded","test=skipped"]'
jqv skip.json.reason fail.json.report '.jobs[] | select(.name == "test") | .reason' '"needs '"'"'build'"'"', which failed"'

# --- allow_failure: reported as failed, not counted in the exit status
cat >allow.json <<'EOF'
{"jobs": [
  {"name": "lint", "cmd": "exit 1", "allow_failure": true},
  {"name": "after", "cmd": "true", "needs": ["lint"]},
  {"name": "ok", "cmd": "true"}
]}
EOF
run batch --jsonl allow.jsonl allow.json
check_rc allow.status 0 "$RC"
check allow.header "=== lint: failed (exit 1, allowed) ===" "$(grep '^=== lint' "$T/out" | sed 's/ in [0-9.]*s//')"
check allow.dependent_skipped "=== after: skipped (needs 'lint', which failed) ===" "$(grep '^=== after' "$T/out")"
check allow.jsonl.lint "failed" "$(jq -r 'select(.name == "lint") | .status' allow.jsonl)"

# --- exit status: the number of failed jobs
printf '{"name": "j%s", "cmd": "exit %s"}\n' 1 0 2 3 3 0 4 7 5 0 | run batch -
check_rc exit.counts 2 "$RC"
seq 1 120 | sed 's/.*/{"name": "f&", "cmd": ["false"]}/' | RUN_TIMEOUT=60 run batch -j8 -
check_rc exit.over_hundred 101 "$RC"

# --- per-job timeouts; the spec's default; the command line's default
m1=$(marker 8441); m2=$(marker 8442)
cat >timeout.json <<EOF
{"timeout": "30s", "parallel": 3, "jobs": [
  {"name": "slow", "cmd": "sleep $m1", "timeout": "300ms"},
  {"name": "quick", "cmd": "sleep 0.1; echo quick"},
  {"name": "forever", "cmd": ["sleep", "$m2"], "timeout": 0.5}
]}
EOF
t=$(now)
run batch --junit timeout.xml timeout.json
d=$(elapsed "$t")
check_rc timeout.status 2 "$RC"
check_le timeout.prompt 5 "$d" s
check_match timeout.header.slow '^=== slow: failed \(timed out\) in 0\.[0-9]+s ===$' "$(grep '^=== slow' "$T/out")"
check_match timeout.header.quick '^=== quick: succeeded' "$(grep '^=== quick' "$T/out")"
check_cmd timeout.killed "a timed-out job survived" wait_gone 1 "$m1" "$m2"
check timeout.junit.type "timeout timeout" "$(grep -o 'type="timeout"' timeout.xml | cut -d'"' -f2 | tr '\n' ' ' | sed 's/ $//')"
reap "$m1" "$m2"
m3=$(marker 8443)
printf '{"name": "dflt", "cmd": "sleep %s"}\n' "$m3" >dflt.jsonl
t=$(now); run batch --timeout 0.3 dflt.jsonl; d=$(elapsed "$t")
check_rc timeout.cli_default.status 1 "$RC"
check_le timeout.cli_default.prompt 5 "$d" s
reap "$m3"

# --- env (set, override, remove) and cwd
mkdir -p sub/dir
export BATCH_KEEP=kept BATCH_DROP=dropped BATCH_OVER=outer
cat >env.json <<'EOF'
{"env": {"BATCH_TOP": "top", "BATCH_OVER": "top"}, "jobs": [
  {"name": "env", "cmd": "echo \"$BATCH_KEEP/${BATCH_DROP-unset}/$BATCH_OVER/$BATCH_TOP/$BATCH_JOB\"",
   "env": {"BATCH_DROP": null, "BATCH_OVER": "job", "BATCH_JOB": "a b"}},
  {"name": "inherit", "cmd": "echo \"$BATCH_DROP/$BATCH_OVER/$BATCH_TOP\""},
  {"name": "cwd", "cmd": ["pwd"], "cwd": "sub/dir"},
  {"name": "argv", "cmd": ["printf", "[%s]", "a b", "$HOME", "*"]}
]}
EOF
run batch --no-headers -k -j1 env.json
check env.values "kept/unset/job/top/a b
dropped/top/top
$T/sub/dir
[a b][\$HOME][*]" "$OUT"
unset BATCH_KEEP BATCH_DROP BATCH_OVER

# --- commands: a missing program, a shell builtin given as argv, the spec's shell
cat >cmds.json <<'EOF'
{"shell": "/bin/sh", "jobs": [
  {"name": "missing", "cmd": ["no-such-program-8440", "x"]},
  {"name": "builtin", "cmd": ["cd", "/"]},
  {"name": "bash", "cmd": "echo ${BASH_VERSION:+bash}", "shell": "bash"}
]}
EOF
run batch --jsonl cmds.jsonl cmds.json
check_rc cmds.status 1 "$RC"
check cmds.missing.exit 127 "$(jq -r 'select(.name == "missing") | .exit_code' cmds.jsonl)"
check cmds.builtin.exit 0 "$(jq -r 'select(.name == "builtin") | .exit_code' cmds.jsonl)"
check cmds.job_shell "bash" "$(grep -A1 '^=== bash' "$T/out" | tail -1)"

# --- retries as in the main job: attempts in all
cat >retry.json <<'EOF'
{"retries": 3, "jobs": [
  {"name": "flaky", "cmd": "echo x >>tries; [ $(wc -l <tries) -ge 2 ]"},
  {"name": "once", "cmd": "echo y >>tries.once; false", "retries": 1}
]}
EOF
rm -f tries tries.once
run batch retry.json
check_rc retry.status 1 "$RC"
check retry.flaky_attempts 2 "$(wc -l <tries | tr -d ' ')"
check retry.own_value_wins 1 "$(wc -l <tries.once | tr -d ' ')"
check_match retry.header '^=== flaky: succeeded in [0-9.]+s \(attempt 2\) ===$' "$(grep '^=== flaky' "$T/out")"

# --- JSON Lines on stdin: with "-", or piped in without a file
printf '%s\n' '{"name": "a", "cmd": "echo A"}' '' '{"name": "b", "cmd": "echo B", "needs": ["a"]}' | run batch --no-headers -
check jsonl.dash "A
B" "$OUT"
printf '%s\n' '{"name": "a", "cmd": "echo A"}' '{"name": "b", "cmd": "echo B", "needs": ["a"]}' | run batch --no-headers
check jsonl.piped "A
B" "$OUT"
cat ci.json | run batch --no-headers -j4
check jsonl.document_on_stdin "built
packaged" "$(printf '%s\n' "$OUT" | sort)"
printf '' | run batch
check_rc jsonl.empty.status 0 "$RC"
check_match jsonl.empty.warns 'no jobs' "$ERR"
# jobs do not read poolrun's stdin
printf '%s\n' '{"name": "r", "cmd": "cat; echo end"}' | run batch --no-headers -
check jsonl.job_stdin_is_null "end" "$OUT"

# --- --dry-run: each command in an order it could run (among ready jobs, spec order); nothing runs
rm -f ran.*
run batch --dry-run fail.json
check_rc dry.status 0 "$RC"
check dry.output "echo compiling; exit 2
touch ran.test
touch ran.deploy
touch ran.docs" "$OUT"
check_cmd dry.nothing_ran "--dry-run ran a job" test ! -e ran.docs

# --- --results DIR: DIR/<name>/{stdout,stderr,exit,seq,record.json}
mkdir -p res/build && echo stale >res/build/exit
cat >res.json <<'EOF'
{"jobs": [
  {"name": "build", "cmd": "echo out; echo err >&2; exit 3"},
  {"name": "ok", "cmd": "printf 'no newline'"},
  {"name": "test", "cmd": "true", "needs": ["build"]}
]}
EOF
# -k: "ok" prints no final newline, so a header printed after it would not start a line; with -k
# build's output comes first.
run batch -k --results res res.json
check_rc results.status 1 "$RC"
check results.stdout "out" "$(cat res/build/stdout)"
check results.stderr "err" "$(cat res/build/stderr)"
check results.exit "3" "$(cat res/build/exit)"
check results.ok.stdout "no newline" "$(cat res/ok/stdout)"
check results.ok.exit "0" "$(cat res/ok/exit)"
check results.record "build failed 3" "$(jq -r '"\(.name) \(.status) \(.exit_code)"' res/build/record.json)"
check results.skipped "skipped" "$(jq -r .status res/test/record.json)"
check_cmd results.skipped_no_exit "a skipped job has an exit file" test ! -e res/test/exit
check results.printed_too "out" "$(grep -A1 '^=== build' "$T/out" | tail -1)"

# --- --junit: one testsuite, a testcase per job, valid against the common JUnit schema
cat >junit.json <<'EOF'
{"jobs": [
  {"name": "build <all>", "cmd": "printf 'ok & done \\033[32mgreen\\033[0m\\n'; printf 'warn \\001\\377\\n' >&2"},
  {"name": "test", "cmd": "echo 'FAIL: x'; exit 4", "needs": ["build <all>"]},
  {"name": "deploy", "cmd": "true", "needs": ["test"]},
  {"name": "lint", "cmd": "exit 1", "allow_failure": true}
]}
EOF
run batch --junit report.xml junit.json
check_rc junit.status 1 "$RC"
if command -v xmllint >/dev/null; then
  valid_xml() { xmllint --noout --schema "$XSD" "$1" 2>/dev/null; }
  check_cmd junit.valid "report.xml does not validate against tests/data/junit.xsd: $(xmllint --noout --schema "$XSD" report.xml 2>&1 | head -3)" \
    valid_xml report.xml
  check_cmd junit.valid_timeout "timeout.xml does not validate" valid_xml timeout.xml
  x() { xmllint --xpath "$1" report.xml 2>/dev/null; }
  check junit.suite.counts "4 2 1 0" "$(x 'string(//testsuite/@tests)') $(x 'string(//testsuite/@failures)') $(x 'string(//testsuite/@skipped)') $(x 'string(//testsuite/@errors)')"
  check junit.suite.name "poolrun batch" "$(x 'string(//testsuite/@name)')"
  check junit.cases "build <all>,test,deploy,lint" "$(x '//testcase/@name' | sed 's/^ name="\(.*\)"$/\1/; s/&lt;/</g; s/&gt;/>/g' | paste -sd, -)"
  check junit.classname "poolrun.batch" "$(x 'string(//testcase[@name="test"]/@classname)')"
  check_match junit.time '^[0-9]+\.[0-9]{3}$' "$(x 'string(//testcase[@name="test"]/@time)')"
  check junit.failure "exit 4" "$(x 'string(//testcase[@name="test"]/failure/@message)')"
  check junit.allowed "exit 1 (allowed to fail)" "$(x 'string(//testcase[@name="lint"]/failure/@message)')"
  check junit.skipped "needs 'test', which failed" "$(x 'string(//testcase[@name="deploy"]/skipped/@message)')"
  check junit.system_out "FAIL: x" "$(x 'string(//testcase[@name="test"]/system-out)')"
  check junit.escaped_out "ok & done green" "$(x 'string(//testcase[@name="build <all>"]/system-out)')"
  check junit.stripped_err "warn �" "$(x 'string(//testcase[@name="build <all>"]/system-err)')"
  check_nomatch junit.no_control_bytes $'[\x01\x1b]' "$(cat report.xml)"
else
  skip junit.valid "xmllint is not installed"
fi
# a report file that cannot be written: 255 before anything runs
rm -f ran.*
printf '%s\n' '{"name": "a", "cmd": "touch ran.a"}' | run batch --junit /nonexistent/dir/r.xml -
check_rc junit.unwritable.status 255 "$RC"
check_cmd junit.unwritable.nothing_ran "a job ran" test ! -e ran.a

# --- the reports validate against their schema (jobs that ran)
if python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null; then
  run batch --json ci.report.json ci.json
  res=$(python3 - "$SRC_DIR/docs/poolrun-report.schema.json" ci.report.json <<'PY'
import json, sys
from jsonschema import Draft202012Validator
errs = list(Draft202012Validator(json.load(open(sys.argv[1]))).iter_errors(json.load(open(sys.argv[2]))))
print("valid" if not errs else "; ".join(f"{list(e.absolute_path)}: {e.message}" for e in errs[:3]))
PY
)
  check reports.json_schema valid "$res"
  jqv reports.names ci.report.json '[.jobs[].name] | sort' '["build","lint","package","unit"]'
else
  skip reports.json_schema "python3 module jsonschema (draft 2020-12) not importable"
fi

# --- the spec's JSON Schema accepts the specs above and rejects what poolrun rejects
if [ -f "$SCHEMA" ] && python3 -c 'import jsonschema; jsonschema.Draft202012Validator' 2>/dev/null; then
  schema_check() {  # schema_check FILE: "valid" or the first error
    python3 - "$SCHEMA" "$1" <<'PY'
import json, sys
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
errs = list(Draft202012Validator(schema).iter_errors(json.load(open(sys.argv[2]))))
print("valid" if not errs else f"{list(errs[0].absolute_path)}: {errs[0].message}")
PY
  }
  for f in ci.json fail.json allow.json timeout.json env.json cmds.json retry.json res.json junit.json; do
    check "schema.accepts[$f]" valid "$(schema_check $f)"
  done
  for bad in '{"jobs": [{"name": "a", "cmd": "x", "timeout": true}]}' '{"jobs": [{"name": "a", "cmd": "x", "need": []}]}' \
    '{"jobs": [{"name": "a"}]}' '{"job": []}' '{"jobs": [{"name": "a/b", "cmd": "x"}]}' '{"jobs": [{"name": "a", "cmd": []}]}' \
    '{"parallel": "x", "jobs": []}' '{"jobs": [{"name": "a", "cmd": "x", "env": {"A": 1}}]}'; do
    printf '%s' "$bad" >bad.json
    run batch bad.json
    check_rc "schema.rejects[$bad].poolrun" 255 "$RC"
    r=$(schema_check bad.json)
    [ "$r" != valid ] && ok "schema.rejects[$bad]" || fail "schema.rejects[$bad]" "the schema accepts a spec poolrun rejects"
  done
else
  skip schema "docs/batch.schema.json missing or python3 jsonschema not importable"
fi

# --- invalid specs and options: exit 255, one line on stderr naming the problem, nothing runs
rm -f ran.*
bad_spec() {  # bad_spec NAME SPEC_TEXT EXPECTED_MESSAGE
  printf '%s' "$2" >bad.json
  run batch bad.json
  check_rc "invalid[$1].status" 255 "$RC"
  check "invalid[$1].message" "poolrun: error: bad.json: $3" "$ERR"
  check "invalid[$1].no_stdout" "" "$OUT"
}
R='"cmd": "touch ran.x"'
bad_spec timeout "{\"jobs\": [{\"name\": \"a\", $R}, {\"name\": \"b\", $R}, {\"name\": \"c\", $R}, {\"name\": \"d\", $R, \"timeout\": true}]}" \
  'jobs[3].timeout: expected a duration like "30s", "1.5m" or a number of seconds, got true'
bad_spec cycle "{\"jobs\": [{\"name\": \"build\", $R, \"needs\": [\"test\"]}, {\"name\": \"test\", $R, \"needs\": [\"build\"]}]}" \
  'dependency cycle: build -> test -> build (each job needs the next)'
# A generated spec with 100 000 jobs on one cycle: one short line (its first jobs, its last one
# and the count), not a megabyte of names. Checked
# once, not per start method: nothing starts (about 3 s of CPU to read and check the spec).
if [ -z "${POOLRUN_TEST_START_METHOD:-}" ] && [ -z "${POOLRUN_TEST_SANITIZED:-}" ]; then
  awk 'BEGIN { n = 100000; printf "{\"jobs\": ["
    for (i = 0; i < n; i++) printf "%s{\"name\": \"job%d\", \"cmd\": \"touch ran.x\", \"needs\": [\"job%d\"]}", (i ? "," : ""), i, (i + 1) % n
    print "]}" }' >cycle.json
  RUN_TIMEOUT=120 run batch cycle.json
  check_rc "invalid[long cycle].status" 255 "$RC"
  check "invalid[long cycle].message" \
    "poolrun: error: cycle.json: dependency cycle of 100000 jobs: job0 -> job1 -> job2 -> job3 -> ... -> job99999 -> job0 (each job needs the next)" \
    "$ERR"
  rm -f cycle.json
fi
bad_spec unknown_need "{\"jobs\": [{\"name\": \"build\", $R}, {\"name\": \"test\", $R, \"needs\": [\"biuld\"]}]}" \
  'jobs[1].needs[0]: no job is named "biuld" (did you mean "build"?)'
bad_spec duplicate_name "{\"jobs\": [{\"name\": \"a\", $R}, {\"name\": \"a\", $R}]}" \
  'jobs[1].name: "a" is already the name of jobs[0]'
bad_spec unknown_key "{\"jobs\": [{\"name\": \"a\", $R, \"allow_fail\": true}]}" \
  'jobs[0]: unknown key "allow_fail"; expected one of: name, cmd, needs, env, cwd, timeout, retries, shell, allow_failure'
bad_spec duplicate_key "{\"jobs\": [{\"name\": \"a\", $R, $R}]}" 'jobs[0]: key "cmd" appears twice'
bad_spec json "{\"jobs\": [" 'invalid JSON: parse error at line 1, column 11: syntax error while parsing value - unexpected end of input; expected '"'"'['"'"', '"'"'{'"'"', or a literal'
bad_spec shell "{\"shell\": \"/no/shell\", \"jobs\": [{\"name\": \"a\", $R}]}" 'shell: shell "/no/shell" not found or not executable'
check_cmd invalid.nothing_ran "a job of an invalid spec ran" test ! -e ran.x

printf '%s\n' '{"name": "a", "cmd": "x"}' '{"name": "b", "cmd": "x", "retries": "2"}' | run batch -
check_rc invalid.jsonl.status 255 "$RC"
check invalid.jsonl.message 'poolrun: error: <stdin>: line 2: retries: expected a whole number of attempts like 3, got "2"' "$ERR"

for args in 'nosuch.json' '--bogus ci.json' '-j abc ci.json' '--timeout 50% ci.json' \
  'ci.json extra' '--start-method teleport ci.json'; do
  # shellcheck disable=SC2086
  run batch $args
  check_rc "usage[$args].status" 255 "$RC"
  check "usage[$args].one_line" 1 "$(printf '%s\n' "$ERR" | grep -c .)"
  check "usage[$args].no_stdout" "" "$OUT"
done
run batch nosuch.json
check usage.missing_file "poolrun: error: nosuch.json: cannot open the spec: No such file or directory" "$ERR"
run batch  # stdin is /dev/null here: not a spec
check_rc usage.no_spec.status 255 "$RC"
check_match usage.no_spec.message '^poolrun: error: batch: no spec given' "$ERR"

run batch --help
check_rc help.status 0 "$RC"
check_match help.mentions_junit -- '--junit' "$OUT"
run --help
check_match help.main_mentions_batch 'poolrun batch --help' "$OUT"

# A working directory that does not exist: the job fails, and the message names the job and the
# directory (not the shell), the same under every start method.
printf '{"jobs":[{"name":"build","cmd":"echo hi","cwd":"%s/missing-dir"}]}\n' "$T" >cwd.json
run batch cwd.json
check_rc cwd_missing.status 1 "$RC"
check_match cwd_missing.message "job build: cannot run 'echo hi': chdir: $T/missing-dir: No such file or directory" "$ERR"

finish

