#!/bin/sh
# make lint: luacheck over the Lua code, the C core compiled with warnings
# as errors, cppcheck and clang-tidy (checks and reasons in .clang-tidy).
# Prints only what is wrong, then one line saying it passed; no colour
# codes unless standard output is a terminal.
# Environment (from the Makefile): MAKE, CFLAGS, LUA_INCDIR, CURL_INCDIR, SRCS.
set -eu
cd "$(dirname "$0")/.."

colour=--no-color
[ -t 1 ] && colour=
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086
if ! luacheck --quiet $colour lua spec examples scripts bin/intuned bench >"$out" 2>&1; then
  cat "$out"
  echo "lint: luacheck found problems" >&2
  exit 1
fi

"$MAKE" --no-print-directory -s clean-objs
"$MAKE" --no-print-directory -s all CFLAGS="$CFLAGS -Werror" >/dev/null

# cppcheck reads no system headers, so it is told the two facts it needs,
# once per Lua generation.
for v in 501 504; do
  cppcheck --quiet --error-exitcode=1 --enable=warning,style,performance,portability \
    --std=c99 --inline-suppr -DFLT_EVAL_METHOD=0 -DLUA_VERSION_NUM=$v -I src src fuzz
done

# clang-tidy counts the warnings it suppressed ("N warnings generated."):
# that line is noise; anything else it prints is a finding.
incs="-Isrc -I$LUA_INCDIR"
[ -n "${CURL_INCDIR:-}" ] && incs="$incs -I$CURL_INCDIR"
# shellcheck disable=SC2086
if ! clang-tidy --quiet $SRCS fuzz/decode_fuzz.c -- -std=c99 -D_POSIX_C_SOURCE=200809L $incs >"$out" 2>&1; then
  grep -v 'warnings\? generated\.$' "$out" >&2 || true
  echo "lint: clang-tidy found problems" >&2
  exit 1
fi
if grep -v 'warnings\? generated\.$' "$out" | grep -q .; then
  grep -v 'warnings\? generated\.$' "$out" >&2
  echo "lint: clang-tidy found problems" >&2
  exit 1
fi
echo "lint passed: luacheck, the C core with -Werror, cppcheck, clang-tidy"
