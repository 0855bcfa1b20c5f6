"""Soak test: `watcher run` for a long time against loopback feeds; do memory and file
descriptors stay flat?

Starts a feed server on 127.0.0.1 with FEEDS feeds whose entries change over time (a new
article on a few feeds every few seconds, some carrying a changed figure), a webhook
receiver for an `immediate` channel, and the daemon (with its /metrics endpoint) in a
subprocess. Samples the daemon's resident memory (/proc/PID/status VmRSS) and open file
descriptors (/proc/PID/fd) after a warm-up, every minute and at the end, then prints the
polls done, the errors logged and whether RSS and FDs stayed flat.

    python benchmarks/soak.py                 # 10 minutes
    python benchmarks/soak.py --seconds 60    # a quick run

Linux only (/proc). Never contacts a non-loopback address.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.feed_server import FeedServer  # noqa: E402
from tests.support.scenario import Item, rss  # noqa: E402
from tests.support.webhook_receiver import webhook_receiver  # noqa: E402

WARM_UP = 15.0  # seconds before the first sample: imports, first polls, caches filled
RSS_GROWTH_MB = 15.0  # end minus start above this is "not flat"
FD_GROWTH = 3


@dataclass(frozen=True)
class Sample:
    at: float  # seconds since the daemon started
    rss_kb: int
    fds: int


def main() -> int:
    args = _parse_args()
    with tempfile.TemporaryDirectory(prefix="watcher-soak-") as tmp, FeedServer() as feeds, \
            webhook_receiver() as hook:
        port = _free_port()
        config = _write_config(Path(tmp), feeds, hook.url, args.feeds, port)
        updater = _FeedUpdater(feeds, args.feeds)
        updater.start()
        log_path = Path(tmp) / "watcher.log"
        with open(log_path, "w") as log_file:
            daemon = subprocess.Popen([sys.executable, "-m", "watcher", "--config", str(config),
                                       "run"], cwd=REPO, stdout=log_file, stderr=subprocess.STDOUT)
            try:
                samples = _sample_until(daemon.pid, args.seconds)
                metrics = _scrape(port)
            finally:
                updater.stop()
                daemon.send_signal(signal.SIGTERM)
                code = daemon.wait(timeout=60)
        log_text = log_path.read_text(errors="replace")
        _print_report(samples, feeds, hook, log_text, metrics, code, args)
        return 0 if _flat(samples) and code == 0 else 1


def _parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=600, help="how long to run (default 600)")
    p.add_argument("--feeds", type=int, default=20, help="how many feeds (default 20)")
    return p.parse_args()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_config(tmp: Path, feeds: FeedServer, hook_url: str, count: int, port: int) -> Path:
    feed_lines = "".join(f"""
  - id: feed-{i:02d}
    url: {feeds.url(f"/feed-{i:02d}.xml")}
    interval: {1 + i % 2}s""" for i in range(count))
    text = f"""
database: sqlite:///{tmp / 'watcher.db'}
http: {{listen: "127.0.0.1:{port}"}}
fetch: {{host_spacing: 0s, per_host_concurrency: 4, concurrency: 8, timeout: 10s}}
feeds:{feed_lines}
topics:
  - id: dprk-troops
    name: North Korean troops in the Russia–Ukraine war
    match:
      all: [[North Korea, North Korean, DPRK]]
      any: [Russia, Kursk, Ukraine]
    subject: [North Korean, North Korea, DPRK]
    figures: [killed, wounded, deployed]
channels:
  - id: ops
    type: webhook
    url: {hook_url}
    schedule: immediate
