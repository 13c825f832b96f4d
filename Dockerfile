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

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"

STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
