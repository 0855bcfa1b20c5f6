"""`watcher run` as an operator lives with it: stopping, reloading, restarting, and the
files that run it as a service. Real feed servers and webhook receivers on 127.0.0.1,
the daemon in a subprocess; every wait is for a condition, with a generous deadline."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer
from tests.support.scenario import NK_600, NK_2000, REPO, rss, watcher_cmd
from tests.support.webhook_receiver import webhook_receiver
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.scheduler import Daemon

FIRST, LATER = NK_600, NK_2000
STOP_BOUND = 15.0  # seconds a stop may take, a slow feed answer included (generous on purpose)


def write_config(tmp: Path, feeds: dict[str, tuple[str, str]], *, webhook: str | None = None,
                 schedule: str = "immediate", extra: str = "") -> Path:
    """A config with these feeds ({id: (url, interval)}), the founding topic, and one
    webhook channel `ops` when `webhook` is given. Rewrites the same file each time."""
    feed_text = "".join(f"\n  - id: {fid}\n    url: {url}\n    interval: {interval}"
                        for fid, (url, interval) in feeds.items())
    channels = (f"\n  - id: ops\n    type: webhook\n    url: {webhook}\n"
                f"    schedule: \"{schedule}\"" if webhook else " []")
    path = tmp / "watcher.yaml"
    path.write_text(f"""database: sqlite:///{tmp / 'watcher.db'}
fetch: {{host_spacing: 0s}}
feeds:{feed_text}
topics:
  - id: dprk-troops
    name: North Korean troops in the Russia–Ukraine war
    match:
      all: [[North Korea, North Korean, DPRK]]
      any: [Russia, Kursk, Ukraine]
    subject: [North Korean, North Korea, DPRK]
    figures: [killed, wounded, deployed]
