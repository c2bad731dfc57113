# --progress, --eta, --bar: a status line on stderr only when stderr is a terminal.
source "$(dirname "$0")/lib.sh"

# Not a terminal: nothing extra in stderr or stdout.
"$P" -k --progress --eta --bar echo ::: a b c > out 2> err
check progress.pipe_rc 0 $?
check progress.pipe_stdout "a
b
c" "$(cat out)"
check progress.pipe_stderr "" "$(cat err)"

# A terminal (script(1) gives poolrun a pseudo-terminal): the last state is drawn, with the total.
if command -v script >/dev/null 2>&1; then
  script -qec "'$P' -j2 --bar --eta 'sleep 0.2; true' ::: 1 2 3 4" /dev/null < /dev/null > tty.out 2>&1
  last=$(tr '\r' '\n' < tty.out | grep -a 'done' | tail -1)
  check_match progress.tty_final 'done 4/4, 0 running' "$last"
  check_match progress.tty_bar '\[#+\] 100%' "$last"
  check_match progress.tty_eta 'ETA' "$last"
else
  skip progress.tty "script(1) is not installed"
fi
finish
