#!/usr/bin/env bash
# --pipe on a large generated stream (never stored): `-k cat` must give it back byte for byte.
# POOLRUN_PIPE_LARGE_LINES sets its size: 120 million lines of `seq` (about 1 GB) by default;
# the sanitizer build runs a tenth of it (tests/CMakeLists.txt), where the copy loop is slow, and
# skips the peak RSS checks (POOLRUN_TEST_SANITIZED: ASan's shadow and quarantine inflate RSS).
. "$(dirname "$0")/lib.sh"

lines=${POOLRUN_PIPE_LARGE_LINES:-120000000}
seq "$lines" | tee >(sha256sum >expected.sum) |
  timeout -k 5 240 /usr/bin/time -f %M -o rss.txt "$P" --pipe --block 10M -j2 -k cat | sha256sum >got.sum
rc=${PIPESTATUS[2]}
wait  # the process substitution
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s expected.sum ] && break; sleep 0.2; done
check_rc pipe_large_rc 0 "$rc"
check pipe_large_sha256 "$(cat expected.sum)" "$(cat got.sum)"
# Bounded memory: input read-ahead is a few blocks and held output spills to disk (64 MiB kept).
if [ -z "${POOLRUN_TEST_SANITIZED:-}" ]; then
  check_le pipe_large_peak_rss_kib 200000 "$(tail -1 rss.txt)" " KiB"
fi

# Slow jobs: poolrun does not read ahead of them (60 MB through 1 MiB chunks, 2 at a time).
seq 10000000 | head -c 60M |
  /usr/bin/time -f %M -o rss2.txt "$P" --pipe --block 1M -j2 'sleep 0.05; wc -c' >counts
check pipe_slow_all_bytes $((60 * 1024 * 1024)) "$(awk '{s += $1} END {print s}' counts)"
if [ -z "${POOLRUN_TEST_SANITIZED:-}" ]; then
  check_le pipe_slow_peak_rss_kib 32000 "$(tail -1 rss2.txt)" " KiB"
fi

# The same through --pipepart on a file of a tenth of the size (written, then deleted with $T).
seq $((lines / 10)) >big
timeout -k 5 120 "$P" --pipepart -a big --block 1M -j2 -k cat | sha256sum >got.sum
check pipepart_large_sha256 "$(sha256sum <big)" "$(cat got.sum)"

finish
