#!/bin/sh
# Runs every spec with one interpreter and prints "N passed, N failed".
# Environment: LUA (interpreter, default lua5.4), BUILD (folder holding
# intuned/core.so), SPECS (spec files or folders, default spec/), LUA_WRAPPER
# (a command the interpreter runs under, e.g. valgrind and its options),
# SPEC_TIMEOUT (seconds the whole run may take, default 1800: a run that
# hangs ends as a failure that names the test in progress, never silently).
set -u
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
BUILD=${BUILD:-build/$LUA}
SPECS=${SPECS:-spec}
SPEC_TIMEOUT=${SPEC_TIMEOUT:-1800}

counts=$(mktemp)
current=$(mktemp)
trap 'rm -f "$counts" "$current"' EXIT
trap 'exit 130' INT TERM

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
# --foreground: Ctrl-C at a terminal still reaches busted.
# shellcheck disable=SC2086
INTUNED_COUNTS_FILE=$counts INTUNED_CURRENT_FILE=$current \
  timeout --foreground --kill-after=30 "$SPEC_TIMEOUT" \
  ${LUA_WRAPPER:-} "$LUA" /usr/bin/busted --cpath="$BUILD/?.so" $SPECS
status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo
  echo "run-specs: stopped after $SPEC_TIMEOUT s; the test in progress was:"
  echo "  $(cat "$current")"
fi

# successes failures errors pending, one line per busted run
totals=$(awk '{ s += $1; f += $2 + $3; p += $4 } END { print s + 0, f + 0, p + 0 }' "$counts")
passed=${totals%% *}
failed=${totals#* }
failed=${failed%% *}
if [ ! -s "$counts" ]; then
  # busted died before reporting: count that as a failure, never as a pass
  failed=$((failed + 1))
fi
echo
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
