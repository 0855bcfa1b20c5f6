"""Polling as a site owner and a user see it: polite per site, moves confirmed before they
are followed, gone feeds retired, failures backed off and resumed, an adaptive rhythm,
stale-source warnings, the SSRF guard, full-text pages and the poll's printed summary.

Real servers on 127.0.0.1, the real pipeline, real SQLite files.
"""

from __future__ import annotations

import io
import itertools
import random
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import requests

from tests.support.clock import Clock
from tests.support.feed_server import Response
from tests.support.polling import T0, floods_config
from tests.support.scenario import Item, rss
from watcher.app import make_watcher
from watcher.cli import main
from watcher.config.loader import load_settings
from watcher.config.models import FeedSettings, FetchSettings
from watcher.pipeline.fetch import Fetcher
from watcher.pipeline.health import feeds_needing_attention, median_gap, poll_interval
from watcher.pipeline.politeness import HostLimiter, site_of
from watcher.reports import print_status


def feed_doc(n: int = 2, hours_apart: float = 1.0, start: datetime = T0) -> bytes:
    return rss([Item(f"g{i}", f"Story {i}", "About 40 people were evacuated from the flood.",
                     start - timedelta(hours=i * hours_apart)) for i in range(n)])


def config(tmp: Path, feeds: dict[str, str], **kw: str) -> Path:
    return floods_config(tmp, feeds, **kw)



@pytest.fixture
def build(tmp_path):
    made = []

    def make(feeds: dict[str, str], clock: Clock | None = None, **kw: str):
        w = make_watcher(load_settings(config(tmp_path, feeds, **kw), env={}), clock=clock or Clock(T0))
        w.pipeline.fetcher.session.trust_env = False
        w.pipeline.rng = random.Random(7)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def state(w, feed_id: str):  # type: ignore[no-untyped-def]
    return w.store.feeds.get(feed_id)


# -- politeness ------------------------------------------------------------------------------
def test_requests_to_one_site_are_spaced_and_one_at_a_time(srv, build):
    for n in range(3):
        srv.set(f"/f{n}.xml", feed_doc(), delay=0.1)
    w = build({f"f{n}": srv.url(f"/f{n}.xml") for n in range(3)}, fetch="timeout: 2s, host_spacing: 0.3s")
    w.poll()
    starts = sorted(r.at for r in srv.requests)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # The client spaces the starts by ≥ 0.3 s; the server sees them after thread scheduling
    # and connection set-up, which on a busy machine shifts each by a few tens of ms.
    assert all(g >= 0.25 for g in gaps), gaps


def test_a_slow_site_does_not_delay_another_sites_feeds(srv, build):
    srv.set("/slow.xml", feed_doc(), delay=1.5)
    srv.set("/slow2.xml", feed_doc())
    srv.set("/fast.xml", feed_doc())
    # "localhost" and "127.0.0.1" are two sites for politeness (both reach the loopback server)
    w = build({"slow": srv.url("/slow.xml"), "slow2": srv.url("/slow2.xml"),
               "fast": f"http://localhost:{srv.port}/fast.xml"})
    done: dict[str, float] = {}
    started = time.monotonic()
    w.pipeline.poll(T0, on_fetched=lambda r: done.setdefault(r.feed_id, time.monotonic() - started))
    assert done["fast"] < 1.2  # the fast site did not wait behind the slow one (1.5 s)
    assert done["slow2"] >= 1.5  # slow2 waited for its own site only


def test_limiter_allows_per_host_concurrency_and_pauses_a_site():
    limiter = HostLimiter(per_host=2, spacing=0)
    active, peak, lock = [0], [0], threading.Lock()

    def hit() -> None:
        with limiter.slot("https://news.example.org/a"):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=hit) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2
    limiter.pause("https://www.example.org/feed", 30)
    assert limiter.paused("https://cdn.example.org/x") > 29  # same registrable domain
    assert limiter.paused("https://example.net/") == 0


@pytest.mark.parametrize(("a", "b", "same"), [
    ("https://feeds.reuters.com/x", "https://www.reuters.com/y", True),
    ("https://a.example.co.uk/", "https://b.example.co.uk/", True),
    ("https://example.co.uk/", "https://other.co.uk/", False),
    ("http://127.0.0.1:8000/", "http://localhost:8000/", False),
])
def test_site_is_the_registrable_domain(a, b, same):
    assert (site_of(a) == site_of(b)) is same


