"""One poll of hostile feeds next to a normal one: each is contained by its limit and named
in the report with a clear error; the normal feed's entries are stored; memory stays low.

Everything is served by a real HTTP server on 127.0.0.1 and polled by the real pipeline
into a real SQLite file. Limits are small here (1 MiB, 0.5 s) so the test is fast.
"""

from __future__ import annotations

import io
import resource
import time
import tracemalloc
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.feed_server import FeedServer, Response
from tests.support.polling import floods_config
from tests.support.scenario import Item, rss
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.reports import print_poll_report

NOW = datetime(2025, 11, 1, 12, tzinfo=UTC)
CAP = 1024 * 1024
NORMAL = rss([Item(f"n{i}", f"Flood update {i}", "About 40 people were evacuated.",
                   NOW - timedelta(hours=i)) for i in range(3)])


def one_gigabyte() -> Iterator[bytes]:
    """1 GiB of a never-ending RSS title, produced 64 KiB at a time (never held whole)."""
    yield b"<?xml version='1.0'?><rss version='2.0'><channel><title>"
    block = b"x" * 65536
    for _ in range(1024 * 1024 * 1024 // len(block)):
        yield block


def gzip_bomb(size: int = 256 * 1024 * 1024) -> bytes:
    """~256 KB of gzip that inflates to `size` zero bytes."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    return b"".join(comp.compress(block) for _ in range(size // len(block))) + comp.flush()


def quadratic_blowup() -> bytes:
    """A 50 KB entity referenced 20,000 times: a gigabyte if the parser expanded it."""
    entity = "A" * 50_000
    refs = "&a;" * 20_000
    return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{entity}">]>'
            f'<rss version="2.0"><channel><title>t</title><item><guid>q1</guid>'
            f"<title>{refs}</title></item></channel></rss>").encode()


HOSTILE = {  # feed id → (path, what the report must say)
    "huge": ("/huge.xml", "exceeds the 1048576 byte limit"),
    "bomb": ("/bomb.xml", "exceeds the 1048576 byte limit"),
    "drip": ("/drip.xml", "timed out"),
    "hang": ("/hang.xml", "timed out"),
    "loop": ("/loop-a.xml", "redirect loop"),
    "busy": ("/busy.xml", "HTTP 429"),
    "storm1": ("/storm1.xml", "HTTP 500"),
    "storm2": ("/storm2.xml", "HTTP 500"),
    "storm3": ("/storm3.xml", "HTTP 500"),
}


def serve_hostile(srv: FeedServer) -> None:
    srv.set("/normal.xml", NORMAL)
    srv.script("/huge.xml", [Response(stream=one_gigabyte)])
    srv.set("/bomb.xml", gzip_bomb(), raw_gzip=True)
    srv.set("/blowup.xml", quadratic_blowup())
    srv.set("/drip.xml", b"<rss>" + b" " * 10_000, drip=(1, 1.0))  # one byte a second
    srv.set("/hang.xml", hang=True)
    srv.redirect("/loop-a.xml", "/loop-b.xml")
    srv.redirect("/loop-b.xml", "/loop-a.xml")
    srv.set("/busy.xml", b"slow down", status=429, headers={"Retry-After": "120"})
    for n in (1, 2, 3):
        srv.set(f"/storm{n}.xml", b"oops", status=500)


def hostile_config(tmp: Path, srv: FeedServer) -> Path:
    def url(feed_id: str, path: str) -> str:
        # the 429 feed lives on another site name, so its Retry-After pauses only that site
        host = "localhost" if feed_id == "busy" else "127.0.0.1"
        return f"http://{host}:{srv.port}{path}"

    feeds = {"normal": "/normal.xml", "blowup": "/blowup.xml",
             **{k: v[0] for k, v in HOSTILE.items()}}
    return floods_config(tmp, {k: url(k, p) for k, p in feeds.items()},
                         fetch=f"timeout: 0.5s, max_bytes: {CAP}, concurrency: 8, "
                               "per_host_concurrency: 8, host_spacing: 0s")


@pytest.fixture(scope="module")
def polled(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("hostile")
    with FeedServer() as srv:
        serve_hostile(srv)
        w = make_watcher(load_settings(hostile_config(tmp_path, srv), env={}), clock=lambda: NOW)
        w.pipeline.fetcher.session.trust_env = False  # no proxy between us and loopback
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        tracemalloc.start()
        started = time.monotonic()
        try:
            report = w.poll()
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        states = {s.id: s for s in w.store.feeds.all()}
        yield report, states, peak, rss_growth * 1024, elapsed, w
        w.close()


def test_each_hostile_feed_is_named_with_its_error_and_the_normal_feed_is_stored(polled, capsys):
    report, _states, peak, rss_growth, elapsed, _ = polled
    by_id = {f.feed_id: f for f in report.feeds}
    assert by_id["normal"].status == "ok" and by_id["normal"].new_entries == 3
    for feed_id, (_, message) in HOSTILE.items():
        assert by_id[feed_id].status == "error", feed_id
        assert message in (by_id[feed_id].error or ""), (feed_id, by_id[feed_id].error)
        assert "\n" not in by_id[feed_id].error
    out = io.StringIO()
    print_poll_report(report, out)
    for feed_id in HOSTILE:
        assert f"failed: {feed_id}: " in out.getvalue()
    with capsys.disabled():
        print(f"\nhostile poll: {elapsed:.1f}s, tracemalloc peak {peak / 2**20:.1f} MiB, "
              f"max RSS growth {rss_growth / 2**20:.1f} MiB")
    assert peak < 48 * 2**20, f"peak {peak} bytes: a hostile body was held in memory"
    assert elapsed < 10  # the hang and the drip were cut at their deadline, in parallel


def test_the_entity_blowup_is_read_without_expanding_its_entities(polled):
    report, _, _, _, _, w = polled
    blowup = next(f for f in report.feeds if f.feed_id == "blowup")
    assert blowup.status in ("ok", "error")
    titles = [a.title for a in _articles(w, "blowup")]
    assert all(len(t) < 100_000 for t in titles)  # 1 GB if "&a;" had been expanded


def test_failed_feeds_back_off_and_retry_after_is_honoured(polled):
    _, states, _, _, _, _ = polled
    assert states["busy"].next_poll_at >= NOW + timedelta(seconds=120)
    for feed_id in ("storm1", "storm2", "storm3", "hang", "huge"):
        assert states[feed_id].consecutive_failures == 1
        # 15 min interval doubled once, ±10% jitter
        next_poll = states[feed_id].next_poll_at
        assert NOW + timedelta(minutes=27) <= next_poll <= NOW + timedelta(minutes=33)
    assert states["normal"].consecutive_failures == 0


def _articles(w, feed_id: str) -> list:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with w.store.transaction() as conn:
        return list(conn.execute(text("SELECT title FROM articles WHERE feed_id = :f"),
                                 {"f": feed_id}))
