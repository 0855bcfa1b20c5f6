"""Delivery under faults, on real servers: nothing lost, nothing shown twice.

Every test ends with the same two checks: each change reached the channel, and a
receiver that drops repeated ids (webhook-id for webhooks, Message-ID for email) saw
each change exactly once. Retries are driven by an explicit clock (`Watcher.clock`)
or by a tiny `retry.first` in the channel's config, never by long sleeps; the daemon
tests run `python -m watcher run` and kill it with SIGKILL mid-delivery.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.feed_server import FeedServer
from tests.support.scenario import REPO, Item, rss, watcher_cmd
from tests.support.smtp import SmtpServer, TlsCert, self_signed_cert, smtp_server
from tests.support.webhook_receiver import Reply, WebhookReceiver, webhook_receiver
from watcher.app import Watcher, make_watcher
from watcher.config.loader import load_settings

UTC = timezone.utc
T0 = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
PASSWORD = "s3cret-smtp-pass"
KILLED_600 = Item("nk-1", "North Korean troops suffer losses in Kursk",
                  "About 600 North Korean soldiers have been killed fighting for Russia in the "
                  "Kursk region, South Korea's intelligence service said on Thursday.",
                  datetime(2025, 10, 24, 9, tzinfo=UTC))


# --- set-up -------------------------------------------------------------------------------


def write_config(tmp: Path, feed_url: str, channel: str, interval: str = "15m") -> Path:
    path = tmp / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp / 'watcher.db'}
feeds:
  - {{id: wire, url: "{feed_url}", interval: {interval}}}
topics:
  - id: dprk-troops
    name: North Korean troops in the Russia–Ukraine war
    match: {{all: [[North Korea, North Korean, DPRK]], any: [Russia, Kursk, Ukraine]}}
    subject: [North Korean, North Korea, DPRK]
    figures: [killed, wounded]
channels:
{channel}
""", encoding="utf-8")
    return path


def email_channel(port: int, *, tls: bool = False, schedule: str = "immediate") -> str:
    smtp = (f"{{host: 127.0.0.1, port: {port}, starttls: true, username: watcher, "
            f"password: \"${{SMTP_PASSWORD}}\", timeout: 10s}}" if tls else
            f"{{host: 127.0.0.1, port: {port}, starttls: false, timeout: 10s}}")
    return f"""  - id: desk
    type: email
    to: [desk@example.org]
    from: watcher@example.org
    smtp: {smtp}
    schedule: "{schedule}"
"""


