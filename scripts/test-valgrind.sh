#!/bin/sh
# Runs every spec in an interpreter under valgrind memcheck, with the module
# of BUILD (the regular build). Any memory error, or a definite or indirect
# leak, makes valgrind exit with status 99 and the run fail. Child processes
# (nginx, curl, child interpreters) are not traced: only the busted process,
# which drives every request through the module, runs under valgrind.
set -u
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
BUILD=${BUILD:?BUILD must name the build}
CC=${CC:-cc}
LUA_INCDIR=${LUA_INCDIR:-/usr/include/$LUA}

VALGRIND="valgrind -q --error-exitcode=99 --leak-check=full
  --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect
  --trace-children=no"

# The canary proves the leak check is live.
canary=$BUILD/canary
mkdir -p "$canary"
"$CC" -shared -fPIC -g -I"$LUA_INCDIR" -o "$canary/canary.so" scripts/canary.c || exit 1
$VALGRIND "$LUA" -e "assert(package.loadlib('$canary/canary.so', 'luaopen_canary_leak'))()" >/dev/null 2>&1
if [ $? -ne 99 ]; then
    echo "test-valgrind: the canary's leak went unreported" >&2
    exit 1
fi
echo "test-valgrind: valgrind reports the canary's leak"

# Under valgrind Lua runs some 30 times slower: fewer generated documents
# keep the differential spec short; every other spec runs as it is.
INTUNED_DIFF_DOCS=${INTUNED_DIFF_DOCS:-1000}
LUA_WRAPPER=$VALGRIND
export INTUNED_DIFF_DOCS LUA_WRAPPER
exec scripts/run-specs.sh
