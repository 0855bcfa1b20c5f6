"""Feed health in digests, on real servers: a digest ends with the feeds that are failing,
stale or retired (one line each, after the changes), says nothing about healthy feeds,
never goes out for feed health alone, escapes server text in HTML, and resends the same
summary on every retry of the same digest."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.feed_server import FeedServer, Response
from tests.support.scenario import NK_600, NK_2000, Item, rss
from tests.support.smtp import free_port, smtp_server
from tests.support.webhook_receiver import webhook_receiver
from watcher.app import Watcher, make_watcher
from watcher.config.loader import load_settings
from watcher.deliver.webhook import webhook_body
from watcher.storage import FetchOutcome
from watcher.types import Digest, FeedWarning

T0 = datetime(2025, 11, 10, 12, 0, tzinfo=UTC)  # two hours after NK_2000 appeared
BLOCK = "Feeds needing attention:"
FLOOD = Item("rain", "Floods in Bavaria", "Heavy rain flooded 300 homes in Bavaria.",
             datetime(2025, 10, 25, 9, tzinfo=UTC))
EMPTY_FEED = rss([])


def email_channel(port: int) -> str:
    return f"""  - id: desk
    type: email
    to: [desk@example.org]
    from: watcher@example.org
    smtp: {{host: 127.0.0.1, port: {port}, starttls: false, timeout: 10s}}
    schedule: immediate
"""


def webhook_channel(url: str) -> str:
    return f"""  - id: ops
    type: webhook
    url: "{url}"
    schedule: immediate
"""


def write_config(tmp: Path, feeds: dict[str, str], channels: str) -> Path:
    listed = "".join(f"  - {{id: {name}, url: \"{url}\", interval: 15m}}\n"
                     for name, url in feeds.items())
    path = tmp / "watcher.yaml"
    path.write_text(f"""
database: sqlite:///{tmp / 'watcher.db'}
fetch: {{host_spacing: 0s, timeout: 5s}}
feeds:
{listed}topics:
  - id: dprk-troops
    name: North Korean troops in the Russia–Ukraine war
    match: {{all: [[North Korea, North Korean, DPRK]], any: [Russia, Kursk, Ukraine]}}
    subject: [North Korean, North Korea, DPRK]
    figures: [killed, wounded]
