# The --pipe/--pipepart section of scripts/bench (sourced by it; run it alone with
# `scripts/bench --only pipe`): a generated file of BENCH_PIPE_LINES lines of `seq` (default
# 120 000 000: ~1 GB, in the bench's temporary directory, deleted afterwards) counted by `wc -l` jobs
# in 10 MiB chunks, poolrun against `cat file | wc -l` and GNU parallel, side by side.
# Environment: BENCH_PIPE_LINES, BENCH_PIPE_RUNS (runs per command, default 3).
# bench_pipe: uses $tmp; writes $tmp/pipe-section.md and ${BENCH_RESULTS:-$tmp}/pipe.env.
bench_pipe() {
  local lines=${BENCH_PIPE_LINES:-120000000} runs=${BENCH_PIPE_RUNS:-3}
  local f=$tmp/pipe-data
  echo "== 4. --pipe / --pipepart: generating $lines lines of seq in $f ==" >&2
  seq "$lines" >"$f"
  local size; size=$(stat -c %s "$f")
  # Each runner must do the work: the per-chunk line counts add up to the file's.
  local c got
  for c in "build/poolrun --pipe --block 10M -j2 wc -l <$f" "cat $f | build/poolrun --pipe --block 10M -j2 wc -l" \
           "build/poolrun --pipepart -a $f --block 10M -j2 wc -l" "parallel --pipe --block 10M -j2 wc -l <$f" \
           "parallel --pipepart -a $f --block 10M -j2 wc -l"; do
    got=$(bash -c "$c" | awk '{ s += $1 } END { print s }')
    [ "$got" = "$lines" ] || { echo "bench: '$c' counted $got lines, want $lines" >&2; return 1; }
  done
  local p_pool="build/poolrun --pipe --block 10M -j2 wc -l <$f"
  local p_copy="cat $f | build/poolrun --pipe --block 10M -j2 wc -l"
  local p_cat="cat $f | wc -l"
  local p_gnu="parallel --pipe --block 10M -j2 wc -l <$f"
  local q_pool="build/poolrun --pipepart -a $f --block 10M -j2 wc -l"
  local q_gnu="parallel --pipepart -a $f --block 10M -j2 wc -l"
  hyperfine --warmup 1 --runs "$runs" --time-unit second --style basic \
    --export-json "$tmp/pipe.json" --export-markdown "$tmp/pipe.md" "$p_pool" "$p_copy" "$p_cat" "$p_gnu" >&2
  hyperfine --warmup 1 --runs "$runs" --time-unit second --style basic \
    --export-json "$tmp/pipepart.json" --export-markdown "$tmp/pipepart.md" "$q_pool" "$q_gnu" >&2
  rm -f "$f"
  local t_pool t_copy t_cat t_gnu u_pool u_gnu
  t_pool=$(jq -r --arg c "$p_pool" '.results[] | select(.command == $c) | .median' "$tmp/pipe.json")
  t_copy=$(jq -r --arg c "$p_copy" '.results[] | select(.command == $c) | .median' "$tmp/pipe.json")
  t_cat=$(jq -r --arg c "$p_cat" '.results[] | select(.command == $c) | .median' "$tmp/pipe.json")
  t_gnu=$(jq -r --arg c "$p_gnu" '.results[] | select(.command == $c) | .median' "$tmp/pipe.json")
  u_pool=$(jq -r --arg c "$q_pool" '.results[] | select(.command == $c) | .median' "$tmp/pipepart.json")
  u_gnu=$(jq -r --arg c "$q_gnu" '.results[] | select(.command == $c) | .median' "$tmp/pipepart.json")
  local r_cat r_gnu r_part
  r_cat=$(awk "BEGIN { printf \"%.2f\", $t_cat / $t_pool }")
  r_gnu=$(awk "BEGIN { printf \"%.2f\", $t_gnu / $t_pool }")
  r_part=$(awk "BEGIN { printf \"%.2f\", $u_gnu / $u_pool }")
  local v_cat v_gnu v_part
  v_cat=$(awk "BEGIN { print ($t_cat / $t_pool >= 1) ? \"PASS\" : \"FAIL\" }")
  v_gnu=$(awk "BEGIN { print ($t_gnu / $t_pool >= 2.6) ? \"PASS\" : \"FAIL\" }")
  v_part=$(awk "BEGIN { print ($u_gnu / $u_pool >= 2.4) ? \"PASS\" : \"FAIL\" }")
  printf '  %-44s %s\n' "--pipe vs cat | wc -l (>= 1)" "$r_cat  $v_cat" \
    "--pipe vs GNU parallel --pipe (>= 2.6)" "$r_gnu  $v_gnu" \
    "--pipepart vs GNU parallel --pipepart (>= 2.4)" "$r_part  $v_part" >&2
  {
    echo "r_pipe_cat=$r_cat"
    echo "r_pipe_gnu=$r_gnu"
    echo "r_pipepart_gnu=$r_part"
    echo "v_pipe_cat=$v_cat"
    echo "v_pipe_gnu=$v_gnu"
    echo "v_pipepart_gnu=$v_part"
  } >"${BENCH_RESULTS:-$tmp}/pipe.env"
  cat >"$tmp/pipe-section.md" <<MD
## 6. --pipe and --pipepart: \`wc -l\` over a 1 GB file

A file of \`seq $lines\` ($size bytes, in a temporary directory, deleted afterwards), counted in
chunks of 10 MiB by two \`wc -l\` jobs at a time. Two side-by-side hyperfine runs, one warm-up and
$runs timed runs per command; medians. \`poolrun --pipe < file\` sees a regular file on its stdin
and sends the chunks as file ranges (splice(2)), as \`--pipepart\` does; \`cat file | poolrun
--pipe\` shows the copying path through a pipe.

| target | measured | result |
|---|---|---|
| \`poolrun --pipe\` no slower than \`cat file \| wc -l\` | $r_cat× | $v_cat |
| \`poolrun --pipe\` ≥ 2.6× GNU parallel \`--pipe\` | $r_gnu× | $v_gnu |
| \`poolrun --pipepart\` ≥ 2.4× GNU parallel \`--pipepart\` | $r_part× | $v_part |

$(sed "s|$tmp/||g" "$tmp/pipe.md")

$(sed "s|$tmp/||g" "$tmp/pipepart.md")

Medians (s): poolrun --pipe $(printf %.3f "$t_pool"), through \`cat |\` $(printf %.3f "$t_copy"),
\`cat | wc -l\` $(printf %.3f "$t_cat"), GNU parallel --pipe $(printf %.3f "$t_gnu"); poolrun --pipepart
$(printf %.3f "$u_pool"), GNU parallel --pipepart $(printf %.3f "$u_gnu"). Load average (1, 5, 15 min)
after this section: $(cut -d' ' -f1-3 /proc/loadavg).
MD
}
