# syntax=docker/dockerfile:1
FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so code changes don't reinstall them. PyAV and Pillow ship wheels with FFmpeg.
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY cogs ./cogs
COPY db ./db
RUN pip install . && useradd --create-home --uid 10001 klingbot && mkdir -p /data && chown klingbot /data

USER klingbot
ENV DATABASE_URL=sqlite:////data/klingbot.db WEBHOOK_HOST=0.0.0.0 WEBHOOK_PORT=8080
VOLUME ["/data"]
EXPOSE 8080

# /healthz answers 503 when Discord or the store is down; urlopen raises on it, so the check fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"WEBHOOK_PORT\", \"8080\")}/healthz', timeout=4)"

STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
