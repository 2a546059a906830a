# ppsync container image: the daemon, run as a non-root user, with a health check.
#
#   docker build -t ppsync .
#   docker build -t ppsync --build-arg PUID=1026 --build-arg PGID=100 .
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
# pip compiles the bytecode here: the runtime user cannot write /opt/ppsync.
RUN /opt/ppsync/bin/pip install . \
    && /opt/ppsync/bin/ppsync --version

# --- stage 2: the runtime image ----------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# CHANGE: the user and group ppsync runs as. Match the owner of the mirror folder (your NAS
# share), e.g. `id -u` / `id -g` of that owner; Synology's first user is often 1026:100.
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
    && chown ppsync:ppsync /state \
    && chmod 0700 /state
COPY --from=build /opt/ppsync /opt/ppsync

# The mirror target is /mirror. It is deliberately not a VOLUME and not created here: ppsync
# never creates its target, so a container started without the mirror mounted stops (exit 4)
# instead of filling an anonymous volume. The state lives outside the target, on /state: a
# state that lists files next to an empty /mirror (a NAS share or disk that is not mounted on
# the host) is also a safety stop, and SQLite stays off network filesystems.
ENV PATH=/opt/ppsync/bin:$PATH \
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

USER ppsync
ENTRYPOINT ["ppsync"]
CMD ["daemon"]
