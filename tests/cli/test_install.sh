#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the binary, the man page and both completion scripts
# land under the usual paths, and the installed poolrun runs.
#   bash tests/cli/test_install.sh /path/to/poolrun
# The build directory is the binary's directory (poolrun is built at the root of the build tree).
. "$(dirname "$0")/lib.sh"

BUILD_DIR=$(dirname "$P")
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ] || [ ! -f "$BUILD_DIR/cmake_install.cmake" ]; then
  fail install.build_dir "$BUILD_DIR is not a CMake build directory (no CMakeCache.txt / cmake_install.cmake)"
  finish
fi
command -v cmake >/dev/null || { fail install.cmake "cmake is not installed"; finish; }

PREFIX=$T/prefix
timeout -k 5 120 cmake --install "$BUILD_DIR" --prefix "$PREFIX" >"$T/install.log" 2>&1
rc=$?
check_rc "cmake --install --prefix: status 0" 0 "$rc" "$(tail -n 5 "$T/install.log")"

# The manifest names what was installed; the paths below are the ones packagers expect.
for f in bin/poolrun share/man/man1/poolrun.1 share/bash-completion/completions/poolrun \
         share/zsh/site-functions/_poolrun; do
  check_cmd "installed: $f" "$PREFIX/$f is missing (installed: $(cd "$PREFIX" 2>/dev/null && find . -type f | tr '\n' ' '))" \
    test -f "$PREFIX/$f"
done
check_cmd "installed: bin/poolrun is executable" "$PREFIX/bin/poolrun is not executable" test -x "$PREFIX/bin/poolrun"

# The installed binary runs on its own (no path back into the build tree needed).
out=$(cd / && "$PREFIX/bin/poolrun" --version 2>&1)
rc=$?
check_rc "installed poolrun --version: status 0" 0 "$rc"
check "installed poolrun --version" "$("$P" --version 2>&1)" "$out"
check_match "installed poolrun --version names the version" '^poolrun [0-9]+\.[0-9]+\.[0-9]+$' "$out"
out=$(cd "$T" && "$PREFIX/bin/poolrun" -k echo ::: a b 2>&1)
check "installed poolrun runs jobs" "$(printf 'a\nb')" "$out"

# The installed files are the ones of this source tree and binary.
check_file "installed man page is man/poolrun.1" "$SRC_DIR/man/poolrun.1" "$PREFIX/share/man/man1/poolrun.1"
"$P" --completion bash >"$T/expected.bash"
"$P" --completion zsh >"$T/expected.zsh"
check_file "installed bash completion is poolrun --completion bash" "$T/expected.bash" \
  "$PREFIX/share/bash-completion/completions/poolrun"
check_file "installed zsh completion is poolrun --completion zsh" "$T/expected.zsh" \
  "$PREFIX/share/zsh/site-functions/_poolrun"

# The installed bash completion works when sourced (complete -p shows it registered).
out=$(bash --norc --noprofile -c 'source "$1" && complete -p poolrun' _ "$PREFIX/share/bash-completion/completions/poolrun" 2>&1)
check "installed bash completion registers _poolrun" "complete -F _poolrun poolrun" "$out"

# Nothing outside the prefix was written: every path in the manifest is under it.
manifest=$BUILD_DIR/install_manifest.txt
if [ -f "$manifest" ]; then
  outside=$(grep -v "^$PREFIX/" "$manifest" || true)
  check "every installed file is under the prefix" "" "$outside"
fi

finish
