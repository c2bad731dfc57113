#!/usr/bin/env bash
# Shell completion: `poolrun --completion bash|zsh` prints scripts generated from the CLI11 option
# definitions (app/completion_cmd.cc).
#   bash tests/cli/test_completion.sh /path/to/poolrun
# Checks:
#  - --completion's own errors (no shell, an unknown shell) exit 255 with one line;
#  - the scripts the build wrote to <build dir>/completions/ are what the binary prints now;
#  - bash: the script is sourced in a bash subshell and _poolrun is called with COMP_WORDS,
#    COMP_CWORD (and COMP_LINE, COMP_POINT, split at '=' and ':' as readline does) set for a line:
#    options after '-', files after -a/--json/..., directories after --results, files after ::::,
#    commands for the first word, `batch` and its options;
#  - every option `poolrun --help` and `poolrun batch --help` list is in the scripts, and the
#    scripts offer no option that --help lacks;
#  - with python3: a real interactive bash completes a few lines through readline (TAB);
#  - with zsh: `zsh -n` accepts the zsh script, and a real zsh (compinit) completes a few lines.
#    Without zsh these are skipped with a message.
. "$(dirname "$0")/lib.sh"

BUILD_DIR=$(dirname "$P")

# --- the option itself
run --completion
check_rc "--completion without a shell: status 255" 255 "$RC"
check "--completion without a shell: one line" "poolrun: error: --completion needs a value: bash or zsh" "$ERR"
run --completion fish
check_rc "--completion fish: status 255" 255 "$RC"
check "--completion fish: one line" "poolrun: error: --completion: expected bash or zsh, got 'fish'" "$ERR"
run --completion bash extra
check_rc "--completion bash extra: status 255" 255 "$RC"
run --completion=zsh
check_rc "--completion=zsh: status 0" 0 "$RC"
check_match "--completion=zsh: a zsh completion function" '^#compdef poolrun' "$OUT"

"$P" --completion bash >"$T/poolrun.bash" 2>"$T/err"
check_rc "--completion bash: status 0" 0 "$?"
check "--completion bash: nothing on stderr" "" "$(cat "$T/err")"
"$P" --completion zsh >"$T/_poolrun" 2>"$T/err"
check_rc "--completion zsh: status 0" 0 "$?"
check "--completion bash: valid bash (bash -n)" "" "$(bash -n "$T/poolrun.bash" 2>&1)"

# --- the build's copies are current (the custom command in CMakeLists.txt)
for f in poolrun.bash _poolrun; do
  if [ -f "$BUILD_DIR/completions/$f" ]; then
    check_file "build/completions/$f is what poolrun prints" "$T/$f" "$BUILD_DIR/completions/$f"
  else
    fail "build/completions/$f" "missing: $BUILD_DIR/completions/$f (the build generates it)"
  fi
done

# --- a directory to complete file names in
mkdir -p "$T/play/rdir" "$T/play/results.d"
touch "$T/play/report.json" "$T/play/notes.txt" "$T/play/a:b.txt" "$T/play/spec.json"