# -- moves, gone feeds, backoff -----------------------------------------------------------
def test_a_permanent_redirect_moves_the_feed_only_after_it_repeats(srv, build):
    srv.redirect("/old.xml", "/new.xml", status=301)
    srv.set("/new.xml", feed_doc())
    clock = Clock(T0)
    w = build({"wire": srv.url("/old.xml")}, clock=clock)
    w.poll()
    assert state(w, "wire").url == srv.url("/old.xml")  # once: not yet
    assert (state(w, "wire").redirect_url, state(w, "wire").redirect_count) == (srv.url("/new.xml"), 1)
    w.poll()
    assert state(w, "wire").url == srv.url("/new.xml")  # twice in a row: moved
    w2 = build({"wire": srv.url("/old.xml")}, clock=clock)  # a restart keeps the move
    assert state(w2, "wire").url == srv.url("/new.xml")
    w2.poll()
    assert srv.count("/old.xml") == 2


def test_a_redirect_that_stops_repeating_is_forgotten(srv, build):
    srv.script("/old.xml", [Response(status=308, headers={"Location": srv.url("/new.xml")}),
                            Response(body=feed_doc())])
    srv.set("/new.xml", feed_doc())
    w = build({"wire": srv.url("/old.xml")})
    w.poll()
    w.poll()
    assert state(w, "wire").url == srv.url("/old.xml") and state(w, "wire").redirect_count == 0


def test_a_gone_feed_is_retired_and_says_how_to_resume(srv, build, tmp_path):
    srv.set("/gone.xml", b"", status=410)
    srv.set("/ok.xml", feed_doc())
    w = build({"gone": srv.url("/gone.xml"), "ok": srv.url("/ok.xml")})
    report = w.poll()
    assert "change its url in the config" in report.failed[0].error
    assert state(w, "gone").retired
    w.poll()
    w.poll(["gone"])
    assert srv.count("/gone.xml") == 1  # never polled again
    out = io.StringIO()
    print_status(w.store, w.settings, as_json=False, out=out)
    assert "gone" in out.getvalue() and "retired" in out.getvalue()
    assert "change its url in the config to poll it again" in out.getvalue()


def test_backoff_doubles_is_capped_and_never_gives_up(srv, build):
    srv.set("/down.xml", b"", status=503)
    clock = Clock(T0)
    w = build({"down": srv.url("/down.xml")}, clock=clock)
    delays = []
    for _ in range(40):  # 40 failures: 15 min × 2⁴⁰ would overflow a timedelta
        w.poll(only_due=True)
        s = state(w, "down")
        delays.append(s.next_poll_at - clock.now)
        clock.now = s.next_poll_at
    assert delays[0] >= timedelta(minutes=27) and delays[1] >= timedelta(minutes=54)
    assert max(delays) <= timedelta(hours=6, minutes=36)  # cap 6 h, +10% jitter
    assert state(w, "down").consecutive_failures == 40
    srv.set("/down.xml", feed_doc())
    w.poll(only_due=True)
    assert state(w, "down").consecutive_failures == 0  # resumed by itself
    assert state(w, "down").next_poll_at - clock.now <= timedelta(minutes=16.5)


def test_retry_after_is_never_undercut_by_jitter(srv, build):
    srv.set("/busy.xml", b"", status=429, headers={"Retry-After": "7200"})
    w = build({"busy": srv.url("/busy.xml")})
    w.poll()
    assert state(w, "busy").next_poll_at >= T0 + timedelta(seconds=7200)


# -- adaptive interval and stale sources --------------------------------------------------
def test_adaptive_polling_follows_the_feeds_rhythm_within_bounds():
    feed = FeedSettings(id="f", url="https://x.org/f", adaptive=True,
                        min_interval=timedelta(minutes=10), max_interval=timedelta(hours=2))
    assert poll_interval(feed, 1800) == timedelta(minutes=30)
    assert poll_interval(feed, 60) == timedelta(minutes=10)
    assert poll_interval(feed, 86400) == timedelta(hours=2)
    assert poll_interval(feed.model_copy(update={"adaptive": False}), 60) == timedelta(minutes=15)
    assert median_gap([T0, T0 - timedelta(hours=1), T0 - timedelta(hours=3), None]) == 5400


def test_adaptive_feed_is_next_polled_at_its_rhythm(srv, build):
    srv.set("/hourly.xml", feed_doc(n=5, hours_apart=1))
    w = build({"hourly": srv.url("/hourly.xml")}, extra=", adaptive: true")
    w.poll()
    assert timedelta(minutes=54) <= state(w, "hourly").next_poll_at - T0 <= timedelta(minutes=66)


def test_a_silent_feed_is_flagged_stale_and_a_failing_one_too(srv, build):
    srv.set("/quiet.xml", feed_doc(n=5, hours_apart=1))
    srv.set("/down.xml", b"", status=500)
    clock = Clock(T0)
    w = build({"quiet": srv.url("/quiet.xml"), "down": srv.url("/down.xml")}, clock=clock)
    for _ in range(3):
        w.poll()
    # right after the polls only the failing feed needs attention; the quiet one is on rhythm
    assert [h.feed_id for h in feeds_needing_attention(w.settings, w.store.feeds.all(), T0)] == [
        "down"]
    later = T0 + timedelta(hours=11)  # 10× its hourly rhythm has passed
    flagged = {h.feed_id: h for h in feeds_needing_attention(w.settings, w.store.feeds.all(), later)}
    assert flagged["quiet"].state == "stale" and "nothing new for 11h" in flagged["quiet"].warning
    assert flagged["down"].state == "failing" and "HTTP 500" in flagged["down"].warning