channels:{channels}
{extra}""", encoding="utf-8")
    return path


class RunningDaemon:
    """`watcher run` in a subprocess, its output in a file (a pipe could fill and block it)."""

    def __init__(self, config: Path, *options: str):
        self.log_path = config.with_name(f"run-{time.monotonic_ns()}.log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(watcher_cmd("--config", str(config), *options, "run"),
                                        cwd=REPO, stdout=self._log, stderr=subprocess.STDOUT)

    def __enter__(self) -> RunningDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"watcher exited early (waiting for {what}):\n{self.log()}")
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; watcher said:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        """Send `sig`; (exit code, seconds until the process was gone)."""
        started = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        return code, time.monotonic() - started

    def http_url(self) -> str:
        self.wait_for(lambda: "http: serving" in self.log(), "the http endpoint")
        return re.search(r"on (http://127\.0\.0\.1:\d+)", self.log()).group(1)  # type: ignore[union-attr]


def webhook_values(receiver) -> list[float]:  # type: ignore[no-untyped-def]
    return [c["current"]["value"] for r in list(receiver.requests)
            for c in json.loads(r.body)["changes"]]


# -- stopping ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_lets_the_slow_poll_in_hand_finish_then_exits_0(tmp_path, sig):
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([FIRST]), delay=2.0)  # the answer takes 2 s
        config = write_config(tmp_path, {"wire": (feeds.url("/wire.xml"), "1s")})
        with RunningDaemon(config) as daemon:
            daemon.wait_for(lambda: feeds.count("/wire.xml") >= 1, "the first request")
            code, seconds = daemon.stop(sig)
            log = daemon.log()
    print(f"{signal.Signals(sig).name}: exited {code} after {seconds:.1f}s")
    assert code == 0, log
    assert seconds < STOP_BOUND
    finished, stopped = log.find("feed wire: ok, 1 entries (1 new"), log.find("watcher stopped")
    assert 0 <= finished < stopped, log  # the slow feed's answer was stored before exiting


# -- reloading --------------------------------------------------------------------------
@pytest.mark.slow
def test_sighup_with_a_valid_config_polls_the_new_feed_and_delivers_to_the_changed_channel(
        tmp_path):
    with FeedServer() as feeds, webhook_receiver() as old_hook, webhook_receiver() as new_hook:
        feeds.set("/wire.xml", rss([FIRST]))
        feeds.set("/herald.xml", rss([LATER]))
        wire = {"wire": (feeds.url("/wire.xml"), "1s")}
        config = write_config(tmp_path, wire, webhook=old_hook.url)
        with RunningDaemon(config) as daemon:
            daemon.wait_for(lambda: webhook_values(old_hook) == [600], "the first digest")
            write_config(tmp_path, wire | {"herald": (feeds.url("/herald.xml"), "1s")},
                         webhook=new_hook.url)
            daemon.process.send_signal(signal.SIGHUP)
            daemon.wait_for(lambda: webhook_values(new_hook) == [2000], "a digest to the new url")
            code, _ = daemon.stop()
            log = daemon.log()
    assert code == 0, log
    assert "SIGHUP: config reloaded: 2 feeds" in log
    assert feeds.count("/herald.xml") >= 1
    assert webhook_values(old_hook) == [600]  # the old url got nothing after the reload


@pytest.mark.slow
def test_sighup_with_an_invalid_config_logs_where_and_keeps_polling_with_the_old_one(tmp_path):
    with FeedServer() as feeds:
        feeds.set("/wire.xml", rss([FIRST]))
        config = write_config(tmp_path, {"wire": (feeds.url("/wire.xml"), "1s")})
        good = config.read_text()
        with RunningDaemon(config) as daemon:
            daemon.wait_for(lambda: feeds.count("/wire.xml") >= 1, "the first poll")
            config.write_text(good.replace("interval: 1s", "intervall: 1s"))
            daemon.process.send_signal(signal.SIGHUP)
            daemon.wait_for(lambda: "is invalid, keeping the running one" in daemon.log(),
                            "the reload error")
            polled = feeds.count("/wire.xml")
            daemon.wait_for(lambda: feeds.count("/wire.xml") >= polled + 2, "polls after it")
            code, _ = daemon.stop()
            log = daemon.log()
    assert code == 0, log
    error = next(line for line in log.splitlines() if "is invalid" in line)
    assert re.search(r"watcher\.yaml:\d+: feeds\[0\]\.intervall", error), error
    assert "did you mean 'interval'" in error


# -- restarting -------------------------------------------------------------------------
@pytest.mark.slow
def test_a_restart_resumes_the_stored_schedule_without_a_burst_of_polls(tmp_path):
    with FeedServer() as feeds:
        feeds.set("/slow.xml", rss([FIRST]))
        feeds.set("/fast.xml", rss([]))
        config = write_config(tmp_path, {"slow": (feeds.url("/slow.xml"), "30s"),
                                         "fast": (feeds.url("/fast.xml"), "1s")})
        with RunningDaemon(config) as first:
            first.wait_for(lambda: feeds.count("/slow.xml") == 1 and feeds.count("/fast.xml") >= 1,
                           "both feeds polled")
            assert first.stop()[0] == 0
        fast_before = feeds.count("/fast.xml")
        with RunningDaemon(config) as second:
            # the 1 s feed polled three more times: the restarted daemon has been ticking
            second.wait_for(lambda: feeds.count("/fast.xml") >= fast_before + 3, "fast polls")
            slow_polls = feeds.count("/slow.xml")
            assert second.stop()[0] == 0
    assert slow_polls == 1  # its stored next poll (≈30 s after the first) was respected


@pytest.mark.slow
def test_a_cron_digest_missed_while_stopped_is_sent_once_when_the_daemon_starts(tmp_path):
    with FeedServer() as feeds, webhook_receiver() as hook:
        feeds.set("/wire.xml", rss([FIRST]))
        config = write_config(tmp_path, {"wire": (feeds.url("/wire.xml"), "1h")},
                              webhook=hook.url, schedule="0 7 * * *")
        _queue_changes(config, at=datetime.now(timezone.utc) - timedelta(days=2))
        with RunningDaemon(config) as daemon:
            daemon.wait_for(lambda: "missed while stopped, 1 sent now" in daemon.log(),
                            "the missed digest")
            assert daemon.stop()[0] == 0
        with RunningDaemon(config) as again:  # a second start finds nothing missed
            again.wait_for(lambda: "watcher running" in again.log(), "the start")
            again.stop()
    assert webhook_values(hook) == [600]


def test_a_cron_digest_whose_time_has_not_come_waits(tmp_path):
    with FeedServer() as feeds, webhook_receiver() as hook:
        feeds.set("/wire.xml", rss([FIRST]))
        config = write_config(tmp_path, {"wire": (feeds.url("/wire.xml"), "1h")},
                              webhook=hook.url, schedule="0 0 1 1 *")  # New Year only
        _queue_changes(config, at=datetime.now(timezone.utc))
        daemon = Daemon(config, loader=lambda: load_settings(config))
        daemon.watcher = make_watcher(load_settings(config))
        try:
            assert daemon.send_missed_digests() == []
            assert daemon.watcher.store.outbox.oldest_undigested("ops") is not None
        finally:
            daemon.watcher.close()
    assert hook.requests == []


def _queue_changes(config: Path, at: datetime) -> None:
    """Poll once with the clock at `at`, so the digest deliveries were queued then."""
    watcher = make_watcher(load_settings(config), clock=lambda: at)
    try:
        assert watcher.poll().total("changes") == 1
    finally:
        watcher.close()


# -- running it as a service ------------------------------------------------------------
def test_the_systemd_unit_and_the_container_run_the_real_entry_point():
    unit = (REPO / "deploy" / "watcher.service").read_text()
    assert re.search(r"^ExecStart=\S*watcher run$", unit, re.M), unit
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    assert re.search(r"^TimeoutStopSec=\d+", unit, re.M)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert re.search(r'^ENTRYPOINT \["watcher"(, "[^"]+")*, "run"\]', dockerfile, re.M), dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "/healthz" in dockerfile and "HEALTHCHECK" in dockerfile
    import tomllib
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["watcher"] == "watcher.cli:main"  # the `watcher` both files start
