"""A poll stores the entries of no topic as each feed arrives, and records figures once
every feed is in (oldest first across feeds). Killing `watcher poll` between the two
must lose no figure and store no entry twice; the next poll finishes the job."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.feed_server import FeedServer
from tests.support.scenario import NK_600, Item, dprk_config, rss, watcher_cmd

REPO = Path(__file__).resolve().parents[1]
T0 = datetime(2025, 10, 24, 6, tzinfo=UTC)
PLAIN = [Item("rain", "Rain in Rome",
              "Heavy rain fell on Rome on Friday, closing two schools.", T0),
         Item("sun", "Sun in Milan", "Milan enjoyed a sunny morning, forecasters said.",
              T0 + timedelta(hours=1))]
LATE_SITE = Item("snow", "Snow in Turin", "Snow is expected in Turin next week.", T0)


def _config(tmp: Path, feeds: FeedServer) -> Path:
    config = dprk_config(tmp, feed_url=feeds.url("/fast.xml"))
    slow = f"  - id: slow\n    url: {feeds.url('/slow.xml')}\n"
    config.write_text(config.read_text().replace("topics:", slow + "topics:", 1))
    return config


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return -1
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # not created yet, or mid-migration
        return -1


def _wait_until(condition, proc: subprocess.Popen, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        assert proc.poll() is None, f"watcher poll exited early:\n{proc.communicate()[0]}"
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"timed out; watcher said:\n{proc.communicate()[0]}")


def test_poll_killed_before_figures_are_recorded_loses_nothing_and_repeats_nothing(tmp_path):
    db = tmp_path / "watcher.db"
    with FeedServer() as feeds:
        feeds.set("/fast.xml", rss([*PLAIN, NK_600]))
        feeds.set("/slow.xml", b"", hang=True)  # keeps the poll in its fetch phase
        config = _config(tmp_path, feeds)
        poll = subprocess.Popen(watcher_cmd("--config", str(config), "poll"), cwd=REPO, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        # The fast feed's two plain entries are stored while the slow one is still awaited;
        # its figure waits for every feed of the poll.
        _wait_until(lambda: _count(db, "select count(*) from articles") == 2, poll)
        assert _count(db, "select count(*) from claims") == 0
        poll.kill()  # SIGKILL: no cleanup of any kind
        poll.communicate(timeout=10)

        feeds.set("/slow.xml", rss([LATE_SITE]))
        again = subprocess.run(watcher_cmd("--config", str(config), "poll"), cwd=REPO, text=True,
                               capture_output=True, timeout=60)
        assert again.returncode == 0, again.stdout + again.stderr

        rows = sqlite3.connect(db).execute("select feed_id, key from articles").fetchall()
        # (a guid that is a permalink is resolved against the feed's URL)
        stored = sorted((feed, key.rsplit("/", 1)[-1].removeprefix("guid:")) for feed, key in rows)
        assert stored == [("slow", "snow"), ("wire", "nk-1"), ("wire", "rain"), ("wire", "sun")]
        changes = sqlite3.connect(db).execute("select kind, metric from changes").fetchall()
        assert changes == [("new", "killed")]

        third = subprocess.run(watcher_cmd("--config", str(config), "poll"), cwd=REPO,
                               text=True, capture_output=True, timeout=60)
        assert third.returncode == 0, third.stdout + third.stderr
        assert _count(db, "select count(*) from articles") == 4
        assert _count(db, "select count(*) from changes") == 1
