"""What an operator's monitoring sees of `watcher run`: /healthz, /readyz and /metrics
fetched over loopback from a running daemon, and its log lines as text or JSON, with
no credential in any of them."""

from __future__ import annotations

import io
import json
import logging
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.feed_server import FeedServer
from tests.support.scenario import rss
from tests.support.webhook_receiver import webhook_receiver
from tests.test_daemon import FIRST, RunningDaemon, write_config
from watcher.config.models import HttpSettings
from watcher.logs import setup_logging
from watcher.observability import StatusServer
from watcher.scheduler import Daemon

FEED_TOKEN = "feedtoken9f8e7d6c"
HOOK_PASSWORD = "hookpass5a4b3c2d"
HOOK_KEY = "hookkey1a2b3c4d5e"
HOOK_SECRET = "whsec_c2VjcmV0IG9mIHRoZSB3ZWJob29rIHNpZ25hdHVyZQ=="
SMTP_PASSWORD = "smtppass7e6f5a4b"


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text → {(sample name, sorted labels): value}."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metric(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


@pytest.mark.slow
def test_a_running_daemon_serves_health_readiness_and_metrics_on_loopback(tmp_path):
    with FeedServer() as feeds, webhook_receiver() as hook, webhook_receiver([500]) as broken:
        feeds.set("/wire.xml", rss([FIRST]))
        config = write_config(tmp_path, {"wire": (feeds.url("/wire.xml"), "1s"),
                                         "gone": (feeds.url("/missing.xml"), "1h")},
                              webhook=hook.url, extra=_broken_channel(broken.url) + _http())
        with RunningDaemon(config) as daemon:
            base = daemon.http_url()
            daemon.wait_for(lambda: broken.requests and "delivered digest" in daemon.log(),
                            "both deliveries tried")
            daemon.wait_for(lambda: (metric(get(base + "/metrics")[1], "watcher_polls_total",
                                            status="ok") or 0) >= 2, "a second poll")
            health, ready, missing = get(base + "/healthz"), get(base + "/readyz"), get(base + "/x")
            text = get(base + "/metrics")[1]
            assert daemon.stop()[0] == 0
    assert health == (200, "ok\n") and ready == (200, "ready\n") and missing[0] == 404
    assert metric(text, "watcher_fetch_errors_total", kind="http") == 1  # the 404 feed, once
    assert metric(text, "watcher_polls_total", status="error") == 1
    assert metric(text, "watcher_entries_total") == 1 and metric(text, "watcher_claims_total") == 1
    assert metric(text, "watcher_changes_total", kind="new") == 1
    assert metric(text, "watcher_deliveries_total", channel="ops", outcome="sent") == 1
    assert metric(text, "watcher_deliveries_total", channel="broken", outcome="failed") == 1
    assert metric(text, "watcher_digests_pending", channel="broken") == 1  # waiting to retry
    assert metric(text, "watcher_digests_pending", channel="ops") == 0
    assert metric(text, "watcher_digests_dead", channel="ops") == 0
    assert 0 <= metric(text, "watcher_feed_seconds_since_success", feed="wire") < 60  # type: ignore[operator]
    assert metric(text, "watcher_feed_seconds_since_success", feed="gone") is None  # never
    assert metric(text, "watcher_feed_consecutive_failures", feed="gone") == 1


def test_readyz_says_503_until_the_scheduler_runs(tmp_path):
    config = write_config(tmp_path, {})
    daemon = Daemon(config, loader=lambda: None)  # type: ignore[arg-type,return-value]
    server = StatusServer("127.0.0.1:0", daemon.metrics, daemon.ready)
    server.start()
    try:
        assert get(server.address + "/readyz") == (503, "not ready: the scheduler is not running\n")
        assert get(server.address + "/healthz")[0] == 200
    finally:
        server.stop()


