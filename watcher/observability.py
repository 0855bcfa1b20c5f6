"""What a running daemon tells its supervisor: /healthz, /readyz and Prometheus /metrics.

This module owns the metrics (counters fed from the reports the daemon's jobs get back,
gauges read from the store when scraped) and the small HTTP server that serves them,
bound to loopback by default (`http: {listen: "127.0.0.1:9464"}`). It does not poll,
send or schedule anything: `watcher.scheduler` calls `Metrics.record_poll` /
`record_sends` and tells the server whether the scheduler runs.

    /healthz  200 while the process is alive
    /readyz   200 once the scheduler runs and the database answers, else 503
    /metrics  Prometheus text format
    anything else: 404
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from watcher.exceptions import WatcherError

if TYPE_CHECKING:
    from watcher.deliver.outbox import SendReport
    from watcher.pipeline.orchestrator import PollReport
    from watcher.storage import Store

log = logging.getLogger("watcher.http")

StoreGetter = Callable[[], "Store | None"]


class Metrics:
    """The daemon's counters, and the gauges computed from the store at scrape time."""

    def __init__(self, store: StoreGetter, channels: Callable[[], list[str]]):
        self.registry = CollectorRegistry()
        r = self.registry
        self.polls = Counter("watcher_polls", "Feed polls done, by outcome (ok, not_modified, "
                             "error)", ["status"], registry=r)
        self.fetch_errors = Counter("watcher_fetch_errors", "Failed feed polls, by kind of error",
                                    ["kind"], registry=r)
        self.entries = Counter("watcher_entries", "New or updated entries stored", registry=r)
        self.claims = Counter("watcher_claims", "Figures extracted from matching entries",
                              registry=r)
        self.changes = Counter("watcher_changes", "Decisions recorded, by kind (new, changed, "
                               "conflict, corroborated, …)", ["kind"], registry=r)
        self.deliveries = Counter("watcher_deliveries", "Digest delivery attempts, by channel "
                                  "and outcome (sent, failed)", ["channel", "outcome"], registry=r)
        r.register(_StoreCollector(store, channels))

    def record_poll(self, report: PollReport, store: Store | None, since: datetime) -> None:
        """Count one poll: its feeds' outcomes, entries and claims, and the decisions the
        store recorded since the poll began."""
        for feed in report.feeds:
            if feed.status == "retired":
                continue
            self.polls.labels(feed.status).inc()
            self.entries.inc(feed.new_entries + feed.updated_entries)
            self.claims.inc(feed.claims)
            if feed.status == "error":
                self.fetch_errors.labels(_error_kind(store, feed.feed_id, feed.http_status)).inc()
        if store is not None and report.total("claims"):
            for change in store.outbox.recorded(since=since):
                self.changes.labels(change.kind).inc()

    def record_sends(self, reports: Iterable[SendReport]) -> None:
        for report in reports:
            self.deliveries.labels(report.channel_id, "sent" if report.ok else "failed").inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _error_kind(store: Store | None, feed_id: str, http_status: int | None) -> str:
    """The kind the poll stored for the feed's failure (timeout, http, parse, …)."""
    state = store.feeds.get(feed_id) if store is not None else None
    if state is not None and state.last_error_kind:
        return state.last_error_kind
    return "http" if http_status else "other"


class _StoreCollector(Collector):
    """Gauges read from the store on each scrape: backlog per channel, feed freshness."""

    def __init__(self, store: StoreGetter, channels: Callable[[], list[str]]):
        self._store, self._channels = store, channels

    def collect(self) -> Iterator[GaugeMetricFamily]:
        store = self._store()
        if store is None:
            return
        try:
            yield from _backlog_gauges(store, self._channels())
            yield from _feed_gauges(store, datetime.now(UTC))
        except WatcherError as e:  # a scrape never takes the daemon down
            log.warning("metrics: cannot read the store: %s", e)

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # computed at scrape time; nothing to check at registration


def _backlog_gauges(store: Store, channels: list[str]) -> Iterator[GaugeMetricFamily]:
    undigested = GaugeMetricFamily("watcher_changes_undigested",
                                   "Changes waiting for the channel's schedule", labels=["channel"])
    pending = GaugeMetricFamily("watcher_digests_pending",
                                "Digests due or waiting to retry", labels=["channel"])
    dead = GaugeMetricFamily("watcher_digests_dead",
                             "Digests that failed permanently (watcher digest --retry)",
                             labels=["channel"])
    for b in store.outbox.backlog(channels):
        undigested.add_metric([b.channel_id], b.undigested)
        pending.add_metric([b.channel_id], b.pending)
        dead.add_metric([b.channel_id], b.dead)
    yield from (undigested, pending, dead)


def _feed_gauges(store: Store, now: datetime) -> Iterator[GaugeMetricFamily]:
    since = GaugeMetricFamily("watcher_feed_seconds_since_success",
                              "Seconds since the feed was last polled successfully",
                              labels=["feed"])
    failures = GaugeMetricFamily("watcher_feed_consecutive_failures",
                                 "Failed polls in a row", labels=["feed"])
    for state in store.feeds.all():
        if state.last_success_at is not None:
            since.add_metric([state.id], (now - state.last_success_at).total_seconds())
        failures.add_metric([state.id], state.consecutive_failures)
    yield from (since, failures)


class StatusServer:
    """The HTTP endpoint, in a background thread. `ready` is asked on each /readyz."""

    def __init__(self, listen: str, metrics: Metrics, ready: Callable[[], str | None]):
        host, port = parse_listen(listen)
        self.metrics, self.ready = metrics, ready
        try:
            server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
            self._httpd = server_class((host, port), _handler_for(self))
        except OSError as e:
            raise WatcherError(f"cannot listen on {listen} for /metrics: {e.strerror}; "
                               f"change `http.listen` in the config or free the port") from e
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.2,),
                                        name="watcher-http", daemon=True)

    @property
    def address(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()
        log.info("http: serving /healthz /readyz /metrics on %s", self.address)

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def parse_listen(listen: str) -> tuple[str, int]:
    """'127.0.0.1:9464' → ('127.0.0.1', 9464); '[::1]:9464' → ('::1', 9464)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not port.isdigit() or int(port) > 65535:
        raise WatcherError(f"http.listen {listen!r} is not host:port; write e.g. 127.0.0.1:9464")
    return host, int(port)


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler_for(server: StatusServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        owner = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    owner: StatusServer
    server_version = "watcher"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("http: %s", format % args)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._reply(200, b"ok\n")
        elif path == "/readyz":
            problem = self.owner.ready()
            if problem:
                self._reply(503, f"not ready: {problem}\n".encode())
            else:
                self._reply(200, b"ready\n")
        elif path == "/metrics":
            self._reply(200, self.owner.metrics.render(), CONTENT_TYPE_LATEST)
        else:
            self._reply(404, b"not found: try /healthz, /readyz or /metrics\n")

    def _reply(self, status: int, body: bytes,
               content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
