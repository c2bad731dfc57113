#!/usr/bin/env bash
# README.md, followed as a new user would: every example it shows prints what it says.
#   bash tests/cli/test_readme.sh /path/to/poolrun
# Checks:
#  - the first code block holds exactly the two commands scripts/demo and scripts/test (comments
#    aside), and both are executable files of the source tree;
#  - every ```console block: a line "$ COMMAND" is a command (a line ending in a backslash goes on
#    with the next line, written "> ..."), and the lines after it, up to the next "$ " or the end
#    of the block, are its expected output. The commands run in order, one `bash -c` each, all in
#    one fresh temporary directory (a command may use the files an earlier one wrote), with the
#    directory of the poolrun under test first on PATH and no POOLRUN_* variables set, stdin
#    /dev/null. What they print (stdout and stderr, as a terminal shows both) must equal the
#    expected output exactly;
#  - every relative link of the README names a file or directory of the source tree.
. "$(dirname "$0")/lib.sh"

README=$SRC_DIR/README.md
BIN_DIR=$(dirname "$P")
if [ ! -f "$README" ]; then
  fail readme.exists "$README is missing"
  finish
fi

# --- split the README: the first code block, and the commands of the console blocks
EX=$T/examples
mkdir -p "$EX"
awk -v ex="$EX" '
  function closeall() { if (n) { close(ex "/" n ".cmd"); close(ex "/" n ".exp") } }
  /^```/ {
    if (!inblock) {
      inblock = 1; blocks++
      lang = $0; sub(/^```[ \t]*/, "", lang); sub(/[ \t].*$/, "", lang)
      cmd_open = 0; cont = 0
    } else {
      inblock = 0
    }
    next
  }
  !inblock { next }
  blocks == 1 { print > (ex "/first") }
  lang != "console" { next }
  cont && /^> / {  # a continuation line of the previous command
    print substr($0, 3) > (ex "/" n ".cmd")
    cont = /\\$/
    next
  }
  /^\$ / {
    closeall()
    n++
    print substr($0, 3) > (ex "/" n ".cmd")
    printf "" > (ex "/" n ".exp")
    print NR > (ex "/" n ".line")
    close(ex "/" n ".line")
    cmd_open = 1
    cont = /\\$/
    next
  }
  {
    cont = 0
    if (cmd_open) print > (ex "/" n ".exp")
    else print NR ": " $0 > (ex "/orphans")
  }
  END { closeall(); print n + 0 > (ex "/count"); if (inblock) print "unclosed" > (ex "/unclosed") }
' "$README"

# --- the first code block: the two entry points
if [ -f "$EX/first" ]; then
  first_cmds=$(sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' "$EX/first" | grep -v '^$')
  check "README: the first code block is scripts/demo and scripts/test" "$(printf 'scripts/demo\nscripts/test')" "$first_cmds"
else
  fail "README: the first code block" "README.md has no code block"
fi
for s in scripts/demo scripts/test; do
  check_cmd "README: $s is an executable file" "$SRC_DIR/$s is missing or not executable" \
    test -f "$SRC_DIR/$s" -a -x "$SRC_DIR/$s"
done
[ -f "$EX/unclosed" ] && fail "README: code blocks" "the last code block is not closed"
[ -f "$EX/orphans" ] && fail "README: console blocks" "lines before the first \$ command of a block: $(tr '\n' ' ' <"$EX/orphans")"

# --- the console examples
count=$(cat "$EX/count")
check_cmd "README: has console examples" "found no \`\`\`console block with a \$ command in README.md" test "$count" -gt 0
WORK=$T/work
mkdir -p "$WORK"
for ((i = 1; i <= count; i++)); do
  cmd=$(cat "$EX/$i.cmd")
  line=$(cat "$EX/$i.line")
  name="README.md:$line: \$ $cmd"
  (cd "$WORK" && exec env -u POOLRUN_SHELL -u POOLRUN_START_METHOD -u POOLRUN_CASES PATH="$BIN_DIR:$PATH" \
     timeout -k 5 60 bash -c "$cmd") >"$T/actual" 2>&1 </dev/null
  rc=$?
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && echo "note: $name ran into the 60 s timeout"
  if cmp -s "$EX/$i.exp" "$T/actual"; then
    ok "$name"
  elif [ "$(cat "$EX/$i.exp")" = "$(cat "$T/actual")" ]; then
    fail "$name" "the output differs only in its final newlines ($(wc -c <"$EX/$i.exp") bytes expected, $(wc -c <"$T/actual") printed)"
  else
    check "$name" "$(cat "$EX/$i.exp")" "$(cat "$T/actual")"
  fi
done

# --- relative links: [text](path) and [text](path#anchor)
links=$(grep -oE '\]\([^)#[:space:]]+' "$README" | sed 's/^](//' | grep -vE '^[a-z]+:' | sort -u)
for l in $links; do
  check_cmd "README: link $l exists" "$l is not a file or directory of the source tree" test -e "$SRC_DIR/$l"
done

finish