# -- SSRF guard ------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/article", "http://localhost:9/article", "http://10.1.2.3/article",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/article", "http://0.0.0.0:9/x",
])
def test_article_pages_on_private_addresses_are_refused_before_connecting(url, monkeypatch):
    fetcher = Fetcher(FetchSettings(timeout=1))
    monkeypatch.setattr(requests.Session, "get", lambda *a, **k: pytest.fail("connected"))
    result = fetcher.fetch(url, guard="page")
    assert result.status == "error" and result.error_kind == "blocked"
    assert "allow_private_networks" in result.error


def test_a_public_feed_may_not_redirect_into_a_private_network(srv, monkeypatch):
    from watcher.pipeline import guard

    real = guard._is_public
    monkeypatch.setattr(guard, "_is_public", lambda a: a.is_loopback or real(a))  # loopback
    # plays the public internet here; the redirect target is link-local (cloud metadata)
    srv.redirect("/feed.xml", "http://169.254.169.254/latest/meta-data/")
    fetcher = Fetcher(FetchSettings(timeout=1))
    fetcher.session.trust_env = False
    real_get = fetcher.session.get

    def loopback_only(url, **kw):  # type: ignore[no-untyped-def]
        assert url.startswith("http://127.0.0.1:"), f"would have connected to {url}"
        return real_get(url, **kw)

    monkeypatch.setattr(fetcher.session, "get", loopback_only)
    result = fetcher.fetch(srv.url("/feed.xml"))
    assert result.error_kind == "blocked" and "169.254.169.254" in result.error
    assert srv.count("/feed.xml") == 1  # the feed was fetched, its redirect refused


def test_a_feed_configured_on_localhost_works_by_default(srv, build):
    srv.set("/feed.xml", feed_doc())
    w = build({"local": srv.url("/feed.xml")})
    assert w.poll().feeds[0].status == "ok"


# -- full text -------------------------------------------------------------------------------
ARTICLE = ("<html><head><title>x</title></head><body><nav>Home | World | Sport</nav>"
           "<article><h1>Floods</h1>"
           + "".join(f"<p>Paragraph {i}: rescuers said about 1,200 people were evacuated from the "
                     f"flooded valley overnight, officials said on Sunday.</p>" for i in range(4))
           + "</article><footer>© News Corp, all rights reserved</footer></body></html>")


def test_full_text_reads_the_article_page_instead_of_the_summary(srv, build):
    page = srv.url("/story.html")
    srv.set("/feed.xml", rss([Item("s1", "Flood", "Teaser about the flood.", T0)]).replace(
        b"https://news.example.org/s1", page.encode()))
    srv.set("/story.html", ARTICLE, content_type="text/html; charset=utf-8")
    w = build({"wire": srv.url("/feed.xml")}, fetch="timeout: 2s, host_spacing: 0s, allow_private_networks: true",
              extra=", full_text: true")
    report = w.poll()
    assert report.feeds[0].pages == 1 and report.total("claims") == 1
    (claim,) = w.store.claims.history("floods", "evacuated")
    assert claim.value == 1200
    w.poll()
    assert srv.count("/story.html") == 1  # read once


def test_full_text_pages_are_guarded_by_default(srv, build):
    page = srv.url("/story.html")
    srv.set("/feed.xml", rss([Item("s1", "Flood", "About 40 people were evacuated from the flood.",
                                   T0)]).replace(b"https://news.example.org/s1", page.encode()))
    srv.set("/story.html", ARTICLE, content_type="text/html")
    w = build({"wire": srv.url("/feed.xml")}, extra=", full_text: true")
    w.poll()
    assert srv.count("/story.html") == 0  # loopback page refused; the summary is used
    assert w.store.claims.history("floods", "evacuated")[0].value == 40


# -- what `watcher poll` prints ------------------------------------------------------------
def test_poll_prints_plain_lines_names_failed_feeds_and_exits_0(srv, tmp_path, capsys):
    srv.set("/ok.xml", feed_doc())
    srv.set("/down.xml", b"", status=500)
    path = config(tmp_path, {"ok": srv.url("/ok.xml"), "down": srv.url("/down.xml")})
    assert main(["--config", str(path), "poll"]) == 0
    out = capsys.readouterr().out
    assert "feed ok: ok, 2 entries (2 new" in out
    assert "polled 2 feeds: 1 ok, 0 not modified, 1 failed" in out
    assert f"failed: down: HTTP 500 from {srv.url('/down.xml')}" in out
    assert "\x1b[" not in out  # no terminal codes when stdout is not a terminal
