#!/usr/bin/env bash
# Where items come from and how they are split: stdin, ::: lists, :::: files, -a, products,
# --link, -0, -d with escapes, trailing/empty/CRLF lines, empty input, --colsep, --header, and
# unreadable argument files.
. "$(dirname "$0")/lib.sh"

# Shell code that prints each argument as [arg] on its own line (the command words are shell code).
PF="printf '[%s]\\n'"

printf '1\n2\n' >f1
printf 'x\ny\nz\n' >f2
: >empty

# --- sources
printf 'a\nb\nc\n' | run -k echo
check stdin.items "a
b
c" "$OUT"
check_rc stdin.status 0 "$RC"

run -k echo ::: a b c
check list.items "a
b
c" "$OUT"

run -k echo :::: f1
check argfile.items "1
2" "$OUT"

run -k -a f2 echo
check dash_a.items "x
y
z" "$OUT"

run -k --arg-file f1 echo pre
check arg_file_long "pre 1
pre 2" "$OUT"

printf 'p\nq\n' | run -k -a - echo
check dash_a_stdin "p
q" "$OUT"

run -k echo ::: a b ::: 1 2
check product.lists "a 1
a 2
b 1
b 2" "$OUT"

run -k echo :::: f1 f2
check product.files "1 x
1 y
1 z
2 x
2 y
2 z" "$OUT"

run -k -a f1 -a f2 echo
check product.dash_a "1 x
1 y
1 z
2 x
2 y
2 z" "$OUT"

run -k echo ::: a b :::: f1
check product.mixed "a 1
a 2
b 1
b 2" "$OUT"

run -k echo ::: a b ::: 1 2 ::: X
check product.three "a 1 X
a 2 X
b 1 X
b 2 X" "$OUT"

run -k echo {3}{2}{1} ::: a b ::: 1 2 ::: X Y
check product.positional "X1a
Y1a
X2a
Y2a
X1b
Y1b
X2b
Y2b" "$OUT"

run -k --link echo ::: a b c ::: 1 2 3
check link.pairs "a 1
b 2
c 3" "$OUT"

run -k --link echo :::: f2 f1
check link.files_wrap "x 1
y 2
z 1" "$OUT"

run -k echo ::: a b c :::+ 1 2 3
check link.colon_plus "a 1
b 2
c 3" "$OUT"

# --- separators
printf 'a b\0c\nd\0' | run -0 -k "$PF"
check null.items "[a b]
[c
d]" "$OUT"

printf 'a\0b' | run --null -k "$PF"
check null.last_without_terminator "[a]
[b]" "$OUT"

printf 'a\nb\tc d\t' | run -d '\t' -k "$PF"
check delim.tab "[a
b]
[c d]" "$OUT"

printf 'a\rb\r\nc\nd\r\n' | run -d '\r\n' -k "$PF"
check delim.crlf "$(printf '[a\rb]\n[c\nd]')" "$OUT"

printf 'a\nb\0c\0' | run -d '\0' -k "$PF"
check delim.nul "[a
b]
[c]" "$OUT"

printf 'a b,c,,d' | run -d , -k "$PF"
check delim.comma "[a b]
[c]
[]
[d]" "$OUT"

printf 'one\ntwo\n' | run -d '\n' -k "$PF"
check delim.newline_escape "[one]
[two]" "$OUT"

# --- lines
printf 'a\nb' | run -k "$PF"
check last_line_without_newline "[a]
[b]" "$OUT"

printf 'a\n\nb\n' | run -k "$PF"
check empty_line_is_item "[a]
[]
[b]" "$OUT"

printf '\n\n\n' | run -k "$PF"
check empty_lines_count "[]
[]
[]" "$OUT"

printf 'a\r\nb\r\n' | run -k "$PF"
check crlf_keeps_cr "$(printf '[a\r]\n[b\r]')" "$OUT"

printf '' | run touch ran
check empty_stdin.output "" "$OUT"
check_rc empty_stdin.status 0 "$RC"
check_cmd empty_stdin.nothing_ran "a job ran on empty input" test ! -e ran

run touch ran :::: empty
check_rc empty_file.status 0 "$RC"
check_cmd empty_file.nothing_ran "a job ran for an empty argfile" test ! -e ran

run touch ran -a /dev/null
check_rc empty_devnull.status 0 "$RC"
check_cmd empty_devnull.nothing_ran "a job ran for -a /dev/null" test ! -e ran

# bytes outside UTF-8 pass unchanged
printf 'x\xff\xfey\n' | run "printf %s"
check_cmd invalid_utf8.bytes "invalid UTF-8 item changed: got $(od -An -c "$T/out" | tr -s ' ')" \
  cmp -s "$T/out" <(printf 'x\xff\xfey')

# one long item (60 000 bytes, under GNU parallel's own line limit) reaches the job whole
head -c 60000 /dev/zero | tr '\0' a >long
run "printf %s {} | wc -c" :::: long
check long_item 60000 "$(echo $OUT)"

