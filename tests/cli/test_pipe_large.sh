#!/usr/bin/env bash
# --pipe on a large generated stream (never stored): `-k cat` must give it back byte for byte.
# POOLRUN_PIPE_LARGE_LINES sets its size: 120 million lines of `seq` (about 1 GB) by default;
# the sanitizer build runs a tenth of it (tests/CMakeLists.txt), where the copy loop is slow.
. "$(dirname "$0")/lib.sh"

lines=${POOLRUN_PIPE_LARGE_LINES:-120000000}
seq "$lines" | tee >(sha256sum >expected.sum) |
  timeout -k 5 240 "$P" --pipe --block 10M -j2 -k cat | sha256sum >got.sum
rc=${PIPESTATUS[2]}
wait  # the process substitution
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s expected.sum ] && break; sleep 0.2; done
check_rc pipe_large_rc 0 "$rc"
check pipe_large_sha256 "$(cat expected.sum)" "$(cat got.sum)"

# The same through --pipepart on a file of a tenth of the size (written, then deleted with $T).
seq $((lines / 10)) >big
timeout -k 5 120 "$P" --pipepart -a big --block 1M -j2 -k cat | sha256sum >got.sum
check pipepart_large_sha256 "$(sha256sum <big)" "$(cat got.sum)"

finish
