# Stress: 10 jobs each printing 1,000,000 lines, in grouped, -k and --line-buffer modes.
# Every byte arrives exactly once: each job's lines appear once each, in order, whole.
source "$(dirname "$0")/lib.sh"

job='seq -f "job{} %.0f" 1000000'
for mode in "" "-k" "--line-buffer"; do
  name="stress${mode:- group}"
  seq 10 | "$P" -j4 $mode "$job" > out 2> err
  rc=$?
  check_rc "$name exit" 0 "$rc"
  # Per job: the numbers must run 1..1000000 without gap or repeat; every line well formed.
  verdict=$(awk '
    !/^job([1-9]|10) [0-9]+$/ { bad++; next }
    { j = $1; n = $2 + 0; if (n != last[j] + 1) gap++; last[j] = n; count[j]++ }
    END {
      jobs = 0; for (j in count) { jobs++; if (count[j] != 1000000) short++ }
      printf "jobs=%d bad=%d gap=%d short=%d", jobs, bad + 0, gap + 0, short + 0
    }' out)
  check "$name every line once, in order" "jobs=10 bad=0 gap=0 short=0" "$verdict"
  if [ "$mode" != "--line-buffer" ]; then
    # Grouped and -k: each job's output is one contiguous block.
    blocks=$(awk '{print $1}' out | uniq | wc -l)
    check "$name jobs not interleaved" 10 "$blocks"
  fi
  if [ "$mode" = "-k" ]; then
    order=$(awk '{print $1}' out | uniq | tr '\n' ' ')
    check "$name input order" "job1 job2 job3 job4 job5 job6 job7 job8 job9 job10 " "$order"
  fi
done
finish
