#!/usr/bin/env bash
# The man page renders without warnings and describes exactly the options poolrun has.
#   bash tests/cli/test_manpage.sh /path/to/poolrun
# Checks:
#  - groff -man -ww (default device and utf8) prints no warning; mandoc -Tlint neither, when it is
#    installed. Without groff the rendering checks are skipped with a message; the others still run;
#  - every option `poolrun --help` lists (long and short) is described in the OPTIONS section;
#  - every option the OPTIONS section describes is one `poolrun --help` lists (nothing stale);
#  - the version in .TH is the one `poolrun --version` prints.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/cli/lib.sh"
PAGE=$ROOT/man/poolrun.1

if [ ! -f "$PAGE" ]; then
  fail manpage.exists "$PAGE is missing"
  finish
fi

# --- rendering: any diagnostic is a failure
if command -v groff >/dev/null; then
  for dev in ps utf8; do
    check "groff -ww -T$dev: no warnings" "" "$(groff -man -ww -z -T$dev "$PAGE" 2>&1)"
  done
else
  skip groff "groff is not installed (Debian: groff-base); rendering not checked"
fi
if command -v mandoc >/dev/null; then
  check "mandoc -Tlint: no warnings" "" "$(mandoc -Tlint -Wwarning "$PAGE" 2>&1)"
else
  skip mandoc "mandoc is not installed"
fi

# --- options: --help and the OPTIONS section name the same set
# The page's source without comments and without the roff escapes that can sit inside a name.
plain=$(sed -e '/^\.\\"/d' -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(CW//g' \
            -e 's/\\[&%]//g' -e 's/\\~/ /g' "$PAGE")
options_section=$(awk '/^\.SH /{on = ($2 == "OPTIONS")} on' <<<"$plain")
# The options named in the tags of the OPTIONS section (the line after each .TP).
documented=$(awk 'tp {print; tp = 0} /^\.TP/ {tp = 1}' <<<"$options_section" |
             grep -oE '(^|[ "])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed 's/^[ "]//' | sort -u)
[ -n "$documented" ] || fail manpage.options "found no option in the OPTIONS section of $PAGE"

help=$("$P" --help 2>&1)
rc=$?
check_rc "--help exits 0" 0 "$rc"
# CLI11 lists each option as "  -j,-P,--jobs TEXT   description": the names are the first field.
listed=$(awk '/^  -/ {print $1}' <<<"$help" | tr ',' '\n' | grep -E '^-' | sort -u)
[ -n "$listed" ] || fail help.options "found no option in 'poolrun --help':$(printf '\n%s' "$help")"

undocumented=() stale=()
for opt in $listed; do
  grep -qxF -- "$opt" <<<"$documented" || undocumented+=("$opt")
done
for opt in $documented; do
  grep -qxF -- "$opt" <<<"$listed" || stale+=("$opt")
done
check "every --help option is in the man page's OPTIONS" "" "${undocumented[*]}"
check "the man page's OPTIONS name no option --help lacks" "" "${stale[*]}"

# --- "Not available": no option it names is one poolrun has
not_available=$(awk '/^Not available:/ {on = 1} on {print} on && /^\.PP/ {exit}' <<<"$plain" |
                grep -oE '(^|[ (])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed 's/^[ (]//' | sort -u)
[ -n "$not_available" ] || fail manpage.not_available "found no \"Not available:\" list in $PAGE"
available=()
for opt in $not_available; do
  grep -qxF -- "$opt" <<<"$listed" && available+=("$opt")
done
check "the \"Not available\" list names no option poolrun --help lists" "" "${available[*]}"

# --- the examples that show their output: in an .EX block, a line "$ COMMAND" is typed and the
# lines after it (up to the next "$ " or .EE) are what it prints, stdout and stderr as a terminal
# shows them. Each command runs with `bash -c` in a fresh directory, the poolrun under test first
# on PATH, no POOLRUN_* variables, stdin /dev/null; what it prints must be exactly that.
EXS=$T/man-examples
mkdir -p "$EXS"
# roff to text: \- \(aq \(dq \e \& in the example lines.
sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\e/\\/g' -e 's/\\&//g' "$PAGE" | awk -v ex="$EXS" '
  /^\.EX/ { inex = 1; has = 0; next }
  /^\.EE/ { inex = 0; has = 0; if (n) close(ex "/" n ".exp"); next }
  !inex { next }
  /^\$ / { if (n) close(ex "/" n ".exp"); n++; print substr($0, 3) > (ex "/" n ".cmd"); close(ex "/" n ".cmd")
           printf "" > (ex "/" n ".exp"); has = 1; next }
  has && n { print > (ex "/" n ".exp") }
  END { print n + 0 > (ex "/count") }'
count=$(cat "$EXS/count")
check_cmd "man page: has examples with their output" "found no .EX line starting with \$ in $PAGE" test "$count" -ge 5
BIN_DIR=$T/bin  # "poolrun" on PATH is the binary under test, whatever its file name
mkdir -p "$BIN_DIR" && ln -s "$P" "$BIN_DIR/poolrun"
for ((i = 1; i <= count; i++)); do
  cmd=$(cat "$EXS/$i.cmd")
  mkdir -p "$T/ex$i"
  (cd "$T/ex$i" && exec env -u POOLRUN_SHELL -u POOLRUN_START_METHOD PATH="$BIN_DIR:$PATH" \
     timeout -k 5 60 bash -c "$cmd") >"$T/ex.out" 2>&1 </dev/null
  check "man page example: \$ $cmd" "$(cat "$EXS/$i.exp")" "$(cat "$T/ex.out")"
done

# --- claims of the text, beside the examples
run --dry-run -X echo pre{}post ::: a b
check "man: -X echo pre{}post ::: a b runs echo preapost prebpost" "echo preapost prebpost" "$OUT"
run --dry-run echo pre{}post ::: a ::: b
check "man: pre{}post with the values a and b gives prea bpost" "echo prea bpost" "$OUT"
run --dry-run -I '{x}' echo '{x}' '{1x}' ::: v
check "man: -I '{x}' gives the positional {1x}" "echo v v" "$OUT"
run -k --dry-run echo '{.}' ::: dir/sub/file.tar.gz .bashrc a.b/c
check "man: {.} of dir/sub/file.tar.gz, .bashrc, a.b/c" "$(printf '%s\n' 'echo dir/sub/file.tar' "echo ''" 'echo a.b/c')" "$OUT"
run -k --dry-run echo '{//}' ::: dir/sub/file.tar.gz x /
check "man: {//} of dir/sub/file.tar.gz, x, /" "$(printf '%s\n' 'echo dir/sub' 'echo .' 'echo /')" "$OUT"
run --dry-run echo '{/}' '{/.}' ::: dir/sub/file.tar.gz
check "man: {/} and {/.} of dir/sub/file.tar.gz" "echo file.tar.gz file.tar" "$OUT"
run gzip
check_rc "man: empty input runs nothing and exits with status 0" 0 "$RC"

# --- version
version=$("$P" --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
th_version=$(grep -m1 '^\.TH ' "$PAGE" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
check ".TH version is poolrun --version" "$version" "$th_version"

finish