"""
    path = tmp / "watcher.yaml"
    path.write_text(text, encoding="utf-8")
    return path


class _FeedUpdater:
    """Every 3 s, one feed in turn gets a new article (every fifth with a higher toll);
    each feed keeps its 20 newest items, as real feeds do."""

    def __init__(self, feeds: FeedServer, count: int):
        self.feeds, self.count = feeds, count
        self.items: list[list[Item]] = [[] for _ in range(count)]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._n = 0
        for i in range(count):
            self._add(i)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(3.0):
            self._add(self._n % self.count)

    def _add(self, feed: int) -> None:
        self._n += 1
        n = self._n
        published = datetime(2025, 1, 1, tzinfo=timezone.utc) + timedelta(hours=n)
        toll = 600 + 100 * (n // 5)
        item = Item(f"soak-{feed}-{n}", f"North Korean troops in Kursk, report {n}",
                    f"About {toll:,} North Korean soldiers have been killed fighting for Russia "
                    f"in the Kursk region, South Korea's intelligence service said.", published)
        self.items[feed] = ([item] + self.items[feed])[:20]
        self.feeds.set(f"/feed-{feed:02d}.xml", rss(self.items[feed]))


def _sample(pid: int, started: float) -> Sample:
    rss_kb = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss_kb = int(line.split()[1])
    return Sample(time.monotonic() - started, rss_kb, len(os.listdir(f"/proc/{pid}/fd")))


def _sample_until(pid: int, seconds: float) -> list[Sample]:
    """A sample after the warm-up, one a minute, and one at the end."""
    started = time.monotonic()
    time.sleep(min(WARM_UP, seconds / 4))
    samples = [_sample(pid, started)]
    _say(samples[-1])
    end = started + seconds
    while time.monotonic() < end:
        time.sleep(min(60.0, max(0.0, end - time.monotonic())))
        samples.append(_sample(pid, started))
        _say(samples[-1])
    return samples


def _say(s: Sample) -> None:
    print(f"  t={s.at:6.0f}s  RSS {s.rss_kb / 1024:7.1f} MB  FDs {s.fds}", flush=True)


def _scrape(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            return r.read().decode()
    except OSError as e:
        return f"# /metrics unavailable: {e}"


def _metric(metrics: str, name: str) -> float:
    """Sum of a metric's samples in Prometheus text (0 when absent)."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith(name) and line[len(name)] in " {":
            total += float(line.rsplit(" ", 1)[1])
    return total


def _flat(samples: list[Sample]) -> bool:
    first, last = samples[0], samples[-1]
    grew_mb = (last.rss_kb - first.rss_kb) / 1024
    return grew_mb <= RSS_GROWTH_MB and last.fds - first.fds <= FD_GROWTH


def _print_report(samples: list[Sample], feeds: FeedServer, hook, log_text: str,  # type: ignore[no-untyped-def]
                  metrics: str, code: int, args: argparse.Namespace) -> None:
    first, last = samples[0], samples[-1]
    fetches = sum(1 for r in feeds.requests if r.path.startswith("/feed-"))
    failed = log_text.count(": FAILED ")
    errors = sum(1 for line in log_text.splitlines() if " ERROR " in line or " CRITICAL " in line)
    print(f"\nsoak: {args.feeds} feeds, {args.seconds:.0f} s")
    print(f"  feed requests served     {fetches}")
    print(f"  polls (/metrics)         {_metric(metrics, 'watcher_polls_total'):.0f}")
    print(f"  entries, changes         {_metric(metrics, 'watcher_entries_total'):.0f}, "
          f"{_metric(metrics, 'watcher_changes_total'):.0f}")
    print(f"  webhooks received        {len(hook.requests)}")
    print(f"  failed polls, log errors {failed}, {errors}")
    print(f"  RSS  start {first.rss_kb / 1024:.1f} MB  end {last.rss_kb / 1024:.1f} MB  "
          f"(+{(last.rss_kb - first.rss_kb) / 1024:.1f} MB)")
    print(f"  FDs  start {first.fds}  end {last.fds}")
    print(f"  flat: {'yes' if _flat(samples) else 'NO'}; daemon exit code {code}")


if __name__ == "__main__":
    sys.exit(main())
