# watcher in a container: `watcher run` as a non-root user, state in /data.
#   docker build -t watcher .
#   docker run -d --init --name watcher -v watcher-data:/data \
#     -v $PWD/my.yaml:/etc/watcher/watcher.yaml:ro -e SMTP_PASSWORD -e WEBHOOK_SECRET watcher
#   docker kill -s HUP watcher        # reload the config
# The config's `database:` should point into /data (sqlite:////data/watcher.db) and, for the
# health check, `http: {listen: "127.0.0.1:9464"}` must be set (publish it with 0.0.0.0:9464
# and -p only if a Prometheus outside the container scrapes it).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WATCHER_CONFIG=/etc/watcher/watcher.yaml

WORKDIR /opt/watcher
COPY pyproject.toml README.md ./
COPY watcher ./watcher
COPY templates ./templates
COPY seeds ./seeds
COPY config ./config
RUN pip install . && mkdir -p /etc/watcher /data \
    && cp config/watcher.yaml /etc/watcher/watcher.yaml.example \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin watcher \
    && chown watcher:watcher /data

USER watcher
WORKDIR /data
VOLUME ["/data"]
EXPOSE 9464

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/healthz', timeout=4).status == 200 else 1)"]

# Exec form: watcher is PID 1's child under --init (or PID 1 itself) and gets SIGTERM/SIGHUP.
STOPSIGNAL SIGTERM
ENTRYPOINT ["watcher", "run"]
