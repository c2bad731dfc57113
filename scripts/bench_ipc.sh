# The IPC section of scripts/bench (sourced by it; run it alone with `scripts/bench --only ipc`): the
# cost per task of `poolrun bench`'s process pool at chunksize 1, beside Python's
# multiprocessing.Pool.map (scripts/pool_ipc.py). cpu:0 tasks (nothing to compute): with one worker
# process at chunksize 1, the time per task beyond running the same tasks serially is what the
# pool's messages cost. Environment: BENCH_IPC_N (tasks, default 200000).
# bench_ipc: uses $tmp; writes $tmp/ipc-section.md and ${BENCH_RESULTS:-$tmp}/ipc.env.
bench_ipc() {
  : >"${BENCH_RESULTS:-$tmp}/ipc.env"
  local n=${BENCH_IPC_N:-200000} runs=5 m json py_s py_per line
  json="$tmp/ipc.json"
  local rows=""
  for m in spawn fork forkserver; do
    build/poolrun bench cpu:0 --tasks "$n" -e serial,process -w 1 -r "$runs" --warmup 1 \
      --start-method "$m" --json "$json" >/dev/null
    line=$(jq -r --argjson n "$n" '
      (.configs[] | select(.executor == "serial") | .wall_s.median) as $s
      | (.configs[] | select(.executor == "process") | .wall_s.median) as $p
      | "\(($p - $s) / $n * 1e6) \($p / $n * 1e6) \($s / $n * 1e6)"' "$json")
    read -r per total serial <<<"$line"
    echo "ipc_$m=$(printf %.2f "$per")" >>"${BENCH_RESULTS:-$tmp}/ipc.env"
    rows+="| poolrun bench, process pool, $m | $(printf %.2f "$per") | $(printf %.2f "$total") | $(printf %.3f "$serial") |"$'\n'
  done
  py_s=$(python3 scripts/pool_ipc.py 100000 fork)
  py_per=$(awk '{printf "%.2f", $1 * 1e6}' <<<"$py_s")
  echo "ipc_python=$py_per" >>"${BENCH_RESULTS:-$tmp}/ipc.env"
  rows+="| Python $(python3 -c 'import sys; print(".".join(map(str, sys.version_info[:3])))') multiprocessing.Pool(1).map, fork | $py_per | | |"$'\n'
  cat >"$tmp/ipc-section.md" <<MD
## 7. IPC cost per task: the built-in process pool against Python's Pool

\`poolrun bench cpu:0 --tasks $n -e serial,process -w 1 --chunksize 1\` (the default), $runs runs
after one warm-up, medians: per task, the process pool's wall time less serial execution's, over
$n tasks that compute nothing. The pool's time includes starting and reaping its worker. Python:
\`scripts/pool_ipc.py\` — \`Pool(1).map(f, range(100000), chunksize=1)\` of an identity function less
the same serial map, best of 3 (the pool started before the clock). Target: ≤ 3 µs per task.

| pool | IPC per task (µs) | pool wall per task (µs) | serial per task (µs) |
|---|---:|---:|---:|
${rows%$'\n'}

poolrun reaches this by batching: several chunks in flight per worker when tasks are short, the
worker reading all that has arrived and writing all its results in one write (see
platform/bench_worker.h); Python's Pool pays a pickle, a locked pipe read, a pipe write and a
result-handler thread wake-up per task. The comparison is of the pools' plumbing, not of equal
work: a poolrun task is a built-in function of its item number (16 bytes out, 8 back, nothing to
serialise), a Python task a pickled call of any function. Both figures move with the machine's
load (see the load average above): Python's has been seen at about 18 µs per item on a quiet
machine of this class, more under load.
MD
  echo "== IPC per task (µs): =="
  printf '%s' "$rows"
}
