# The --map section of scripts/bench (sourced by it; run it alone with `scripts/bench --only map`).
# Measures, with hyperfine, poolrun's --map worker pool on one large file:
#  a. chunksize 1000: MAP_N lines (default 10 000 000) doubled by `awk '{print $1*2}'` workers at
#     -j1 and -j2, against one awk reading the file directly. poolrun's overhead per record is
#     (T_poolrun_j1 - T_awk) / MAP_N in wall time (median), and also in CPU time (user + sys of
#     poolrun and its workers, minus awk's alone) / MAP_N, which a second core cannot hide.
#  b. chunksize 1: MAP_SMALL lines (default 200 000: one record per chunk is slow for Python) at
#     -j2, against Python's multiprocessing Pool.imap(chunksize=1) doing the same doubling in
#     its workers (scripts/bench_pool_imap.py). Cost per item: T / MAP_SMALL.
# Environment: BENCH_MAP_N, BENCH_MAP_SMALL, BENCH_MAP_RUNS (runs per command, default 3).
# bench_map TMPDIR: runs it and writes the Markdown section to TMPDIR/map.md, figures to stdout.
bench_map() {
  local tmp=$1
  local n=${BENCH_MAP_N:-10000000} small=${BENCH_MAP_SMALL:-200000} runs=${BENCH_MAP_RUNS:-3}
  local file=$tmp/map-$n.txt sfile=$tmp/map-$small.txt
  seq 1 "$n" >"$file"
  seq 1 "$small" >"$sfile"
  local awkp='awk "{print \$1*2}"'  # one word: the workers' shell command line
  local c_awk="awk '{print \$1*2}' $file"
  local c_j1="build/poolrun --map -j1 --chunksize 1000 -a $file '$awkp'"
  local c_j2="build/poolrun --map -j2 --chunksize 1000 -a $file '$awkp'"
  local c_p1="build/poolrun --map -j2 --chunksize 1 -a $sfile '$awkp'"
  local c_py="python3 scripts/bench_pool_imap.py $sfile 2 1"
  # Every command must give the same output as awk alone before it is timed.
  local want got c
  want=$(bash -c "$c_awk" | md5sum)
  for c in "$c_j1" "$c_j2"; do
    got=$(bash -c "$c" | md5sum)
    [ "$got" = "$want" ] || { echo "bench: '$c' differs from awk alone" >&2; return 1; }
  done
  want=$(awk '{print $1*2}' "$sfile" | md5sum)
  for c in "$c_p1" "$c_py"; do
    got=$(bash -c "$c" | md5sum)
    [ "$got" = "$want" ] || { echo "bench: '$c' differs from awk alone" >&2; return 1; }
  done
  echo "== map a: $n lines through awk workers, chunksize 1000, $runs runs each =="
  hyperfine --warmup 1 --runs "$runs" --time-unit second --style basic --output null \
    --export-json "$tmp/map_a.json" --export-markdown "$tmp/map_a.md" "$c_awk" "$c_j1" "$c_j2"
  echo "== map b: $small lines, chunksize 1, -j2: poolrun against Python's Pool.imap =="
  hyperfine --warmup 1 --runs "$runs" --time-unit second --style basic --output null \
    --export-json "$tmp/map_b.json" --export-markdown "$tmp/map_b.md" "$c_p1" "$c_py"
  local q='.results[] | select(.command == $c)'
  med() { jq -r --arg c "$2" "$q | .median" "$1"; }
  cpu() { jq -r --arg c "$2" "$q | (.user + .system)" "$1"; }
  local t_awk t_j1 t_j2 u_awk u_j1 t_p1 t_py
  t_awk=$(med "$tmp/map_a.json" "$c_awk"); t_j1=$(med "$tmp/map_a.json" "$c_j1"); t_j2=$(med "$tmp/map_a.json" "$c_j2")
  u_awk=$(cpu "$tmp/map_a.json" "$c_awk"); u_j1=$(cpu "$tmp/map_a.json" "$c_j1")
  t_p1=$(med "$tmp/map_b.json" "$c_p1"); t_py=$(med "$tmp/map_b.json" "$c_py")
  f() { awk "BEGIN { printf \"$1\", $2 }"; }
  MAP_OVERHEAD_US=$(f %.3f "($t_j1 - $t_awk) / $n * 1e6")
  MAP_CPU_US=$(f %.3f "($u_j1 - $u_awk) / $n * 1e6")
  MAP_SPEEDUP_J2=$(f %.2f "$t_awk / $t_j2")
  MAP_C1_US=$(f %.2f "$t_p1 / $small * 1e6")
  MAP_PY_US=$(f %.2f "$t_py / $small * 1e6")
  local v1 v2
  v1=$(awk "BEGIN { print (($t_j1 - $t_awk) / $n * 1e6 <= 3) ? \"PASS\" : \"FAIL\" }")
  v2=$(awk "BEGIN { print ($t_p1 < $t_py) ? \"PASS\" : \"FAIL\" }")
  cat >"$tmp/map.md" <<MD

## 5. Worker pool (\`--map\`)

Persistent workers fed records in chunks over pipes (docs/map.md). hyperfine, one warm-up and
$runs runs per command, output to /dev/null; every command's output was first checked equal to
awk's alone.

| figure | measured | target | result |
|---|---|---|---|
| overhead per record, chunksize 1000, wall: (T(poolrun -j1) − T(awk)) / $n | $MAP_OVERHEAD_US µs | ≤ 3 µs | $v1 |
| overhead per record, chunksize 1000, CPU (user+sys, workers included, minus awk's) / $n | $MAP_CPU_US µs | | |
| -j2 against one awk (speed-up) | ${MAP_SPEEDUP_J2}× | | |
| chunksize 1, -j2, per record: poolrun with awk workers / Python Pool.imap | $MAP_C1_US / $MAP_PY_US µs | faster than Python | $v2 |

The chunksize-1 rows use $small lines (one record per chunk makes Python's run long).

$(cat "$tmp/map_a.md")

$(cat "$tmp/map_b.md")
MD
  {
    echo "map_us=$MAP_OVERHEAD_US"
    echo "map_c1_us=$MAP_C1_US"
    echo "map_py_us=$MAP_PY_US"
    echo "v_map=$v1"
    echo "v_map_c1=$v2"
  } >"${BENCH_RESULTS:-$tmp}/map.env"
  echo "map: overhead/record (chunksize 1000, -j1): wall $MAP_OVERHEAD_US µs ($v1), CPU $MAP_CPU_US µs; -j2 speed-up ${MAP_SPEEDUP_J2}x"
  echo "map: chunksize 1, -j2: poolrun $MAP_C1_US µs/record, Python Pool.imap $MAP_PY_US µs/record ($v2)"
}
