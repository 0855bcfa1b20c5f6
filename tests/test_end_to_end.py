"""The whole pipeline as a user runs it: real feed server, SMTP server, webhook receiver,
SQLite file (and PostgreSQL server, when `WATCHER_TEST_POSTGRES_URL` is set), and the
`watcher` CLI in a subprocess."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import signal
import subprocess
import time
from datetime import datetime, timezone

import pytest

from tests.support.databases import BACKENDS, database_url, use_database
from tests.support.feed_server import FeedServer
from tests.support.scenario import NK_600, NK_2000, REPO, Item, dprk_config, rss, watcher_cmd
from tests.support.smtp import smtp_server
from tests.support.webhook_receiver import webhook_receiver

FIRST, LATER = NK_600, NK_2000
OFF_TOPIC = Item("rain", "Floods in Bavaria",
                 "Heavy rain flooded 300 homes in Bavaria, the local fire brigade said.",
                 datetime(2025, 10, 25, 9, tzinfo=timezone.utc))
SECRET = "whsec_" + base64.b64encode(b"a secret of thirty-two bytes....").decode()


def run_cli(config, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(watcher_cmd("--config", str(config), *args), cwd=REPO, text=True,
                          capture_output=True, timeout=timeout)


def webhook_changes(receiver) -> list[dict]:
    return [c for r in receiver.requests for c in json.loads(r.body)["changes"]]


@pytest.fixture(params=BACKENDS)
def database(request, tmp_path):
    with database_url(request.param, tmp_path) as url:
        yield url


def test_poll_and_digest_deliver_a_changed_figure_by_email_and_webhook(tmp_path, database):
    with FeedServer() as feeds, smtp_server() as smtp, webhook_receiver() as hook:
        feeds.set("/wire.xml", rss([FIRST, OFF_TOPIC]))
        config = use_database(dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"),
                                          smtp_port=smtp.port, webhook_url=hook.url,
                                          secret=SECRET), database)
        polled = run_cli(config, "poll")
        assert polled.returncode == 0, polled.stderr
        assert "2 new articles" in polled.stdout and "1 changes" in polled.stdout
        assert run_cli(config, "digest").returncode == 0

        feeds.set("/wire.xml", rss([LATER, FIRST, OFF_TOPIC]))
        assert run_cli(config, "poll").returncode == 0
        sent = run_cli(config, "digest")
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert run_cli(config, "digest").stdout.strip() == "nothing to send"

    changes = webhook_changes(hook)
    assert [(c["metric"], c["kind"]) for c in changes] == [("killed", "new"), ("killed", "changed")]
    changed = changes[1]
    assert changed["previous"]["value"] == 600 and changed["current"]["value"] == 2000
    assert changed["delta"] == 1400 and changed["delta_pct"] == 233.3
    assert "intelligence service" in changed["current"]["source"]
    assert changed["current"]["articles"][0]["url"] == "https://news.example.org/nk-2"

    assert len(smtp.messages) == 2
    subject = str(smtp.messages[1]["Subject"])
    assert "600" in subject and "2,000" in subject
    assert smtp.messages[1].get_content_type() == "multipart/alternative"


def test_webhooks_are_signed_per_standard_webhooks(tmp_path):
    with FeedServer() as feeds, webhook_receiver() as hook:
        feeds.set("/wire.xml", rss([FIRST]))
        config = dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"), webhook_url=hook.url,
                             secret=SECRET)
        run_cli(config, "poll")
        run_cli(config, "digest")
    request = hook.requests[0]
    msg_id, stamp = request.header("webhook-id"), request.header("webhook-timestamp")
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.".encode() + request.body,
                                         hashlib.sha256).digest()).decode()
    assert f"v1,{expected}" in request.header("webhook-signature").split()
    assert json.loads(request.body)["id"] == msg_id


@pytest.mark.slow
def test_run_polls_delivers_and_stops_cleanly_on_sigterm(tmp_path):
    with FeedServer() as feeds, smtp_server() as smtp, webhook_receiver() as hook:
        feeds.set("/wire.xml", rss([FIRST]))
        config = dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"), smtp_port=smtp.port,
                             webhook_url=hook.url, interval="1s")
        with subprocess.Popen(watcher_cmd("--config", str(config), "run"), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) as daemon:
            try:
                _wait_for(lambda: len(webhook_changes(hook)) >= 1, daemon)
                feeds.set("/wire.xml", rss([LATER, FIRST]))
                _wait_for(lambda: len(webhook_changes(hook)) >= 2 and len(smtp.messages) >= 2,
                          daemon)
                daemon.send_signal(signal.SIGTERM)
                code = daemon.wait(timeout=15)
            finally:
                if daemon.poll() is None:
                    daemon.kill()
            log = daemon.stdout.read()
    assert code == 0, log
    assert "watcher stopped" in log
    assert [c["kind"] for c in webhook_changes(hook)] == ["new", "changed"]
    assert len(smtp.messages) == 2


@pytest.mark.slow
def test_a_second_daemon_on_the_same_database_refuses(tmp_path):
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([FIRST]))
        config = dprk_config(tmp_path, feed_url=feeds.url("/wire.xml"))
        with subprocess.Popen(watcher_cmd("--config", str(config), "run"), cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as first:
            try:
                _wait_for(lambda: feeds.count("/wire.xml") >= 1, first)
                second = run_cli(config, "run", timeout=30)
            finally:
                first.send_signal(signal.SIGTERM)
                first.wait(timeout=15)
    assert second.returncode == 1
    assert "already using" in second.stderr and str(first.pid) in second.stderr


def _wait_for(condition, process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"watcher exited early:\n{process.stdout.read()}")
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"timed out; watcher said:\n{process.stdout.read()}")
