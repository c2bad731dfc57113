#!/usr/bin/env bash
# Replacement strings and command lines: {} {.} {/} {//} {/.} {#} {%} {n} {n.} {n/} {n//} {n/.},
# -I, the implicit append, -N, -X, UTF-8, data substituted once and never executed, shell syntax
# in the command, and items that are command lines.
. "$(dirname "$0")/lib.sh"

PF="printf '[%s]\\n'"

# --- path forms (expected values are GNU parallel's)
run -k echo {} {.} {/} {//} {/.} ::: dir/sub/file.tar.gz file /abs.x/y ./rel.txt
check paths "dir/sub/file.tar.gz dir/sub/file.tar file.tar.gz dir/sub file.tar
file file file . file
/abs.x/y /abs.x/y y /abs.x y
./rel.txt ./rel rel.txt . rel" "$OUT"

run -k echo {1} {2.} {1/} {1//} {1/.} {2/} {2//} {2/.} ::: a/b.c ::: d/e.f
check positional "a/b.c d/e b.c a b e.f d e" "$OUT"

run -k echo {2} {1} {2} ::: a b ::: 1
check positional.repeat "1 a 1
1 b 1" "$OUT"

run -k echo {} {}{} x{}y ::: ab
check repeated "ab abab xaby" "$OUT"

run -k echo {a} '{ }' {} ::: x
check not_replacement_strings "{a} { } x" "$OUT"

# --- {#} and {%}
run -k echo {#}:{} ::: a b c
check seq.list "1:a
2:b
3:c" "$OUT"

seq 100 | run -k echo {#}
check seq.stdin "$(seq 100)" "$OUT"

run -j1 -k echo {%} ::: a b c
check slot.j1 "1
1
1" "$OUT"

run -j2 echo {%} ::: a b c d e f
check slot.j2_range "" "$(printf '%s\n' "$OUT" | grep -vx '[12]')"
check slot.j2_count 6 "$(printf '%s\n' "$OUT" | wc -l)"

# two jobs running at the same time never share a slot
run -j3 "echo start {%}; sleep 0.5; echo end {%}" ::: a b c
check slot.distinct_concurrent "1 2 3" "$(printf '%s\n' "$OUT" | awk '/start/{print $2}' | sort | tr '\n' ' ' | sed 's/ $//')"

# --- -I, implicit append, -N
run -k -I XX echo XX-{} ::: a b
check dash_I "a-{}
b-{}" "$OUT"

run -k -I ,, echo ,,.,, ::: a
check dash_I.punct "a.a" "$OUT"

run -k echo x ::: a 'b c'
check append "x a
x b c" "$OUT"

run -k "$PF" ::: 'b c'
check append.one_argument "[b c]" "$OUT"

run -k -N2 echo ::: 1 2 3 4 5
check N2.append "1 2
3 4
5" "$OUT"

run -k -N2 echo {1}-{2} ::: 1 2 3 4 5
check N2.positional "1-2
3-4
5-" "$OUT"

run -k -N2 echo {2}{1} ::: a b c
check N2.reversed "ba
c" "$OUT"

run -k -N2 echo '[{}]' ::: 1 2 3
check N2.braces "[1] [2]
[3]" "$OUT"

run -k -N3 "$PF" ::: 'a b' c 'd e'
check N3.args_stay_whole "[a b]
[c]
[d e]" "$OUT"

# --- -X
seq 100000 | RUN_TIMEOUT=30 run -X -j1 echo
check_rc X.status 0 "$RC"
lines=$(wc -l <"$T/out")
check_le X.few_lines 20 "$lines" " lines"
check_ge X.packs 1 "$lines" " lines"
check X.each_once "$(seq 100000 | md5sum)" "$(tr ' ' '\n' <"$T/out" | sort -n | md5sum)"

seq 5 | run -X -j1 echo 'a{}b'
check X.context "a1b a2b a3b a4b a5b" "$OUT"

seq 7 | run -X -j1 -k "$PF" 'x{}'
check X.context_args "$(seq 7 | sed 's/.*/[x&]/')" "$OUT"

# -X through a shell: the whole command line is one argument of sh -c, so no line may pass the
# kernel's per-argument limit (MAX_ARG_STRLEN, 128 KiB): 50 items of 20 000 bytes must be split.
for i in $(seq 50); do head -c 20000 /dev/zero | tr '\0' "$(printf "\\$(printf %03o $((97 + i % 26)))")"; echo; done >wide
RUN_TIMEOUT=60 run -X -j1 -a wide 'printf "%s\n" {} | wc -l'
check_rc X.shell_split.status 0 "$RC"
check X.shell_split.all_items 50 "$(printf '%s\n' "$OUT" | awk '{s+=$1} END{print s}')"
check_ge X.shell_split.several_jobs 8 "$(printf '%s\n' "$OUT" | wc -l)" " jobs"

# -X exec'd directly (no shell syntax: /bin/echo), over ARG_MAX in all (4 MB), with a large
# environment (10 variables of 100 kB): every item once, no job fails with E2BIG.
for i in $(seq 200); do head -c 20000 /dev/zero | tr '\0' x; echo "$i"; done >huge
big=$(head -c 100000 /dev/zero | tr '\0' e)
for i in 0 1 2 3 4 5 6 7 8 9; do export "POOLRUN_TEST_BIG$i=$big"; done
RUN_TIMEOUT=60 run -X -j2 /bin/echo :::: huge
for i in 0 1 2 3 4 5 6 7 8 9; do unset "POOLRUN_TEST_BIG$i"; done
check_rc X.argmax.status 0 "$RC"
check X.argmax.all_items "$(sort huge | md5sum)" "$(tr ' ' '\n' <"$T/out" | sort | md5sum)"
check_ge X.argmax.several_jobs 2 "$(wc -l <"$T/out")" " jobs"

# --- UTF-8
run -k echo {.} {/} ::: '中国.(中国)' 'dir/файл.txt'
check utf8.c13 "中国 中国.(中国)
dir/файл файл.txt" "$OUT"

run -k echo {//} {/.} {1/} ::: 'папка/подпапка/файл.тест' 'ä/ö.ü'
check utf8.paths "папка/подпапка файл файл.тест
ä ö ö.ü" "$OUT"

printf 'ünï\tcødé,😀\n' | run --colsep , -k echo {2}{1}
check utf8.colsep "😀ünï	cødé" "$OUT"

printf 'é€😀\n' | run "printf %s {} | od -An -tx1"
check utf8.bytes "c3 a9 e2 82 ac f0 9f 98 80" "$(echo $OUT)"

# --- data is substituted once and is never code
run -k echo ::: 'x{}' '{/}' '{#}' '{1}' '{%}' '{.}'
check once.list "x{}
{/}
{#}
{1}
{%}
{.}" "$OUT"

run -k echo {1} {2} ::: '{2}' ::: b
check once.positional "{2} b" "$OUT"

run -k -I XX echo XX ::: 'XX{}XX'
check once.dash_I "XX{}XX" "$OUT"

mkdir meta && cd meta
items=('$(touch P1)' '`touch P2`' '; touch P3' '| touch P4' '&& touch P5' "' ; touch P6 ; '"
  '"$(touch P7)"' '>P8' '*' '~' '$HOME' 'a\nb' '\' "'" '"' ' lead' 'trail ' '#x' '!x' 'a&b' '{}' ')(' 'x;y')
exp=$(for i in "${items[@]}"; do printf '[%s]\n' "$i"; done)
run -k "$PF" ::: "${items[@]}"
check meta.direct "$exp" "$OUT"
run -k "$PF {} | cat" ::: "${items[@]}"
check meta.through_shell "$exp" "$OUT"
run -k "echo pre && $PF {}; true" ::: "${items[@]}"
check meta.through_shell_list "$(for i in "${items[@]}"; do echo pre; printf '[%s]\n' "$i"; done)" "$OUT"
printf '%s\n' "${items[@]}" | run -k "$PF"
check meta.stdin "$exp" "$OUT"
check meta.nothing_ran "" "$(ls -A)"
cd "$T"

# items that look like options are data too
run -k "$PF" ::: -n --foo -l -
check dashes.items "[-n]
[--foo]
[-l]
[-]" "$OUT"

# --- the command's own options belong to the command (option parsing stops at the command)
printf 'a,b\nc,d\n' >c.csv
run -k cut -d , -f 2 ::: c.csv
check dashes.command_options "b
d" "$OUT"
check_rc dashes.command_options_status 0 "$RC"
printf 'abcdef' >six
run -k head -c 3 ::: six
check dashes.command_option_value "abc" "$OUT"
run -k sort -r ::: c.csv
check dashes.command_flag "c,d
a,b" "$OUT"
run -k --dry-run ls -l -a ::: x
check dashes.dry_run "ls -l -a x" "$OUT"

# --- brackets in command words are text (no list syntax)
run -k echo '[x]' '[{}]' 'a[1]' ::: 1
check brackets.words "[x] [1] a[1]" "$OUT"

# --- the command is shell code
run -k "echo {} | tr a-z A-Z" ::: ab cd
check shell.pipe "AB
CD" "$OUT"

run -k "echo one {}; echo two {}" ::: x
check shell.semicolon "one x
two x" "$OUT"

run -k "test {} = yes && echo Y{} || echo N{}" ::: yes no
check shell.and_or "Yyes
Nno" "$OUT"

run -k "echo {} > out_{}; cat out_{}" ::: p q
check shell.redirect "p
q" "$OUT"
check shell.redirect_files "out_p
out_q" "$(ls out_* 2>/dev/null)"
check shell.redirect_content "q" "$(cat out_q 2>/dev/null)"

X_FOR_TEST=5 run -k 'echo $X_FOR_TEST {} $((1+2))' ::: a
check shell.expansion "5 a 3" "$OUT"

run -k '(echo sub {}) 2>&1' ::: a
check shell.subshell "sub a" "$OUT"

run -k 'for w in 1 2; do echo {}$w; done' ::: a
check shell.loop "a1
a2" "$OUT"

run -k echo '~' ::: '~'
check shell.tilde_in_command_not_data "$HOME ~" "$OUT"

# --- no command: each item is a command line
printf 'echo one\necho two | tr a-z A-Z\nexit 3\n' | run -k
check nocommand.stdin "one
TWO" "$OUT"
check_rc nocommand.status 1 "$RC"

run -k ::: 'echo hi' 'echo a && echo b'
check nocommand.list "hi
a
b" "$OUT"

finish
