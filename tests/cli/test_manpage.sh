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
listed=$(awk '/^ +-/ {print $1}' <<<"$help" | tr ',' '\n' | grep -E '^-' | sort -u)
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

# --- version
version=$("$P" --version 2>&1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
th_version=$(grep -m1 '^\.TH ' "$PAGE" | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1)
check ".TH version is poolrun --version" "$version" "$th_version"

finish
