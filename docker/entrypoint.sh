#!/bin/sh
# The image's `ppsync` command (/usr/local/bin/ppsync, first on PATH): the ENTRYPOINT, the
# HEALTHCHECK and `docker exec <container> ppsync status` all come through here.
#
# Started as root (the image's default), it takes PUID and PGID (and UMASK) from the
# environment at run time, as linuxserver.io images do, hands ppsync's own /state to that
# user, and replaces itself with ppsync running as that user (setpriv, from util-linux: no
# daemon of its own, no process left behind). PUID/PGID default to the user the image was
# built for (--build-arg PUID/PGID); 0 is refused for either. Started as another user
# (`--user 1026:100`, `user:` in compose), it runs ppsync as that user and says so when
# PUID/PGID ask for someone else.
set -eu

# ppsync itself; a test runs this script against another installation.
PPSYNC_BIN=${PPSYNC_BIN:-/opt/ppsync/bin/ppsync}

# This script may be PID 1 for a moment, and PID 1 loses every signal it has no handler for:
# a `docker stop` during these lines ends it at once. ppsync sets its own handler first thing.
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
    echo "ppsync: $*" >&2
    exit 2
}

if [ -n "${UMASK:-}" ]; then
    case "$UMASK" in
        [0-7][0-7][0-7] | 0[0-7][0-7][0-7]) umask "$UMASK" ;;
        *) fail "UMASK must be an octal mask like 022 or 0027, not '$UMASK'" ;;
    esac
fi

if [ "$(id -u)" != 0 ]; then
    # --user: the engine already chose the user. PUID/PGID cannot change it from here.
    if [ "${PUID:-$(id -u)}" != "$(id -u)" ] || [ "${PGID:-$(id -g)}" != "$(id -g)" ]; then
        echo "ppsync: ${PUID:+PUID=$PUID }${PGID:+PGID=$PGID }ignored: the container runs as" \
             "uid $(id -u) gid $(id -g) (--user); drop --user to use PUID/PGID" >&2
    fi
    exec "$PPSYNC_BIN" "$@"
fi

# The user the image was built for is the default (--build-arg PUID/PGID).
uid=${PUID:-$(id -u ppsync 2>/dev/null || echo "")}
gid=${PGID:-$(id -g ppsync 2>/dev/null || echo "")}
case "$uid" in '' | *[!0-9]*) fail "PUID must be a user ID number, not '$uid'" ;; esac
case "$gid" in '' | *[!0-9]*) fail "PGID must be a group ID number, not '$gid'" ;; esac
uid=${uid#"${uid%%[!0]*}"} gid=${gid#"${gid%%[!0]*}"}  # 01026 is 1026, 00 is 0 (empty)
uid=${uid:-0} gid=${gid:-0}
if [ "$uid" -eq 0 ]; then
    fail "PUID=0 would run ppsync as root; set PUID and PGID to the owner of your mirror" \
         "folder (ls -n shows it; Synology's first user is often 1026:100)"
fi
if [ "$gid" -eq 0 ]; then
    fail "PGID=0 would run ppsync in the root group; set PGID to the group of your mirror folder"
fi

# ppsync's own state folder (a new named volume: the image's open /state; or one made for an
# earlier PUID) becomes this user's, and only this user's. Never the mirror: those are the user's photos, and ppsync's
# first log line says whether it can write them.
state_dir=$(dirname "${PPSYNC_MIRROR__STATE:-/state/state.db}")
if [ -d "$state_dir" ] && [ "$(stat -c %u:%g "$state_dir")" != "$uid:$gid" ]; then
    echo "ppsync: $state_dir belongs to $(stat -c %u:%g "$state_dir"); handing it to" \
         "PUID:PGID $uid:$gid" >&2
    chown -R "$uid:$gid" "$state_dir"
    chmod 0700 "$state_dir"
fi

exec setpriv --reuid="$uid" --regid="$gid" --clear-groups -- "$PPSYNC_BIN" "$@"
