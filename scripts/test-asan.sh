#!/bin/sh
# Runs every spec with the module built with AddressSanitizer and UBSan
# (BUILD, made by `make test-asan`) and LeakSanitizer on at exit.
#
# The interpreter is not instrumented, so the ASan runtime is preloaded into
# it. LD_PRELOAD is inherited: the specs strip it where they start programs
# that are not under test (the emulator's nginx, curl, luarocks), and keep it
# for the child Lua interpreters that load this module.
# No leak suppressions are needed: Lua, libcurl and OpenSSL leave nothing
# unreachable once busted closes its Lua state.
set -u
cd "$(dirname "$0")/.."
LUA=${LUA:-lua5.4}
BUILD=${BUILD:?BUILD must name the sanitizer build}
CC=${CC:-cc}
LUA_INCDIR=${LUA_INCDIR:-/usr/include/$LUA}

runtime=$($CC -print-file-name=libasan.so)
[ -f "$runtime" ] || { echo "test-asan: no libasan.so for $CC" >&2; exit 1; }
SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
LD_PRELOAD=$runtime
INTUNED_SANITIZER=asan
export ASAN_OPTIONS UBSAN_OPTIONS LD_PRELOAD INTUNED_SANITIZER

# The canary proves the tools are live: each defect must be reported.
canary=$BUILD/canary
mkdir -p "$canary"
env -u LD_PRELOAD "$CC" -shared -fPIC -g $SAN_FLAGS -I"$LUA_INCDIR" \
    -o "$canary/canary.so" scripts/canary.c || exit 1
for defect in leak overflow; do
    out=$("$LUA" -e "assert(package.loadlib('$canary/canary.so', 'luaopen_canary_$defect'))()" 2>&1)
    case $out in
    *LeakSanitizer*|*heap-buffer-overflow*) ;;
    *) echo "test-asan: the $defect canary went unreported: $out" >&2; exit 1 ;;
    esac
done
echo "test-asan: the sanitizers report the canary's leak and overflow"

exec scripts/run-specs.sh
