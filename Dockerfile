# raidline container image. How to build and run it: docs/docker.md.
#
#   docker build -t raidline:local .
#   docker run --rm --env-file .env -p 3000:3000 raidline:local          # raidline run
#   docker run --rm --env-file .env raidline:local migrate                # raidline migrate
#
# Checked by tests/unit/test_container_files.py (hadolint-style rules); no image is built there.

# --- builder: a virtual environment at /opt/venv with the locked dependencies, then raidline --
FROM python:3.11-slim-trixie AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH="/opt/venv/bin:${PATH}"

WORKDIR /src

# 1. Dependencies only: this layer is rebuilt when pyproject.toml or requirements.lock change,
#    not when the source does. The runtime dependencies are read from pyproject.toml and
#    pinned by requirements.lock (which also pins the dev tools; those are not installed).
COPY pyproject.toml requirements.lock ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.runtime.txt \
    && pip install --no-cache-dir -c requirements.lock -r requirements.runtime.txt

# 2. The project itself, without dependencies (they are all in the venv already).
COPY README.md ./
COPY bot/ bot/
COPY adapters/ adapters/
COPY storage/ storage/
RUN pip install --no-cache-dir --no-deps . \
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

# A fixed uid/gid, so volume permissions and Kubernetes runAsUser are predictable.
RUN groupadd --system --gid 10001 raidline \
    && useradd --system --uid 10001 --gid raidline --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin raidline \
    && install -d -o raidline -g raidline -m 0750 /app

# Root-owned and read-only for the raidline user: the code cannot be changed at run time.
COPY --from=builder /opt/venv /opt/venv

# The working directory, where raidline writes its files (a SQLite raidline.db, exports).
WORKDIR /app
USER 10001:10001

# RAIDLINE_HTTP_PORT (default 3000): Slack HTTP mode and the health check. The server runs when
# Slack or Discord is configured (`raidline run` with neither opens the console instead).
# The check fails (exit 1) on a refused connection, a timeout or any status other than 2xx.
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('RAIDLINE_HTTP_PORT', '3000'), timeout=4)"]

ENTRYPOINT ["raidline"]
CMD ["run"]
