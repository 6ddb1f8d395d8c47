#!/bin/sh
# make emulator: runs scripts/emulator.lua in a session of its own, so that
# the signals a terminal sends its foreground (Ctrl-C, SIGHUP when the
# terminal closes, a kill of the whole group as `timeout` does) reach only
# this shell, which turns each into one SIGINT for the emulator: it then
# stops nginx and removes its files itself. Sent to the group, SIGHUP would
# have killed the emulator and its watchdog alike, and made nginx reload
# instead of exit. The emulator also stops once this shell is gone.
#
# Environment: LUA (the interpreter, default lua5.4), and what it needs to
# find intuned.core (LUA_CPATH).
cd "$(dirname "$0")/.." || exit 1
LUA=${LUA:-lua5.4}

# Without setsid (not Linux), the same in this session: Ctrl-C still works.
if command -v setsid >/dev/null 2>&1; then
  EMULATOR_PARENT=$$ setsid "$LUA" scripts/emulator.lua &
else
  EMULATOR_PARENT=$$ "$LUA" scripts/emulator.lua &
fi
pid=$!
trap 'kill -INT "$pid" 2>/dev/null' INT HUP TERM

# `wait` returns early when a trapped signal arrives: wait again until the
# emulator has really ended, and exit as it did.
while :; do
  wait "$pid"
  status=$?
  kill -0 "$pid" 2>/dev/null || break
done
exit "$status"
