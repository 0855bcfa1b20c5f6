"""Every feed document of the shared corpora, served over loopback and polled for real.

feedparser's own test feeds (well-formed, ill-formed, encodings, entities, JSON) and ~200
real news feeds, each at its own URL on one 127.0.0.1 server, polled by the real
pipeline into a real SQLite file: no crash, every entry parse_feed can read is stored
exactly once, and a second poll stores nothing new. Skips when ../shared is absent.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support.feed_server import FeedServer
from watcher.app import make_watcher
from watcher.config.loader import load_settings
from watcher.exceptions import ParseError
from watcher.pipeline.parse import parse_feed

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora"
CONTENT_TYPE = "application/xml"  # no charset: each document's own declaration decides
NOW = datetime(2026, 9, 1, tzinfo=UTC)
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".json"}  # not .html, .txt, .tsv


def corpus_documents() -> list[Path]:
    """Feed documents only (see the corpora READMEs): no HTML pages, notes or manifests."""
    files = []
    for name in ("feedparser-tests", "real-feeds"):
        folder = CORPORA / name
        files += [p for p in sorted(folder.rglob("*"))
                  if p.is_file() and p.suffix.lower() in FEED_SUFFIXES]
    return files


def expected_keys(body: bytes, feed_id: str, url: str) -> int:
    """Distinct entries parse_feed reads from a document, as the pipeline would see it."""
    try:
        feed = parse_feed(body, feed_id, headers={"content-type": CONTENT_TYPE}, base_url=url)
    except ParseError:
        return 0
    return len({e.key for e in feed.entries})


def write_config(tmp: Path, urls: dict[str, str]) -> Path:
    feeds = "".join(f"  - {{id: {k}, url: '{u}'}}\n" for k, u in urls.items())
    path = tmp / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp / 'watcher.db'}
fetch: {{timeout: 10s, concurrency: 8, per_host_concurrency: 8, host_spacing: 0s}}
feeds:
{feeds}topics:
  - id: quokkas
    name: Quokka census
    match: {{all: [[quokka, quokkas]]}}
    figures: [displaced]
channels: []
""")
    return path


def stored_per_feed(w) -> Counter:  # type: ignore[no-untyped-def]
    with w.store.transaction() as conn:
        rows = conn.execute(text("SELECT feed_id, COUNT(*) FROM articles GROUP BY feed_id"))
        return Counter({feed_id: n for feed_id, n in rows})


@pytest.mark.slow  # ~1 min on two cores: 2,322 documents parsed three times, 5,731 entries stored
@pytest.mark.skipif(not CORPORA.is_dir(), reason=f"{CORPORA} not present")
def test_every_corpus_feed_is_polled_and_each_entry_stored_once(tmp_path, capsys):
    documents = corpus_documents()
    with FeedServer() as srv:
        urls, expected = {}, {}
        for n, path in enumerate(documents):
            feed_id, route = f"c{n:04d}", f"/c{n:04d}"
            body = path.read_bytes()
            srv.set(route, body, content_type=CONTENT_TYPE)
            urls[feed_id] = srv.url(route)
            expected[feed_id] = expected_keys(body, feed_id, urls[feed_id])
        w = make_watcher(load_settings(write_config(tmp_path, urls), env={}), clock=lambda: NOW)
        w.pipeline.fetcher.session.trust_env = False
        try:
            started = time.monotonic()
            first = w.poll()
            first_time = time.monotonic() - started
            second = w.poll()
            stored = stored_per_feed(w)
        finally:
            w.close()
    fetch_failures = [f for f in first.feeds if f.error and "not a readable feed" not in f.error
                      and "empty" not in f.error and "JSON" not in f.error]
    assert not fetch_failures, fetch_failures[:3]
    wrong = {k: (stored[k], n) for k, n in expected.items() if stored[k] != n}
    assert not wrong, (f"stored vs parseable entries differ for {len(wrong)} feeds: "
                       f"{list(wrong.items())[:5]}")
    assert first.total("new_entries") == sum(expected.values())
    assert second.total("new_entries") == 0 and second.total("updated_entries") == 0
    with capsys.disabled():
        print(f"\ncorpora: {len(documents)} files polled over loopback, "
              f"{sum(1 for n in expected.values() if n)} with entries, "
              f"{sum(expected.values())} entries stored once, {len(first.failed)} unreadable; "
              f"first poll {first_time:.1f}s")