channels:
{channels}""", encoding="utf-8")
    return path


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def opened() -> Iterator[list[Watcher]]:
    made: list[Watcher] = []
    yield made
    for w in made:
        w.close()


def open_watcher(opened: list[Watcher], config: Path, clock: Clock) -> Watcher:
    w = make_watcher(load_settings(config, env={}), clock=clock)
    opened.append(w)
    return w


def poll(w: Watcher, clock: Clock, times: int) -> None:
    """`times` polls of every feed, 15 minutes apart; the clock stops at the last one."""
    for i in range(times):
        if i:
            clock.advance(minutes=15)
        w.poll()


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def attention_lines(text: str) -> list[str]:
    """The lines of the plain-text "Feeds needing attention" block (wrapped lines joined)."""
    lines = text.split(BLOCK, 1)[1].split("\n\n", 1)[0].strip("\n").splitlines()
    joined: list[str] = []
    for line in lines:
        if line.startswith("    ") and joined:
            joined[-1] += " " + line.strip()
        else:
            joined.append(line.strip())
    return joined


# --- email ---------------------------------------------------------------------------------


def test_a_failing_and_a_retired_feed_are_named_after_the_changes(tmp_path, feeds, opened):
    feeds.set("/wire.xml", rss([NK_600]))
    feeds.script("/down.xml", [Response(EMPTY_FEED), Response(b"", status=500)])
    feeds.set("/gone.xml", b"", status=410)
    clock = Clock(T0)
    with smtp_server() as smtp:
        config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                         "down": feeds.url("/down.xml"),
                                         "gone": feeds.url("/gone.xml")},
                              email_channel(smtp.port))
        w = open_watcher(opened, config, clock)
        poll(w, clock, 4)  # down: one success, then three 500s in a row
        [report] = w.deliver(["desk"])
        assert report.ok
        [message] = smtp.messages
    text, html = parts(message)
    assert attention_lines(text) == [
        "- down (failing): 3 failed polls in a row, last success 45 minutes ago: HTTP 500",
        ("- gone (retired): HTTP 410 Gone: feed retired, no more polls; to poll it again, "
         "change its url in the config"),
    ]
    # changes first, health last
    assert text.index("killed: 600") < text.index(BLOCK) < text.index("watcher digest for")
    assert "wire (" not in text.split(BLOCK, 1)[1]
    assert "Feeds needing attention" in html
    assert html.index("killed: 600") < html.index("Feeds needing attention")
    assert "3 failed polls in a row, last success 45 minutes ago: HTTP 500" in html
    assert "HTTP 410 Gone: feed retired" in html


def test_a_feed_silent_for_much_longer_than_its_rhythm_is_named_stale(tmp_path, feeds, opened):
    hourly = [Item(f"h{i}", f"Weather {i}", "Sunny.", T0 - timedelta(hours=i)) for i in range(5)]
    feeds.set("/wire.xml", rss([NK_600]))
    feeds.set("/quiet.xml", rss(hourly))
    clock = Clock(T0)
    with smtp_server() as smtp:
        config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                         "quiet": feeds.url("/quiet.xml")},
                              email_channel(smtp.port))
        w = open_watcher(opened, config, clock)
        w.poll()
        clock.advance(hours=11)  # an hourly feed, nothing new for 11 hours
        w.poll()
        [report] = w.deliver(["desk"])
        assert report.ok
        [message] = smtp.messages
    text, html = parts(message)
    assert attention_lines(text) == [
        "- quiet (stale): nothing new for 11 hours (expected within 10 hours)"]
    assert "nothing new for 11 hours (expected within 10 hours)" in html


def test_healthy_feeds_add_no_block_to_email_or_webhook(tmp_path, feeds, opened):
    feeds.set("/wire.xml", rss([NK_600]))
    feeds.set("/other.xml", rss([FLOOD]))
    clock = Clock(T0)
    with smtp_server() as smtp, webhook_receiver([200]) as hook:
        config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                         "other": feeds.url("/other.xml")},
                              email_channel(smtp.port) + webhook_channel(hook.url))
        w = open_watcher(opened, config, clock)
        poll(w, clock, 3)
        assert all(r.ok for r in w.deliver(["desk", "ops"]))
        [message] = smtp.messages
        [request] = hook.requests
    text, html = parts(message)
    assert "killed: 600" in text
    assert "attention" not in text.lower() and "attention" not in html.lower()
    body = json.loads(request.body)
    assert body["changes"] and "feeds_needing_attention" not in body


def test_feed_health_alone_sends_no_digest(tmp_path, feeds, opened):
    feeds.set("/wire.xml", rss([FLOOD]))  # no figure for the topic: no change
    feeds.set("/down.xml", b"", status=500)
    clock = Clock(T0)
    with smtp_server() as smtp, webhook_receiver([200]) as hook:
        config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                         "down": feeds.url("/down.xml")},
                              email_channel(smtp.port) + webhook_channel(hook.url))
        w = open_watcher(opened, config, clock)
        poll(w, clock, 4)
        assert w.deliver(["desk", "ops"]) == []
        assert w.deliver_immediate() == []
        assert smtp.messages == [] and hook.requests == []


def test_server_text_in_a_feed_error_is_escaped_in_the_html_digest(tmp_path, feeds, opened):
    hostile = "HTTP 503 <script>alert('x')</script> & <img src=x onerror=alert(1)>"
    feeds.set("/wire.xml", rss([NK_600]))
    feeds.set("/down.xml", EMPTY_FEED)
    clock = Clock(T0)
    with smtp_server() as smtp:
        config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                         "down": feeds.url("/down.xml")},
                              email_channel(smtp.port))
        w = open_watcher(opened, config, clock)
        w.poll()
        for minutes in (15, 30, 45):  # three failed polls, recorded as the poller records them
            at = T0 + timedelta(minutes=minutes)
            w.store.feeds.record("down", FetchOutcome(ok=False, at=at, error=hostile,
                                                      error_kind="http",
                                                      next_poll_at=at + timedelta(minutes=15)))
        clock.advance(minutes=45)
        [report] = w.deliver(["desk"])
        assert report.ok
        [message] = smtp.messages
    text, html = parts(message)
    assert attention_lines(text) == [
        f"- down (failing): 3 failed polls in a row, last success 45 minutes ago: {hostile}"]
    assert "<script" not in html and "<img" not in html
    assert ("HTTP 503 &lt;script&gt;alert('x')&lt;/script&gt; &amp; "
            "&lt;img src=x onerror=alert(1)&gt;") in html


# --- webhook -------------------------------------------------------------------------------


def test_webhook_json_lists_the_feeds_and_a_retry_resends_the_same_body(tmp_path, feeds,
                                                                          opened):
    feeds.set("/wire.xml", rss([NK_600]))
    feeds.set("/down.xml", b"", status=500)
    clock = Clock(T0)
    with webhook_receiver([500, 200]) as hook:
        config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                         "down": feeds.url("/down.xml")},
                              webhook_channel(hook.url))
        w = open_watcher(opened, config, clock)
        poll(w, clock, 3)
        [first] = w.deliver(["ops"])
        assert not first.ok and first.retry_at
        feeds.set("/down.xml", EMPTY_FEED)  # the feed recovers before the retry
        clock.now = first.retry_at
        w.poll()
        [second] = w.deliver_immediate()
        assert second.ok
        # a later digest shows health as it is then: every feed is fine again
        feeds.set("/wire.xml", rss([NK_2000, NK_600]))
        clock.advance(minutes=15)
        w.poll()
        [third] = w.deliver_immediate()
        assert third.ok
    retried, resent, later = hook.requests
    assert retried.header("webhook-id") == resent.header("webhook-id")
    assert retried.body == resent.body  # the same body, health summary included
    assert json.loads(retried.body)["feeds_needing_attention"] == [{
        "feed": "down", "state": "failing",
        "reason": "3 failed polls in a row, never polled successfully: HTTP 500",
        "last_success": None, "consecutive_failures": 3}]
    assert "feeds_needing_attention" not in json.loads(later.body)
    assert [c["current"]["value"] for c in json.loads(later.body)["changes"]] == [2000]


def test_an_email_retry_resends_the_same_health_lines(tmp_path, feeds, opened):
    feeds.set("/wire.xml", rss([NK_600]))
    feeds.set("/down.xml", b"", status=500)
    clock = Clock(T0)
    port = free_port()  # the mail server is down at first
    config = write_config(tmp_path, {"wire": feeds.url("/wire.xml"),
                                     "down": feeds.url("/down.xml")}, email_channel(port))
    w = open_watcher(opened, config, clock)
    poll(w, clock, 3)
    [first] = w.deliver(["desk"])
    assert not first.ok and first.retry_at
    clock.advance(minutes=15)
    poll(w, clock, 2)  # two more failures before the retry: the feed's count is 5 now
    assert clock.now >= first.retry_at
    w.close()  # and a restart before the retry
    opened.remove(w)
    w = open_watcher(opened, config, clock)
    with smtp_server(port=port) as smtp:
        [second] = w.deliver_immediate()
        assert second.ok
        [message] = smtp.messages
    text, _ = parts(message)
    assert attention_lines(text) == [
        "- down (failing): 3 failed polls in a row, never polled successfully: HTTP 500"]


# --- chat formats --------------------------------------------------------------------------


def _digest_with(*warnings: FeedWarning) -> Digest:
    from watcher.pipeline.digest import sample_digest
    d = sample_digest("ops", T0)
    return Digest(id=d.id, channel=d.channel, generated_at=d.generated_at, changes=d.changes,
                  history=d.history, feeds_needing_attention=warnings)


DOWN = FeedWarning("down", "failing", "3 failed polls in a row, never polled successfully: "
                   "HTTP 500", None, 3)
LOUD = FeedWarning("<!channel>_*x*", "stale", "nothing new for 3 days (expected within 1 day)",
                   T0 - timedelta(days=3), 0)


def test_slack_and_discord_get_one_short_feed_health_line():
    slack = webhook_body("slack", _digest_with(DOWN, LOUD))
    contexts = [b["elements"][0]["text"] for b in slack["blocks"] if b["type"] == "context"]
    assert contexts[0] == ("⚠ 2 feeds need attention: down (failing), &lt;!channel&gt;_*x* "
                           "(stale); see `watcher status`")
    assert contexts[-1].startswith("watcher digest ")  # the id stays last
    discord = webhook_body("discord", _digest_with(DOWN))
    assert discord["content"].splitlines()[-1] == (
        "⚠ 1 feed needs attention: down (failing); see `watcher status`")
    assert discord["allowed_mentions"] == {"parse": []}


def test_chat_bodies_say_nothing_about_healthy_feeds():
    slack = webhook_body("slack", _digest_with())
    assert not any("attention" in json.dumps(b) for b in slack["blocks"])
    assert "attention" not in webhook_body("discord", _digest_with())["content"]
