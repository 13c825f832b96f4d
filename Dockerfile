# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, from the lock alone, so code changes don't reinstall them.
# PyAV and Pillow ship wheels with FFmpeg; every file is checked against the lock's hashes.
COPY requirements/runtime.lock requirements/runtime.lock
RUN pip install --require-hashes --no-deps -r requirements/runtime.lock \
  && useradd --create-home --uid 10001 klingbot && mkdir -p /data && chown klingbot /data

# Then the code, installed without touching the dependencies above.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY db ./db
RUN pip install --no-deps .

USER klingbot
# The ops port (/metrics, /healthz) listens on every interface inside the container so Prometheus and
# the health check can reach it; publish it only to a private network (see docker-compose.yml).
ENV DATABASE_URL=sqlite:////data/klingbot.db WEBHOOK_HOST=0.0.0.0 WEBHOOK_PORT=8080 OPS_HOST=0.0.0.0 OPS_PORT=9100
VOLUME ["/data"]
EXPOSE 8080 9100

# /healthz answers 503 when Discord or the store is down; urlopen raises on it, so the check fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"OPS_PORT\", \"9100\")}/healthz', timeout=4)"

STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
