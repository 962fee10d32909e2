# raidline container image. How to build, configure and run it: README.md, "Running with Docker".
#
#   docker build -t raidline:local .
#   docker run --rm --env-file .env -p 3000:3000 -v raidline-data:/app/data raidline:local
#   docker run --rm --env-file .env -v raidline-data:/app/data raidline:local migrate
#
# Without DATABASE_URL raidline keeps its SQLite file in /app/data, a declared volume: never in
# the container's writable layer, so the container can run with a read-only root file system.
# Checked by tests/unit/test_container_files.py (hadolint-style rules); no image is built there.

# --- builder: a virtual environment at /opt/venv with the hash-locked dependencies, then raidline
FROM python:3.11-slim-trixie AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src

# 1. Dependencies only: this layer is rebuilt when requirements.hashes.txt changes, not when
#    the source does. Every package, the build backend included, is pinned with the sha256 of
#    its wheel (tools/lock-hashes.sh writes the file from pyproject.toml and requirements.lock):
#    a file that differs from the one locked fails the build.
COPY requirements.hashes.txt ./
RUN pip install --no-cache-dir --require-hashes --no-deps --only-binary=:all: -r requirements.hashes.txt

# 2. The project itself, without dependencies (they are all in the venv already) and without
#    build isolation (which would fetch an unlocked setuptools): then check that the locked
#    set satisfies everything raidline depends on.
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY adapters/ adapters/
COPY storage/ storage/
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && pip check \
    && raidline --help > /dev/null

# --- runtime: the slim base image plus the venv, run by an unprivileged user -----------------
FROM python:3.11-slim-trixie AS runtime

LABEL org.opencontainers.image.title="raidline" \
      org.opencontainers.image.description="Blockers, risks, decisions and change requests where the team already talks" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONFAULTHANDLER=1 \
    PATH="/opt/venv/bin:${PATH}"

# A fixed uid/gid, so volume permissions and Kubernetes runAsUser are predictable. /app/data is
# created owned by it, so a new named volume mounted there starts owned by it too.
RUN groupadd --system --gid 10001 raidline \
    && useradd --system --uid 10001 --gid raidline --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin raidline \
    && install -d -o raidline -g raidline -m 0750 /app /app/data

# Root-owned and read-only for the raidline user: the code cannot be changed at run time.
COPY --from=builder /opt/venv /opt/venv

# Everything raidline writes goes to the working directory, the volume: the SQLite file
# (sqlite:///raidline.db, the default DATABASE_URL, is relative to it), its lock and exports.
WORKDIR /app/data
VOLUME ["/app/data"]
USER 10001:10001

# RAIDLINE_HTTP_PORT (default 3000): Slack HTTP mode and GET /healthz. /readyz and /metrics are
# served here too unless RAIDLINE_OPS_PORT gives them a port of their own. The health check
# works in every mode: `raidline run` with no chat platform configured opens the console and
# still answers /healthz on this port while it runs.
# The check fails (exit 1) on a refused connection, a timeout or any status other than 2xx.
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RAIDLINE_HTTP_PORT', '3000'), timeout=4)"]

ENTRYPOINT ["raidline"]
CMD ["run"]