def test_the_endpoint_listens_on_loopback_unless_told_otherwise():
    assert HttpSettings().listen == "127.0.0.1:9464"
    example = (Path(__file__).parents[1] / "config" / "watcher.yaml").read_text()
    assert re.search(r'^http:\s*\n\s+listen: "127\.0\.0\.1:9464"', example, re.M)


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_logs_say_what_each_poll_did_and_never_show_a_credential(tmp_path, log_format):
    with FeedServer() as feeds, webhook_receiver([500]) as hook:
        feeds.set("/wire.xml", rss([FIRST]))
        netloc = hook.url.removeprefix("http://")
        hook_url = f"http://hookuser:{HOOK_PASSWORD}@{netloc}?key={HOOK_KEY}"
        config = write_config(tmp_path, {
            "wire": (feeds.url(f"/wire.xml?token={FEED_TOKEN}"), "1s"),
            "gone": (f"http://reader:{FEED_TOKEN}@127.0.0.1:{feeds.port}/gone.xml", "1h")},
            webhook=hook_url, extra=_email_channel(feeds.port))
        config.write_text(config.read_text().replace(
            "schedule: \"immediate\"", f"schedule: \"immediate\"\n    secret: {HOOK_SECRET}"))
        with RunningDaemon(config, "--debug", "--log-format", log_format) as daemon:
            daemon.wait_for(lambda: "retrying at" in daemon.log(), "the failed webhook")
            daemon.wait_for(lambda: "feed gone: FAILED" in daemon.log(), "the failed feed")
            assert daemon.stop()[0] == 0
            log = daemon.log()
    assert "watcher running" in log and "watcher stopped" in log  # words stay words
    for secret in (FEED_TOKEN, HOOK_PASSWORD, HOOK_KEY, HOOK_SECRET, SMTP_PASSWORD):
        assert secret not in log, f"{secret} leaked:\n{log}"
    lines = log.splitlines()
    if log_format == "json":
        records = [json.loads(line) for line in lines]  # every line is one JSON object
        assert all({"ts", "level", "logger", "message"} <= r.keys() for r in records)
        polls = [r for r in records if r["logger"] == "watcher.poll"]
        assert any(r["message"].startswith("feed wire: ok, 1 entries (1 new") for r in polls)
        assert any(r["level"] == "WARNING" and "feed gone: FAILED" in r["message"] for r in polls)
    else:
        assert any(re.search(r" INFO watcher\.poll: feed wire: ok, 1 entries \(1 new", line)
                   for line in lines), log
        assert any(" WARNING watcher.poll: feed gone: FAILED" in line for line in lines), log


def _http() -> str:
    return 'http: {listen: "127.0.0.1:0"}\n'


def _broken_channel(url: str) -> str:
    return f"""  - id: broken
    type: webhook
    url: {url}
    schedule: immediate
"""


def _email_channel(port: int) -> str:
    """An email channel with an SMTP password (never used: its schedule is a cron)."""
    return f"""  - id: desk
    type: email
    to: [desk@example.org]
    from: watcher@example.org
    smtp: {{host: 127.0.0.1, port: {port}, username: watcher, password: {SMTP_PASSWORD}}}
    schedule: "0 7 * * *"
"""


@pytest.mark.parametrize("line, secret", [
    ("GET https://reader:s3cretpass@feeds.example.org/rss failed", "s3cretpass"),
    ("fetch https://example.org/feed?token=tok123456&page=2 timed out", "tok123456"),
    ("POST https://hooks.example.org/x?api_key=ak99887766 → 500", "ak99887766"),
    ("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
])
def test_every_log_line_is_redacted_in_both_formats(line, secret):
    for log_format in ("text", "json"):
        out, root_level = io.StringIO(), logging.getLogger().level
        handler = setup_logging(logging.INFO, log_format, out)
        try:
            logging.getLogger("some.library").warning("%s", line)
        finally:
            logging.getLogger().removeHandler(handler)
            logging.getLogger().setLevel(root_level)
        written = out.getvalue()
        assert secret not in written and "REDACTED" in written, written
        assert "page=2" in written or "page" not in line  # what is not secret stays readable
