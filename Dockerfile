# ppsync container image: the daemon, run as a non-root user, with a health check.
#
#   docker build -t ppsync .
#   docker run -d --name ppsync -e PUID=1026 -e PGID=100 -v /volume1/photos-mirror:/mirror \
#       -v ppsync-state:/state -e PPSYNC_SERVER__URL=... ppsync
#
# The container starts as root only long enough to take PUID/PGID (and UMASK) from the
# environment, as linuxserver.io images do, then runs ppsync as that user (docker/entrypoint.sh,
# with setpriv). `--user 1026:100` works too, and --build-arg PUID/PGID set the default user.
#
# Settings come from the environment (PPSYNC_<SECTION>__<KEY>) and, if present, from
# /config/ppsync.toml (the working directory's ppsync.toml). Inside the container the mirror
# target is /mirror and the state is /state/state.db; mount your folders there.

# CHANGE: the Python base image (both stages must use the same one: the venv is copied).
ARG PYTHON_IMAGE=python:3.11-slim

# --- stage 1: build a self-contained venv at /opt/ppsync ---------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/ppsync
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ ./src/
# pip compiles the bytecode here: the runtime user cannot write /opt/ppsync. Then the build
# tools leave the venv (pip and setuptools, ~15 MB that ppsync never runs).
RUN /opt/ppsync/bin/pip install . \
    && /opt/ppsync/bin/python -m pip uninstall -q -y pip setuptools \
    && /opt/ppsync/bin/ppsync --version

# --- stage 2: the runtime image ----------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# CHANGE: the default user and group ppsync runs as (-e PUID=... -e PGID=... override them
# at run time). Match the owner of the mirror folder (your NAS share), e.g. `id -u` / `id -g`
# of that owner; Synology's first user is often 1026:100.
ARG PUID=1000
ARG PGID=1000
# The checks come first and stop the build with a message that says what is wrong.
RUN case "${PUID}" in ''|*[!0-9]*) echo "PUID must be a user ID number, not '${PUID}'" >&2; \
        exit 1;; esac; \
    case "${PGID}" in ''|*[!0-9]*) echo "PGID must be a group ID number, not '${PGID}'" >&2; \
        exit 1;; esac; \
    if [ "${PUID}" -eq 0 ]; then echo "PUID=0 would run ppsync as root" >&2; exit 1; fi; \
    if [ "${PGID}" -eq 0 ]; then echo "PGID=0 would run ppsync in the root group" >&2; exit 1; fi; \
    groupadd --gid "${PGID}" --non-unique ppsync \
    && useradd --uid "${PUID}" --gid "${PGID}" --non-unique --no-create-home \
               --home-dir /state --shell /usr/sbin/nologin ppsync \
    && mkdir -p /state /config \
    && chmod 1777 /state \
    && { python -m pip uninstall -q -y pip setuptools wheel 2>/dev/null \
         || echo "note: this base image's pip belongs to its distribution; left in place"; }
# /state is open to every uid (sticky, like /tmp) so that a named volume made from it works
# with any --user; started as root, the entry point hands it to PUID:PGID and closes it (0700).
COPY --from=build /opt/ppsync /opt/ppsync
# The image's `ppsync`: takes PUID/PGID/UMASK when started as root, then runs ppsync as them
# (executable in git; COPY keeps the mode, --chmod needs BuildKit, which old NAS engines lack).
COPY docker/entrypoint.sh /usr/local/bin/ppsync

# The mirror target is /mirror. It is deliberately not a VOLUME and not created here: ppsync
# never creates its target, so a container started without the mirror mounted fills no
# anonymous volume: the daemon stays up, says at every pass that /mirror is missing (mount
# your mirror folder there), and its health check fails; a one-shot `sync` exits 4. The state lives outside the target, on /state: a
# state that lists files next to an empty /mirror (a NAS share or disk that is not mounted on
# the host) is also a safety stop, and SQLite stays off network filesystems.
# /usr/local/bin/ppsync (the entry point) comes before /opt/ppsync/bin, so `docker exec ...
# ppsync status` and the health check run as PUID too, never as root (a root-owned state
# journal would lock ppsync out of its own state).
ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/ppsync/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PPSYNC_MIRROR__TARGET=/mirror \
    PPSYNC_MIRROR__STATE=/state/state.db
VOLUME ["/state"]
# ppsync reads ./ppsync.toml when it exists, so an optional config file goes to
# /config/ppsync.toml; without one, the environment alone configures ppsync.
WORKDIR /config

# `ppsync health` reads only the state file (and /proc): healthy when the last pass succeeded
# recently, and while a pass is running, so a first sync that takes hours stays healthy (an
# "autoheal" container must not restart it). The start period covers PhotoPrism starting next
# to ppsync; flags newer than Docker 20.10 (--start-interval) are left out for NAS engines.
HEALTHCHECK --interval=5m --timeout=30s --start-period=10m --retries=3 CMD ["ppsync", "health"]

# No USER: the entry point starts as root only to take PUID/PGID, then drops to them.
ENTRYPOINT ["ppsync"]
CMD ["daemon"]
