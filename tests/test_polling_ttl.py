"""A feed that asks to be polled less often is obeyed, within reason.

RSS `<ttl>`, the syndication module's `sy:updatePeriod`/`sy:updateFrequency` and the
response's `Cache-Control: max-age` / `Expires` lengthen a feed's interval, never shorten
it, never past a cap (24 h, or `max_interval` for an adaptive feed); failures still back
off and `Retry-After` still wins; `honour_feed_ttl: false` polls every `interval` anyway.

Real servers on 127.0.0.1, the real pipeline, real SQLite files, a fake clock.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.feed_server import Response
from tests.support.polling import T0, floods_config
from tests.support.scenario import Item, rss
from watcher.app import make_watcher
from watcher.cli import main
from watcher.config.loader import load_settings
from watcher.pipeline.parse import parse_feed

JITTER = 1.1  # the interval's jitter is at most +10%


def feed_doc(channel_extra: str = "", namespaces: str = "") -> bytes:
    doc = rss([Item(f"g{i}", f"Story {i}", "About 40 people were evacuated from the flood.",
                    T0 - timedelta(hours=i)) for i in range(2)])
    doc = doc.replace(b'<rss version="2.0">', f'<rss version="2.0"{namespaces}>'.encode())
    return doc.replace(b"<channel>", f"<channel>{channel_extra}".encode(), 1)


SY = ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'


def config(tmp: Path, url: str, feed: str = ", interval: 5m") -> Path:
    return floods_config(tmp, {"wire": url}, extra=feed)



@pytest.fixture
def build(tmp_path):
    made = []

    def make(url: str, feed: str = "", clock: Clock | None = None):
        feed = feed if "interval:" in feed else ", interval: 5m" + feed
        settings = load_settings(config(tmp_path, url, feed), env={})
        w = make_watcher(settings, clock=clock or Clock(T0))
        w.pipeline.fetcher.session.trust_env = False
        w.pipeline.rng = random.Random(7)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def next_poll_in(w, clock: Clock | None = None) -> timedelta:  # type: ignore[no-untyped-def]
    return w.store.feeds.get("wire").next_poll_at - (clock.now if clock else T0)


# -- the feed's document --------------------------------------------------------------------
def test_a_feed_with_ttl_60_is_polled_hourly_not_every_5_minutes(srv, build):
    srv.set("/feed.xml", feed_doc("<ttl>60</ttl>"), etag='"v1"')
    clock = Clock(T0)
    w = build(srv.url("/feed.xml"), clock=clock)
    report = w.poll()
    assert timedelta(hours=1) <= next_poll_in(w) <= timedelta(hours=1) * JITTER
    assert "next poll in 1h" in report.feeds[0].summary()
    assert "(feed asks ttl 1h)" in report.feeds[0].summary()
    # an hour later the feed has not changed: a 304 carries no <ttl>, the stored one holds
    clock.now = w.store.feeds.get("wire").next_poll_at
    assert w.poll(only_due=True).feeds[0].status == "not_modified"
    assert next_poll_in(w, clock) >= timedelta(hours=1)
    assert srv.count("/feed.xml") == 2


def test_a_feed_that_drops_its_ttl_is_polled_at_its_interval_again(srv, build):
    srv.script("/feed.xml", [Response(body=feed_doc("<ttl>60</ttl>")), Response(body=feed_doc())])
    clock = Clock(T0)
    w = build(srv.url("/feed.xml"), clock=clock)
    w.poll()
    clock.now = w.store.feeds.get("wire").next_poll_at
    w.poll(only_due=True)
    assert next_poll_in(w, clock) <= timedelta(minutes=5) * JITTER


def test_a_feed_asking_for_more_polls_than_configured_does_not_get_them(srv, build):
    srv.set("/feed.xml", feed_doc("<ttl>1</ttl>"), headers={"Cache-Control": "max-age=30"})
    w = build(srv.url("/feed.xml"), feed=", interval: 15m")
    w.poll()
    assert timedelta(minutes=13.5) <= next_poll_in(w) <= timedelta(minutes=16.5)


# -- the HTTP response ----------------------------------------------------------------------
def test_cache_control_max_age_7200_means_two_hours(srv, build):
    srv.set("/feed.xml", feed_doc(), headers={"Cache-Control": "public, max-age=7200"})
    w = build(srv.url("/feed.xml"))
    report = w.poll()
    assert timedelta(hours=2) <= next_poll_in(w) <= timedelta(hours=2) * JITTER
    assert "(feed asks max-age 2h)" in report.feeds[0].summary()


def test_expires_two_hours_after_the_responses_date_means_two_hours(srv, build):
    expires = format_datetime(datetime.now(UTC) + timedelta(hours=2, minutes=1), usegmt=True)
    srv.set("/feed.xml", feed_doc(), headers={"Expires": expires})
    w = build(srv.url("/feed.xml"))
    report = w.poll()
    assert timedelta(hours=2) <= next_poll_in(w) <= timedelta(hours=2, minutes=1) * JITTER
    assert "(feed asks Expires 2h" in report.feeds[0].summary()


@pytest.mark.parametrize("cache_control", ["no-cache, max-age=7200", "no-store", "max-age=0",
                                           "max-age=soon"])
def test_responses_that_say_not_to_cache_ask_for_nothing(srv, build, cache_control):
    srv.set("/feed.xml", feed_doc(), headers={"Cache-Control": cache_control})
    w = build(srv.url("/feed.xml"))
    w.poll()
    assert next_poll_in(w) <= timedelta(minutes=5) * JITTER


def test_max_age_counts_from_when_a_cache_stored_the_copy(srv, build):
    srv.set("/feed.xml", feed_doc(), headers={"Cache-Control": "max-age=7200", "Age": "3600"})
    w = build(srv.url("/feed.xml"))
    w.poll()
    assert timedelta(hours=1) <= next_poll_in(w) <= timedelta(hours=1) * JITTER


# -- caps -----------------------------------------------------------------------------------
def test_watcher_poll_says_a_ten_year_ttl_is_capped_at_a_day(srv, tmp_path, capsys):
    srv.set("/feed.xml", feed_doc(f"<ttl>{10 * 365 * 24 * 60}</ttl>"))
    assert main(["--config", str(config(tmp_path, srv.url("/feed.xml"))), "poll"]) == 0
    out = capsys.readouterr().out
    assert "feed wire: ok, 2 entries" in out
    assert "(feed asks ttl 3650d, capped at 24h)" in out


def test_a_ttl_of_ten_years_is_capped_at_a_day_in_the_schedule(srv, build):
    srv.set("/feed.xml", feed_doc(f"<ttl>{10 * 365 * 24 * 60}</ttl>"))
    w = build(srv.url("/feed.xml"))
    w.poll()
    assert timedelta(days=1) <= next_poll_in(w) <= timedelta(days=1) * JITTER


def test_an_adaptive_feeds_wish_is_capped_at_its_max_interval(srv, build):
    srv.set("/feed.xml", feed_doc("<ttl>1440</ttl>"))
    w = build(srv.url("/feed.xml"), feed=", adaptive: true, max_interval: 3h")
    w.poll()
    assert timedelta(hours=3) <= next_poll_in(w) <= timedelta(hours=3) * JITTER


# -- failures, Retry-After, turning it off ----------------------------------------------------
def test_a_failing_feed_still_backs_off_and_recovers(srv, build):
    srv.set("/feed.xml", feed_doc("<ttl>60</ttl>"))
    clock = Clock(T0)
    w = build(srv.url("/feed.xml"), clock=clock)
    w.poll()
    # the feed breaks; its error page says "cache me for a week": not a wish about the feed
    srv.set("/feed.xml", b"", status=503, headers={"Cache-Control": "max-age=604800"})
    delays = []
    for _ in range(4):
        clock.now = w.store.feeds.get("wire").next_poll_at
        report = w.poll(only_due=True)
        delays.append(next_poll_in(w, clock))
    assert "(failing; feed asks ttl 1h)" in report.feeds[0].summary()
    assert delays[0] >= timedelta(hours=2) and delays[1] >= timedelta(hours=4)
    assert all(d <= timedelta(hours=6) * JITTER for d in delays)  # the backoff cap still holds
    assert w.store.feeds.get("wire").consecutive_failures == 4
    srv.set("/feed.xml", feed_doc("<ttl>60</ttl>"))
    clock.now = w.store.feeds.get("wire").next_poll_at
    w.poll(only_due=True)
    assert w.store.feeds.get("wire").consecutive_failures == 0
    assert timedelta(hours=1) <= next_poll_in(w, clock) <= timedelta(hours=1) * JITTER


def test_a_failing_feed_without_a_ttl_backs_off_from_its_interval(srv, build):
    srv.set("/feed.xml", b"", status=503)
    w = build(srv.url("/feed.xml"))
    w.poll()
    assert timedelta(minutes=9) <= next_poll_in(w) <= timedelta(minutes=11)  # 2 × 5m


def test_retry_after_longer_than_the_ttl_still_wins(srv, build):
    srv.script("/feed.xml", [Response(body=feed_doc("<ttl>60</ttl>")),
                             Response(status=429, headers={"Retry-After": "10800"})])
    clock = Clock(T0)
    w = build(srv.url("/feed.xml"), clock=clock)
    w.poll()
    clock.now = w.store.feeds.get("wire").next_poll_at
    w.poll(only_due=True)
    assert next_poll_in(w, clock) >= timedelta(hours=3)


def test_honour_feed_ttl_false_polls_at_the_configured_interval(srv, build):
    srv.set("/feed.xml", feed_doc("<ttl>60</ttl>"), headers={"Cache-Control": "max-age=7200"})
    w = build(srv.url("/feed.xml"), feed=", honour_feed_ttl: false")
    report = w.poll()
    assert next_poll_in(w) <= timedelta(minutes=5) * JITTER
    assert "next poll" not in report.feeds[0].summary()


def test_a_new_url_in_the_config_forgets_the_old_documents_ttl(srv, build):
    srv.set("/old.xml", feed_doc("<ttl>60</ttl>"))
    build(srv.url("/old.xml")).poll()
    srv.set("/new.xml", b"", status=503)
    w = build(srv.url("/new.xml"))
    assert w.store.feeds.get("wire").feed_ttl is None
    w.poll()
    assert next_poll_in(w) <= timedelta(minutes=11)  # backoff from 5m, not from the old 60m


# -- reading the document ---------------------------------------------------------------------
@pytest.mark.parametrize(("channel", "seconds"), [
    ("<ttl>60</ttl>", 3600),
    ("<ttl> 15 </ttl>", 900),
    # WordPress boilerplate, not the site's rhythm: ignored
    ("<sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>1</sy:updateFrequency>", None),
    ("<ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod>", 3600),
    ("<ttl>0</ttl>", None),
    ("<ttl>-5</ttl>", None),
    ("<ttl>soon</ttl>", None),
    ("", None),
])
def test_what_a_document_asks(channel, seconds):
    assert parse_feed(feed_doc(channel, SY), "wire").ttl == seconds


def test_a_json_feed_asks_nothing():
    doc = b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}'
    assert parse_feed(doc, "wire").ttl is None
