#!/bin/sh
# Runs every spec with one interpreter and prints "N passed, N failed".
# Environment: LUA (interpreter, default lua5.4), BUILD (folder holding
# intuned/core.so), SPECS (spec files or folders, default spec/), LUA_WRAPPER
# (a command the interpreter runs under, e.g. valgrind and its options).
set -u
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
BUILD=${BUILD:-build/$LUA}
SPECS=${SPECS:-spec}

counts=$(mktemp)
trap 'rm -f "$counts"' EXIT INT TERM

export LUA BUILD

# A locale whose decimal separator is a comma, compiled into build/locale
# (no system change): decode_spec runs a child process with LOCPATH pointing
# there (only there: LOCPATH makes some libraries leak a path string) and
# checks that numbers do not follow it. Pending where localedef is missing.
locale_dir=build/locale/de_DE.UTF-8
if [ ! -f "$locale_dir/LC_NUMERIC" ] && command -v localedef >/dev/null 2>&1; then
  mkdir -p build/locale
  localedef -c -i de_DE -f UTF-8 "$locale_dir" >/dev/null 2>&1 || true
fi
# shellcheck disable=SC2086
INTUNED_COUNTS_FILE=$counts ${LUA_WRAPPER:-} "$LUA" /usr/bin/busted --cpath="$BUILD/?.so" $SPECS
status=$?

# successes failures errors pending, one line per busted run
set -- $(awk '{ s += $1; f += $2 + $3; p += $4 } END { print s + 0, f + 0, p + 0 }' "$counts")
passed=$1 failed=$2
if [ ! -s "$counts" ]; then
  # busted died before reporting: count that as a failure, never as a pass
  failed=$((failed + 1))
fi
echo
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
