#!/bin/sh
# Runs the whole spec suite once per interpreter and prints one combined
# "N passed, N failed" line at the end.
# usage: scripts/test-all.sh INTERPRETER:HEADER_FOLDER ...
#   e.g. scripts/test-all.sh lua5.1:/usr/include/lua5.1 luajit:/usr/include/luajit-2.1
# Each interpreter gets its own build folder, build/<interpreter>.
set -u
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

total_passed=0 total_failed=0 summary=""
for entry in "$@"; do
  lua=${entry%%:*}
  incdir=${entry#*:}
  echo "=== $lua"
  passed=0 failed=1
  if make --no-print-directory all LUA="$lua" LUA_INCDIR="$incdir" BUILD="build/$lua"; then
    LUA=$lua BUILD=build/$lua scripts/run-specs.sh 2>&1 | tee "$log"
    # run-specs.sh ends with "N passed, N failed"; without that line the
    # run counts as one failure.
    counts=$(tail -n 1 "$log" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1 \2/p')
    if [ -n "$counts" ]; then
      passed=${counts% *} failed=${counts#* }
    fi
  fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  summary="$summary
  $lua: $passed passed, $failed failed"
done

echo
echo "=== matrix$summary"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ] && [ "$total_passed" -gt 0 ]