def webhook_channel(url: str, *, timeout: str = "15s", schedule: str = "immediate") -> str:
    return f"""  - id: ops
    type: webhook
    url: "{url}"
    timeout: {timeout}
    schedule: "{schedule}"
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def open_watcher(config: Path, clock: Clock) -> Watcher:
    settings = load_settings(config, env={"SMTP_PASSWORD": PASSWORD})
    return make_watcher(settings, clock=clock)


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(watcher_cmd("--config", str(config), *args), cwd=REPO, text=True,
                          capture_output=True, timeout=60, env=_env())


def _env() -> dict[str, str]:
    import os
    return {**os.environ, "SMTP_PASSWORD": PASSWORD}


def channel_row(status_output: str, channel_id: str) -> list[str]:
    """`watcher status` channel line → [channel, waiting, pending, failed, sent, error…]."""
    line = next(x for x in status_output.splitlines() if x.startswith(channel_id + " "))
    return line.split()


# --- what a deduplicating receiver keeps --------------------------------------------------


def webhook_changes_seen(hook: WebhookReceiver) -> list[tuple[str, str, float]]:
    return [(c["metric"], c["kind"], c["current"]["value"])
            for r in hook.accepted() for c in json.loads(r.body)["changes"]]


def email_changes_seen(smtp: SmtpServer) -> list[str]:
    """The headline lines of every message a Message-ID-deduplicating mailbox keeps."""
    lines = []
    for message in smtp.unique_messages():
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        headlines = [x.strip() for x in text.splitlines() if x.strip().startswith("killed:")]
        lines += [h.split("  [")[0] for h in headlines[:1]]  # without the "[new]" tag
    return lines


# --- a. SMTP server down, then up ---------------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> TlsCert:
    return self_signed_cert(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("tls", [False, True], ids=["plain", "starttls+login"])
def test_smtp_down_waits_with_backoff_then_delivers_once_when_up(
        tmp_path, tls: bool, cert: TlsCert, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(cert.cert_file))
    port, clock = free_port(), Clock(T0)
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"), email_channel(port, tls=tls))
        watcher = open_watcher(config, clock)
        watcher.poll()
        [first] = watcher.deliver(["desk"])  # nothing listens on the port
    assert not first.ok and f"nothing accepts connections at 127.0.0.1:{port}" in first.error
    assert timedelta(seconds=24) <= first.retry_at - T0 <= timedelta(seconds=36)  # 30s ± 20%

    status = cli(config, "status")
    row = channel_row(status.stdout, "desk")
    assert row[1:5] == ["0", "1", "0", "0"]  # one digest pending, none failed, none sent
    assert "nothing accepts connections" in status.stdout

    clock.advance(seconds=20)
    assert watcher.deliver_immediate() == []  # before its retry time: not attempted
    clock.now = first.retry_at
    [second] = watcher.deliver_immediate()  # still down: the wait doubles
    assert not second.ok and second.digest_id == first.digest_id
    assert timedelta(seconds=48) <= second.retry_at - clock.now <= timedelta(seconds=72)

    auth = ("watcher", PASSWORD) if tls else None
    with smtp_server(port=port, tls="starttls" if tls else None, cert=cert, auth=auth) as smtp:
        clock.now = second.retry_at
        [third] = watcher.deliver_immediate()
        assert third.ok and third.digest_id == first.digest_id
        assert watcher.deliver_immediate() == []  # sent means sent: no repeat
    watcher.close()
    assert smtp.logins == (["watcher"] if tls else [])
    assert [str(m["Message-ID"]) for m in smtp.messages] == \
        [f"<{first.digest_id}@example.org>"]
    assert email_changes_seen(smtp) == ["killed: 600 (new figure)"]


def test_smtp_down_then_up_with_the_cli_status_and_digest(tmp_path):
    port = free_port()
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"), email_channel(port))
        assert cli(config, "poll").returncode == 0
        down = cli(config, "digest")
        assert down.returncode == 1 and "NOT sent" in down.stdout and "retry at" in down.stdout
        with smtp_server(port=port) as smtp:
            assert cli(config, "digest").stdout.strip() == "nothing to send"  # still waiting
            up = cli(config, "digest", "--retry")
            assert up.returncode == 0 and "sent digest" in up.stdout, up.stdout + up.stderr
    assert email_changes_seen(smtp) == ["killed: 600 (new figure)"]
    assert len(smtp.messages) == 1


# --- b. webhook receiver misbehaving ------------------------------------------------------


def _poll_and_deliver(config: Path, clock: Clock) -> tuple[Watcher, list]:
    watcher = open_watcher(config, clock)
    watcher.poll()
    return watcher, watcher.deliver(["ops"])


def test_webhook_500_then_timeout_then_200_is_three_attempts_with_one_id(tmp_path):
    clock = Clock(T0)
    slow_ok = Reply(200, delay=1.5)  # processed, but answered after the client gave up
    with FeedServer() as feeds, webhook_receiver([500, slow_ok, 200]) as hook:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"),
                              webhook_channel(hook.url, timeout="0.4s"))
        watcher, [first] = _poll_and_deliver(config, clock)
        assert not first.ok and "500" in first.error
        clock.now = first.retry_at
        [second] = watcher.deliver_immediate()
        assert not second.ok and "no answer within 0.4s" in second.error
        assert second.retry_at - clock.now >= timedelta(seconds=48)  # 60s ± 20%: backing off
        clock.now = second.retry_at
        [third] = watcher.deliver_immediate()
        assert third.ok
        clock.advance(hours=1)
        assert watcher.deliver_immediate() == []
        watcher.close()
    assert hook.attempts() == [first.digest_id] * 3  # the same webhook-id every time
    assert len({r.body for r in hook.requests}) == 1  # the same body every time
    assert webhook_changes_seen(hook) == [("killed", "new", 600)]


def test_webhook_429_retry_after_is_honoured(tmp_path):
    clock = Clock(T0)
    with FeedServer() as feeds, \
            webhook_receiver([Reply(429, {"Retry-After": "600"}), 200]) as hook:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"), webhook_channel(hook.url))
        watcher, [first] = _poll_and_deliver(config, clock)
        assert not first.ok and first.retry_at >= T0 + timedelta(seconds=600)
        clock.advance(seconds=599)  # the usual 30s backoff has long passed; Retry-After has not
        assert watcher.deliver_immediate() == []
        assert len(hook.requests) == 1
        clock.advance(seconds=2)
        [second] = watcher.deliver_immediate()
        watcher.close()
    assert second.ok
    assert hook.attempts() == [first.digest_id] * 2
    assert webhook_changes_seen(hook) == [("killed", "new", 600)]


def test_webhook_404_is_a_dead_letter_until_digest_retry(tmp_path):
    with FeedServer() as feeds, webhook_receiver([404, 200]) as hook:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"), webhook_channel(hook.url))
        assert cli(config, "poll").returncode == 0
        failed = cli(config, "digest")
        assert failed.returncode == 1 and "failed permanently" in failed.stdout
        status = cli(config, "status").stdout
        assert channel_row(status, "ops")[1:5] == ["0", "0", "1", "0"]
        assert "answered 404" in status and "watcher digest --retry" in status
        assert cli(config, "digest").stdout.strip() == "nothing to send"  # dead stays dead
        assert len(hook.requests) == 1
        revived = cli(config, "digest", "--retry")
        assert revived.returncode == 0, revived.stdout + revived.stderr
        assert channel_row(cli(config, "status").stdout, "ops")[1:5] == ["0", "0", "0", "1"]
    [msg_id] = set(hook.attempts())
    assert len(hook.requests) == 2 and msg_id
    assert webhook_changes_seen(hook) == [("killed", "new", 600)]


# --- c. the daemon killed mid-delivery ----------------------------------------------------


def start_daemon(config: Path) -> subprocess.Popen:
    return subprocess.Popen(watcher_cmd("--config", str(config), "run"), cwd=REPO, env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for(condition: Callable[[], bool], daemon: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if daemon.poll() is not None:
            raise AssertionError(f"watcher exited early:\n{daemon.stdout.read()}")
        time.sleep(0.05)
    daemon.kill()
    raise AssertionError(f"timed out; watcher said:\n{daemon.communicate()[0]}")


def kill_hard(daemon: subprocess.Popen) -> None:
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=10)
    daemon.stdout.close()


def stop(daemon: subprocess.Popen) -> str:
    daemon.send_signal(signal.SIGTERM)
    output = daemon.communicate(timeout=20)[0]
    assert daemon.returncode == 0, output
    return output


@pytest.mark.slow
def test_daemon_killed_while_the_webhook_receiver_holds_the_request(tmp_path):
    with FeedServer() as feeds, webhook_receiver([Reply(200, delay=5.0), 200]) as hook:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"), webhook_channel(hook.url),
                              interval="1s")
        daemon = start_daemon(config)
        wait_for(lambda: len(hook.requests) == 1, daemon)  # received, answer not yet sent
        kill_hard(daemon)
        daemon = start_daemon(config)
        wait_for(lambda: len(hook.requests) == 2, daemon)
        time.sleep(1.2)  # a tick more: nothing else may be sent
        stop(daemon)
        status = cli(config, "status").stdout
    first, again = hook.attempts()
    assert first == again  # the resend carries the id fixed before the first attempt
    assert webhook_changes_seen(hook) == [("killed", "new", 600)]
    assert len(hook.requests) == 2
    assert channel_row(status, "ops")[1:5] == ["0", "0", "0", "1"]


@pytest.mark.slow
def test_daemon_killed_while_the_smtp_server_holds_its_reply(tmp_path):
    with FeedServer() as feeds, smtp_server(hold=[5.0, 0.0]) as smtp:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"), email_channel(smtp.port),
                              interval="1s")
        daemon = start_daemon(config)
        wait_for(lambda: len(smtp.messages) == 1, daemon)  # DATA received, no 250 yet
        kill_hard(daemon)
        daemon = start_daemon(config)
        wait_for(lambda: len(smtp.messages) == 2, daemon)
        time.sleep(1.2)
        stop(daemon)
    first, again = (str(m["Message-ID"]) for m in smtp.messages)
    assert first == again
    assert email_changes_seen(smtp) == ["killed: 600 (new figure)"]


@pytest.mark.slow
def test_daemon_killed_before_any_send_loses_nothing(tmp_path):
    from watcher.exceptions import WatcherError
    from watcher.storage import Store

    never = "0 0 29 2 *"  # a cron channel: the change waits for its schedule
    with FeedServer() as feeds, webhook_receiver([200]) as hook:
        feeds.set("/wire.xml", rss([KILLED_600]))
        config = write_config(tmp_path, feeds.url("/wire.xml"),
                              webhook_channel(hook.url, schedule=never), interval="1s")
        daemon = start_daemon(config)

        def recorded() -> bool:
            if not feeds.count("/wire.xml"):  # the daemon has not created the database yet
                return False
            try:
                with Store(f"sqlite:///{tmp_path / 'watcher.db'}") as store:
                    return store.outbox.backlog(["ops"])[0].undigested == 1
            except WatcherError:  # busy: the daemon is writing; look again
                return False

        wait_for(recorded, daemon)
        kill_hard(daemon)
        assert hook.requests == []
        assert channel_row(cli(config, "status").stdout, "ops")[1:5] == ["1", "0", "0", "0"]
        sent = cli(config, "digest")  # the next process finds the change where it was left
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert cli(config, "digest").stdout.strip() == "nothing to send"
    assert webhook_changes_seen(hook) == [("killed", "new", 600)]
    assert len(hook.requests) == 1