# complete LINE: the replies of _poolrun for LINE with the cursor at its end, sorted, one a line.
# COMP_WORDS is split as readline splits it: at blanks, and a run of '=' or ':' is a word of its
# own (--json=x gives --json = x); COMP_LINE and COMP_POINT are set as well.
complete_line() {
  (cd "$T/play" && bash --norc --noprofile -c '
    source "$1" || exit 1
    line=$2
    COMP_WORDS=()
    read -ra blank <<<"$line"
    for w in "${blank[@]}"; do
      while [ -n "$w" ]; do
        [[ $w =~ ^([=:]+)(.*)$ ]] || [[ $w =~ ^([^=:]+)(.*)$ ]]
        COMP_WORDS+=("${BASH_REMATCH[1]}"); w=${BASH_REMATCH[2]}
      done
    done
    [[ $line == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
    _poolrun
    ((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort -u
    exit 0' _ "$T/poolrun.bash" "$1" 2>&1)
}
# complete_words WORD...: the replies for COMP_WORDS=(WORD...), COMP_CWORD the last; no COMP_LINE
# (as a caller that sets only COMP_WORDS and COMP_CWORD).
complete_words() {
  (cd "$T/play" && bash --norc --noprofile -c '
    source "$1" || exit 1
    shift
    COMP_WORDS=("$@") COMP_CWORD=$(($# - 1))
    _poolrun
    ((${#COMPREPLY[@]})) && printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort -u
    exit 0' _ "$T/poolrun.bash" "$@" 2>&1)
}
nlist() { printf '%s\n' "$@"; }

# options
check "bash: poolrun --jo" "$(nlist --joblog --jobs)" "$(complete_words poolrun --jo)"
check "bash: poolrun --jo (COMP_LINE)" "$(nlist --joblog --jobs)" "$(complete_line 'poolrun --jo')"
check "bash: poolrun -k --res" "$(nlist --results --resume --resume-failed)" "$(complete_line 'poolrun -k --res')"
check "bash: poolrun -j 4 --ta" "$(nlist --tag --tagstring)" "$(complete_line 'poolrun -j 4 --ta')"
check "bash: poolrun -j4 --li" "$(nlist --line-buffer --link)" "$(complete_line 'poolrun -j4 --li')"
check "bash: poolrun --json x --dr" "--dry-run" "$(complete_line 'poolrun --json x --dr')"
check "bash: poolrun --json=x --dr" "--dry-run" "$(complete_line 'poolrun --json=x --dr')"
check "bash: poolrun --tagstring a:b --ver" "--verbose --version" "$(complete_line 'poolrun --tagstring a:b --ver' | tr '\n' ' ' | sed 's/ $//')"
check "bash: poolrun - offers every option" \
  "$(grep -m1 '^_poolrun_options_main=' "$T/poolrun.bash" | cut -d"'" -f2 | tr ' ' '\n' | LC_ALL=C sort)" \
  "$(complete_line 'poolrun -')"
# files
all_files=$(nlist a:b.txt notes.txt rdir report.json results.d spec.json)
check "bash: poolrun -a <TAB>: files" "$all_files" "$(complete_words poolrun -a '')"
check "bash: poolrun -a <TAB> (COMP_LINE)" "$all_files" "$(complete_line 'poolrun -a ')"
check "bash: poolrun --arg-file no" "notes.txt" "$(complete_line 'poolrun --arg-file no')"
check "bash: poolrun -k -a no" "notes.txt" "$(complete_line 'poolrun -k -a no')"
check "bash: poolrun -kano (attached value)" "-kanotes.txt" "$(complete_line 'poolrun -kano')"
check "bash: poolrun --json re" "$(nlist report.json results.d)" "$(complete_line 'poolrun --json re')"
check "bash: poolrun --jsonl re" "$(nlist report.json results.d)" "$(complete_line 'poolrun --jsonl re')"
check "bash: poolrun --joblog no" "notes.txt" "$(complete_line 'poolrun --joblog no')"
# --json=rep: readline replaces only the text after '=', so the reply is the file name
check "bash: poolrun --json=rep" "report.json" "$(complete_line 'poolrun --json=rep')"
check "bash: poolrun --json=rep (COMP_WORDS only)" "--json=report.json" "$(complete_words poolrun --json=rep)"
check "bash: poolrun --results r: directories" "$(nlist rdir results.d)" "$(complete_line 'poolrun --results r')"
check "bash: poolrun -j <TAB>: nothing" "" "$(complete_line 'poolrun -j ')"
check "bash: poolrun --start-method f" "$(nlist fork forkserver)" "$(complete_line 'poolrun --start-method f')"
check "bash: poolrun cat :::: no" "notes.txt" "$(complete_line 'poolrun cat :::: no')"
check "bash: poolrun cat :::: <TAB>" "$all_files" "$(complete_line 'poolrun cat :::: ')"
# readline replaces only the text after the last ':' (a COMP_WORDBREAKS character): "a:" + "b.txt"
check "bash: poolrun cat :::: a: (':' in a file name)" "b.txt" "$(complete_line 'poolrun cat :::: a:')"
check "bash: poolrun -k wc -l ::: a :::: sp" "spec.json" "$(complete_line 'poolrun -k wc -l ::: a :::: sp')"
# the command
check_match "bash: poolrun gzi: commands" '^gzip$' "$(complete_words poolrun gzi)"
check_match "bash: poolrun -k -j 2 gzi: commands" '^gzip$' "$(complete_line 'poolrun -k -j 2 gzi')"
check_match "bash: poolrun bat: the batch subcommand" '^batch$' "$(complete_line 'poolrun bat')"
check_nomatch "bash: poolrun -k bat: no subcommand after options" '^batch$' "$(complete_line 'poolrun -k bat')"
check_match "bash: poolrun -- gzi" '^gzip$' "$(complete_line 'poolrun -- gzi')"
check "bash: poolrun echo --jo: the command's arguments are not poolrun's options" "" \
  "$(complete_line 'poolrun echo --jo')"
# batch
check "bash: poolrun batch --ju" "--junit" "$(complete_words poolrun batch --ju)"
check "bash: poolrun batch --ju (COMP_LINE)" "--junit" "$(complete_line 'poolrun batch --ju')"
check "bash: poolrun batch --junit no" "notes.txt" "$(complete_line 'poolrun batch --junit no')"
check "bash: poolrun batch --junit=no" "notes.txt" "$(complete_line 'poolrun batch --junit=no')"
check "bash: poolrun batch --results r" "$(nlist rdir results.d)" "$(complete_line 'poolrun batch --results r')"
check "bash: poolrun batch -k sp: the spec file" "spec.json" "$(complete_line 'poolrun batch -k sp')"
check "bash: poolrun batch spec.json --no" "--no-headers" "$(complete_line 'poolrun batch spec.json --no')"
check "bash: poolrun batch --x: no main-only option" "--xapply" "$(complete_line 'poolrun --x')"
check "bash: poolrun batch --x" "" "$(complete_line 'poolrun batch --x')"

# bench and report
check "bash: poolrun bench --wo" "--workers" "$(complete_line 'poolrun bench --wo')"
check "bash: poolrun bench -n 4 --wa" "--warmup" "$(complete_line 'poolrun bench -n 4 --wa')"
check "bash: poolrun bench --json re: files" "$(nlist report.json results.d)" "$(complete_line 'poolrun bench --json re')"
check "bash: poolrun bench --start-method f" "$(nlist fork forkserver)" "$(complete_line 'poolrun bench --start-method f')"
check_match "bash: poolrun bench -- gzi: commands" '^gzip$' "$(complete_line 'poolrun bench -- gzi')"
check "bash: poolrun bench --j: no main-only option" "--json" "$(complete_line 'poolrun bench --j')"
check "bash: poolrun report <TAB>: its subcommands" "$(nlist --help chart timeline)" "$(complete_line 'poolrun report ')"
check "bash: poolrun report timeline --s" "--svg" "$(complete_line 'poolrun report timeline --s')"
check "bash: poolrun report timeline re: the report" "$(nlist report.json results.d)" "$(complete_line 'poolrun report timeline re')"
check "bash: poolrun report chart --svg no" "notes.txt" "$(complete_line 'poolrun report chart --svg no')"
check "bash: poolrun --completion <TAB>" "$(nlist bash zsh)" "$(complete_line 'poolrun --completion ')"

# --- every option --help lists is in the scripts, and no other
# help_options ARGS...: the option names (long and short) `poolrun ARGS --help` lists.
help_options() {
  "$P" "$@" --help 2>&1 | awk '/^  -/ {print $1}' | tr ',' '\n' | grep -E '^-' | LC_ALL=C sort -u
}
main_help=$(help_options)
batch_help=$(help_options batch)
{ [ -n "$main_help" ] && [ -n "$batch_help" ]; } || fail help.options "found no option in poolrun --help / poolrun batch --help"
script_list() { grep -m1 "^_poolrun_options_$1=" "$T/poolrun.bash" | cut -d"'" -f2 | tr ' ' '\n' | LC_ALL=C sort -u; }
check "bash: the main options are exactly those of poolrun --help" "$main_help" "$(script_list main)"
check "bash: the batch options are exactly those of poolrun batch --help" "$batch_help" "$(script_list batch)"
bench_help=$(help_options bench)
timeline_help=$(help_options report timeline)
chart_help=$(help_options report chart)
check "bash: the bench options are exactly those of poolrun bench --help" "$bench_help" "$(script_list bench)"
check "bash: the report timeline options are those of its --help" "$timeline_help" "$(script_list report_timeline)"
check "bash: the report chart options are those of its --help" "$chart_help" "$(script_list report_chart)"
check_match "--help lists --completion" '^--completion$' "$main_help"
missing=()
for o in $(grep -E '^--' <<<"$main_help"); do
  grep -qE -- "(^|[ '|])$o([ '|)]|\$)" "$T/poolrun.bash" || missing+=("$o")
done
check "bash: every long option of poolrun --help appears in the script" "" "${missing[*]}"
missing=()
for o in $(printf '%s\n' "$main_help" "$batch_help" "$bench_help" "$timeline_help" "$chart_help" | grep -E '^--' | sort -u); do
  grep -qE -- "[{,'(]${o}[=,}'[]" "$T/_poolrun" || missing+=("$o")
done
check "zsh: every long option of poolrun (batch) --help appears in the script" "" "${missing[*]}"
# the file-taking options are the ones --help shows with FILE or DIR
file_opts=$("$P" --help | awk '/^  -/ && ($2 == "FILE" || $2 == "DIR") {print $1}' | tr ',' '\n' | LC_ALL=C sort)
check "--help: the file options of poolrun" "$(nlist --arg-file --joblog --json --jsonl --results -a | LC_ALL=C sort)" "$file_opts"

# --- --help of every command fits in 80 columns and shows value names, not CLI11's types
for cmd in "" batch bench report "report timeline" "report chart"; do
  # shellcheck disable=SC2086
  h=$("$P" $cmd --help 2>&1)
  check "--help of 'poolrun $cmd': lines within 80 columns" "" "$(awk 'length($0) > 80' <<<"$h")"
  check "--help of 'poolrun $cmd': no CLI11 type or range annotations" "" \
    "$(grep -E '(^|[ :])(TEXT|INT|UINT|FLOAT|NUMBER|BOOLEAN)( |$)| in \[' <<<"$h")"
done

# --- a real interactive shell: TAB through readline / ZLE. Each line is typed with a TAB, then
# Ctrl-E and Enter; the shell's poolrun function prints the words it got.
cat >"$T/tabs.py" <<'EOF'
import os, pty, re, select, sys, time
shell, setup, lines = sys.argv[1], sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "dumb"
    os.environ.pop("HISTFILE", None)
    argv = ["bash", "--norc", "--noprofile", "-i"] if shell == "bash" else ["zsh", "-f", "-i"]
    os.execvp(argv[0], argv)
buf = b""
def wait_for(pattern, limit=20):
    global buf
    end = time.time() + limit
    while time.time() < end:
        m = re.search(pattern, buf)
        if m:
            buf = buf[m.end():]
            return m
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
    return None
os.write(fd, (setup + "; echo READY-$((6*7))\n").encode())
if not wait_for(rb"READY-42"):
    print("(the shell did not start)"); sys.exit(0)
for line in lines:
    os.write(fd, line.encode() + b"\t\x05\n")
    m = wait_for(rb"ARGS:([^\r\n]*)[\r\n]")
    print(m.group(1).decode(errors="replace") if m else "(no answer)")
    sys.stdout.flush()
os.write(fd, b"exit\n")
EOF
tab_lines=('poolrun --json=rep' 'poolrun --json rep' 'poolrun -a no' 'poolrun --results rd'
           'poolrun --start-method forks' 'poolrun cat :::: a:' 'poolrun batch --jun' 'poolrun batch --junit=no'
           'poolrun -k echo ::: x :::: sp')
tab_expect=('<--json=report.json>' '<--json><report.json>' '<-a><notes.txt>' '<--results><rdir/>'
            '<--start-method><forkserver>' '<cat><::::><a:b.txt>' '<batch><--junit>' '<batch><--junit=notes.txt>'
            '<-k><echo><:::><x><::::><spec.json>')
shell_check() {  # SHELL SETUP: types tab_lines into SHELL, checks the words poolrun got
  local shell=$1 setup=$2 got i
  mapfile -t got < <(cd "$T/play" && timeout -k 5 120 python3 "$T/tabs.py" "$shell" "$setup" "${tab_lines[@]}" 2>&1)
  for i in "${!tab_lines[@]}"; do
    check "$shell (TAB): ${tab_lines[i]}" "ARGS:${tab_expect[i]}" "ARGS:${got[i]:-(nothing)}"
  done
}
if command -v python3 >/dev/null; then
  shell_check bash "PS1='$ '; set -o emacs; bind 'set bell-style none'; source '$T/poolrun.bash'; poolrun() { printf 'ARGS:'; printf '<%s>' \"\$@\"; echo; }"
else
  skip "bash (TAB)" "python3 is not installed: no pseudo-terminal to type into"
fi

# --- zsh
if command -v zsh >/dev/null; then
  check "zsh -n accepts the zsh script" "" "$(zsh -n "$T/_poolrun" 2>&1)"
  if command -v python3 >/dev/null; then
    mkdir -p "$T/zfunc" && cp "$T/_poolrun" "$T/zfunc/_poolrun"
    tab_expect[3]='<--results><rdir>'  # zsh drops the slash after a directory when the line is run
    shell_check zsh "PS1='%% '; bindkey -e; unsetopt beep; fpath=('$T/zfunc' \$fpath); autoload -U compinit; compinit -u -D; poolrun() { printf 'ARGS:'; printf '<%s>' \"\$@\"; echo; }"
  fi
else
  skip "zsh" "zsh is not installed: the zsh script is not checked (Debian: apt-get install zsh)"
fi

finish
