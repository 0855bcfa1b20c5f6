"""Fetching feeds from real loopback servers: validators, limits, redirects, hostile servers."""

from __future__ import annotations

import socket
import time
import tracemalloc
import zlib
from datetime import UTC, datetime

import pytest
import requests

from tests.support.feed_server import FeedServer, Response
from watcher.config.models import FetchSettings
from watcher.pipeline.fetch import Fetcher
from watcher.retry_after import parse_retry_after

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"
LAST_MODIFIED = "Wed, 21 Oct 2025 07:28:00 GMT"


@pytest.fixture
def server():
    with FeedServer() as srv:
        yield srv


def make_fetcher(timeout: float = 5.0, max_bytes: int = 1024 * 1024,
                 user_agent: str = "watcher-test/1.0 (+https://example.org/watcher)") -> Fetcher:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not see loopback tests
    settings = FetchSettings(timeout=timeout, max_bytes=max_bytes, user_agent=user_agent)
    return Fetcher(settings, session=session)


def gzip_of_zeros(size: int) -> bytes:
    """A gzip stream that inflates to `size` zero bytes, built without holding `size` bytes."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1024 * 1024)
    parts = [comp.compress(block) for _ in range(size // len(block))]
    return b"".join(parts) + comp.flush()


# -- conditional GET ---------------------------------------------------------------------
def test_etag_is_stored_and_second_fetch_is_not_modified(server):
    server.set("/feed", RSS, etag='"v1"')
    fetcher = make_fetcher()
    first = fetcher.fetch(server.url("/feed"))
    assert (first.status, first.body, first.etag) == ("ok", RSS, '"v1"')

    second = fetcher.fetch(server.url("/feed"), etag=first.etag)
    assert second.status == "not_modified"
    assert second.body is None
    assert second.etag == '"v1"'  # still the validator to send next time
    assert server.requests[-1].headers["if-none-match"] == '"v1"'
    assert "if-none-match" not in server.requests[0].headers


def test_last_modified_is_stored_and_sent_back(server):
    server.set("/feed", RSS, last_modified=LAST_MODIFIED)
    fetcher = make_fetcher()
    first = fetcher.fetch(server.url("/feed"))
    assert first.status == "ok" and first.last_modified == LAST_MODIFIED

    second = fetcher.fetch(server.url("/feed"), last_modified=first.last_modified)
    assert second.status == "not_modified"
    assert second.last_modified == LAST_MODIFIED
    assert server.requests[-1].headers["if-modified-since"] == LAST_MODIFIED


def test_changed_feed_is_fetched_again_despite_old_etag(server):
    server.set("/feed", RSS + b"<!-- new -->", etag='"v2"')
    result = make_fetcher().fetch(server.url("/feed"), etag='"v1"')
    assert result.status == "ok" and result.etag == '"v2"'
    assert result.body.endswith(b"<!-- new -->")


def test_user_agent_from_settings_is_sent(server):
    server.set("/feed", RSS)
    make_fetcher(user_agent="watcher/9.9 (+https://example.org/bot)").fetch(server.url("/feed"))
    assert server.requests[0].headers["user-agent"] == "watcher/9.9 (+https://example.org/bot)"


def test_response_headers_are_lower_case(server):
    server.set("/feed", RSS, headers={"X-Custom-Thing": "yes"})
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.headers["x-custom-thing"] == "yes"
    assert result.headers["content-type"].startswith("application/rss+xml")
    assert result.http_status == 200


# -- size caps ---------------------------------------------------------------------------
def test_declared_large_body_is_refused(server):
    server.set("/big", b"x" * 200_000)
    result = make_fetcher(max_bytes=100_000).fetch(server.url("/big"))
    assert result.status == "error" and result.error_kind == "too_large"
    assert "100000 byte limit" in result.error
    assert result.body is None


def test_undeclared_large_body_is_cut_at_the_cap(server):
    server.set("/big", b"x" * 300_000, content_length=-1)  # no Content-Length, ends at close
    result = make_fetcher(max_bytes=100_000).fetch(server.url("/big"))
    assert result.error_kind == "too_large"


def test_body_just_under_the_cap_is_accepted(server):
    server.set("/ok", b"y" * 100_000)
    result = make_fetcher(max_bytes=100_000).fetch(server.url("/ok"))
    assert result.status == "ok" and len(result.body) == 100_000


def test_gzip_encoded_body_is_decoded(server):
    server.set("/gz", RSS, gzip=True)
    result = make_fetcher().fetch(server.url("/gz"))
    assert result.status == "ok" and result.body == RSS


def test_chunked_gzip_body_is_reassembled(server):
    body = RSS.replace(b"<title>T</title>", b"<title>" + b"T" * 5000 + b"</title>")
    server.set("/chunked", body, gzip=True, chunked=True, drip=(100, 0.0))
    result = make_fetcher().fetch(server.url("/chunked"))
    assert result.status == "ok" and result.body == body


def test_gzip_bomb_stops_at_the_cap_with_bounded_memory(server):
    bomb = gzip_of_zeros(64 * 1024 * 1024)  # 64 MiB inflated, ~64 KB on the wire
    assert len(bomb) < 256 * 1024
    server.set("/bomb", bomb, raw_gzip=True)
    fetcher = make_fetcher(max_bytes=1024 * 1024)
    tracemalloc.start()
    try:
        result = fetcher.fetch(server.url("/bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.error_kind == "too_large"
    assert peak < 32 * 1024 * 1024, f"peak {peak} bytes: the bomb was inflated"


# -- time limits -------------------------------------------------------------------------
def test_slow_drip_server_is_abandoned_at_the_deadline(server):
    server.set("/drip", b"<rss>" + b" " * 10_000, drip=(1, 0.02))  # would take 200 s
    started = time.monotonic()
    result = make_fetcher(timeout=0.3).fetch(server.url("/drip"))
    assert time.monotonic() - started < 2.0
    assert result.error_kind == "timeout"
    assert server.url("/drip") in result.error


def test_server_that_never_answers_times_out(server):
    server.set("/hang", hang=True)
    started = time.monotonic()
    result = make_fetcher(timeout=0.3).fetch(server.url("/hang"))
    assert time.monotonic() - started < 2.0
    assert result.status == "error" and result.error_kind == "timeout"


def test_connection_refused_is_a_connection_error():
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = make_fetcher(timeout=1).fetch(f"http://127.0.0.1:{port}/feed")
    assert result.status == "error" and result.error_kind == "connection"
    assert "refused" in result.error and f"127.0.0.1:{port}" in result.error
    assert "\n" not in result.error


# -- redirects and statuses --------------------------------------------------------------
def test_permanent_redirect_reports_the_new_address(server):
    server.redirect("/old", "/new", status=301)
    server.set("/new", RSS)
    result = make_fetcher().fetch(server.url("/old"))
    assert result.status == "ok" and result.body == RSS
    assert result.final_url == server.url("/new")
    assert result.permanent_redirect == server.url("/new")


def test_temporary_redirect_keeps_the_configured_address(server):
    server.redirect("/feed", "/today", status=302)
    server.set("/today", RSS)
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.status == "ok" and result.final_url == server.url("/today")
    assert result.permanent_redirect is None


def test_permanent_after_temporary_does_not_move_the_feed(server):
    server.redirect("/feed", "/mid", status=302)
    server.redirect("/mid", "/end", status=308)
    server.set("/end", RSS)
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.status == "ok" and result.permanent_redirect is None


def test_redirect_loop_is_a_clear_error(server):
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    result = make_fetcher().fetch(server.url("/a"))
    assert result.status == "error" and result.error_kind == "redirect"
    assert "loop" in result.error
    assert server.count("/a") == 1 and server.count("/b") == 1


def test_more_than_five_redirects_is_an_error(server):
    for i in range(7):
        server.redirect(f"/r{i}", f"/r{i + 1}")
    server.set("/r7", RSS)
    result = make_fetcher().fetch(server.url("/r0"))
    assert result.error_kind == "redirect" and "more than 5 redirects" in result.error
    assert server.count("/r6") == 0


def test_redirect_to_a_local_file_is_refused(server):
    server.set("/evil", status=302, headers={"Location": "file:///etc/passwd"})
    result = make_fetcher().fetch(server.url("/evil"))
    assert result.status == "error" and result.body is None
    assert result.error_kind == "url"


@pytest.mark.parametrize("location", ["http://[oops/feed", "gopher://example.org/feed"])
def test_unusable_redirect_target_is_a_url_error(server, location):
    server.set("/feed", status=301, headers={"Location": location})
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.status == "error" and result.error_kind == "url"
    assert result.permanent_redirect is None


def test_gone_feed_says_so(server):
    server.set("/feed", b"gone", status=410)
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.status == "error" and result.error_kind == "gone"
    assert result.http_status == 410 and "410" in result.error


def test_too_many_requests_carries_retry_after_seconds(server):
    server.set("/feed", b"slow down", status=429, headers={"Retry-After": "120"})
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.error_kind == "http" and result.http_status == 429
    assert result.retry_after == 120.0
    assert result.error == f"HTTP 429 from {server.url('/feed')} (retry after 120s)"


def test_unavailable_with_http_date_retry_after(server):
    later = datetime.now(UTC).timestamp() + 600
    http_date = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(later))
    server.set("/feed", b"", status=503, headers={"Retry-After": http_date})
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.http_status == 503
    assert 590 <= result.retry_after <= 601


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0),
    ("0", 0.0),
    ("Sat, 28 Nov 2026 07:02:00 GMT", 120.0),  # two minutes after `now` below
    ("Sat, 28 Nov 2026 06:00:00 GMT", 0.0),  # in the past: retry now, not negative
    ("soon", None),
    ("", None),
])
def test_retry_after_forms(value, expected):
    now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


def test_server_error_without_retry_after(server):
    server.set("/feed", b"oops", status=500)
    result = make_fetcher().fetch(server.url("/feed"))
    assert result.error == f"HTTP 500 from {server.url('/feed')}"
    assert result.retry_after is None


def test_scripted_recovery_after_an_error(server):
    server.script("/feed", [Response(status=503), Response(body=RSS)])
    fetcher = make_fetcher()
    assert fetcher.fetch(server.url("/feed")).status == "error"
    assert fetcher.fetch(server.url("/feed")).status == "ok"


# -- file:// -----------------------------------------------------------------------------
def test_file_url_is_read_from_disk(tmp_path):
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    result = make_fetcher().fetch(path.as_uri())
    assert result.status == "ok" and result.body == RSS
    assert result.final_url == path.as_uri()


def test_file_url_respects_the_size_cap(tmp_path):
    path = tmp_path / "huge.xml"
    path.write_bytes(b"z" * 5000)
    result = make_fetcher(max_bytes=1000).fetch(path.as_uri())
    assert result.error_kind == "too_large"


def test_missing_file_is_a_clear_error(tmp_path):
    result = make_fetcher().fetch((tmp_path / "nope.xml").as_uri())
    assert result.status == "error" and result.error_kind == "file"
    assert "nope.xml" in result.error