# a NUL byte without -0: no crash, no loss; it becomes the two characters \0 with one warning
# (as GNU parallel)
printf 'a\0b\nc\n' | run -k "$PF"
check nul_without_dash0.items '[a\0b]
[c]' "$OUT"
check_rc nul_without_dash0.status 0 "$RC"
check nul_without_dash0.one_warning 1 "$(printf '%s\n' "$ERR" | grep -c .)"

# a 10 MB item cannot be passed to a program (MAX_ARG_STRLEN): that job fails with a short, clear
# message and poolrun goes on with the next one
{ head -c 10000000 /dev/zero | tr '\0' a; printf '\nok\n'; } >tenmb
run -k "printf %s {} | wc -c" :::: tenmb
check huge_item.other_job_runs 2 "$(echo $OUT)"
check_rc huge_item.status 1 "$RC"
check huge_item.one_message 1 "$(printf '%s\n' "$ERR" | grep -c .)"
check_le huge_item.message_short 2000 "$(printf '%s' "$ERR" | wc -c)" " bytes"

# input is streamed: 300 000 items through --dry-run, in bounded memory
seq 300000 | /usr/bin/time -f %M -o rss timeout 60 "$P" --dry-run echo >dry 2>/dev/null
check stream.count 300000 "$(wc -l <dry)"
check stream.last "echo 300000" "$(tail -1 dry)"
if grep -q __asan_init "$P" 2>/dev/null; then
  skip stream.memory "sanitizer build: RSS includes the sanitizer's own memory"
elif [ -s rss ]; then
  check_le stream.memory 32768 "$(tail -1 rss)" " KiB max RSS"
fi

# items are streamed: many items from stdin with cheap jobs
seq 3000 | RUN_TIMEOUT=50 run -j4 echo
check_rc many_items.status 0 "$RC"
check many_items.all "$(seq 3000 | sort | md5sum)" "$(sort "$T/out" | md5sum)"

# --- columns and headers
printf 'a,b\nc,d\n' | run --colsep , -k echo {2}{1}
check colsep.comma "ba
dc" "$OUT"

printf 'a b\tc\nd\te f\n' | run --colsep '\t' -k echo {2}-{1}
check colsep.tab "c-a b
e f-d" "$OUT"

printf 'a,;b;c\n' | run --colsep '[,;]+' -k echo {3}{2}{1}
check colsep.regex "cba" "$OUT"

run --colsep , -k echo {2}/{1} ::: 'x,y' 'p,q'
check colsep.list "y/x
q/p" "$OUT"

printf 'x,y\n1,2\n3,4\n' | run --colsep , --header : -k echo {y}{x}
check header.stdin "21
43" "$OUT"

printf 'name\nalpha\nbeta\n' >hf
run --header : -k echo {name} :::: hf
check header.file "alpha
beta" "$OUT"

run --header : -k echo {a}-{b} ::: a 1 2 ::: b 3 4
check header.lists "1-3
1-4
2-3
2-4" "$OUT"

printf 'x,y\n1,2\n' | run --colsep , --header : -k echo {1}:{y}
check header.positional_too "1:2" "$OUT"

# --- unreadable argument files: exit 255, one line naming the file, no job runs
for how in '::::' '-a'; do
  if [ "$how" = '::::' ]; then run touch ran :::: "$T/no/such/file"; else run -a "$T/no/such/file" touch ran; fi
  check_rc "missing_argfile[$how].status" 255 "$RC"
  check "missing_argfile[$how].one_line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
  check_match "missing_argfile[$how].names_file" "no/such/file" "$ERR"
  check_cmd "missing_argfile[$how].nothing_ran" "a job ran although an argfile is missing" test ! -e ran
  rm -f ran
done

run touch ran ::: a :::: f1 "$T/missing2"
check_rc missing_second_argfile.status 255 "$RC"
check_match missing_second_argfile.names_file "missing2" "$ERR"
check_cmd missing_second_argfile.nothing_ran "a job ran although an argfile is missing" test ! -e ran
rm -f ran

# (GNU parallel reads a directory as an empty file; poolrun's rule is: an argfile that cannot be
# read is an error, 255.)
mkdir adir
run echo :::: adir
check_rc argfile_is_directory.status 255 "$RC"
check "argfile_is_directory.one_line" 1 "$(printf '%s\n' "$ERR" | wc -l)"
check_match argfile_is_directory.names_file "adir" "$ERR"

if [ "$(id -u)" != 0 ]; then
  printf 'a\n' >noread && chmod 000 noread
  run echo :::: noread
  check_rc unreadable_argfile.status 255 "$RC"
  check_match unreadable_argfile.names_file "noread" "$ERR"
else
  skip unreadable_argfile "running as root: mode 000 does not stop reading"
fi

finish
