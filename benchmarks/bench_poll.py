"""Poll 1,000 feeds × 50 entries end to end over loopback and compare with feedparser alone.

    python benchmarks/bench_poll.py [--feeds 1000] [--entries 50] [--topics 100]

Serves generated RSS documents from one 127.0.0.1 server, polls them with the real
pipeline (fetch, parse, match every topic, extract, store) into a temporary SQLite
file, and prints wall time, entries/s, peak memory (max RSS) and, in the same run,
the time feedparser alone takes to parse the same documents.
"""

from __future__ import annotations

import argparse
import io
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.feed_server import FeedServer
from tests.support.scenario import Item, rss
from watcher.app import make_watcher
from watcher.config.loader import load_settings

NOW = datetime(2025, 11, 1, tzinfo=UTC)
_LETTERS = random.Random(0)
# Made-up place names, far apart for fuzzy matching; topics follow the first 100 of 2,000,
# so about one entry in twenty matches a topic, as in a real news stream.
PLACES = sorted({"".join(_LETTERS.choice("bcdfghklmnprstvz") + _LETTERS.choice("aeiou")
                         for _ in range(4)).capitalize() for _ in range(2000)})


def document(feed: int, entries: int, rng: random.Random) -> bytes:
    items = []
    for e in range(entries):
        place = PLACES[rng.randrange(len(PLACES))]
        text = (f"About {rng.randrange(10, 5000):,} people were evacuated from {place} after the "
                f"river burst its banks, the regional governor said on Sunday. Rescue teams "
                f"worked through the night and schools were closed across the district.")
        items.append(Item(f"f{feed}-e{e}", f"Floods in {place}", text,
                          NOW - timedelta(minutes=feed + 37 * e)))
    return rss(items, title=f"Feed {feed}")


def config(tmp: Path, urls: list[str], topics: int) -> Path:
    feeds = "".join(f"  - {{id: f{n}, url: '{u}'}}\n" for n, u in enumerate(urls))
    tops = "".join(f"  - {{id: t{k}, name: Topic {k}, match: {{all: [[{PLACES[k]}]]}}, "
                   f"figures: [evacuated]}}\n" for k in range(topics))
    path = tmp / "watcher.yaml"
    path.write_text(f"database: sqlite:///{tmp / 'bench.db'}\n"
                    "fetch: {timeout: 30s, concurrency: 8, per_host_concurrency: 8, "
                    "host_spacing: 0s}\n"
                    f"feeds:\n{feeds}topics:\n{tops}channels: []\n")
    return path


def feedparser_alone(docs: list[bytes]) -> float:
    started = time.perf_counter()
    for doc in docs:
        feedparser.parse(io.BytesIO(doc))
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--topics", type=int, default=100)
    args = ap.parse_args()
    rng = random.Random(1)
    docs = [document(f, args.entries, rng) for f in range(args.feeds)]
    with FeedServer() as srv, tempfile.TemporaryDirectory() as tmp:
        urls = []
        for n, doc in enumerate(docs):
            srv.set(f"/f{n}.xml", doc)
            urls.append(srv.url(f"/f{n}.xml"))
        w = make_watcher(load_settings(config(Path(tmp), urls, args.topics), env={}),
                         clock=lambda: NOW)
        w.pipeline.fetcher.session.trust_env = False
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = w.poll()
        wall = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        w.close()
        # reading workers (parse, match, extract)
        workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    fp = feedparser_alone(docs)
    entries = report.total("new_entries")
    print(f"feeds {args.feeds} × {args.entries} entries, {args.topics} topics, "
          f"{sum(map(len, docs)) / 2**20:.1f} MiB of RSS; failed feeds: {len(report.failed)}")
    print(f"poll wall time     {wall:8.1f} s   ({entries / wall:,.0f} entries/s, "
          f"{entries} stored, {report.total('matches')} matches, {report.total('claims')} claims)")
    print(f"feedparser alone   {fp:8.1f} s   (same documents, one thread, after the poll)")
    print(f"ratio poll/parse   {wall / fp:8.2f}")
    print(f"peak memory        {peak / 1024:8.0f} MiB max RSS "
          f"(+{(peak - rss_before) / 1024:.0f} MiB during the poll); "
          f"largest reading worker {workers / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
