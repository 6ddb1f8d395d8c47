#!/bin/sh
# Runs the emulator's nginx as a child and guarantees that it is stopped and
# its prefix folder removed, whatever happens to the process that started it.
#
# usage: watchdog.sh OWNER_PID PREFIX NGINX_BINARY
#
# nginx is stopped (TERM, then KILL) as soon as one of these happens:
#   - OWNER_PID is gone (or a zombie): the Lua process ended in any way;
#   - PREFIX/stop exists: the helper asked for a stop;
#   - this script gets SIGHUP, SIGINT or SIGTERM (a closed terminal or a
#     `timeout` signals the whole process group: nginx alone would reload
#     on SIGHUP and keep running).
# Then PREFIX is removed; the helper waits for that to know the stop is over.
# If nginx exits on its own (e.g. a port was taken) PREFIX is kept until then,
# so the helper can still read the error log.
# Files it keeps in PREFIX:
#   nginx.child.pid  pid of the nginx master (written before nginx runs)
#   nginx.exit       nginx's exit status, written once nginx has exited
#   nginx.out        nginx's stdout/stderr

owner=$1
prefix=$2
nginx=${3:-nginx}

# The owner counts as alive while it exists and is not a zombie: a killed
# process whose parent does not reap it stays visible to `kill -0`.
owner_alive() {
    kill -0 "$owner" 2>/dev/null || return 1
    if [ -r "/proc/$owner/stat" ]; then
        read -r stat <"/proc/$owner/stat" 2>/dev/null || return 1
        state=${stat##*) }
        state=${state%% *}
        [ "$state" != Z ] || return 1
    fi
    return 0
}

# The inner sh writes its own pid and then becomes nginx, so the pid file
# names the nginx master before nginx even starts.
(
    sh -c 'echo $$ >"$1/nginx.child.pid"; exec "$2" -p "$1/" -c "$1/nginx.conf" -e "$1/error.log"' \
        sh "$prefix" "$nginx" >>"$prefix/nginx.out" 2>&1
    echo $? >"$prefix/nginx.exit"
) &

signalled=
trap 'signalled=1' HUP INT TERM

while [ -z "$signalled" ] && [ ! -e "$prefix/stop" ] && owner_alive; do
    sleep 0.1
done

if [ ! -e "$prefix/nginx.exit" ]; then
    pid=
    i=0
    # The pid file may lag the fork by a moment.
    while [ -z "$pid" ] && [ $i -lt 20 ]; do
        pid=$(cat "$prefix/nginx.child.pid" 2>/dev/null)
        [ -n "$pid" ] || sleep 0.05
        i=$((i + 1))
    done
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        i=0
        while [ ! -e "$prefix/nginx.exit" ] && [ $i -lt 30 ]; do
            sleep 0.05
            i=$((i + 1))
        done
        if [ ! -e "$prefix/nginx.exit" ]; then
            # A killed master leaves its workers (and their listening
            # sockets) behind: kill them too, found by parent pid.
            workers=$(pgrep -P "$pid" 2>/dev/null)
            kill -KILL "$pid" $workers 2>/dev/null
        fi
    fi
fi

wait
rm -rf "$prefix"
